"""The tokens' own transfer checks, as the relayer runs them before every lock and claim.

The daemon and the tests wire the same functions: a chain runtime's ``dry_run`` is built
here for every standard of its chain family, so the pre-reveal re-check runs the token's
rules (freezes, identity and claims, country and balance modules, partitions, ibet
approval flows, regulated-ASA whitelists and KYC expiry) and not only the law.

- EVM: the token's standard is the leg's, or detected once per token (ERC-165 and the
  registry's probes, :func:`adapters.evm.inspect.detect_standard`); its adapter's
  ``check_transfer`` answers. T-REX is checked by its reads (the escrow holds no coin to
  pay for a simulated call).
- Algorand: the regulated-ASA adapter for an asset bound to a compliance application
  (``app_id`` on the locator), the plain ASA adapter otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.errors import InvalidInput
from bridge.model import Standard, TransferCheck, TransferIntent

__all__ = ["DryRun", "algorand_dry_run", "evm_dry_run"]

DryRun = Callable[[TransferIntent], TransferCheck]


def evm_dry_run(client: Any) -> DryRun:
    """Every EVM token's own check on ``client`` (an ``EvmClient``), adapter found once per
    token."""
    from adapters.evm.inspect import detect_standard

    adapters: dict[str, tuple[Standard, Any]] = {}

    def run(intent: TransferIntent) -> TransferCheck:
        locator = intent.asset.locator
        if locator.kind != "evm_contract":
            raise InvalidInput("asset", "an EVM token dry run needs an EVM contract asset")
        key = locator.address.lower()
        if key not in adapters:
            spec = detect_standard(client, locator.address)
            adapters[key] = (spec.standard, spec.factory(client))
        standard, adapter = adapters[key]
        if standard is Standard.ERC3643:
            return adapter.check_transfer(intent, simulate=False)  # type: ignore[no-any-return]
        return adapter.check_transfer(intent)  # type: ignore[no-any-return]

    return run


def algorand_dry_run(chain: Any) -> DryRun:
    """Every ASA's own check on ``chain`` (an ``AlgodChain``): regulated or plain."""
    from adapters.algorand.asa import AsaAdapter
    from adapters.algorand.regulated import RegulatedAsaAdapter

    plain, regulated = AsaAdapter(chain), RegulatedAsaAdapter(chain)

    def run(intent: TransferIntent) -> TransferCheck:
        locator = intent.asset.locator
        if locator.kind != "algorand_asa":
            raise InvalidInput("asset", "an Algorand dry run needs an ASA asset")
        adapter = regulated if locator.app_id is not None else plain
        return adapter.check_transfer(intent)

    return run
