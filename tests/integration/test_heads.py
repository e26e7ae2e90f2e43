"""The relayer's loop woken by new heads (``relayer.heads``, ``adapters.evm.heads``): anvil
announces each block over its websocket (``eth_subscribe("newHeads")``); a node without
subscriptions (py-evm's JSON-RPC server) and a socket that drops fall back to polling, and
nothing is missed, since the watchers read every chain by range.

No test asserts a timing: the waits below are generous ceilings for a wait that must end
by a head (a loaded machine only makes them end later)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.heads import ws_url
from adapters.evm.rpc_server import EvmRpcServer
from bridge.swap import Outcome
from relayer.heads import HeadWakeups
from relayer.service import RelayerService
from tests.fixtures.evm import start_anvil
from tests.integration.test_pipelined_service import _hashlock
from tests.integration.test_relayer_service import (  # noqa: F401 (fixtures)
    World,
    order,
    service,
    snapshots,
    world,
)

CEILING_S = 60.0  # a head must wake the wait long before this, however loaded the machine


def test_ws_url_keeps_the_node_address_and_refuses_what_is_not_a_node() -> None:
    assert ws_url("http://127.0.0.1:8545") == "ws://127.0.0.1:8545"
    assert ws_url("https://node.example/v3/key") == "wss://node.example/v3/key"
    assert ws_url("ws://127.0.0.1:8546") == "ws://127.0.0.1:8546"
    assert ws_url("embedded") is None


@pytest.fixture
def own_anvil() -> Iterator[str]:
    proc, url = start_anvil()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_new_head_wakes_the_loop(own_anvil: str) -> None:
    """anvil offers ``newHeads``: a block mined wakes the wait (True), not its timeout."""
    wake = HeadWakeups([own_anvil])
    try:
        assert wake.start() == 1
        EvmClient.connect(own_anvil).w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert wake.wait(CEILING_S) is True
        assert wake.heads >= 1
    finally:
        wake.close()
    assert wake.live == 0


def test_a_node_without_subscriptions_is_polled() -> None:
    """py-evm's JSON-RPC server has no websocket: nothing is followed, the wait is the poll
    interval (False), and no error leaves the wake-ups."""
    server = EvmRpcServer().start()
    try:
        wake = HeadWakeups([server.url, "embedded"])
        assert wake.followed == 1  # "embedded" is no node
        assert wake.start() == 0
        assert wake.wait(0.01) is False
        wake.close()
    finally:
        server.stop()


class _Proxy:
    """A real TCP relay in front of a node: :meth:`cut` drops every open connection (the
    socket a subscription rides on), as a restarted load balancer would; new connections
    are still relayed."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open: list[socket.socket] = []
        self.accepted = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self.open += [client, upstream]
                self.accepted += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            dropped, self.open = self.open, []
        for s in dropped:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
        self.cut()


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + CEILING_S
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {CEILING_S:.0f} s")
        time.sleep(0.01)


def _loop(svc: RelayerService, wake: HeadWakeups, swap_id: str, ticks: int = 20) -> None:
    """The daemon's loop: a tick, then a wait for a head or the poll interval."""
    for _ in range(ticks):
        svc.tick()
        if svc.store.get(swap_id).outcome is not Outcome.OPEN:
            return
        wake.wait(0.05)


def test_a_dropped_socket_falls_back_to_polling_and_nothing_is_missed(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
    anvil_url: str,
) -> None:
    """Actor: the network between the relayer and its node. The cash chain's heads are
    followed through a relay that drops the socket after the swap's first tick; the blocks
    mined meanwhile are announced to no one, the loop polls, and the swap still completes
    with one lock per leg (the watcher reads by range). The subscription is taken again
    once its retry is due."""
    proxy = _Proxy(anvil_url)
    wake = HeadWakeups([proxy.url])
    wake.retry_s = 3600.0  # no retry until the test asks for it
    svc = service(world, tmp_path)
    try:
        assert wake.start() == 1
        swap_id = svc.submit(order(world, "heads-dropped")).terms.swap_id
        svc.tick()
        proxy.cut()
        _until(lambda: wake.live == 0, "the dropped subscription was not noticed")
        _loop(svc, wake, swap_id)
        final = svc.store.get(swap_id)
        assert final.outcome is Outcome.COMPLETED, (final.initiator, final.participant)
        hashlock = _hashlock(final.terms.hashlock)
        assert len(world.sec_htlc.find(hashlock)) == 1
        assert len(world.cash_htlc.find(hashlock)) == 1
        wake.retry_s = 0.0  # each wait with the retry due subscribes again, in the background
        _until(lambda: wake.wait(0.0) is False and wake.live == 1, "no new subscription")
        assert proxy.accepted >= 2  # a second connection carries it
    finally:
        wake.close()
        proxy.close()


def test_a_swap_settles_with_no_node_offering_heads(
    world: World,  # noqa: F811
    tmp_path: Path,
    snapshots: None,  # noqa: F811
) -> None:
    """The loop with no live subscription at all (py-evm and a node without a websocket)
    waits its poll interval between ticks and settles the swap."""
    server = EvmRpcServer().start()
    wake = HeadWakeups([server.url])
    svc = service(world, tmp_path)
    try:
        assert wake.start() == 0
        swap_id = svc.submit(order(world, "heads-none")).terms.swap_id
        _loop(svc, wake, swap_id)
        assert svc.store.get(swap_id).outcome is Outcome.COMPLETED
    finally:
        wake.close()
        server.stop()
