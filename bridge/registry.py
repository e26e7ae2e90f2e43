"""The adapter registry: one explicit table of adapters, filled from an entry-point group.

Built-in adapters register exactly like third-party ones: a package declares, in its
``pyproject.toml``::

    [project.entry-points."stbridge.adapters"]
    erc3643 = "adapters.evm.erc3643:SPEC"

where ``SPEC`` is an :class:`AdapterSpec`. ``bridge`` never imports an adapter module by
name; it only loads what the entry points list. A third-party adapter may bring a standard
``bridge`` does not know (``AdapterSpec(standard="my_standard", ...)``): the spec admits it
with :meth:`bridge.model.Standard.extend`, and from then on assets, refusals and the CLI
(``stbridge asset standards``, ``--standard my-standard``) accept it. A worked example is
``specs/examples/plugin/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol

from bridge.errors import ConfigError, NotFound
from bridge.model import Capability, Standard

__all__ = ["ENTRY_POINT_GROUP", "AdapterSpec", "Probe", "Registry", "load_registry"]

ENTRY_POINT_GROUP = "stbridge.adapters"


class Probe(Protocol):
    """Whether the token at ``locator`` on ``client`` follows a standard.

    ``client`` is the family's chain client (``adapters.evm.client.EvmClient``, or an algod
    client / ``AlgodChain``); ``locator`` the contract address (EVM, ``str``) or the asset
    id (Algorand, ``int``). An unreachable chain raises its ``TransientError``, never False.
    """

    def __call__(self, client: Any, locator: Any, /) -> bool:
        """True when the token follows the standard."""
        ...


@dataclass(frozen=True)
class AdapterSpec:
    """What an adapter is: its standard, chain family, capabilities and constructor.

    ``factory`` builds the adapter from a chain client; ``probe`` (optional) answers whether
    a given contract/asset on a client follows this standard, for ``--standard auto``.
    ``standard`` may name a standard ``bridge`` does not know: it is admitted on creation.
    """

    standard: Standard
    family: Literal["evm", "algorand"]
    capabilities: frozenset[Capability]
    factory: Callable[..., object]
    probe: Probe | None = None
    summary: str = ""
    priority: int = field(default=100)

    def __post_init__(self) -> None:
        if not isinstance(self.standard, Standard):
            try:
                admitted = Standard.extend(self.standard)
            except ValueError as exc:
                raise ConfigError(f"adapter spec: {exc}") from None
            object.__setattr__(self, "standard", admitted)
        if self.family not in ("evm", "algorand"):
            raise ConfigError(f"adapter spec {self.standard}: family must be evm or algorand")


class Registry:
    """Adapters by standard. Registering the same standard twice is an error."""

    def __init__(self, specs: Iterable[AdapterSpec] = ()) -> None:
        self._specs: dict[Standard, AdapterSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: AdapterSpec) -> None:
        """Add an adapter; refuse a second one for the same standard."""
        if spec.standard in self._specs:
            raise ConfigError(f"adapter for {spec.standard.value} is registered twice")
        self._specs[spec.standard] = spec

    def get(self, standard: Standard | str) -> AdapterSpec:
        """The adapter for ``standard``; ``NotFound`` names the ones that exist."""
        try:
            key = Standard(standard)
        except ValueError:
            raise NotFound(f"unknown standard {standard!r}; known: {self._names()}") from None
        if key not in self._specs:
            raise NotFound(f"no adapter registered for {key.value}; registered: {self._names()}")
        return self._specs[key]

    def for_family(self, family: str) -> list[AdapterSpec]:
        """Adapters of one chain family, most specific (lowest priority number) first."""
        return sorted(
            (s for s in self._specs.values() if s.family == family), key=lambda s: s.priority
        )

    def __iter__(self) -> Iterator[AdapterSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: s.standard.value))

    def __len__(self) -> int:
        return len(self._specs)

    def _names(self) -> str:
        return ", ".join(sorted(s.value for s in self._specs)) or "none"


def load_registry(group: str = ENTRY_POINT_GROUP) -> Registry:
    """Build the registry from the installed entry points of ``group``."""
    registry = Registry()
    for ep in entry_points(group=group):
        try:
            spec = ep.load()
        except Exception as exc:  # a broken third-party plugin must say which one
            raise ConfigError(
                f"adapter entry point {ep.name!r} ({ep.value}) failed: {exc}"
            ) from exc
        if not isinstance(spec, AdapterSpec):
            raise ConfigError(f"adapter entry point {ep.name!r} is not an AdapterSpec")
        registry.register(spec)
    return registry
