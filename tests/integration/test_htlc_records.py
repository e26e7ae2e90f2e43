"""The EVM HTLC port reading lock state from the watcher's records (py-evm, real HTLC).

With records (:meth:`EvmHtlc.with_records` over the relayer's store) the port answers
``find``, ``revealed_secret``, ``shortfall`` and ``params`` exactly as the port that scans
the chain from the deployment block does, for locks recorded by the watcher, locks mined
since its last poll, claimed and refunded locks and a token lock; and after its first call
(which reads below where the records begin, once) it never asks the chain for logs below
the records' last height.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.model import AssetRef, EvmContractLocator
from relayer.evm import ERC20_APPROVE_ABI
from relayer.store import SqliteStore
from relayer.watcher import ChainWatcher, StoredLocks

KEY = "evm:records"


def _secret(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _hashlock(n: int) -> bytes:
    return hashlib.sha256(_secret(n)).digest()


def test_recorded_lock_state_agrees_with_the_scan_and_reads_no_old_logs(tmp_path: Path) -> None:
    client = EvmClient.embedded()
    sender, receiver, other = (EvmSigner.generate() for _ in range(3))
    for who in (sender, other):
        client.fund(who.address, 10**20)
    scanning = EvmHtlc.deploy(client, sender)
    token = deploy_cash_token(client, sender, name="Units", symbol="U", decimals=0, currency="JPY")
    erc20 = client.contract(
        token,
        [
            *ERC20_APPROVE_ABI,
            {
                "type": "function",
                "name": "mint",
                "stateMutability": "nonpayable",
                "inputs": [{"name": "to", "type": "address"}, {"name": "a", "type": "uint256"}],
                "outputs": [],
            },
        ],
    )
    for call in (
        erc20.functions.mint(sender.address, 1_000),
        erc20.functions.approve(scanning.address, 1_000),
    ):
        client.transact(sender, token, bytes.fromhex(str(call._encode_transaction_data())[2:]))
    asset = AssetRef(chain=client.chain, locator=EvmContractLocator(address=token))
    deadline = int(client.now().timestamp()) + 3600

    def lock(n: int, *, on: AssetRef | None = None, by: EvmSigner = sender) -> str:
        lock_id, _ = scanning.lock(
            asset=on,
            receiver=receiver.address,
            amount=10 + n,
            hashlock=_hashlock(n),
            deadline=deadline,
            signer=by,
        )
        return lock_id

    before_watcher = lock(1)  # below where the records begin: read once from the chain
    store = SqliteStore(tmp_path / "records.sqlite3")
    watcher = ChainWatcher(
        chain=KEY,
        store=store,
        head=client.head,
        now=lambda: int(client.now().timestamp()),
        events=scanning.events,
        confirmations=0,
        block_hash=client.block_hash,
    )
    watcher.poll()
    claimed = lock(2)
    lock(3, on=asset)
    lock(4, by=other)  # a second lock under its own hashlock, by another sender
    scanning.claim(claimed, _secret(2), other)
    watcher.poll()
    fresh = lock(5, on=asset)  # mined after the last poll: not recorded yet
    scanning.claim(before_watcher, _secret(1), other)

    bound = EvmHtlc(client, scanning.address, from_block=scanning.from_block).with_records(
        StoredLocks(store, KEY)
    )
    assert bound.records is not None
    assert scanning.records is None
    asked: list[Mapping[str, Any]] = []
    original = client._get_logs

    def spy(params: dict[str, Any]) -> list[Mapping[str, Any]]:
        asked.append(dict(params))
        return original(params)

    client._get_logs = spy  # type: ignore[method-assign]
    hashlocks = [_hashlock(n) for n in range(1, 7)]
    found = [bound.find(h) for h in hashlocks]
    revealed = [bound.revealed_secret(h) for h in hashlocks]
    short = [bound.shortfall(on) for on in (None, asset)]
    params = bound.params(fresh)
    client._get_logs = original  # type: ignore[method-assign]

    assert found == [scanning.find(h) for h in hashlocks]
    assert revealed == [scanning.revealed_secret(h) for h in hashlocks]
    assert revealed[:3] == [_secret(1), _secret(2), None]
    assert [lk.state for lk in found[1]] == ["claimed"]
    assert [lk.state for lk in found[0]] == ["claimed"]
    assert [lk.lock_id for lk in found[4]] == [fresh]
    assert short == [scanning.shortfall(on) for on in (None, asset)]
    assert short[1] == (0, tuple(sorted(lk.lock_id for n in (2, 4) for lk in found[n])))
    assert params == scanning.params(fresh)

    last = store.cursor(KEY)
    span = store.recorded_span(KEY)
    assert last is not None
    assert span is not None
    # below where the records begin: read once (the first call); every other read of logs
    # starts just under the records' last height, never at the deployment block
    # (the shortfall check reads its tail up to the block it pins, the others to "latest")
    below = [p for p in asked if p["fromBlock"] < last - 1]
    assert [(p["fromBlock"], p["toBlock"]) for p in below] == [(scanning.from_block, span[0] - 1)]
    tails = [p for p in asked if p["fromBlock"] >= last - 1]
    assert len(below) + len(tails) == len(asked)
    assert tails
    assert all(p["fromBlock"] >= last - 1 for p in tails)


def test_locks_take_a_cached_gas_limit_and_estimate_again_after_running_out(
    tmp_path: Path,
) -> None:
    """With records bound (the relayer's port), native locks are estimated once and then
    sent with the cached limit; a limit too low runs out of gas on chain, and the lock is
    estimated again and sent anew (it lands). Claims are always estimated first."""
    client = EvmClient.embedded()
    sender, receiver = EvmSigner.generate(), EvmSigner.generate()
    client.fund(sender.address, 10**20)
    htlc = EvmHtlc.deploy(client, sender)
    store = SqliteStore(tmp_path / "records.sqlite3")
    bound = htlc.with_records(StoredLocks(store, KEY))
    deadline = int(client.now().timestamp()) + 3600

    def lock(n: int) -> str:
        lock_id, _ = bound.lock(
            asset=None,
            receiver=receiver.address,
            amount=10**15 + n,
            hashlock=_hashlock(n),
            deadline=deadline,
            signer=sender,
        )
        return lock_id

    def estimates() -> int:
        return client.stats.by_method.get("eth_estimateGas", 0)

    before = estimates()
    ids = [lock(n) for n in range(1, 4)]
    assert estimates() - before == 1
    assert all(bound.is_open(i) for i in ids)
    key = ("lock", "0x" + "00" * 20)
    bound._gas[key] = 25_000  # too little for a lock: it runs out of gas on chain
    failed_before = client.stats.by_method.get("eth_sendRawTransaction", 0)
    short = lock(4)
    assert client.stats.by_method.get("eth_sendRawTransaction", 0) - failed_before == 2
    assert bound.is_open(short)
    assert bound._gas[key] > 25_000
    before = estimates()
    bound.claim(ids[0], _secret(1), sender)
    assert estimates() - before == 1
    assert not htlc.cache_gas  # the port the records were bound to is left as it was
