"""The one anvil launcher (``relayer.interop.anvil.start_anvil``: the test fixtures, the benches
and the interop suite) keeps the chain's history in memory only.

By default anvil writes every block state past its in-memory window under
``~/.foundry/anvil/tmp`` and leaves the folder behind when it is killed; the benches and test
runs of one working day left 71 GB there and filled the disk.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from relayer.interop.anvil import HISTORY_STATES, start_anvil, stop_process


def _rpc(url: str, method: str, *params: object) -> object:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    reply = requests.post(url, json=body, timeout=60).json()
    assert "error" not in reply, reply
    return reply["result"]


def _bytes_under(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_a_long_anvil_chain_writes_no_state_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    proc, url = start_anvil()
    try:
        blocks = HISTORY_STATES + 500
        _rpc(url, "anvil_mine", hex(blocks))
        head = int(str(_rpc(url, "eth_blockNumber")), 16)
        assert head >= blocks
        # recent history still answers (what the relayer's pinned reads need)
        account = str(_rpc(url, "eth_accounts")[0])  # type: ignore[index]
        assert int(str(_rpc(url, "eth_getBalance", account, hex(head - 64))), 16) > 0
        # and nothing of it went to disk while the node runs
        assert _bytes_under(tmp_path) < 1_000_000
    finally:
        stop_process(proc)
