"""RPC faults: the relayer settles concurrent swaps through a proxy that breaks 20% of calls.

50 swaps in ``make test`` (measured: all settled with 881 faults injected, 113 s on 2 cores),
100 under the ``thorough`` profile (``make test-thorough``).

Two anvil chains sit behind fault-injecting JSON-RPC proxies (127.0.0.1). Of the requests
that reach a proxy, a seeded 20% are broken: half are forwarded and their answer dropped
(the call may have happened: the worst case for a submission), a quarter fail with HTTP 502
without being forwarded, a quarter are delayed. Every swap must end settled (both parties
are honest) before its deadline, with exactly one lock per leg.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.model import AssetRef, Capability, EvmContractLocator
from bridge.swap import Outcome
from relayer.evm import evm_runtime
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, LegOrder, RelayerService, SwapOrder
from relayer.store import SqliteStore
from tests.fixtures.evm import _free_port, start_anvil, stop_process

ETHER = 10**18
SWAPS = 100 if os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE") == "thorough" else 50
FAULT_RATE = 0.2


class FaultyProxy:
    """A JSON-RPC proxy on 127.0.0.1 that breaks a seeded share of the requests it gets."""

    def __init__(self, upstream: str, *, rate: float, seed: int) -> None:
        self.upstream = upstream
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {"forwarded": 0, "dropped": 0, "failed": 0, "delayed": 0}
        self.enabled = False
        self.upstream_client = httpx.Client(timeout=30)  # kept-alive connection to the node
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real node's front end
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stall

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fault = proxy.draw()
                if fault == "fail":
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fault == "delay":
                    time.sleep(0.3)
                answer = proxy.upstream_client.post(
                    proxy.upstream,
                    content=body,
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                )
                if fault == "drop":
                    self.close_connection = True
                    self.connection.close()  # the call happened; the answer is lost
                    return
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def draw(self) -> str:
        with self.lock:
            if not self.enabled or self.rng.random() >= self.rate:
                self.counts["forwarded"] += 1
                return "ok"
            roll = self.rng.random()
            fault = "drop" if roll < 0.5 else "fail" if roll < 0.75 else "delay"
            self.counts[{"drop": "dropped", "fail": "failed", "delay": "delayed"}[fault]] += 1
            return fault

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.upstream_client.close()


@dataclass
class Pair:
    a: EvmClient
    b: EvmClient
    proxies: tuple[FaultyProxy, FaultyProxy]
    htlc_a: EvmHtlc
    htlc_b: EvmHtlc
    token: str
    seller: EvmSigner
    buyer: EvmSigner
    operator_a: EvmSigner
    operator_b: EvmSigner


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    proc_a, url_a = start_anvil("--chain-id", "31340")
    proc_b, url_b = start_anvil("--chain-id", "31341")
    proxies = (
        FaultyProxy(url_a, rate=FAULT_RATE, seed=1),
        FaultyProxy(url_b, rate=FAULT_RATE, seed=2),
    )
    try:
        a, b = EvmClient.from_target(proxies[0].url), EvmClient.from_target(proxies[1].url)
        keys = {n: EvmSigner.generate() for n in ("op_a", "seller", "op_b", "buyer")}
        for n in ("op_a", "seller"):
            a.fund(keys[n].address, 100 * ETHER)
        for n in ("op_b", "buyer"):
            b.fund(keys[n].address, 100 * ETHER)
        htlc_a, htlc_b = EvmHtlc.deploy(a, keys["op_a"]), EvmHtlc.deploy(b, keys["op_b"])
        token = deploy_cash_token(
            a, keys["seller"], name="Osaka Bond Units", symbol="OBU", decimals=0, currency="JPY"
        )
        ref = AssetRef(chain=a.chain, locator=EvmContractLocator(address=token))
        Erc20Adapter(a).agent_operation(
            ref, Capability.MINT, keys["seller"], to=keys["seller"].address, amount=10_000
        )
        yield Pair(
            a, b, proxies, htlc_a, htlc_b, token,
            keys["seller"], keys["buyer"], keys["op_a"], keys["op_b"],
        )  # fmt: skip
    finally:
        for proxy in proxies:
            proxy.close()
        stop_process(proc_a)
        stop_process(proc_b)


def runtime(name: str, client: EvmClient, htlc: EvmHtlc, owner: EvmSigner, op: EvmSigner) -> Any:
    timing = ChainTiming(
        deadline_unit="timestamp",
        block_time_min_ms=1000,
        block_time_max_ms=2000,
        timestamp_drift_s=5,
    )
    return evm_runtime(
        name=name, client=client, htlc=htlc, timing=timing, confirmations=0,
        signers=[owner], operator=op,
    )  # fmt: skip


@pytest.mark.slow
def test_concurrent_swaps_settle_through_faulty_rpc(pair: Pair, tmp_path: Any) -> None:
    """Invariant: with 20% of RPC calls dropped, failed or delayed, all the swaps settle
    before their deadlines, each with exactly one lock per leg, and every token and coin
    arrives where the terms say."""
    service = RelayerService(
        store=SqliteStore(tmp_path / "relayer.sqlite3"),
        chains={
            "a": runtime("a", pair.a, pair.htlc_a, pair.seller, pair.operator_a),
            "b": runtime("b", pair.b, pair.htlc_b, pair.buyer, pair.operator_b),
        },
        compliance=lambda order, at: ComplianceResult(True, (), {"rules": "test"}),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=30, compliance_recheck_s=10, margin_s=30),
        wall_clock=time.time,
    )
    receivers_a = [EvmSigner.generate().address for _ in range(SWAPS)]
    receivers_b = [EvmSigner.generate().address for _ in range(SWAPS)]
    swap_ids = []
    for n in range(SWAPS):
        order = SwapOrder(
            order_id=f"faulty-{n}",
            security=LegOrder(
                chain="a",
                asset=AssetRef(chain=pair.a.chain, locator=EvmContractLocator(address=pair.token)),
                amount=n + 1,
                sender=pair.seller.address,
                receiver=receivers_a[n],
            ),
            cash=LegOrder(
                chain="b",
                amount=(n + 1) * 10**15,
                sender=pair.buyer.address,
                receiver=receivers_b[n],
            ),
            settlement_window_s=3600,
        )
        swap_ids.append(service.submit(order).terms.swap_id)
    for proxy in pair.proxies:
        proxy.enabled = True
    started = time.monotonic()
    while time.monotonic() - started < 600:
        service.tick()
        open_ids = service.store.list_ids(outcome="open", limit=1000)
        if not open_ids:
            break
    for proxy in pair.proxies:
        proxy.enabled = False
    outcomes = {service.store.get(s).outcome for s in swap_ids}
    assert outcomes == {Outcome.COMPLETED}, outcomes
    ref = AssetRef(chain=pair.a.chain, locator=EvmContractLocator(address=pair.token))
    reader = Erc20Adapter(pair.a)
    for n, swap_id in enumerate(swap_ids):
        terms = service.store.get(swap_id).terms
        hashlock = bytes.fromhex(terms.hashlock[2:])
        assert len(pair.htlc_a.find(hashlock)) == 1
        assert len(pair.htlc_b.find(hashlock)) == 1
        assert reader.holding(ref, receivers_a[n]).balance == n + 1
        assert pair.b.balance(receivers_b[n]) == (n + 1) * 10**15
    broken = sum(
        p.counts["dropped"] + p.counts["failed"] + p.counts["delayed"] for p in pair.proxies
    )
    by_chain = {
        chain: service.metrics.registry.get_sample_value(
            "stbridge_rpc_errors_total", {"chain": chain}
        )
        or 0.0
        for chain in ("a", "b")
    }
    print(
        f"RPC faults injected: {[p.counts for p in pair.proxies]}; errors retried by the "
        f"relayer: {service.transient_errors} (by chain: {by_chain}); "
        f"{time.monotonic() - started:.1f} s"
    )
    assert broken > 5 * SWAPS
    assert sum(by_chain.values()) >= 1  # faults the client could not retry reached the metric
