"""The library's front door: ``connect`` to a chain, take a ``token`` on it, use it.

::

    from adapters.connect import connect

    chain = connect("http://127.0.0.1:8545")           # EVM JSON-RPC (or algod; or "embedded")
    tot = chain.token("0x68d6...")                     # standard detected (ERC-165, probes)
    tot.asset().name                                   # the canonical Asset
    tot.holding("0xBob...").free                       # balance, free, frozen, locked
    tot.check_transfer("0xAlice...", "0xBob...", 10)   # TransferCheck: allowed, refusals

    usd = connect("http://127.0.0.1:4001").token(1008)  # an Algorand ASA by asset id

What comes back is the canonical model (:mod:`bridge.model`); errors are
:mod:`bridge.errors` (``ChainUnavailable`` names the URL, ``NotFound``, ``WrongStandard``).
The token's adapter (``Token.adapter``) offers everything else the standard allows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from bridge.errors import BridgeError, ChainUnavailable, InvalidInput, WrongStandard
from bridge.model import Asset, AssetRef, Holding, TransferCheck, TransferIntent

__all__ = ["Chain", "Token", "connect"]


@dataclass(frozen=True)
class Token:
    """One token on one chain, read and checked through its standard's adapter."""

    adapter: Any
    ref: AssetRef

    def asset(self) -> Asset:
        """The token in the canonical model: identity, state, rules, controls."""
        result: Asset = self.adapter.read_asset(self.ref)
        return result

    def holding(self, holder: str) -> Holding:
        """What ``holder`` has: balance, free, frozen, locked (per partition where any)."""
        result: Holding = self.adapter.holding(self.ref, holder)
        return result

    def check_transfer(self, sender: str, recipient: str, amount: int) -> TransferCheck:
        """Dry-run a transfer with the token's own rules: allowed, or the refusals."""
        intent = TransferIntent(asset=self.ref, sender=sender, recipient=recipient, amount=amount)
        result: TransferCheck = self.adapter.check_transfer(intent)
        return result


@dataclass(frozen=True)
class Chain:
    """A connected chain: ``family`` is ``"evm"`` or ``"algorand"``; ``client`` its client."""

    family: Literal["evm", "algorand"]
    client: Any

    def token(self, locator: str | int, *, standard: str = "auto") -> Token:
        """The token at ``locator`` (EVM contract address, or Algorand asset id).

        ``standard`` is a registered standard (``erc3643``, ``erc1400``, ``asa``, ...) or
        ``auto`` to detect it.
        """
        if self.family == "evm":
            if not isinstance(locator, str):
                raise InvalidInput("locator", "an EVM token is named by its 0x address")
            from adapters.evm.inspect import inspect_client

            result = inspect_client(self.client, address=locator, standard=standard)
            return Token(_evm_adapter(self.client, result.asset.standard.value), result.asset.ref)
        if not isinstance(locator, int) or isinstance(locator, bool):
            raise InvalidInput("locator", "an Algorand token is named by its asset id")
        from adapters.algorand.asa import AsaAdapter
        from adapters.algorand.regulated import RegulatedAsaAdapter

        regulated = RegulatedAsaAdapter(self.client)
        if standard in ("auto", "regulated_asa"):
            try:
                app_id = regulated.app_id_of(locator)
            except WrongStandard:
                if standard == "regulated_asa":
                    raise
            else:
                return Token(regulated, regulated.ref(locator, app_id))
        plain = AsaAdapter(self.client)
        return Token(plain, plain.ref(locator))


def _evm_adapter(client: Any, standard: str) -> Any:
    from bridge.registry import load_registry

    return load_registry().get(standard).factory(client)


def connect(
    endpoint: str,
    *,
    family: Literal["evm", "algorand"] | None = None,
    algod_token: str | None = None,
) -> Chain:
    """Connect to ``endpoint``: an EVM JSON-RPC URL, an algod URL, or ``"embedded"`` (a
    fresh in-process py-evm chain). ``family`` skips the detection; the algod token defaults
    to ``$STBRIDGE_ALGOD_TOKEN``."""
    if family in (None, "evm"):
        from adapters.evm.client import EvmClient

        try:
            return Chain("evm", EvmClient.from_target(endpoint, retries=0))
        except BridgeError:
            if family == "evm":
                raise
    from algosdk.v2client.algod import AlgodClient

    from adapters.algorand.chain import AlgodChain

    token = os.environ.get("STBRIDGE_ALGOD_TOKEN", "") if algod_token is None else algod_token
    chain = AlgodChain(AlgodClient(token, endpoint))
    try:
        chain.head()
    except BridgeError as exc:
        raise ChainUnavailable(
            f"{endpoint} answers neither EVM JSON-RPC nor algod's API: {exc}"
        ) from exc
    return Chain("algorand", chain)
