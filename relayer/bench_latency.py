"""Latency of settled swaps in blocks, and the relayer's reaction to relevant blocks, for
``stbridge bench relayer --chains anvil --block-time S`` (:mod:`relayer.bench`).

**Order to both legs final**, per swap and per chain: the chain's blocks from the head at
the order to the moment the later of the two claims is final (its block plus the chain's
confirmation depth). On the claim's own chain that is its height; on the other chain, the
blocks that chain made until then (from the two claims' block timestamps and the block
time). The bound it is held against: the protocol's minimum - two inclusions per chain,
one after another (initiator lock, participant lock, reveal, initiator claim), plus each
chain's confirmation depth - plus one block per chain.

**Reaction to a relevant block**: a block holding an event the relayer must act on (the
initiator's lock: the participant's lock follows; the participant's lock: the reveal;
the reveal: the initiator's claim), counted in the relayer's polls: 1 when the
transaction that answers it was sent in the first tick whose poll saw the block (within
one poll interval), 2 when one tick later, and so on. The wall time from that first poll
to the send is reported too, and the mean poll interval.

The recorders wrap the chains' ``send`` and the watchers' ``poll`` of one wave and are
removed after it (:func:`recording`).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relayer.service import RelayerService

__all__ = ["Recorder", "latency_report", "recording"]


@dataclass
class Recorder:
    """When each transaction was sent, and each chain's polls (wall time, head)."""

    sent: dict[str, float] = field(default_factory=dict)
    polls: dict[str, list[tuple[float, int]]] = field(default_factory=dict)


@contextmanager
def recording(service: RelayerService, clients: Sequence[Any]) -> Iterator[Recorder]:
    """Record sends on ``clients`` and every poll of the service's watchers while open."""
    recorder = Recorder()
    restore: list[tuple[Any, str, Any]] = []
    for client in clients:
        original_send = client.send

        def send(*args: Any, _send: Any = original_send, _client: Any = client, **kw: Any) -> Any:
            tx_id = _send(*args, **kw)
            if tx_id not in getattr(_client, "held_sends", ()):  # held: stamped when sent
                recorder.sent.setdefault(str(tx_id), time.time())
            return tx_id

        restore.append((client, "send", original_send))
        client.send = send
        original_drain = getattr(client, "drain_sends", None)
        if original_drain is not None:
            # held sends leave in a batch (``EvmClient.drain_sends``, also inside
            # ``flush_sends``): each is stamped when its batch went out
            def drain(_drain: Any = original_drain, _client: Any = client) -> None:
                queued = list(_client.held_sends)
                _drain()
                now = time.time()
                for tx_id in queued:
                    recorder.sent.setdefault(str(tx_id), now)

            restore.append((client, "drain_sends", original_drain))
            client.drain_sends = drain
    for key, watcher in service.watchers.items():
        original_poll = watcher.poll
        polls = recorder.polls.setdefault(key, [])

        def poll(_poll: Any = original_poll, _polls: Any = polls) -> Any:
            view = _poll()
            _polls.append((time.time(), view.head))
            return view

        restore.append((watcher, "poll", original_poll))
        watcher.poll = poll  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        for target, name, original in restore:
            setattr(target, name, original)


def _summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "median": round(values[(len(values) - 1) // 2], 2),
        "p99": round(values[min(len(values) - 1, (99 * len(values)) // 100)], 2),
        "max": round(values[-1], 2),
    }


def latency_report(
    service: RelayerService,
    ids: Sequence[str],
    *,
    starts: Mapping[str, int],
    clients: Mapping[str, Any],
    block_time: int,
    recorder: Recorder,
) -> dict[str, Any]:
    """The latency section of a wave's report (see the module docstring); ``starts`` is each
    chain's head at the order, ``clients`` each chain's client by chain key."""
    from bridge.swap import Role, chain_key

    stamps: dict[tuple[str, int], int] = {}

    def stamp(key: str, height: int) -> int:
        if (key, height) not in stamps:
            raw = clients[key].fast.request("eth_getBlockByNumber", [hex(height), False])
            stamps[(key, height)] = int(str(raw["timestamp"]), 16)
        return stamps[(key, height)]

    confirmations = {key: w.confirmations for key, w in service.watchers.items()}
    bound = sum(2 + c for c in confirmations.values()) + len(confirmations)
    per_chain: dict[str, list[float]] = {}
    reaction_polls: list[float] = []
    reaction_s: list[float] = []
    for swap_id in ids:
        state = service.store.get(swap_id)
        if state.outcome.value != "completed":
            continue
        found: dict[Role, dict[str, tuple[int, str]]] = {}
        keys = {role: chain_key(state.terms.leg(role).chain) for role in Role}
        for role in Role:
            lock_id = service.expected_lock_id(state, role)
            found[role] = {
                e.name: (e.height, e.tx_id) for e in service.store.lock_history(keys[role], lock_id)
            }
        if any("Claimed" not in found[r] or "Locked" not in found[r] for r in Role):
            continue
        final = {r: (found[r]["Claimed"][0] + confirmations[keys[r]], keys[r]) for r in Role}
        end = max(stamp(key, height) for height, key in final.values())
        for role in Role:
            height, key = final[role]
            extra = round((end - stamp(key, height)) / block_time) if block_time else 0
            per_chain.setdefault(key, []).append(height - starts[key] + max(extra, 0))
        # the relevant block -> the transaction that answers it
        steps = (
            (
                keys[Role.INITIATOR],
                found[Role.INITIATOR]["Locked"][0],
                found[Role.PARTICIPANT]["Locked"][1],
            ),
            (
                keys[Role.PARTICIPANT],
                found[Role.PARTICIPANT]["Locked"][0],
                found[Role.PARTICIPANT]["Claimed"][1],
            ),
            (
                keys[Role.PARTICIPANT],
                found[Role.PARTICIPANT]["Claimed"][0],
                found[Role.INITIATOR]["Claimed"][1],
            ),
        )
        for key, height, answer in steps:
            polls = recorder.polls.get(key, [])
            sent = recorder.sent.get(answer)
            seen = next((i for i, (_, head) in enumerate(polls) if head >= height), None)
            if sent is None or seen is None:
                continue
            at = bisect.bisect_right([t for t, _ in polls], sent) - 1
            reaction_polls.append(at - seen + 1)
            reaction_s.append(sent - polls[seen][0])
    intervals = [b[0] - a[0] for polls in recorder.polls.values() for a, b in pairwise(polls)]
    poll_s = sum(intervals) / len(intervals) if intervals else 0.0
    return {
        "order_to_final_blocks": {key: _summary(v) for key, v in per_chain.items()},
        "bound_blocks": bound,
        "bound": (
            "two inclusions per chain, one after another, plus each chain's confirmation "
            f"depth ({', '.join(f'{k}: {c}' for k, c in confirmations.items())}), plus one "
            "block per chain"
        ),
        "within_bound": all(v <= bound for values in per_chain.values() for v in values),
        "reaction_polls": _summary(reaction_polls),
        "reaction_seconds_after_first_poll": _summary(reaction_s),
        "poll_interval_s": round(poll_s, 3),
    }
