"""The relayer daemon as a real process re-checks the tokens before it reveals the secret.

Same two anvil chains as ``test_relayer_daemon.py`` (the security: our ERC-20 cash token on
chain A; the cash: the native coin on chain B). ``stbridge relayer run`` must wire each
token's own dry run exactly as the in-process tests do: a buyer the security's issuer
blocks after both locks must not be paid for with the seller's secret.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from adapters.evm.erc20 import Erc20Adapter
from bridge.model import AssetRef, Capability, EvmContractLocator
from tests.integration.test_relayer_daemon import (  # noqa: F401  (the module's fixture)
    Setup,
    cli,
    order_file,
    setup,
    start_daemon,
    stop,
    token_balance,
    wait_outcome,
)


def _state(store: Path, swap_id: str) -> dict[str, Any]:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT state FROM swaps WHERE swap_id = ?", (swap_id,)).fetchone()
    return {} if row is None else dict(json.loads(row[0]))


def _wait(store: Path, swap_id: str, what: str, check: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _state(store, swap_id)
        if state and check(state):
            return state
        time.sleep(0.2)
    raise AssertionError(f"swap {swap_id}: {what} not reached: {_state(store, swap_id)}")


def test_the_daemon_rechecks_the_token_before_revealing(setup: Setup, tmp_path: Path) -> None:  # noqa: F811
    """Token agent (specs/protocol/threats.md): both locks are on chain, then the security's
    issuer blocks the buyer. The daemon's re-check before the reveal runs the token's own
    check (escrow -> buyer), refuses, and never reveals; both legs go back to their senders
    at their deadlines. Without the token dry run wired in the daemon, the seller's secret
    would pay the seller while the buyer's claim could never land."""
    ref = AssetRef(chain=setup.a.chain, locator=EvmContractLocator(address=setup.token))
    rpc_b = setup.b.w3.provider.make_request
    seller_before = token_balance(setup, setup.seller.address)
    rpc_b("evm_setAutomine", [False])  # type: ignore[arg-type]
    proc = start_daemon(setup)
    try:
        submitted = cli(setup, "swap", "submit", str(order_file(setup, tmp_path, "recheck-token")))
        assert submitted.returncode == 0, submitted.stderr
        swap_id = submitted.stdout.strip()
        _wait(
            setup.store,
            swap_id,
            "the buyer's lock sent",
            lambda s: s["participant"]["phase"] == "lock_sent",
        )
        Erc20Adapter(setup.a).agent_operation(
            ref, Capability.BLOCKLIST, setup.seller, account=setup.buyer_on_a, blocked=True
        )
        rpc_b("evm_setAutomine", [True])  # type: ignore[arg-type]
        setup.b.mine()
        state = _wait(
            setup.store, swap_id, "the re-check", lambda s: s["recheck"] in ("passed", "failed")
        )
        assert state["recheck"] == "failed", state
        assert not state["secret_public"]
        for client in (setup.a, setup.b):
            client.increase_time(2 * 3600)
            client.mine()
        assert wait_outcome(setup, swap_id) == "refunded"
        assert token_balance(setup, setup.seller.address) == seller_before
        assert setup.htlc_b.revealed_secret(bytes.fromhex(state_hashlock(setup, swap_id))) is None
    finally:
        rpc_b("evm_setAutomine", [True])  # type: ignore[arg-type]
        Erc20Adapter(setup.a).agent_operation(
            ref, Capability.BLOCKLIST, setup.seller, account=setup.buyer_on_a, blocked=False
        )
        stop(proc)


def state_hashlock(s: Setup, swap_id: str) -> str:
    with sqlite3.connect(f"file:{s.store}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT terms FROM swaps WHERE swap_id = ?", (swap_id,)).fetchone()
    return str(json.loads(row[0])["hashlock"])[2:]
