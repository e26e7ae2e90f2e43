"""The set-up the shortfall tests share: a fresh HTLC with two open native locks whose
``Locked`` events a watcher has recorded in a store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from relayer.store import SqliteStore
from relayer.watcher import ChainWatcher, StoredLocks


@dataclass
class TwoLocks:
    """Two native locks of 1,000 and 1,001 units, open and recorded under ``key``."""

    htlc: EvmHtlc
    receiver: EvmSigner
    secrets: list[bytes]
    ids: list[str]
    store: SqliteStore
    watcher: ChainWatcher
    key: str

    def bound(self, client: EvmClient) -> EvmHtlc:
        """A relayer's port of the HTLC reading the recorded locks (a fresh one: no kept
        reads)."""
        port = EvmHtlc(client, self.htlc.address, from_block=self.htlc.from_block)
        return port.with_records(StoredLocks(self.store, self.key))


def two_recorded_locks(client: EvmClient, tmp_path: Path, key: str) -> TwoLocks:
    """Deploy an HTLC on ``client``, lock 1,000 and 1,001 units to one receiver and let a
    watcher record both locks (confirmations 0)."""
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    client.fund(receiver.address, 10**20)
    htlc = EvmHtlc.deploy(client, sender)
    deadline = int(client.now().timestamp()) + 3600
    secrets = [n.to_bytes(32, "big") for n in (1, 2)]
    ids = [
        htlc.lock(
            asset=None,
            receiver=receiver.address,
            amount=1_000 + n,
            hashlock=hashlib.sha256(secret).digest(),
            deadline=deadline,
            signer=sender,
        )[0]
        for n, secret in enumerate(secrets)
    ]
    store = SqliteStore(tmp_path / "records.sqlite3")
    watcher = ChainWatcher(
        chain=key,
        store=store,
        head=client.head,
        now=lambda: int(client.now().timestamp()),
        events=htlc.events,
        confirmations=0,
        block_hash=client.block_hash,
    )
    watcher.poll()  # both locks recorded open
    return TwoLocks(htlc, receiver, secrets, ids, store, watcher, key)


@pytest.fixture(params=["pyevm", pytest.param("anvil", marks=pytest.mark.anvil)])
def client(request: pytest.FixtureRequest) -> Iterator[EvmClient]:
    """A fresh py-evm chain, or the session's empty anvil put back as it was after."""
    if request.param == "pyevm":
        yield EvmClient.embedded()
        return
    anvil = EvmClient.connect(request.getfixturevalue("anvil_url"))
    snapshot = anvil.snapshot()
    try:
        yield anvil
    finally:
        anvil.revert(snapshot)
