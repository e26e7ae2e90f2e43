"""The interop suite's API-client and operator actors: the relayer's edges that are not chains.

:class:`EdgeActors` is mixed into :class:`~relayer.interop.machine.InteropMachine`. Its rules
drive the real HTTP API (:func:`relayer.api.create_app`, bound to the machine's running
relayer service, through Starlette's in-process ``TestClient``: the same ASGI app the daemon
serves) and the daemon's start-up gate for the test-only crash hook
(:func:`relayer.daemon.crash_plan_for`):

========================  ======================================================================
rule (actor)              what it does
========================  ======================================================================
``api_resubmit``          a platform posts an order again under an ``order_id`` already taken,
(api_client)              with the same terms or with one of them changed (an amount, the
                          window, the receiver)
``api_bearer``            a caller sends ``Authorization: Bearer <anything>``: the right token
(api_client)              or any text, non-ASCII included, as UTF-8 bytes
``api_readyz``            an unauthenticated caller asks ``/readyz``, with the store answering
(api_client)              or not (its ``swaps`` table renamed away under the relayer by another
                          connection: a real fault, put back right after)
``operator_env``          the operator starts the daemon with a configuration (a SQLite or
(operator)                PostgreSQL store; embedded, loopback or remote chains) and an
                          environment that may carry ``STBRIDGE_FAULT_KILL`` and
                          ``STBRIDGE_TEST_MODE``
========================  ======================================================================

Invariants (each docstring states it): ``the_api_never_fails_with_a_server_error``,
``a_changed_order_is_never_taken_for_the_old_swap``,
``only_the_right_bearer_token_gets_in``, ``anonymous_callers_see_no_store_error``,
``a_production_daemon_arms_no_crash_hook``. The API's answers also feed the machine's
``secret_stays_private_until_revealed`` (no secret in API output before it is public).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from bridge.compliance import Trade
from bridge.errors import BridgeError, ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi.testclient import TestClient

    from relayer.interop.machine import InvariantViolation, SwapRecord
    from relayer.service import RelayerService

__all__ = ["API_TOKEN", "ApiExchange", "EdgeActors", "OperatorStart", "example_trade"]

API_TOKEN: Final = "interop-api-token-0123456789"  # noqa: S105 (a test token, not a secret)
"""The operator's bearer token of the machine's API."""

CHANGES: Final = ("same", "cash.amount", "security.amount", "settlement_window_s", "receiver")
"""How ``api_resubmit`` alters the order it posts again (``same``: not at all)."""

STORE_WORDS: Final = ("no such table", "sqlite", "operationalerror", "psycopg", "stbridge-interop")
"""Text of a store error (the engine's message and name, the store's folder) that an
unauthenticated caller must never read."""


@functools.cache
def example_trade() -> Trade:
    """The trade of the shipped example order ``trex-jp-to-sg-for-usdx-on-evm`` (a T-REX
    resale from Japan to Singapore against a USD coin): every order of the machine carries
    it, as ``POST /swaps`` requires a trade (the machine's compliance check allows all)."""
    from relayer.orders import examples_dir

    path = examples_dir() / "trex-jp-to-sg-for-usdx-on-evm.json"
    return Trade.model_validate(json.loads(path.read_text(encoding="utf-8"))["trade"])


@dataclass(frozen=True)
class ApiExchange:
    """One request of an API actor and its answer."""

    rule: str
    method: str
    path: str
    status: int
    body: str
    authenticated: bool
    store_down: bool = False
    change: str | None = None
    """``api_resubmit``: what was changed (``same``: nothing)."""
    swap_id: str | None = None
    """``api_resubmit``: the swap the order id belongs to."""
    right_token: bool | None = None
    """``api_bearer``: whether the token sent was the operator's."""


@dataclass(frozen=True)
class OperatorStart:
    """One start of the daemon by the operator (``operator_env``) and the gate's verdict."""

    store: str
    endpoint: str
    environ: dict[str, str]
    verdict: str
    """``refused: ...`` (``ConfigError``), ``invalid: ...`` (another refusal), ``none`` (no
    hook armed) or ``armed: <plan>``."""

    @property
    def production(self) -> bool:
        """Not the crash tests' set-up: test mode off, or a shared PostgreSQL store, or a
        chain that is neither embedded nor on the loopback interface."""
        test_mode = self.environ.get("STBRIDGE_TEST_MODE", "").lower() in ("1", "true")
        local = self.endpoint == "embedded" or self.endpoint.startswith("http://127.0.0.1")
        return not test_mode or self.store.startswith("postgresql://") or not local


class EdgeActors:
    """The API-client and operator rules and invariants (see the module docstring)."""

    if TYPE_CHECKING:
        ready: bool
        swaps: list[SwapRecord]
        workdir: Path
        dsn: str | None

        @property
        def svc(self) -> RelayerService: ...

        def _on(self, rule_name: str) -> bool: ...

        def _act(self, actor: str) -> bool: ...

        def _counted(self) -> None: ...

        @staticmethod
        def _violation(name: str, swap: SwapRecord | None, detail: str) -> InvariantViolation: ...

    api_log: list[ApiExchange]
    """Every API request of the example (the invariants read them all: a few per example)."""
    starts: list[OperatorStart]
    _api: tuple[Any, TestClient] | None

    def _edges_init(self) -> None:
        self.api_log = []
        self.starts = []
        self._api = None

    def _client(self) -> TestClient:
        """The API over the running service (built again after a restart of the relayer)."""
        from fastapi.testclient import TestClient

        from relayer.api import create_app

        if self._api is None or self._api[0] is not self.svc:
            app = create_app(self.svc, token=API_TOKEN)
            self._api = (self.svc, TestClient(app, raise_server_exceptions=False))
        return self._api[1]

    def _exchange(self, rule: str, method: str, path: str, **kw: Any) -> ApiExchange:
        headers = kw.pop("headers", {})
        extra = kw.pop("record", {})
        authenticated = bool(kw.pop("authenticated", False))
        answer = self._client().request(method, path, headers=headers, **kw)
        exchange = ApiExchange(
            rule=rule,
            method=method,
            path=path,
            status=answer.status_code,
            body=answer.text,
            authenticated=authenticated,
            **extra,
        )
        self.api_log.append(exchange)
        return exchange

    # ------------------------------------------------------------------ rules
    @precondition(
        lambda self: self._on("api_resubmit") and self._act("api_client") and bool(self.swaps)
    )
    @rule(data=st.data(), change=st.sampled_from(CHANGES))
    def api_resubmit(self, data: st.DataObject, change: str) -> None:
        """A platform posts a swap's order again (``POST /swaps``, the operator's token)
        under its ``order_id``: the same order, or with ``change`` made to it."""
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        self.resubmit(swap, change)

    def resubmit(self, swap: SwapRecord, change: str) -> ApiExchange:
        """Post ``swap``'s order again with ``change`` (one of :data:`CHANGES`)."""
        body = self.svc.order_of(swap.swap_id).model_dump(mode="json")
        if change in ("cash.amount", "security.amount"):
            leg, _ = change.split(".")
            body[leg]["amount"] += 1
        elif change == "settlement_window_s":
            body["settlement_window_s"] += 1
        elif change == "receiver":
            body["cash"]["receiver"], body["cash"]["sender"] = (
                body["cash"]["sender"],
                body["cash"]["receiver"],
            )
        return self._exchange(
            "api_resubmit",
            "POST",
            "/swaps",
            json=body,
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            authenticated=True,
            record={"change": change, "swap_id": swap.swap_id},
        )

    @precondition(lambda self: self._on("api_bearer") and self._act("api_client") and self.ready)
    @rule(
        token=st.one_of(
            st.just(API_TOKEN),
            st.text(
                st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                min_size=1,
                max_size=24,
            ),
        )
    )
    def api_bearer(self, token: str) -> None:
        """A caller lists the swaps with ``Authorization: Bearer <token>`` (UTF-8 bytes)."""
        self.send_bearer(token)

    def send_bearer(self, token: str) -> ApiExchange:
        """``GET /swaps`` with ``token`` as the bearer credential (see :meth:`api_bearer`)."""
        header = b"Bearer " + token.strip().encode("utf-8")
        right = token.strip() == API_TOKEN
        return self._exchange(
            "api_bearer",
            "GET",
            "/swaps",
            headers={"Authorization": header},
            authenticated=right,
            record={"right_token": right},
        )

    @precondition(lambda self: self._on("api_readyz") and self._act("api_client") and self.ready)
    @rule(store_down=st.booleans())
    def api_readyz(self, store_down: bool) -> None:
        """An unauthenticated caller asks ``/readyz``; with ``store_down`` the relayer's
        store does not answer meanwhile (SQLite: its ``swaps`` table is renamed away by
        another connection, and back right after)."""
        self.ask_readyz(store_down)

    def ask_readyz(self, store_down: bool) -> ApiExchange:
        """``GET /readyz`` without credentials (see :meth:`api_readyz`)."""
        if not store_down or self.dsn is not None:  # the fault is made on SQLite only
            return self._exchange("api_readyz", "GET", "/readyz")
        path = self.workdir / "relayer.sqlite3"
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as other:
            other.execute("ALTER TABLE swaps RENAME TO swaps_away")
            other.commit()
            try:
                return self._exchange("api_readyz", "GET", "/readyz", record={"store_down": True})
            finally:
                other.execute("ALTER TABLE swaps_away RENAME TO swaps")
                other.commit()

    @precondition(lambda self: self._on("operator_env") and self._act("operator"))
    @rule(
        store=st.sampled_from(["relayer.sqlite3", "postgresql://db.internal:5432/relayer"]),
        endpoint=st.sampled_from(["embedded", "http://127.0.0.1:8545", "https://rpc.example.org"]),
        fault=st.sampled_from([None, "input:3", "send:1"]),
        test_mode=st.sampled_from([None, "1", "0"]),
    )
    def operator_env(
        self, store: str, endpoint: str, fault: str | None, test_mode: str | None
    ) -> None:
        """The operator starts the daemon (its start-up gate, before anything is opened)
        with this store, one EVM chain at ``endpoint``, and the environment's
        ``STBRIDGE_FAULT_KILL`` / ``STBRIDGE_TEST_MODE`` (None: unset)."""
        self.start_daemon(store, endpoint, fault, test_mode)

    def start_daemon(
        self, store: str, endpoint: str, fault: str | None, test_mode: str | None
    ) -> OperatorStart:
        """Run the daemon's start-up gate (see :meth:`operator_env`) and record its verdict."""
        from relayer.daemon import crash_plan_for
        from relayer.settings import ChainSettings, RelayerSettings

        settings = RelayerSettings(
            store=store, chains=(ChainSettings(name="sec", kind="evm", endpoint=endpoint),)
        )
        environ = {
            name: value
            for name, value in (("STBRIDGE_FAULT_KILL", fault), ("STBRIDGE_TEST_MODE", test_mode))
            if value is not None
        }
        try:
            plan = crash_plan_for(settings, environ)
        except ConfigError as exc:
            verdict = f"refused: {exc}"
        except BridgeError as exc:
            verdict = f"invalid: {exc}"
        else:
            verdict = "none" if plan is None else f"armed: {plan}"
        start = OperatorStart(store, endpoint, environ, verdict)
        self.starts.append(start)
        return start

    # ------------------------------------------------------------------ invariants
    @invariant()
    def the_api_never_fails_with_a_server_error(self) -> None:
        """The API never answers with a server error: no 500 for any request of any caller
        (a non-ASCII bearer token, a re-submitted order, ...); the one 5xx it may give is
        ``/readyz``'s 503 while the store does not answer (issue 13 item 11)."""
        if not self.ready:
            return
        self._counted()
        for x in self.api_log:
            if x.status >= 500 and not (x.path == "/readyz" and x.store_down and x.status == 503):
                raise self._violation(
                    "the_api_never_fails_with_a_server_error",
                    None,
                    f"{x.method} {x.path} ({x.rule}) answered {x.status}: {x.body[:200]}",
                )

    @invariant()
    def a_changed_order_is_never_taken_for_the_old_swap(self) -> None:
        """An ``order_id`` names one order: posted again with the same terms it answers 2xx
        with the same swap; posted with any term changed it answers 409 naming what
        differs, never 2xx with the old swap (issue 13 item 10)."""
        if not self.ready:
            return
        self._counted()
        for x in self.api_log:
            if x.rule != "api_resubmit" or x.status >= 500:
                continue
            if x.change == "same":
                if x.status >= 300 or str(x.swap_id) not in x.body:
                    raise self._violation(
                        "a_changed_order_is_never_taken_for_the_old_swap",
                        None,
                        f"the same order posted again answered {x.status}: {x.body[:200]}",
                    )
            elif x.status != 409:
                raise self._violation(
                    "a_changed_order_is_never_taken_for_the_old_swap",
                    None,
                    f"the order of swap {x.swap_id} posted again with {x.change} changed "
                    f"answered {x.status} (not 409): {x.body[:200]}",
                )

    @invariant()
    def only_the_right_bearer_token_gets_in(self) -> None:
        """Any bearer credential but the operator's token (non-ASCII text included) is
        answered 401; the operator's token gets in (issue 13 item 11)."""
        if not self.ready:
            return
        self._counted()
        for x in self.api_log:
            if x.rule != "api_bearer" or x.status >= 500:
                continue
            if x.status != (200 if x.right_token else 401):
                raise self._violation(
                    "only_the_right_bearer_token_gets_in",
                    None,
                    f"a {'right' if x.right_token else 'wrong'} bearer token got {x.status}",
                )

    @invariant()
    def anonymous_callers_see_no_store_error(self) -> None:
        """An unauthenticated caller never reads the store's error text (table names, the
        engine's message, file paths, DSN hosts): ``/readyz`` says ready or not ready, no
        more (issue 13 item 11)."""
        if not self.ready:
            return
        self._counted()
        for x in self.api_log:
            if x.authenticated:
                continue
            text = x.body.lower()
            leaked = [word for word in STORE_WORDS if word in text]
            if leaked:
                raise self._violation(
                    "anonymous_callers_see_no_store_error",
                    None,
                    f"{x.method} {x.path} answered an anonymous caller {x.status} with store "
                    f"error text ({', '.join(leaked)}): {x.body[:200]}",
                )

    @invariant()
    def a_production_daemon_arms_no_crash_hook(self) -> None:
        """A daemon started in a production configuration (test mode off, or a PostgreSQL
        store, or a chain neither embedded nor on the loopback interface) never arms the
        test-only crash hook: with ``STBRIDGE_FAULT_KILL`` set it refuses to start
        (``ConfigError``), without it it arms nothing (issue 13 item 14)."""
        if not self.ready:
            return
        self._counted()
        for start in self.starts:
            if not start.production:
                continue
            fault = "STBRIDGE_FAULT_KILL" in start.environ
            test_mode = start.environ.get("STBRIDGE_TEST_MODE", "").lower() in ("1", "true")
            ok = (
                start.verdict.startswith("refused")
                if fault or test_mode
                else start.verdict == "none"
            )
            if not ok:
                raise self._violation(
                    "a_production_daemon_arms_no_crash_hook",
                    None,
                    f"store {start.store}, chain {start.endpoint}, environment {start.environ}: "
                    f"{start.verdict}",
                )
