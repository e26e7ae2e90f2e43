"""Inspect an EVM token: detect its standard, read it canonically, optionally scan holders.

``inspect_evm`` is what ``stbridge asset inspect`` runs for EVM targets; ``inspect_client``
does the same on a client you already hold (the embedded chain of a demo, a test chain).

Standard detection (``standard="auto"``): ERC-165 ``supportsInterface`` is asked first for
the interface ids adapters declare (``INTERFACE_IDS``); otherwise each EVM adapter's
``probe`` from the registry is tried, most specific first. When the registry cannot be
loaded (an adapter entry point is not importable yet), the adapters of this package that
do import are probed instead.

Errors, one line each: a malformed address -> ``InvalidInput``; no contract at the address
-> ``NotFound``; a contract that is not the standard asked for -> ``WrongStandard``; an
unreachable RPC -> ``ChainUnavailable``.
"""

from __future__ import annotations

import importlib
import inspect as pyinspect
import logging
from typing import Any, Final

from adapters.base import InspectResult, Progress
from adapters.evm.client import EvmClient
from bridge.errors import BridgeError, ConfigError, InvalidInput, NotFound, WrongStandard
from bridge.model import AssetRef, EvmContractLocator, Standard
from bridge.registry import AdapterSpec, load_registry
from bridge.types import validate_evm_address

__all__ = ["INTERFACE_IDS", "detect_standard", "evm_specs", "inspect_client", "inspect_evm"]

log = logging.getLogger(__name__)

INTERFACE_IDS: Final[dict[Standard, bytes]] = {}
"""ERC-165 interface ids that identify a standard outright (none for T-REX 4.1.6)."""

_ERC165_ID: Final = bytes.fromhex("01ffc9a7")
_KNOWN_MODULES: Final = (
    "adapters.evm.erc3643",
    "adapters.evm.erc1400",
    "adapters.evm.erc1404",
    "adapters.evm.erc20",
    "adapters.evm.ibet",
)
_SUPPORTS_ABI: Final = (
    {
        "type": "function",
        "name": "supportsInterface",
        "stateMutability": "view",
        "inputs": [{"name": "interfaceId", "type": "bytes4"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
)


def evm_specs() -> list[AdapterSpec]:
    """EVM adapters, most specific first: from the registry, or this package's modules."""
    try:
        return load_registry().for_family("evm")
    except ConfigError as exc:
        log.info("adapter registry unavailable (%s); probing built-in EVM adapters", exc)
    specs: list[AdapterSpec] = []
    for name in _KNOWN_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for attribute in ("SPEC", "SPEC_SHARE", "SPEC_BOND"):
            spec = getattr(module, attribute, None)
            if isinstance(spec, AdapterSpec) and spec.family == "evm":
                specs.append(spec)
    return sorted(specs, key=lambda s: s.priority)


def _supports(client: EvmClient, address: str, interface_id: bytes) -> bool:
    contract = client.contract(address, _SUPPORTS_ABI)
    try:
        return bool(client.read(contract.functions.supportsInterface(interface_id)))
    except BridgeError as exc:
        if exc.transient:
            raise
        return False


def detect_standard(client: EvmClient, address: str) -> AdapterSpec:
    """The adapter spec for the contract at ``address`` (``WrongStandard`` if none fits)."""
    specs = evm_specs()
    if INTERFACE_IDS and _supports(client, address, _ERC165_ID):
        for spec in specs:
            interface_id = INTERFACE_IDS.get(spec.standard)
            if interface_id is not None and _supports(client, address, interface_id):
                return spec
    for spec in specs:
        if spec.probe is not None and spec.probe(client, address):
            return spec
    names = ", ".join(s.standard.value for s in specs) or "none"
    raise WrongStandard(f"{address} matches none of the known EVM standards ({names})")


def _spec_for(standard: str) -> AdapterSpec:
    try:
        wanted = Standard(standard)
    except ValueError:
        raise InvalidInput(
            "standard", "one of auto, " + ", ".join(s.value for s in Standard), value=standard
        ) from None
    for spec in evm_specs():
        if spec.standard is wanted:
            return spec
    raise NotFound(f"no EVM adapter for {wanted.value} is installed")


def inspect_client(
    client: EvmClient,
    *,
    address: str,
    standard: str = "auto",
    holders: bool = False,
    progress: Progress | None = None,
    from_block: int = 0,
) -> InspectResult:
    """Inspect the token at ``address`` through an existing client; a holder scan reads
    the token's events from ``from_block`` (its deployment block saves the older ones)."""
    if isinstance(from_block, bool) or not isinstance(from_block, int) or from_block < 0:
        raise InvalidInput("from_block", "a block number, 0 or more", value=from_block)
    try:
        checked = validate_evm_address(address)
    except ValueError as exc:
        raise InvalidInput("address", str(exc), value=address) from None
    client.require_code(checked)
    if standard == "auto":
        spec = detect_standard(client, checked)
    else:
        spec = _spec_for(standard)
        if spec.probe is not None and not spec.probe(client, checked):
            raise WrongStandard(f"{checked} is not an {spec.standard.value} token")
    adapter: Any = spec.factory(client)
    ref = AssetRef(chain=client.chain, locator=EvmContractLocator(address=checked))
    asset = adapter.read_asset(ref)
    holdings: tuple[Any, ...] = ()
    if holders:
        accepted = pyinspect.signature(adapter.holders).parameters
        kwargs: dict[str, Any] = {"progress": progress} if "progress" in accepted else {}
        if from_block:
            if "from_height" not in accepted:
                raise InvalidInput(
                    "from_block", f"the {spec.standard.value} adapter scans no events"
                )
            kwargs["from_height"] = from_block
        holdings = tuple(adapter.holders(ref, **kwargs))
    stats = {
        "rpc_requests": client.stats.requests,
        "rpc_calls": client.stats.calls,
        "rpc_batches": client.stats.batches,
        "holders": len(holdings),
    }
    return InspectResult(asset=asset, holdings=holdings, stats=stats)


def inspect_evm(
    *,
    rpc: str,
    address: str,
    standard: str = "auto",
    holders: bool = False,
    progress: Progress | None = None,
    from_block: int = 0,
) -> InspectResult:
    """Inspect a token on the chain at ``rpc`` (a JSON-RPC URL, or ``"embedded"``)."""
    try:
        validate_evm_address(address)
    except ValueError as exc:
        raise InvalidInput("address", str(exc), value=address) from None
    client = EvmClient.from_target(rpc)
    return inspect_client(
        client,
        address=address,
        standard=standard,
        holders=holders,
        progress=progress,
        from_block=from_block,
    )
