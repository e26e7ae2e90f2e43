"""Start and stop an anvil node for the interop suite (the binary from ``node_modules``).

The same way the test fixtures start it (``tests/fixtures/evm.py``), without pytest: a free
127.0.0.1 port, ``--silent``, stopped by the pid of the process started here.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path

from adapters.evm.abi_gen import node_modules
from bridge.errors import ChainUnavailable

__all__ = ["anvil_binary", "start_anvil", "stop_process"]


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
    within 10 s.
    """
    binary = anvil_binary()
    if not binary.is_file():
        raise ChainUnavailable(f"anvil binary missing at {binary}: run `npm ci` (or make setup)")
    port = _free_port()
    proc = subprocess.Popen(
        [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.02)
    stop_process(proc)
    raise ChainUnavailable("anvil did not start within 10 s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started here, by its pid (SIGTERM, then SIGKILL after 5 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
