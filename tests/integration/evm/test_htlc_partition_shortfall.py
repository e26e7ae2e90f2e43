"""The pooled-escrow shortfall check on an ERC-1400 token that also has partition locks.

Issue 13 item 9 (a token agent's forced transfer out of the pooled HTLC) on an ERC-1400
token: the HTLC's plain locks of the token hold units of its default partition (``lockToken``
pulls them with ``transferFrom``), its partition locks units of their own partition. The
token's ``balanceOf`` sums every partition, so the units of an open partition lock must not
count as cover for the plain locks: a forced transfer of default-partition units out of the
HTLC is a shortfall of the plain locks even when a partition lock holds as many units of
another partition.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from adapters.evm.client import EvmClient
from adapters.evm.contracts import artifact_for_chain
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.model import AssetRef, EvmContractLocator
from relayer.store import SqliteStore
from relayer.watcher import ChainWatcher, StoredLocks

HOUR = 3600
DEFAULT = b"class-A".ljust(32, b"\x00")
OTHER = b"class-B".ljust(32, b"\x00")


def _send(client: EvmClient, signer: Any, fn_call: Any) -> None:
    data = bytes.fromhex(str(fn_call._encode_transaction_data())[2:])
    client.transact(signer, str(fn_call.address), data)


def test_units_of_a_partition_lock_do_not_cover_a_shortfall_of_the_plain_locks(
    tmp_path: Path,
) -> None:
    """Token agent and third party: two plain locks of 5 units (the seller's, default
    partition) and an investor's partition lock of 3 units of class B sit in the HTLC; the
    controller forces 3 default-partition units out of the HTLC. The plain locks are 3
    short (the next claim of 5 would take units of the other plain lock) and the check must
    say so; the partition lock's 3 units of class B cannot pay a plain lock."""
    client = EvmClient.embedded()  # a fresh py-evm chain (no token suite to build)
    agent, bob, carol = (EvmSigner.from_seed(f"partition-short-{n}") for n in ("a", "b", "c"))
    for signer in (agent, bob, carol):
        client.fund(signer.address, 10**19)
    htlc = EvmHtlc.deploy(client, agent)
    art = artifact_for_chain("SecurityToken1400", client)
    token = client.deploy(agent, art.abi, art.bytecode, "Fund", "FND", 0, DEFAULT, agent.address)
    for who in (agent.address, bob.address, carol.address, htlc.address):
        _send(client, agent, token.functions.setWhitelisted(who, True))
    _send(client, agent, token.functions.setControllers([agent.address]))
    _send(client, agent, token.functions.issueByPartition(DEFAULT, agent.address, 1_000, b""))
    _send(client, agent, token.functions.issueByPartition(OTHER, carol.address, 100, b""))
    _send(client, agent, token.functions.approve(htlc.address, 10))
    _send(client, carol, token.functions.authorizeOperatorByPartition(OTHER, htlc.address))
    asset = AssetRef(chain=client.chain, locator=EvmContractLocator(address=token.address))
    deadline = int(client.now().timestamp()) + HOUR
    plain = []
    for n in range(2):
        lock_id, _ = htlc.lock(
            asset=asset,
            receiver=bob.address,
            amount=5,
            hashlock=hashlib.sha256(b"plain-%d" % n).digest(),
            deadline=deadline,
            signer=agent,
        )
        plain.append(lock_id)
    store = SqliteStore(tmp_path / "records.sqlite3")
    key = f"evm:{client.chain.chain_id}"
    watcher = ChainWatcher(
        chain=key,
        store=store,
        head=client.head,
        now=lambda: int(client.now().timestamp()),
        events=htlc.events,
        confirmations=0,
        block_hash=client.block_hash,
        start=htlc.from_block,
    )
    watcher.poll()  # the plain locks recorded; the partition lock will be above the records
    htlc.lock(
        asset=asset,
        receiver=bob.address,
        amount=3,
        hashlock=hashlib.sha256(b"partition").digest(),
        deadline=deadline,
        signer=carol,
        partition=OTHER,
    )
    assert htlc.shortfall(asset) == (0, tuple(sorted(plain)))

    _send(
        client,
        agent,
        token.functions.operatorTransferByPartition(
            DEFAULT, htlc.address, agent.address, 3, b"", b""
        ),
    )
    assert int(client.read(token.functions.balanceOf(htlc.address))) == 10  # 7 of A, 3 of B
    assert htlc.shortfall(asset) == (3, tuple(sorted(plain)))  # read from the chain's logs

    # as the relayer reads it: from the watcher's records (the partition lock above them,
    # then recorded too)
    def recorded() -> tuple[int, tuple[str, ...]]:
        port = EvmHtlc(client, htlc.address, from_block=htlc.from_block)
        return port.with_records(StoredLocks(store, key)).shortfall(asset)

    assert recorded() == (3, tuple(sorted(plain)))
    watcher.poll()
    assert recorded() == (3, tuple(sorted(plain)))
