"""Start and stop a local anvil node (the binary from ``node_modules``): the one launcher of
the interop suite, the benches and the test fixtures.

A free 127.0.0.1 port, ``--silent``, stopped by the pid of the process started here, and a
bounded history kept in memory only (:data:`HISTORY_STATES`): by default anvil writes every
state past its in-memory window to ``~/.foundry/anvil/tmp`` (about 0.4 MB per block on an empty
chain, gigabytes for a bench of a thousand swaps) and leaves the folder behind when it is killed
rather than stopped; on this project's machines that filled the disk. A read of state older
than the window is refused by anvil (``BlockOutOfRangeError``); nothing here reads that far back.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path
from typing import Final

from adapters.evm.abi_gen import node_modules
from bridge.errors import ChainUnavailable

__all__ = ["HISTORY_STATES", "anvil_binary", "start_anvil", "stop_process"]

HISTORY_STATES: Final = 1024
"""Block states anvil keeps (in memory; none on disk): far more than any confirmation depth,
look-back read or pinned escrow check here reaches back."""


def anvil_binary() -> Path:
    """The real anvil binary inside the npm platform package ``@foundry-rs/anvil-linux-amd64``."""
    return node_modules() / "@foundry-rs/anvil-linux-amd64/bin/anvil"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_anvil(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start anvil on a free local port; return the process and its URL once it answers.

    ``ChainUnavailable`` when the binary is missing (run ``npm ci``) or it does not answer
    within 30 s (a loaded machine can take that long to start it).
    """
    binary = anvil_binary()
    if not binary.is_file():
        raise ChainUnavailable(f"anvil binary missing at {binary}: run `npm ci` (or make setup)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--silent",
            "--prune-history",
            str(HISTORY_STATES),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.02)
    stop_process(proc)
    raise ChainUnavailable(f"anvil did not answer on 127.0.0.1:{port} within 30 s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started here, by its pid (SIGTERM, then SIGKILL after 5 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
