"""The daemon's log lines: the level setting, and the swap id on every line about a swap."""

from __future__ import annotations

import json
import logging

import pytest

from relayer.daemon import configure_logging
from relayer.logs import swap_context

SWAP = "0x" + "ab" * 32


@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_text_lines_carry_the_swap_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text", "INFO")
    log = logging.getLogger("adapters.evm.htlc")
    with swap_context(SWAP):
        log.info("lock: tx 0x01 at height 9")  # an adapter's line, inside the swap's work
    log.info("chain evm: watching from height 10")  # about no swap
    logging.getLogger("relayer.service").info("swap %s: refused", "0x" + "cd" * 32)
    log.debug("not shown at INFO")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    assert f"swap={SWAP} lock: tx 0x01" in lines[0]
    assert "swap=" not in lines[1]
    assert "swap=0x" + "cd" * 32 in lines[2]


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_the_swap_id_and_the_level_applies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "WARNING")
    log = logging.getLogger("relayer.service")
    with swap_context(SWAP):
        log.info("hidden at WARNING")
        log.warning("claim retried")
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["swap_id"] == SWAP
    assert record["level"] == "WARNING"
