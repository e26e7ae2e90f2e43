"""``eth_call`` answers of the embedded py-evm chain, kept for the block they ran on.

On py-evm an ``eth_call`` costs milliseconds even for a view like ``paused()`` (a fresh
VM and state for the block, the account and storage tries read again, a T-REX proxy's
``delegatecall``); the relayer's checks of one swap ask the same views several times while
nothing is mined: the two hops of a T-REX dry run share the sender's and the token's reads,
the lock's pre-flight reads the freezes and the escrow's identity the dry run just read,
and the re-check before a reveal is run twice in the same tick.

An ``eth_call`` is a function of the block it runs on and of the call alone: eth-tester
runs a ``latest`` (or numbered) call on the VM of that mined block (its state root and its
header: number, timestamp, base fee), with the call's ``from``, ``to``, ``data``, ``value``
and ``gas``. So an answer is reused only for the same call at the **same block hash**; a
transaction, a mined block, a time travel or a snapshot revert moves the latest block, and
everything kept for the old one is dropped. A ``pending`` call is never kept (the pending
block changes without a new hash), nor one run while a caller is credited for the call
(:func:`adapters.evm.erc3643._caller_can_pay` replaces eth-tester's call step: its answers
are not those of the chain as it is). A revert is kept like an answer (the same call at the
same block reverts the same way).

The calls that are not answered from what was kept run on one VM per block: eth-tester
builds a fresh VM and state for every call (every account and storage slot read through
the trie again); here the block's VM is built once and each call runs between a snapshot
and its revert, as eth-tester's own call step does (state, storage, warm and cold
accesses, transient storage: all rolled back or reset per call), so a call answers as it
would on a fresh VM, with the trie's node reads kept warm (about half an ``eth_call``'s
cost for a T-REX check's views). A call that raises drops the VM. eth-tester's call step
is replaced only while such a call runs (py-evm serves one thread at a time).

:func:`find_transactions_by_index` replaces eth-tester's search of a transaction by hash
(for every receipt, and for every log a log query returns), which read every block from
the head down until it met the transaction, with py-evm's own index of canonical
transactions (kept by py-evm through reorgs and snapshot reverts), checked against the
block it names; eth-tester's search answers whatever the index does not.

Nothing here applies to a node (anvil, geth): there each ``eth_call`` is the node's, and a
JSON-RPC batch already shares the round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = ["MAX_KEPT", "PyEvmAnswers", "find_transactions_by_index"]

MAX_KEPT = 4096
"""Answers kept for one block at most (then the oldest half is dropped): a swap's checks ask
a few dozen, a holder scan may ask thousands of distinct ones that are not asked again."""

_EXECUTE = "_execute_and_revert_transaction"


class PyEvmAnswers:
    """``eth_call`` answers of one eth-tester chain, per block hash (see the module).

    ``hits`` and ``misses`` count the calls answered from what was kept and the calls run
    (the bench and the tests read them)."""

    def __init__(self, tester: Any, *, max_kept: int = MAX_KEPT) -> None:
        self._tester = tester
        self._max_kept = max_kept
        self._block: bytes | None = None
        self._kept: dict[tuple[Any, ...], bytes | BaseException] = {}
        self._vm: Any = None
        self.hits = 0
        self.misses = 0

    def _block_hash(self, block: int | str) -> bytes | None:
        """The hash of the block eth-tester runs a call at ``block`` on, or None when the
        call's answer must not be kept (``pending``, an unknown block, a replaced call step)."""
        import eth_tester.backends.pyevm.main as pyevm_main

        step = getattr(pyevm_main, _EXECUTE, None)
        if getattr(step, "__module__", None) != pyevm_main.__name__:
            return None  # the call step is replaced (a caller credited for the call)
        if block != "latest" and not (isinstance(block, int) and not isinstance(block, bool)):
            return None
        try:
            found = pyevm_main._get_block_by_number(self._tester.backend.chain, block)
        except Exception:  # not mined (yet): eth-tester answers it, nothing is kept
            return None
        return bytes(found.hash)

    def call(self, tx: Mapping[str, Any], block: int | str, run: Callable[[], bytes]) -> bytes:
        """``run()`` (the ``eth_call`` of ``tx`` at ``block``), or its answer kept for the
        same call at the same block; a revert it raised is raised again."""
        at = self._block_hash(block)
        if at is None:
            return run()
        if at != self._block:
            self._block = at
            self._kept.clear()
            self._vm = None
        key = tuple(sorted((str(k), _hashable(v)) for k, v in tx.items()))
        found = self._kept.get(key)
        if found is not None:
            self.hits += 1
            if isinstance(found, BaseException):
                raise found
            return found
        self.misses += 1
        try:
            with self._one_vm(at):
                answer = run()
        except Exception as exc:
            from adapters.evm.client import EvmReverted

            if isinstance(exc, EvmReverted):
                self._keep(key, exc)
            raise
        self._keep(key, answer)
        return answer

    @contextmanager
    def _one_vm(self, at: bytes) -> Iterator[None]:
        """While a call runs: eth-tester's call step runs a call at block ``at`` of this
        chain on the block's one VM (built at its first call), between a snapshot and its
        revert; any other call as eth-tester would."""
        import eth_tester.backends.pyevm.main as pyevm_main

        original = getattr(pyevm_main, _EXECUTE)
        chain = self._tester.backend.chain

        def step(on: Any, transaction: Any, block_number: Any = "latest") -> Any:
            if (
                on is not chain
                or bytes(pyevm_main._get_block_by_number(on, block_number).hash) != at
            ):
                return original(on, transaction, block_number)
            if self._vm is None:
                self._vm = pyevm_main._get_vm_for_block_number(on, block_number)
            state = self._vm.state
            snapshot = state.snapshot()
            try:
                return state.apply_transaction(transaction)
            except BaseException:
                self._vm = None  # whatever it left behind is not reused
                raise
            finally:
                state.revert(snapshot)

        setattr(pyevm_main, _EXECUTE, step)
        try:
            yield
        finally:
            setattr(pyevm_main, _EXECUTE, original)

    def _keep(self, key: tuple[Any, ...], answer: bytes | BaseException) -> None:
        if len(self._kept) >= self._max_kept:
            for old in list(self._kept)[: self._max_kept // 2]:
                del self._kept[old]
        self._kept[key] = answer


def _hashable(value: Any) -> Any:
    """A transaction field as a dictionary key (bytes and text as they are, numbers too)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return ("bytes", bytes(value))
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value


_FIND = "_get_transaction_by_hash"


def find_transactions_by_index() -> None:
    """Let eth-tester find a transaction by hash through py-evm's index (see the module):
    the pending block first, as eth-tester does, then the canonical block and position
    the index names, if the transaction is there; else eth-tester's own search. Installed
    once per process; every eth-tester chain answers as before, without the scan."""
    import eth_tester.backends.pyevm.main as pyevm_main

    search = getattr(pyevm_main, _FIND)
    if getattr(search, "by_index", False):
        return

    def find(chain: Any, transaction_hash: bytes) -> tuple[Any, Any, int]:
        pending = chain.get_block()
        for index, transaction in enumerate(pending.transactions):
            if transaction.hash == transaction_hash:
                return pending, transaction, index
        try:
            number, index = chain.chaindb.get_transaction_index(transaction_hash)
            block = chain.get_canonical_block_by_number(number)
        except Exception:  # not in the index: eth-tester's search decides
            return search(chain, transaction_hash)  # type: ignore[no-any-return]
        found = block.transactions
        if number < pending.number and index < len(found) and found[index].hash == transaction_hash:
            return block, found[index], index
        return search(chain, transaction_hash)  # type: ignore[no-any-return]

    find.by_index = True  # type: ignore[attr-defined]
    setattr(pyevm_main, _FIND, find)
