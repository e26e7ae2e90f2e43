"""Pipelined settlement: transactions sent without waiting, confirmed by the watcher.

A chain whose HTLC port is *pipelined* (``port.pipelined`` true, and ``port.tx_outcomes``:
:meth:`adapters.evm.htlc.EvmHtlc.with_pipelining`) returns from lock, claim and refund as
soon as the node took the transaction. The relayer (:mod:`relayer.service`) then:

1. records the transaction's hash on the effect (``Store.record_sent``: status ``sent``)
   and leaves the effect open: in flight, it survives a crash in the store, not in memory;
2. at a later tick, finishes the effect when the chain's watcher has recorded what the
   transaction did (the leg's lock, claim or refund event) - the common case, no request;
3. otherwise asks the port what became of the transaction, for every such transaction of
   the chain in one batch (:class:`Outcomes`): ``mined`` finishes the effect, ``failed``
   feeds the engine a ``TxFailed`` (broadcast: the transaction was on chain), ``dropped``
   or ``out_of_gas`` opens the effect again (the journal re-sends the same bytes, or
   builds a new transaction when those were mined or can no longer be), ``pending`` waits.

The sends of one tick to one chain go to its node in one JSON-RPC batch
(:class:`SendBatches`: the chain's client holds them, ``EvmClient.hold_sends``, from the
tick's first effect to its end; in a long tick, also between two swaps once the oldest
has waited 0.1 s, so the first ones are not held back to the end, unless the client says
it holds to the end, ``max_held_s = None``: the embedded Algorand ledger's pool, whose
queued groups are evaluated as one round at the flush): each is recorded
``sent`` as above before the batch goes out, so a crash before it leaves the effect
``sent`` with bytes the node never had, which the next process finds ``dropped`` and sends
again. A send the node refuses in the batch
is handled as a refused single send: its effect is opened again and runs at once, unbatched
(the journal re-sends its bytes; the refusal then takes the path it always took: a nonce
taken builds a new transaction, a revert feeds ``TxFailed``). A send whose fate is unknown
(the node unreachable for the batch, an answer lost) stays ``sent`` and is asked about
next tick like any transaction in flight (on chain: done; dropped: the same bytes again).

Crash safety is the journal's (``bridge.journal``): the signed bytes are kept before they
are sent, so a crash after sending and before recording re-runs the effect, which finds
the lock on chain or re-sends the same bytes (never a second, different transaction); a
crash after recording leaves the effect ``sent``, and the next process confirms it as
above.

:class:`PairedClock` gives a chain's watcher its head and time from one read
(``ChainRuntime.tick_clock``): the one clock read per chain per tick. Safety decisions (the
last safe reveal time, a refund's deadline) still read the chain's clock afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from bridge.ports import TxReceipt

__all__ = [
    "Outcomes",
    "PairedClock",
    "SendBatches",
    "SentOutcome",
    "claim_revealed",
    "is_pipelined",
]

log = logging.getLogger(__name__)


class SentOutcome(Protocol):
    """What became of a sent transaction (``adapters.evm.client.SentTx``)."""

    @property
    def status(self) -> str:
        """``pending``, ``dropped``, ``mined``, ``failed`` or ``out_of_gas``."""
        ...

    @property
    def height(self) -> int:
        """The block it was mined in (-1: not mined)."""
        ...

    @property
    def reason(self) -> str:
        """Why a failed transaction failed."""
        ...


def is_pipelined(port: object) -> bool:
    """Whether an HTLC port returns before its transactions are mined."""
    return bool(getattr(port, "pipelined", False)) and callable(getattr(port, "tx_outcomes", None))


def claim_revealed(port: Any, lock_id: str, secret: bytes, signer: Any) -> TxReceipt:
    """``port.claim`` for a secret that is public already (a claim on either chain carried
    it, or a reveal was broadcast): a pipelined EVM port sends it with its cached gas limit
    (``revealed=True``: nothing new is published if it fails on chain); any other port
    claims as usual. Returns the port's receipt."""
    receipt: TxReceipt = (
        port.claim(lock_id, secret, signer, revealed=True)
        if is_pipelined(port)
        else port.claim(lock_id, secret, signer)
    )
    return receipt


class PairedClock:
    """A watcher's ``head`` and ``now`` from one read of ``(height, time)``: ``head()`` reads
    the pair, ``now()`` answers the time of that same read (the watcher asks them in this
    order on every poll; ``now()`` before any ``head()`` reads the pair)."""

    def __init__(self, read: Callable[[], tuple[int, int]]) -> None:
        self._read = read
        self._time: int | None = None

    def head(self) -> int:
        """The chain's height, reading its time with it."""
        height, self._time = self._read()
        return height

    def now(self) -> int:
        """The time read with the last height."""
        if self._time is None:
            _, self._time = self._read()
        return self._time


class Outcomes:
    """Transactions in flight per chain, and what became of them, asked in one batch.

    ``wait(chain, tx_id)`` puts a transaction on the chain's list for the next
    :meth:`check`; :meth:`check` asks each chain's port about its list in one call and keeps
    the answers for :meth:`take`. A transaction is asked about only after a tick in which
    the watcher did not settle it (the common case asks nothing).
    """

    LIMIT = 100_000
    """Answers kept at most (answers of swaps that never came back are dropped)."""

    def __init__(self) -> None:
        self._due: dict[str, set[str]] = {}
        self._found: dict[str, Any] = {}

    def wait(self, chain: str, tx_id: str) -> None:
        """Ask about ``tx_id`` at the next :meth:`check`."""
        self._due.setdefault(chain, set()).add(tx_id)

    def take(self, tx_id: str) -> SentOutcome | None:
        """The answer found for ``tx_id`` (once), or None when not asked yet."""
        found: SentOutcome | None = self._found.pop(tx_id, None)
        return found

    def forget(self, tx_id: str) -> None:
        """Drop ``tx_id`` (settled otherwise)."""
        self._found.pop(tx_id, None)
        for due in self._due.values():
            due.discard(tx_id)

    def check(
        self,
        ports: Mapping[str, Callable[[Sequence[str]], Mapping[str, SentOutcome]]],
        on_error: Callable[[str, Exception], None],
    ) -> int:
        """Ask each chain's port (``tx_outcomes``) about its waiting transactions, one
        batch per chain; returns how many were asked. A chain whose read fails keeps its
        list for the next tick (``on_error(chain, exc)``)."""
        from bridge.errors import TransientError

        asked = 0
        if len(self._found) > self.LIMIT:
            self._found.clear()
        for chain, due in list(self._due.items()):
            port = ports.get(chain)
            if not due or port is None:
                continue
            ids = sorted(due)
            try:
                answers = port(ids)
            except TransientError as exc:
                on_error(chain, exc)
                continue
            asked += len(ids)
            due.difference_update(ids)
            self._found.update(answers)
        return asked


class SendBatches:
    """A tick's pipelined sends, held per chain and sent in one JSON-RPC batch each.

    :meth:`hold` asks each pipelined chain's client to hold its sends (a client that cannot,
    py-evm's, sends them one by one as before); :meth:`owned_by` marks the transactions
    queued inside it as one swap's (its effect, with the approval a lock may need);
    :meth:`flush` sends every chain's queue and returns the refused sends by swap.
    """

    MAX_AGE_S = 0.1
    """A chain's held sends go out once the oldest has waited this long (:meth:`due`),
    at the next swap boundary of the tick: a long tick does not hold its first sends
    back to its end (they may make an earlier block). None: only at the tick's end."""

    def __init__(self, max_age_s: float | None = MAX_AGE_S) -> None:
        self._held: dict[str, Any] = {}
        self._owners: dict[str, str] = {}
        self._guarded: set[str] = set()
        self.max_age_s = max_age_s

    def hold(
        self, ports: Mapping[str, object], *, durable: Callable[[], None] | None = None
    ) -> None:
        """Hold the sends of each pipelined port's client (``port.client.hold_sends``).

        ``durable`` (the store's ``commit_group``) becomes the ``before_submit`` of every
        port's client that has one (an EVM client): whatever that client sends, one by one
        or in a batch, leaves only after the store made the tick's writes durable
        (:meth:`guarded`)."""
        self._guarded = set()
        for key, port in ports.items():
            client = getattr(port, "client", None)
            if durable is not None and client is not None and hasattr(client, "before_submit"):
                client.before_submit = durable
                self._guarded.add(key)
            hold = getattr(client, "hold_sends", None)
            if is_pipelined(port) and callable(hold) and hold():
                self._held[key] = client

    def guarded(self, key: str) -> bool:
        """Whether chain ``key``'s client makes the store durable before each send (see
        :meth:`hold`): the journal need not when it keeps the signed bytes."""
        return key in self._guarded

    @contextmanager
    def owned_by(self, swap_id: str) -> Iterator[None]:
        """The transactions queued inside the block are ``swap_id``'s."""
        marks = {key: len(client.held_sends) for key, client in self._held.items()}
        try:
            yield
        finally:
            for key, client in self._held.items():
                for tx_id in client.held_sends[marks[key] :]:
                    self._owners[tx_id] = swap_id

    def due(self, on_error: Callable[[str, Exception], None]) -> None:
        """Between two swaps of a tick (every held send recorded): send each chain's held
        transactions whose oldest has waited :attr:`max_age_s`, and keep holding; their
        refusals come back from :meth:`flush`."""
        if self.max_age_s is None:
            return
        from bridge.errors import TransientError

        for key, client in self._held.items():
            # a client may hold to the tick's end (``max_held_s`` None: the embedded Algorand
            # pool, where each evaluation of the pool is one run of the evaluator)
            limit = getattr(client, "max_held_s", self.max_age_s)
            if limit is not None and client.held_age >= limit:
                try:
                    client.drain_sends()
                except TransientError as exc:  # pragma: no cover (see flush)
                    on_error(key, exc)

    def flush(self, on_error: Callable[[str, Exception], None]) -> dict[str, list[Any]]:
        """Send each chain's held transactions (one batch per chain) and stop holding; the
        refusals (``adapters.evm.client.Refusal``) by swap. ``on_error(chain, error)`` is
        told of each refusal."""
        held, self._held = self._held, {}
        owners, self._owners = self._owners, {}
        out: dict[str, list[Any]] = {}
        from bridge.errors import TransientError

        for key, client in held.items():
            try:
                refusals = client.flush_sends()
            except TransientError as exc:
                # what the node took is unknown: each is recorded sent, so its outcome is
                # asked next tick (dropped: the effect runs again with the same bytes)
                on_error(key, exc)
                continue
            for refusal in refusals:
                on_error(key, refusal.error)
                swap_id = owners.get(refusal.tx_id)
                if swap_id is None:  # pragma: no cover (every held send is inside an effect)
                    log.error("tx %s refused, of no swap: %s", refusal.tx_id, refusal.error)
                    continue
                out.setdefault(swap_id, []).append(refusal)
        return out
