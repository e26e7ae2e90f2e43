"""Pipelined sending on real chains: local nonces, one batch to confirm many transactions,
a dropped transaction found and sent again with the same bytes, a cached gas limit that
runs out refreshed (``EvmClient.send`` / ``outcomes``, ``EvmHtlc.with_pipelining``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.htlc import SENT_HEIGHT, EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.journal import journaled
from relayer.store import SqliteStore
from relayer.watcher import StoredLocks


def _hashlock(n: int) -> bytes:
    return hashlib.sha256(n.to_bytes(32, "big")).digest()


class _Journal:
    """The signed-transaction journal of one effect, kept in memory (the relayer's is its
    store: ``relayer.service.SwapJournal``)."""

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def stored(self, key: str) -> bytes | None:
        return self.kept.get(key)

    def keep(self, key: str, signed: bytes) -> bytes:
        return self.kept.setdefault(key, signed)

    def forget(self, key: str) -> None:
        self.kept.pop(key, None)


@pytest.fixture
def manual_anvil(anvil_url: str) -> Iterator[EvmClient]:
    """The session's empty anvil mining only when told (``anvil_mine``), put back as it was
    (snapshot, automine) after the test."""
    client = EvmClient.connect(anvil_url)
    snapshot = client.snapshot()
    try:
        yield client
    finally:
        client._rpc("evm_setAutomine", [True])
        client.revert(snapshot)


@pytest.fixture
def kept_block_client(anvil_url: str) -> Iterator[EvmClient]:
    """A client on the session's anvil that keeps its latest block for the whole test (no
    timing involved), put back to the chain's state before the test (a snapshot)."""
    client = EvmClient.connect(anvil_url)
    client.LATEST_BLOCK_TTL = 3_600.0
    snapshot = client.snapshot()
    try:
        yield client
    finally:
        client.revert(snapshot)


def _methods(client: EvmClient) -> dict[str, int]:
    return dict(client.stats.by_method)


def _delta(before: dict[str, int], client: EvmClient, method: str) -> int:
    return client.stats.by_method.get(method, 0) - before.get(method, 0)


@pytest.mark.anvil
def test_pipelined_locks_count_nonces_locally_and_are_confirmed_in_one_batch(
    manual_anvil: EvmClient,
) -> None:
    client = manual_anvil
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    htlc = EvmHtlc.deploy(client, sender).with_pipelining()
    deadline = int(client.now().timestamp()) + 3600
    client._rpc("evm_setAutomine", [False])
    before = _methods(client)
    sent = [
        htlc.lock(
            asset=None,
            receiver=receiver.address,
            amount=10**15 + n,
            hashlock=_hashlock(n),
            deadline=deadline,
            signer=sender,
        )[1]
        for n in range(1, 6)
    ]
    assert all(r.height == SENT_HEIGHT for r in sent)
    assert _delta(before, client, "eth_sendRawTransaction") == 5
    assert _delta(before, client, "eth_getTransactionCount") == 1  # then counted locally
    assert _delta(before, client, "eth_getTransactionReceipt") == 0  # nothing waited for
    nonces = [int(client.w3.eth.get_transaction(r.tx_id)["nonce"]) for r in sent]  # type: ignore[arg-type]
    assert nonces == list(range(nonces[0], nonces[0] + 5))
    ids = [r.tx_id for r in sent]
    trips = client.stats.requests
    pending = htlc.tx_outcomes(ids)
    assert {o.status for o in pending.values()} == {"pending"}
    assert client.stats.requests - trips == 2  # the receipts, then the pool: two batches
    client.mine()
    trips = client.stats.requests
    mined = htlc.tx_outcomes(ids)
    assert client.stats.requests - trips == 1
    assert {o.status for o in mined.values()} == {"mined"}
    assert len({o.height for o in mined.values()}) == 1  # all five in one block


@pytest.mark.anvil
def test_a_dropped_transaction_is_found_and_its_same_bytes_fill_the_nonce_gap(
    manual_anvil: EvmClient,
) -> None:
    """Actor: a node that evicts a pending transaction. The sender's later transactions wait
    behind its nonce; the dropped one is reported ``dropped`` (neither mined nor known), and
    sent again from the journal - the very same bytes, so never a second lock - after which
    both are mined."""
    client = manual_anvil
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    htlc = EvmHtlc.deploy(client, sender).with_pipelining()
    deadline = int(client.now().timestamp()) + 3600
    client._rpc("evm_setAutomine", [False])
    journal = _Journal()

    def lock(n: int) -> str:
        return htlc.lock(
            asset=None,
            receiver=receiver.address,
            amount=10**15 + n,
            hashlock=_hashlock(n),
            deadline=deadline,
            signer=sender,
        )[1].tx_id

    with journaled(journal):
        first = lock(1)
    client._rpc("anvil_dropTransaction", [first])
    second = lock(2)
    client.mine()
    found = htlc.tx_outcomes([first, second])
    assert (found[first].status, found[second].status) == ("dropped", "pending")
    with journaled(journal):
        again = lock(1)
    assert again == first  # the kept bytes, not a new transaction
    client.mine()
    assert {o.status for o in htlc.tx_outcomes([first, second]).values()} == {"mined"}
    assert htlc.is_open(
        htlc.lock_id_for(
            asset=None,
            sender=sender.address,
            receiver=receiver.address,
            amount=10**15 + 1,
            hashlock=_hashlock(1),
            deadline=deadline,
        )
    )


def test_a_cached_gas_limit_that_runs_out_is_reported_and_estimated_anew(tmp_path: Path) -> None:
    """A pipelined lock sent with a cached limit too low fails on chain; its outcome says
    ``out_of_gas`` and the limit is dropped, so the lock sent again is estimated and lands."""
    client = EvmClient.embedded()
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    htlc = EvmHtlc.deploy(client, sender)
    store = SqliteStore(tmp_path / "records.sqlite3")
    port = htlc.with_records(StoredLocks(store, "evm:pipelined")).with_pipelining()
    deadline = int(client.now().timestamp()) + 3600

    def lock(n: int) -> tuple[str, str]:
        lock_id, receipt = port.lock(
            asset=None,
            receiver=receiver.address,
            amount=10**15 + n,
            hashlock=_hashlock(n),
            deadline=deadline,
            signer=sender,
        )
        return lock_id, receipt.tx_id

    _, first = lock(1)
    assert port.tx_outcomes([first])[first].status == "mined"
    key = ("lock", "0x" + "00" * 20)
    assert port._gas[key] > 25_000  # estimated once, then cached
    port._gas[key] = 25_000  # too little for a lock
    short_id, short = lock(2)
    outcome = port.tx_outcomes([short])[short]
    assert outcome.status == "out_of_gas"
    assert key not in port._gas
    assert not port.is_open(short_id)
    _, again = lock(2)
    assert port.tx_outcomes([again])[again].status == "mined"
    assert port.is_open(short_id)
    assert port._gas[key] > 25_000


def test_a_claim_with_a_public_secret_takes_a_cached_limit_and_a_reveal_is_estimated(
    tmp_path: Path,
) -> None:
    """Invariant: a reveal (the secret not yet public) is always estimated, never sent on a
    cached limit; a claim whose secret is public takes the limit cached per function and
    token; one that runs out of it comes back ``out_of_gas`` and that function and token is
    estimated from then on (its gas is not stable), and the claim sent again lands."""
    client = EvmClient.embedded()
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    client.fund(receiver.address, 10**20)
    htlc = EvmHtlc.deploy(client, sender)
    store = SqliteStore(tmp_path / "records.sqlite3")
    port = htlc.with_records(StoredLocks(store, "evm:claims")).with_pipelining()
    deadline = int(client.now().timestamp()) + 3600
    ids = []
    for n in range(1, 5):
        lock_id, receipt = port.lock(
            asset=None,
            receiver=receiver.address,
            amount=10**15 + n,
            hashlock=_hashlock(n),
            deadline=deadline,
            signer=sender,
        )
        assert port.tx_outcomes([receipt.tx_id])[receipt.tx_id].status == "mined"
        ids.append(lock_id)
    key = ("claim", "0x" + "00" * 20)

    def claim(n: int, *, revealed: bool) -> str:
        tx_id = port.claim(ids[n - 1], n.to_bytes(32, "big"), receiver, revealed=revealed).tx_id
        return tx_id

    first = claim(1, revealed=False)  # a reveal: estimated, nothing cached
    assert port.tx_outcomes([first])[first].status == "mined"
    assert key not in port._gas
    second = claim(2, revealed=True)  # public: estimated once, then cached
    assert port.tx_outcomes([second])[second].status == "mined"
    assert port._gas[key] > 25_000
    port._gas[key] = 25_000  # too little for a claim
    third = claim(3, revealed=True)
    assert port.tx_outcomes([third])[third].status == "out_of_gas"
    assert port.is_open(ids[2])
    assert key in port._volatile_gas
    assert key not in port._gas
    again = claim(3, revealed=True)  # estimated now, and from then on
    assert port.tx_outcomes([again])[again].status == "mined"
    assert not port.is_open(ids[2])
    assert key not in port._gas
    fourth = claim(4, revealed=True)
    assert port.tx_outcomes([fourth])[fourth].status == "mined"
    assert key not in port._gas


def test_a_cached_claim_is_not_refused_on_a_kept_block_from_before_a_reorg(
    anvil_url: str, kept_block_client: EvmClient, tmp_path: Path
) -> None:
    """Invariant: a claim with a public secret is refused for its deadline only when the
    chain's time, read afresh, has reached it: a block kept from a branch a reorg removed
    (here: two hours ahead, then reverted) must not refuse a claim that is still in time.
    (Seen in the service tests: a claim refused on a block kept from before a snapshot
    revert, the swap left unsettled.) The kept block is held for as long as the test runs."""
    client = kept_block_client  # its latest block kept for the whole test
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    client.fund(receiver.address, 10**20)
    htlc = EvmHtlc.deploy(client, sender)
    deadline = int(client.now().timestamp()) + 3600
    lock_id, _ = htlc.lock(
        asset=None,
        receiver=receiver.address,
        amount=10**15,
        hashlock=_hashlock(1),
        deadline=deadline,
        signer=sender,
    )
    port = htlc.with_records(StoredLocks(SqliteStore(tmp_path / "r.sqlite3"), "evm:kept"))
    port = port.with_pipelining()
    node = EvmClient.connect(anvil_url)  # the node's own side of the reorg
    branch = node.snapshot()
    node.increase_time(7_200)
    assert int(client.now().timestamp()) > deadline  # now kept: the branch's block
    node.revert(branch)  # the reorg: that block is gone, the deadline not reached
    assert int(node.now().timestamp()) < deadline
    assert int(client.recent_now().timestamp()) > deadline  # ... but the port keeps it
    tx_id = port.claim(lock_id, (1).to_bytes(32, "big"), receiver, revealed=True).tx_id
    assert port.tx_outcomes([tx_id])[tx_id].status in ("mined", "pending")
    client.wait(tx_id)
    assert not port.is_open(lock_id)


@pytest.mark.anvil
def test_held_sends_go_out_in_one_batch_and_a_refused_nonce_below_accepted_ones_is_filled(
    manual_anvil: EvmClient,
) -> None:
    """``hold_sends`` / ``flush_sends``: three sends of one sender reach the node in one
    request, each kept in the journal before. The node refuses the first (a real refusal:
    its gas limit is above the block's) and takes the other two, whose nonces follow it:
    the refusal comes back (what a single ``submit`` raises), and the refused nonce is filled
    with a zero-value transfer, so the two are mined (not queued behind a gap)."""
    client = manual_anvil
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    start = client.nonces.take(sender.address)
    client.nonces.forget(sender.address)
    too_much = 2 * int(client._rpc("eth_getBlockByNumber", ["latest", False])["gasLimit"], 16)
    journal = _Journal()
    assert client.hold_sends()
    before = _methods(client)
    with journaled(journal):
        sent = [
            client.send(sender, receiver.address, b"", value=n + 1, gas=gas)
            for n, gas in enumerate((too_much, 21_000, 21_000))
        ]
    assert _delta(before, client, "eth_sendRawTransaction") == 0  # held: nothing sent yet
    assert len(journal.kept) == 3  # each kept before it goes out
    assert client.held_sends == tuple(sent)
    before, batches = _methods(client), client.stats.batches
    refused = client.flush_sends()
    assert _delta(before, client, "eth_sendRawTransaction") == 4  # the batch, then the filler
    assert client.stats.batches == batches + 1  # the three sends in one request
    assert [r.tx_id for r in refused] == [sent[0]]
    assert "gas" in str(refused[0].error).lower()
    assert client.held_sends == ()
    client._rpc("anvil_mine", ["0x1"])
    outcomes = client.outcomes(sent)
    assert [outcomes[t].status for t in sent] == ["dropped", "mined", "mined"]
    assert client._pending_count(sender.address) == start + 3  # the filler took the gap
    assert client.hold_sends()
    requests = client.stats.requests
    assert client.flush_sends() == []
    assert client.stats.requests == requests  # an empty batch: no request


@pytest.mark.anvil
def test_a_fee_below_a_base_fee_that_rose_past_the_kept_block_is_built_again(
    anvil_url: str,
    kept_block_client: EvmClient,
) -> None:
    """Actor: the chain (full blocks raise the base fee by up to 1/8 each). The client offers
    twice the base fee of the latest block it keeps; when the chain's base fee has risen
    past that (here set tenfold on the node; `stbridge bench holders` met it with ERC-1400's
    full issuing blocks, several a second on anvil), the node refuses the transaction ("max
    fee per gas less than block base fee"). That refusal is no reason to fail: nothing
    entered the pool, the block is read afresh and the transaction built again, once, both
    for a plain send and for a pipelined one."""
    client = kept_block_client  # its latest block kept for the whole test
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    kept_fee = client.fee_per_gas()  # the latest block is kept from here
    node = EvmClient.connect(anvil_url)  # the chain moving on, as the client does not see
    node._rpc("anvil_setNextBlockBaseFeePerGas", [hex(kept_fee * 10)])
    node._rpc("evm_mine", [])
    risen = int(node._rpc("eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
    assert risen > kept_fee  # what the kept block offers is now refused
    journal = _Journal()
    with journaled(journal):
        receipt = client.transact(sender, receiver.address, b"", value=1)
    assert receipt.success
    assert client.balance(receiver.address) == 1
    client.fee_per_gas()  # the block kept again: the risen one
    node._rpc("anvil_setNextBlockBaseFeePerGas", [hex(risen * 10)])
    node._rpc("evm_mine", [])
    with journaled(journal):
        tx_id = client.send(sender, receiver.address, b"", value=2, gas=21_000)
    client.wait(tx_id)
    assert client.balance(receiver.address) == 3
