"""The relayer's HTTP API (FastAPI; OpenAPI at ``/openapi.json``, docs at ``/docs``).

=======  ==========================  =================================================
method   path                        what
=======  ==========================  =================================================
GET      /healthz                    the process is up
GET      /readyz                     the store answers (503 otherwise)
GET      /metrics                    Prometheus metrics
POST     /swaps                      submit a swap order (idempotent on ``order_id``)
GET      /swaps                      list swaps (``outcome``, ``limit``, ``offset``)
GET      /swaps/{swap_id}            one swap: terms, both legs, outcome
POST     /swaps/{swap_id}/cancel     cancel before anything is locked (409 after)
GET      /swaps/{swap_id}/audit      the audit record: decision with citations, inputs
=======  ==========================  =================================================

Every route but ``/healthz`` and ``/readyz`` needs ``Authorization: Bearer <token>``.
Malformed input gets a 4xx whose body names the field and the rule. Secrets are never
returned: the swap view carries only the hashlock.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from bridge.errors import BridgeError, InvalidInput, NotFound, TransientError
from bridge.swap import CancelSwap, Outcome, SwapState
from relayer.metrics import STAGES, stage_of
from relayer.service import RelayerService, SwapOrder

__all__ = ["create_app", "swap_view", "why"]

_log = logging.getLogger(__name__)


def swap_view(state: SwapState, inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The public view of a swap (no secret, no sealed secret).

    ``why`` says in one line why a swap did not (or has not yet) completed, from its logged
    ``inputs`` (compliance refusals, a failed re-check, a transaction that failed); it is
    None for a completed swap or when nothing went wrong.
    """
    return {
        "swap_id": state.terms.swap_id,
        "outcome": state.outcome.value,
        "why": why(state, inputs or []),
        "decision": state.decision,
        "hashlock": state.terms.hashlock,
        "initiator": state.initiator.model_dump(mode="json"),
        "participant": state.participant.model_dump(mode="json"),
        "refusals": [r.model_dump(mode="json") for r in state.refusals],
        "terms": state.terms.model_dump(mode="json"),
    }


def why(state: SwapState, inputs: list[dict[str, Any]]) -> str | None:
    """One line: why the swap did not complete (or what went wrong so far), or None."""
    if state.outcome is Outcome.COMPLETED:
        return None
    if state.refusals:
        return "compliance refused: " + "; ".join(
            f"{r.code}: {r.detail}" if r.detail else str(r.code) for r in state.refusals
        )
    for entry in reversed(inputs):
        change = entry.get("input", {})
        kind = change.get("kind")
        if kind == "tx_failed":
            return f"{change.get('action')} of the {change.get('role')} leg failed: " + (
                change.get("reason") or "no reason given"
            )
        if kind == "claim_recheck" and not change.get("allowed", True):
            codes = ", ".join(str(r.get("code")) for r in change.get("refusals", []))
            return f"the re-check before revealing the secret refused the claim: {codes}"
        if kind == "cancel":
            return "cancelled by the operator before anything was locked"
    if state.outcome is Outcome.REFUNDED:
        return "a deadline passed before both legs were locked and claimed; locks were refunded"
    return None


_bearer = HTTPBearer(auto_error=False)


def _authorised(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Accept only ``Authorization: Bearer <the configured token>``."""
    token: bytes = request.app.state.token
    # ASGI servers decode header bytes as Latin-1: encoding back gives the bytes the caller
    # sent, so any header (non-ASCII included) is compared as bytes and is a 401, never a 500.
    if creds is None or not hmac.compare_digest(creds.credentials.encode("latin-1"), token):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def create_app(service: RelayerService, *, token: str) -> FastAPI:
    """The API bound to one relayer service; ``token`` is the bearer token it accepts."""
    if len(token) < 16:
        raise InvalidInput("api token", "must be at least 16 characters")
    app = FastAPI(
        title="stbridge relayer",
        version="0.1.0",
        description="Cross-chain delivery-versus-payment of security tokens with HTLCs.",
    )
    registry = CollectorRegistry()  # the API's own; the service's is served with it
    swaps_gauge = Gauge("stbridge_swaps", "Swaps by outcome", ["outcome"], registry=registry)
    stage_gauge = Gauge(
        "stbridge_open_swaps", "Open swaps by the stage they are in", ["stage"], registry=registry
    )
    at_risk = Gauge(
        "stbridge_deadlines_at_risk",
        "Open swaps with a locked leg within reaction + margin of its deadline",
        registry=registry,
    )
    transient = Gauge(
        "stbridge_transient_errors",
        "RPC / store failures retried by this process since it started",
        registry=registry,
    )
    requests = Counter(
        "stbridge_api_requests",
        "API requests by route and status",
        ["route", "status"],
        registry=registry,
    )
    app.state.token = token.encode("utf-8")
    authorised = _authorised

    @app.exception_handler(BridgeError)
    async def _bridge_error(request: Request, exc: BridgeError) -> JSONResponse:
        status = 503 if isinstance(exc, TransientError) else 422
        if isinstance(exc, NotFound):
            status = 404
        body: dict[str, Any] = {"detail": str(exc)}
        if isinstance(exc, InvalidInput):
            body.update(field=exc.field, rule=exc.rule)
        requests.labels(request.url.path.split("/")[1] or "/", str(status)).inc()
        return JSONResponse(status_code=status, content=body)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Readiness: the store answers a query."""
        try:
            service.store.list_ids(limit=1)
        except BridgeError as exc:
            # the reason is for the operator's log, not for an unauthenticated caller: store
            # errors carry file paths, SQL and DSN host names
            _log.warning("not ready: %s", exc)
            return JSONResponse(status_code=503, content={"status": "not ready"})
        return JSONResponse(content={"status": "ready"})

    @app.get("/metrics", dependencies=[Depends(authorised)])
    def metrics() -> PlainTextResponse:
        """Prometheus metrics: swaps by outcome, time per stage, deadlines at risk, RPC errors
        and reorgs by chain, transient errors, API requests."""
        for outcome in Outcome:
            swaps_gauge.labels(outcome.value).set(
                len(service.store.list_ids(outcome=outcome.value, limit=1_000_000))
            )
        stages = dict.fromkeys(STAGES[:-1], 0)
        for swap_id in service.store.list_ids(outcome=Outcome.OPEN.value, limit=1_000_000):
            stages[stage_of(service.store.get(swap_id))] += 1
        for stage, count in stages.items():
            stage_gauge.labels(stage).set(count)
        budget = service.budget
        at_risk.set(service.deadlines_at_risk(budget.reaction_s + budget.margin_s))
        transient.set(service.transient_errors)
        text = generate_latest(registry) + generate_latest(service.metrics.registry)
        return PlainTextResponse(text.decode(), media_type="text/plain")

    @app.post("/swaps", status_code=201, dependencies=[Depends(authorised)])
    def submit(order: SwapOrder) -> dict[str, Any]:
        """Submit a swap order; the same ``order_id`` again returns the same swap."""
        state = service.submit(order)
        requests.labels("swaps", "201").inc()
        return swap_view(state, service.store.input_log(state.terms.swap_id))

    @app.get("/swaps", dependencies=[Depends(authorised)])
    def list_swaps(
        outcome: Annotated[Outcome | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    ) -> dict[str, Any]:
        """Swap ids, oldest first, filtered by outcome, paged."""
        ids = service.store.list_ids(
            outcome=None if outcome is None else outcome.value, limit=limit, offset=offset
        )
        return {"swaps": ids, "limit": limit, "offset": offset}

    @app.get("/swaps/{swap_id}", dependencies=[Depends(authorised)])
    def get_swap(swap_id: str) -> dict[str, Any]:
        """One swap: terms, both legs' progress, outcome, and why it did not complete."""
        return swap_view(service.store.get(swap_id), service.store.input_log(swap_id))

    @app.post("/swaps/{swap_id}/cancel", dependencies=[Depends(authorised)])
    def cancel(swap_id: str) -> JSONResponse:
        """Cancel a swap before anything was sent to a chain; 409 once locking began."""
        state, _ = service.store.apply(swap_id, CancelSwap())
        if state.outcome is not Outcome.CANCELLED:
            return JSONResponse(
                status_code=409,
                content={"detail": f"swap is {state.outcome.value}; it can no longer be cancelled"},
            )
        return JSONResponse(content=swap_view(state, service.store.input_log(swap_id)))

    @app.get("/swaps/{swap_id}/audit", dependencies=[Depends(authorised)])
    def audit(swap_id: str) -> dict[str, Any]:
        """The audit record: the trade compliance judged, terms, the decision with citations,
        every input."""
        record = service.audit(swap_id)
        order = json.loads(service.store.document(swap_id, "order"))
        return {"trade": order.get("trade"), "order": order, **record}

    return app
