"""HTTP routes of the SATP gateway (FastAPI), mounted on the relayer's API.

=======  ======================================  ============================================
method   path                                    what
=======  ======================================  ============================================
POST     /satp/v1/sessions/{sessionId}/messages  a peer gateway's JWS envelope (flattened JSON)
GET      /satp/v1/sessions/{sessionId}           the session's status (API1 vocabulary + ours)
POST     /satp/v1/trades                         our client's order for a trade with the peer
=======  ======================================  ============================================

``POST /satp/v1/trades`` (bearer token; mounted by the daemon, which has a gateway) takes
``{"side": "initiator" | "responder", "order": <swap order>}``: the seller's platform opens
the session, the buyer's platform records the order its compliance judges when the peer's
proposal arrives. A client bound to wallets (``relayer.clients``) may submit only a trade
whose leg this platform spends from (security as initiator, cash as responder) is one of
its wallets, and only from a wallet ``[satp] wallets`` names; otherwise 403.

A POST is authenticated by its ES256 signature against the configured peer's key, not by
the platform's bearer token (the peer is another platform). It answers ``202`` with the
accepted message's hash, or an RFC 9457 problem with the draft's
``urn:ietf:params:satp:core:error:`` type; a replay of a message already accepted answers
its problem with the extension member ``replayOf`` (the sender takes it as delivered).
These HTTP problems are unsigned transport answers; a refusal that ends a session is sent
as a signed ``error-msg`` of the session.

The GET is for the platform's own clients and takes the same dependencies as the rest of
the relayer API (its bearer token).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from bridge.errors import BridgeError, InvalidInput, NotFound
from relayer.clients import OPERATOR, ApiClient, forbidden
from relayer.satp.errors import SatpError
from relayer.satp.jws import envelope_from_json
from relayer.satp.messages import sha256_hex, utc
from relayer.satp.node import SatpNode
from relayer.satp.session import status
from relayer.service import SwapOrder

if TYPE_CHECKING:
    from relayer.satp.gateway import SatpGateway

__all__ = [
    "PREFIX",
    "TradeRequest",
    "page_with_sessions",
    "satp_router",
    "session_lines",
    "session_view",
]

PREFIX = "/satp/v1"
_PROBLEM = "application/problem+json"


def _problem(node: SatpNode, session_id: str, exc: SatpError, **extra: Any) -> JSONResponse:
    body = exc.problem(
        session_id=session_id,
        transfer_context_id="unknown",
        prev_msg_type=None,
        hash_prev_message="0" * 64,
        timestamp=node.clock(),
    )
    body.update(extra)
    return JSONResponse(status_code=exc.status, content=body, media_type=_PROBLEM)


class TradeRequest(BaseModel):
    """``POST /satp/v1/trades``: our client's side of a trade with the peer platform."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    side: Literal["initiator", "responder"]
    order: SwapOrder
    peer: str | None = None
    """Initiator: the peer gateway the trade is proposed to (needed with several peers)."""


def session_view(node: SatpNode, swap_id: str) -> dict[str, Any]:
    """What ``GET /swaps/{id}`` adds for a swap negotiated over SATP: the session's status,
    its peer, both legs as agreed and both signed decisions ({} without a session)."""
    try:
        state = node.load(swap_id)
    except NotFound:
        return {}
    view = status(state)
    view["peer"] = state.peer.gateway_id
    view["legs"] = None if state.terms is None else state.terms.model_dump(mode="json")
    view["ownLock"] = state.own_lock
    view["peerLock"] = state.peer_lock
    view["ownClaim"] = state.own_claim
    out: dict[str, Any] = {"satp": view, "outcome": state.outcome.value}
    if state.aborted is not None:
        out["why"] = state.aborted
    return out


def page_with_sessions(
    node: SatpNode, outcome: str | None, *, limit: int, offset: int
) -> list[str]:
    """``GET /swaps`` when this relayer has SATP sessions: one page, oldest first, over the
    engine's swaps and the SATP swaps together. An SATP swap is judged by its session's
    outcome (its store row stays ``open``), every other swap by its row; ``limit`` and
    ``offset`` count both kinds alike."""
    store = node.store
    if outcome is None:
        return store.list_ids(limit=limit, offset=offset)
    sessions = set(node.sessions())
    by_row = set(store.list_ids(outcome=outcome, limit=2**31 - 1))
    matching = [
        swap_id
        for swap_id in store.list_ids(limit=2**31 - 1)
        if (
            node.load(swap_id).outcome.value == outcome
            if swap_id in sessions
            else swap_id in by_row
        )
    ]
    return matching[offset : offset + limit]


def session_lines(view: dict[str, Any]) -> list[str]:
    """``stbridge swap status`` of an SATP swap: state, peer, legs, both decisions."""
    satp = view["satp"]
    lines = [
        f"swap {view.get('swap_id', '')} — {view['outcome']} (SATP session {satp['sessionId']})",
        f"  state: {satp['phase']} ({satp['status']}"
        + (f"/{satp['substatus']}" if satp.get("substatus") else "")
        + f", {satp['stage']}); we are the {satp['side']}; peer: {satp['peer']}",
        f"  own lock: {satp['ownLock']}; peer's lock: {satp['peerLock']}; "
        f"own claim: {satp['ownClaim']}",
    ]
    legs = satp.get("legs") or {}
    for name in ("initiator_leg", "participant_leg"):
        leg = legs.get(name)
        if leg:
            lines.append(
                f"  {name.replace('_', ' ')}: {leg['amount']} from {leg['sender']} "
                f"to {leg['receiver']} on {leg['chain'].get('caip2', leg['chain'])}"
            )
    for label, key in (("our decision", "ownDecision"), ("peer's decision", "peerDecision")):
        decision = satp.get(key)
        if decision is None:
            lines.append(f"  {label}: not yet")
        else:
            verdict = "allowed" if decision["allowed"] else "refused"
            reasons = ", ".join(decision.get("reasons") or ())
            lines.append(
                f"  {label}: {verdict} by {decision['gatewayId']} "
                f"({', '.join(decision['jurisdictions'])})" + (f": {reasons}" if reasons else "")
            )
    if satp.get("abortReason"):
        lines.append(f"  aborted: {satp['abortReason']}")
    return lines


def satp_router(
    node: SatpNode,
    *,
    on_effects: Callable[[str, Sequence[Any]], None] | None = None,
    status_dependencies: Sequence[Any] = (),
    gateway: SatpGateway | None = None,
) -> APIRouter:
    """The SATP routes bound to ``node``; ``on_effects(swap_id, effects)`` gets the
    effects of every accepted message (the relayer's executor runs them)."""
    router = APIRouter(prefix=PREFIX, tags=["satp"])

    @router.post("/sessions/{session_id}/messages", status_code=202)
    async def post_message(session_id: str, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            envelope = envelope_from_json(raw)
        except (InvalidInput, ValueError) as exc:
            err = SatpError(f"body: {exc}")
            return _problem(node, session_id, err)
        try:
            swap_id, state, effects = node.receive(session_id, envelope)
        except SatpError as exc:
            extra: dict[str, Any] = {}
            if exc.title.endswith("(replayed message)"):
                extra["replayOf"] = sha256_hex(envelope.payload_bytes)
            return _problem(node, session_id, exc, **extra)
        except NotFound as exc:
            return JSONResponse(
                status_code=404,
                media_type=_PROBLEM,
                content={
                    "type": "urn:ietf:params:satp:core:error:err_1.2.2",
                    "title": "mismatch sessionId",
                    "status": 404,
                    "detail": str(exc),
                    "sessionId": session_id,
                    "timestamp": utc(node.clock()),
                },
            )
        if on_effects is not None and effects:
            on_effects(swap_id, effects)
        return JSONResponse(
            status_code=202,
            content={
                "accepted": sha256_hex(envelope.payload_bytes),
                "phase": state.phase.value,
                "step": state.transcript.step,
            },
        )

    @router.get("/sessions/{session_id}", dependencies=list(status_dependencies))
    async def get_status(session_id: str) -> JSONResponse:
        try:
            _, state = node.find(session_id)
        except NotFound:
            return JSONResponse(
                status_code=404,
                content={"status": "NOT_FOUND", "sessionId": session_id},
            )
        except BridgeError as exc:  # the store is down: a 503 the client may retry
            return JSONResponse(status_code=503, content={"detail": str(exc)})
        return JSONResponse(content=status(state))

    if gateway is None:
        return router

    @router.post("/trades", status_code=201, dependencies=list(status_dependencies))
    def submit_trade(body: TradeRequest, request: Request) -> JSONResponse:
        client: ApiClient = getattr(request.state, "client", OPERATOR)
        leg = body.order.security if body.side == "initiator" else body.order.cash
        if client.may_spend([leg.sender]) is not None:
            raise forbidden(
                client, f"not bound to wallet {leg.sender}, which the order spends from"
            )
        if leg.sender not in gateway.settings.wallets:
            raise HTTPException(
                status_code=403,
                detail=f"satp.wallets: this gateway may not act for wallet {leg.sender}",
            )
        swap_id = gateway.submit(body.order, body.side, peer=body.peer)
        return JSONResponse(
            status_code=201,
            content={"swap_id": swap_id, **session_view(node, swap_id)},
        )

    return router
