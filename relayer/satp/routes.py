"""HTTP routes of the SATP gateway (FastAPI), mounted on the relayer's API.

=======  ======================================  ============================================
method   path                                    what
=======  ======================================  ============================================
POST     /satp/v1/sessions/{sessionId}/messages  a peer gateway's JWS envelope (flattened JSON)
GET      /satp/v1/sessions/{sessionId}           the session's status (API1 vocabulary + ours)
=======  ======================================  ============================================

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
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bridge.errors import BridgeError, InvalidInput, NotFound
from relayer.satp.errors import SatpError
from relayer.satp.jws import envelope_from_json
from relayer.satp.messages import sha256_hex, utc
from relayer.satp.node import SatpNode
from relayer.satp.session import status

__all__ = ["PREFIX", "satp_router"]

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


def satp_router(
    node: SatpNode,
    *,
    on_effects: Callable[[str, Sequence[Any]], None] | None = None,
    status_dependencies: Sequence[Any] = (),
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

    return router
