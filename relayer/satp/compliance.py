"""One side's own compliance decision as a signed SATP compliance statement.

Each platform decides for its side with its own engine (``relayer.daemon
.compliance_from_engine``: its jurisdiction's rules, its tokens' rules) on the order its own
client submitted. :func:`engine_decider` turns that into the
:class:`~relayer.satp.messages.ComplianceStatement` the session machine signs and sends.
The decision is bound to the legs: an order whose legs are not the session's terms is
refused here, whatever the engine says, so a decision for one trade cannot authorise
different legs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from bridge.swap import Leg, SwapTerms
from relayer.satp.messages import ComplianceStatement, WireTerms, asset_caip19, caip2
from relayer.satp.verify import Side
from relayer.service import ComplianceCheck, LegOrder, SwapOrder

__all__ = ["engine_decider", "legs_mismatch"]


def _leg_mismatch(name: str, order: LegOrder, leg: Leg) -> list[str]:
    out = []
    # the asset by its CAIP-19 id on the leg's chain: the order's reference may spell the
    # same chain with other optional members (a network label) and is still the same asset
    if order.asset is None or leg.asset is None:
        if order.asset is not leg.asset and order.asset != leg.asset:
            out.append(f"{name}.asset")
    elif asset_caip19(leg.chain, order.asset) != asset_caip19(leg.chain, leg.asset) or (
        caip2(order.asset.chain) != caip2(leg.chain)
    ):
        out.append(f"{name}.asset")
    for attr in ("amount", "sender", "receiver"):
        if getattr(order, attr) != getattr(leg, attr):
            out.append(f"{name}.{attr}")
    return out


def legs_mismatch(order: SwapOrder, terms: SwapTerms) -> list[str]:
    """The fields where the order's legs differ from the terms' (empty: they match)."""
    return _leg_mismatch("security", order.security, terms.initiator_leg) + _leg_mismatch(
        "cash", order.cash, terms.participant_leg
    )


def engine_decider(
    check: ComplianceCheck,
    order_for: Callable[[SwapTerms], SwapOrder],
    *,
    gateway_id: str,
    jurisdictions: tuple[str, ...],
    clock: Callable[[], datetime],
) -> Callable[[SwapTerms, Side], ComplianceStatement]:
    """A ``decide`` callback for :class:`relayer.satp.executor.SatpExecutor`.

    ``order_for(terms)`` is the order our own client submitted for the trade (raising when
    there is none); the statement carries the engine's verdict, its refusal codes, and the
    SHA-256 of the whole decision document (kept in our own audit).
    """

    def decide(terms: SwapTerms, side: Side) -> ComplianceStatement:
        at = clock()
        order = order_for(terms)
        digest = WireTerms.of(terms).digest
        differs = legs_mismatch(order, terms)
        if differs:
            return ComplianceStatement(
                gateway_id=gateway_id,
                allowed=False,
                decided_at=at,
                terms_digest=digest,
                jurisdictions=jurisdictions,
                reasons=tuple(f"TERMS_MISMATCH:{f}" for f in differs),
            )
        result = check(order, at)
        document = json.dumps(dict(result.decision), sort_keys=True, default=str)
        return ComplianceStatement(
            gateway_id=gateway_id,
            allowed=result.allowed,
            decided_at=at,
            terms_digest=digest,
            jurisdictions=jurisdictions,
            reasons=tuple(r.code.value for r in result.refusals),
            decision_digest=hashlib.sha256(document.encode()).hexdigest(),
        )

    return decide
