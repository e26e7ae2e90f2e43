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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bridge.compliance import Trade
from bridge.errors import BridgeError, Conflict, InvalidInput, NotFound, TransientError
from bridge.swap import CancelSwap, Outcome, SwapState
from relayer.clients import OPERATOR, ApiClient, forbidden, spending_senders
from relayer.metrics import STAGES, stage_of
from relayer.orders import TRADE_REQUIRED
from relayer.service import RelayerService, SwapOrder

if TYPE_CHECKING:
    from relayer.move import MoveExecutor
    from relayer.move_daemon import MoveDriver
    from relayer.satp.gateway import SatpGateway
    from relayer.satp.node import SatpNode

__all__ = ["Problem", "SubmittedOrder", "create_app", "problem", "render_docs", "swap_view", "why"]

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
        return "the law or the token refuses the trade (nothing locked): " + "; ".join(
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


PROBLEM_TYPES: Final[dict[int, str]] = {
    400: "bad-request",
    401: "unauthorized",
    404: "not-found",
    409: "conflict",
    422: "invalid-input",
    500: "internal-error",
    503: "unavailable",
}
"""The ``type`` of each problem, relative to :data:`PROBLEM_BASE`."""

PROBLEM_BASE: Final = "https://stbridge.dev/problems/"


class Problem(BaseModel):
    """An error answer in the RFC 9457 problem-details shape (``application/problem+json``).

    ``field`` and ``rule`` name the bad input of a 422; ``errors`` lists every validation
    error (``loc``, ``msg``, ``type``) when there are several.
    """

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="A URI identifying the kind of problem.")
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, for a human.")
    instance: str | None = Field(default=None, description="The request path.")
    field: str | None = Field(default=None, description="The input field that was refused.")
    rule: str | None = Field(default=None, description="The rule that field broke.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Every validation error: loc, msg, type."
    )
    fields: list[str] | None = Field(
        default=None, description="409: the fields that differ from what already exists."
    )


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 answer with ``status`` and ``detail`` (plus ``field``/``rule``/...)."""
    from http import HTTPStatus

    body = Problem(
        type=PROBLEM_BASE + PROBLEM_TYPES.get(status, "error"),
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        **extra,
    )
    return JSONResponse(
        status_code=status,
        content=body.model_dump(mode="json", exclude_none=True),
        media_type="application/problem+json",
        headers=headers,
    )


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem answers a route gives."""
    from http import HTTPStatus

    return {
        code: {
            "model": Problem,
            "description": HTTPStatus(code).phrase,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code in codes
    }


class SubmittedOrder(SwapOrder):
    """The body of ``POST /swaps``: a :class:`SwapOrder` whose ``trade`` is required, as in
    ``specs/schemas/swap-order.schema.json`` (an order without it cannot be judged: it is
    refused at submit with a 422 naming ``trade``, as ``stbridge swap submit`` refuses it)."""

    trade: Trade = Field(  # narrowed: required here
        description="The trade the compliance engine judges (required)."
    )


_bearer = HTTPBearer(auto_error=False)


def _operator_only(request: Request) -> None:
    """After :func:`_authorised`: refuse a bound client (403) where only the operator may act
    (moves lock holders' units by the issuer's force and mint for them)."""
    client = request.state.client
    if client is not OPERATOR:
        raise forbidden(client, "only the operator may move securities between chains")


def _authorised(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Accept only ``Authorization: Bearer <the configured token>`` (the operator) or a bound
    client's token (``relayer.clients``: ``request.state.client`` says which)."""
    token: bytes = request.app.state.token
    # ASGI servers decode header bytes as Latin-1: encoding back gives the bytes the caller
    # sent, so any header (non-ASCII included) is compared as bytes and is a 401, never a 500.
    sent = b"" if creds is None else creds.credentials.encode("latin-1")
    request.state.client = OPERATOR
    for client_token, client in request.app.state.clients:
        if hmac.compare_digest(sent, client_token):
            request.state.client = client
    if creds is None or not (
        hmac.compare_digest(sent, token) or request.state.client is not OPERATOR
    ):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def create_app(
    service: RelayerService,
    *,
    token: str,
    satp: SatpNode | None = None,
    gateway: SatpGateway | None = None,
    clients: Sequence[tuple[str, ApiClient]] = (),
    moves: MoveExecutor | None = None,
    move_driver: MoveDriver | None = None,
) -> FastAPI:
    """The API bound to one relayer service; ``token`` is the operator's bearer token and
    ``clients`` the platform's clients bound to their wallets (``relayer.clients``).

    With ``satp`` (or a daemon's ``gateway``), the SATP routes (``relayer.satp.routes``) are
    mounted too, and a swap with an SATP session shows it; with ``moves``, the lock-and-mint
    move routes (``relayer.move_api``)."""
    if gateway is not None:
        satp = gateway.node
    if len(token) < 16:
        raise InvalidInput("api token", "must be at least 16 characters")
    app = FastAPI(
        title="stbridge relayer",
        version="0.1.0",
        description=(
            "Cross-chain delivery-versus-payment of security tokens with HTLCs. Every route "
            "but /healthz, /readyz, /docs and /openapi.json (including /metrics) needs "
            "`Authorization: Bearer <token>`. Errors are RFC 9457 problem details."
        ),
        docs_url=None,  # the Swagger UI loads from a CDN; /docs is served from here instead
        redoc_url=None,
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
    app.state.clients = [(t.encode("utf-8"), c) for t, c in clients]
    authorised = _authorised

    def _may_spend(request: Request, senders: list[str]) -> None:
        client: ApiClient = request.state.client
        wallet = client.may_spend(senders)
        if wallet is not None:
            raise forbidden(client, f"not bound to wallet {wallet}, which the order spends from")

    def _sees(request: Request, swap_id: str) -> bool:
        client: ApiClient = request.state.client
        return client.wallets is None or client.may_see(service.store.get(swap_id).terms)

    def _may_see(request: Request, swap_id: str) -> None:
        if not _sees(request, swap_id):
            raise forbidden(request.state.client, f"swap {swap_id} is not one of its wallets'")

    def count(request: Request, status: int) -> None:
        requests.labels(request.url.path.split("/")[1] or "/", str(status)).inc()

    @app.exception_handler(BridgeError)
    async def _bridge_error(request: Request, exc: BridgeError) -> JSONResponse:
        status = 503 if isinstance(exc, TransientError) else 422
        if isinstance(exc, NotFound):
            status = 404
        extra: dict[str, Any] = {}
        if isinstance(exc, Conflict):
            status = 409
            extra.update(fields=list(exc.fields))
        if isinstance(exc, InvalidInput):
            extra.update(field=exc.field, rule=exc.rule)
        count(request, status)
        return problem(status, str(exc), instance=request.url.path, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))}
            for e in exc.errors()
        ]
        raw = exc.errors()
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        absent = raw and (raw[0].get("type") == "missing" or raw[0].get("input", 0) is None)
        if first["loc"] == ["body", "trade"] and absent:
            first["msg"] = TRADE_REQUIRED  # the same rule as the CLI and the order loader
        # "body.cash.amount" -> "cash.amount"; query and path parameters keep their name
        loc = [str(p) for p in first["loc"]]
        where = ".".join(loc[1:] if loc[:1] == ["body"] else loc[1:] or loc) or "request"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        count(request, 422)
        return problem(
            422,
            f"{where}: {first['msg']}{more}",
            instance=request.url.path,
            field=where,
            rule=str(first["msg"]),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        count(request, exc.status_code)
        return problem(
            exc.status_code,
            str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """The API's reference, rendered here from the OpenAPI document (no CDN)."""
        return HTMLResponse(render_docs(app.openapi()))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"description": "the store does not answer"}})
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

    @app.get("/metrics", dependencies=[Depends(authorised)], responses=_responses(401))
    def metrics() -> PlainTextResponse:
        """Prometheus metrics: swaps by outcome, time per stage, deadlines at risk, RPC errors
        and reorgs by chain, transient errors, API requests. Needs the bearer token (a
        Prometheus scrape job sets it with ``authorization: {credentials: ...}``)."""
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

    @app.post(
        "/swaps",
        status_code=201,
        dependencies=[Depends(authorised)],
        responses=_responses(401, 409, 422, 503),
    )
    def submit(order: SubmittedOrder, request: Request) -> dict[str, Any]:
        """Submit a swap order; the same ``order_id`` again returns the same swap."""
        _may_spend(request, spending_senders(service, order))
        state = service.submit(order)
        requests.labels("swaps", "201").inc()
        return swap_view(state, service.store.input_log(state.terms.swap_id))

    @app.get("/swaps", dependencies=[Depends(authorised)], responses=_responses(401, 422))
    def list_swaps(
        request: Request,
        outcome: Annotated[Outcome | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    ) -> dict[str, Any]:
        """Swap ids, oldest first, filtered by outcome, paged."""
        wanted = None if outcome is None else outcome.value
        if satp is not None:  # SATP swaps by their session's outcome, paged with the rest
            from relayer.satp.routes import page_with_sessions

            ids = page_with_sessions(satp, wanted, limit=limit, offset=offset)
        else:
            ids = service.store.list_ids(outcome=wanted, limit=limit, offset=offset)
        ids = [i for i in ids if _sees(request, i)]
        return {"swaps": ids, "limit": limit, "offset": offset}

    @app.get("/swaps/{swap_id}", dependencies=[Depends(authorised)], responses=_responses(401, 404))
    def get_swap(swap_id: str, request: Request) -> dict[str, Any]:
        """One swap: terms, both legs' progress, outcome, and why it did not complete; while
        it is being retried, its ``last_error`` (reason, attempts, next retry) and any
        ``escrow_shortfall`` holding it back. A swap negotiated over SATP shows its session
        (``satp``: state, peer, legs, both decisions) and the session's outcome."""
        _may_see(request, swap_id)
        view = swap_view(service.store.get(swap_id), service.store.input_log(swap_id))
        for name in ("last_error", "escrow_shortfall"):
            try:
                view[name] = json.loads(service.store.document(swap_id, name))
            except NotFound:
                view[name] = None
        if satp is not None:
            from relayer.satp.routes import session_view

            view.update(session_view(satp, swap_id))
        return view

    @app.post(
        "/swaps/{swap_id}/cancel",
        dependencies=[Depends(authorised)],
        responses=_responses(401, 404, 409),
    )
    def cancel(swap_id: str, request: Request) -> JSONResponse:
        """Cancel a swap before anything was sent to a chain; 409 once locking began."""
        _may_see(request, swap_id)
        state, _ = service.store.apply(swap_id, CancelSwap())
        if state.outcome is not Outcome.CANCELLED:
            return problem(
                409,
                f"swap is {state.outcome.value}; it can no longer be cancelled",
                instance=f"/swaps/{swap_id}/cancel",
            )
        return JSONResponse(content=swap_view(state, service.store.input_log(swap_id)))

    @app.get(
        "/swaps/{swap_id}/audit",
        dependencies=[Depends(authorised)],
        responses=_responses(401, 404),
    )
    def audit(swap_id: str, request: Request) -> dict[str, Any]:
        """The audit record: the trade compliance judged, terms, the decision with citations,
        every input."""
        _may_see(request, swap_id)
        record = service.audit(swap_id)
        order = json.loads(service.store.document(swap_id, "order"))
        return {"trade": order.get("trade"), "order": order, **record}

    if satp is not None:
        from relayer.satp.routes import satp_router

        app.include_router(
            satp_router(satp, status_dependencies=[Depends(authorised)], gateway=gateway)
        )
    if moves is not None:
        from relayer.move_api import move_router

        app.include_router(
            move_router(
                moves,
                dependencies=[Depends(authorised), Depends(_operator_only)],
                driver=move_driver,
            )
        )
    return app


def render_docs(spec: dict[str, Any]) -> str:
    """A self-contained HTML page describing every operation of ``spec`` (OpenAPI 3)."""
    from html import escape

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{escape(spec['info']['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "code{background:#f4f4f4}h2{border-top:1px solid #ccc;padding-top:.5em}</style>",
        "</head><body>",
        f"<h1>{escape(spec['info']['title'])} {escape(spec['info']['version'])}</h1>",
        f"<p>{escape(spec['info'].get('description', ''))}</p>",
        "<p>The machine-readable document: <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            parts.append(f"<h2><code>{escape(method.upper())} {escape(path)}</code></h2>")
            parts.append(f"<p>{escape(op.get('summary', ''))}</p>")
            if op.get("description"):
                parts.append(f"<pre>{escape(op['description'])}</pre>")
            params = op.get("parameters", [])
            if params:
                items = "".join(
                    f"<li><code>{escape(p['name'])}</code> ({escape(p['in'])})"
                    f"{' required' if p.get('required') else ''}</li>"
                    for p in params
                )
                parts.append(f"<p>Parameters:</p><ul>{items}</ul>")
            if "requestBody" in op:
                parts.append("<p>Body: JSON (schema in /openapi.json).</p>")
            if op.get("security"):
                parts.append("<p>Needs <code>Authorization: Bearer &lt;token&gt;</code>.</p>")
            answers = "".join(
                f"<li><code>{escape(code)}</code> {escape(r.get('description', ''))}</li>"
                for code, r in op.get("responses", {}).items()
            )
            parts.append(f"<p>Answers:</p><ul>{answers}</ul>")
    parts.append("</body></html>")
    return "".join(parts)
