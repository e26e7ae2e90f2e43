"""Logs from a node's JSON shaped as web3 gives them (``adapters.evm.client._web3_log``): a
mined log is shaped once per block hash and index, and every caller gets its own copy."""

from __future__ import annotations

from typing import Any

from adapters.evm import client as evm_client


def _raw(block_hash: str, data: str, *, removed: bool = False) -> dict[str, Any]:
    return {
        "address": "0x" + "ab" * 20,
        "blockHash": block_hash,
        "blockNumber": "0x10",
        "data": data,
        "logIndex": "0x3",
        "removed": removed,
        "topics": ["0x" + "11" * 32, "0x" + "22" * 32],
        "transactionHash": "0x" + "cd" * 32,
        "transactionIndex": "0x1",
    }


def test_a_mined_log_is_shaped_once_and_each_caller_gets_its_own_copy() -> None:
    """The second shaping of one log (the same block hash, index and transaction) is the kept
    shape, equal field for field; changing one caller's dict or topics list changes no
    other caller's."""
    evm_client._SHAPED_LOGS.clear()
    raw = _raw("0x" + "01" * 32, "0x" + "00" * 31 + "07")
    first = evm_client._web3_log(raw)
    assert len(evm_client._SHAPED_LOGS) == 1
    second = evm_client._web3_log(dict(raw))
    assert second == first
    assert first["data"] == bytes(31) + b"\x07"
    assert first["blockNumber"] == 16
    assert first["logIndex"] == 3
    assert first["address"] == evm_client.to_checksum_address("0x" + "ab" * 20)
    first["topics"].append(b"mine")
    first["data"] = b"changed"
    third = evm_client._web3_log(raw)
    assert third["topics"] == [bytes.fromhex("11" * 32), bytes.fromhex("22" * 32)]
    assert third["data"] == bytes(31) + b"\x07"


def test_a_reorged_block_s_log_at_the_same_index_is_shaped_from_its_own_answer() -> None:
    """Another block at the same height (another hash) with a log at the same index, and the
    same log marked removed, are not answered from the kept shape."""
    evm_client._SHAPED_LOGS.clear()
    old = evm_client._web3_log(_raw("0x" + "01" * 32, "0x" + "00" * 31 + "07"))
    new = evm_client._web3_log(_raw("0x" + "02" * 32, "0x" + "00" * 31 + "09"))
    assert old["data"][-1] == 7
    assert new["data"][-1] == 9
    assert new["blockHash"] == bytes.fromhex("02" * 32)
    removed = evm_client._web3_log(_raw("0x" + "01" * 32, "0x" + "00" * 31 + "07", removed=True))
    assert removed["removed"] is True
    assert old["removed"] is False
