"""The adapter registry: one explicit table of adapters, filled from an entry-point group.

Built-in adapters register exactly like third-party ones: a package declares, in its
``pyproject.toml``::

    [project.entry-points."stbridge.adapters"]
    erc3643 = "adapters.evm.erc3643:SPEC"

where ``SPEC`` is an :class:`AdapterSpec`. ``bridge`` never imports an adapter module by
name; it only loads what the entry points list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Literal

from bridge.errors import ConfigError, NotFound
from bridge.model import Capability, Standard

__all__ = ["ENTRY_POINT_GROUP", "AdapterSpec", "Registry", "load_registry"]

ENTRY_POINT_GROUP = "stbridge.adapters"


@dataclass(frozen=True)
class AdapterSpec:
    """What an adapter is: its standard, chain family, capabilities and constructor.

    ``factory`` builds the adapter from a chain client; ``probe`` (optional) answers whether
    a given contract/asset on a client follows this standard, for ``--standard auto``.
    """

    standard: Standard
    family: Literal["evm", "algorand"]
    capabilities: frozenset[Capability]
    factory: Callable[..., object]
    probe: Callable[..., bool] | None = None
    summary: str = ""
    priority: int = field(default=100)


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
