"""The parties' chain facts the compliance engine needs, read before every check.

A platform's order carries the trade (parties, instrument, the token's asset); what only
the security's chain knows is filled in here, each time the relayer checks the trade:
the seller's and the buyer's on-chain identity (ERC-3643: the ONCHAINID the identity
registry gives their wallets), whether each wallet is an agent of the token (T-REX's time
and exchange limits exempt agents), and the seller identity's past transfers out of every
one of its wallets, each with its recipient (the volume limits count per identity, the
exchange limits only transfers into the exchange's identity). The wallets are the
security leg's sender (the seller) and receiver (the buyer).

:data:`PartyReader` is the chain runtime's hook (``ChainRuntime.party_facts``);
:func:`evm_party_reader` is the EVM one (ERC-3643 tokens; a token of another standard
keeps the party as the platform gave it); :func:`with_chain_facts` applies it to an order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.compliance.model import Party
from bridge.errors import InvalidInput
from bridge.model import AssetRef, Standard, VolumeLimitRule

if TYPE_CHECKING:
    from relayer.service import SwapOrder

__all__ = ["PartyReader", "evm_party_reader", "with_chain_facts"]

PartyReader = Callable[[AssetRef, str, Party, bool], Party]
"""``(asset, wallet, party, outflows) -> party`` with the token's facts of ``wallet``
filled in (its past outflows too when ``outflows``)."""


def evm_party_reader(client: Any) -> PartyReader:
    """The facts of an EVM token's parties on ``client`` (an ``EvmClient``): ERC-3643
    tokens are read (:meth:`adapters.evm.erc3643.Erc3643Adapter.read_party`); the
    standard is detected once per token."""
    from adapters.evm.inspect import detect_standard

    adapters: dict[str, tuple[Standard, Any]] = {}

    def read(asset: AssetRef, wallet: str, party: Party, outflows: bool) -> Party:
        locator = asset.locator
        if locator.kind != "evm_contract":
            raise InvalidInput("asset", "an EVM token's parties need an EVM contract asset")
        key = locator.address.lower()
        if key not in adapters:
            spec = detect_standard(client, locator.address)
            adapters[key] = (spec.standard, spec.factory(client))
        standard, adapter = adapters[key]
        if standard is not Standard.ERC3643:
            return party
        filled: Party = adapter.read_party(asset, wallet, party, outflows=outflows)
        return filled

    return read


def with_chain_facts(order: SwapOrder, reader: PartyReader | None) -> SwapOrder:
    """``order`` with its trade's seller and buyer completed by ``reader`` (the security
    chain's hook) for the security leg's sender and receiver; the seller's outflows only
    when the token has a volume limit. Unchanged without a reader, a trade, a token leg
    or the token's asset on the trade (the engine then applies no token rule)."""
    trade, leg = order.trade, order.security
    if reader is None or trade is None or leg.asset is None:
        return order
    token = trade.instrument.asset
    if token is None:  # the engine applies no token rule: nothing to read
        return order
    outflows = any(isinstance(rule, VolumeLimitRule) for rule in token.rules)
    seller = reader(leg.asset, leg.sender, trade.seller, outflows)
    buyer = reader(leg.asset, leg.receiver, trade.buyer, False)
    filled = trade.model_copy(update={"seller": seller, "buyer": buyer})
    return order.model_copy(update={"trade": filled})
