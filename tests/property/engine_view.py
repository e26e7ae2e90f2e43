"""The compliance engine's verdict on a token's own rules, for the per-standard rule tests.

The canonical-rule property tests compare what the chain does with what the engine
concludes from the asset an adapter read: :func:`token_reasons` builds the trade the
engine would see (the parties' wallets, balances, claims and past outflows as read from
the chain) and returns the reasons the engine's token step gives -- the token's state
(paused, transferable) and each canonical rule, as :func:`bridge.compliance.engine.evaluate`
applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bridge.compliance.engine import _token_rules
from bridge.compliance.model import Instrument, Kyc, Outflow, Party, Reason, Trade
from bridge.model import Asset, Claim, ClaimType
from bridge.reasons import ReasonCode

__all__ = ["Side", "token_reasons"]


@dataclass(frozen=True)
class Side:
    """One party as the chain shows it: wallet, balance, residence, KYC claim expiry."""

    wallet: str
    balance: int
    residence: str = "JP"
    kyc_until: datetime | None = None
    outflows: Sequence[tuple[datetime, int]] = field(default_factory=tuple)
    acquired_on: datetime | None = None


def _party(name: str, side: Side) -> Party:
    claims = (
        (Claim(type=ClaimType.KYC, valid_until=side.kyc_until),)
        if side.kyc_until is not None
        else ()
    )
    return Party(
        name=name,
        residence=side.residence,
        wallet=side.wallet,
        balance=side.balance,
        kyc=Kyc(status="verified") if side.kyc_until is None else Kyc(),
        claims=claims,
        outflows=tuple(Outflow(at=t, amount=a) for t, a in side.outflows),
    )


def token_reasons(
    asset: Asset,
    *,
    seller: Side,
    buyer: Side,
    quantity: int,
    at: datetime,
    holder_count: int = 0,
    holders_by_country: dict[str, int] | None = None,
    issuer_approved: bool = False,
) -> list[Reason]:
    """The engine's token reasons (deny or needs-information) on a resale of ``quantity``
    from ``seller`` to ``buyer`` at ``at``; empty when the token's rules allow it."""
    inst = Instrument(
        kind="jp.ertr",
        exemption="jp.qii_only",
        home=asset.home_jurisdiction or "JP",
        holder_count=holder_count,
        holders_by_country=holders_by_country or {},
        asset=asset,
    )
    trade = Trade(
        instrument=inst,
        seller=_party("Seller", seller),
        buyer=_party("Buyer", buyer),
        quantity=quantity,
        issuer_approved=issuer_approved,
    )
    reasons, _ = _token_rules(trade, at, False, asset)
    return reasons


def codes(reasons: Sequence[Reason]) -> set[ReasonCode]:
    """The canonical codes of ``reasons``."""
    return {r.code for r in reasons}
