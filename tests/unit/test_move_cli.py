"""``stbridge move``: help, and bad input refused with the field named (no chain needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["move", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_help_explains_the_pair_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys, "--help")
    assert code == 0
    for word in ("plan", "run", "status", "link", "[home]", "[mirror]", "asset_id"):
        assert word in output


def test_a_pair_file_with_a_bad_field_is_refused_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pair = tmp_path / "pair.toml"
    pair.write_text(
        'store = "m.db"\n[home]\nrpc = "http://127.0.0.1:1"\ntoken = "0x12"\n'
        'keystore = "k.json"\n[mirror]\nalgod = "http://127.0.0.1:2"\nasset_id = 7\n'
        'keystore = "a.json"\n'
    )
    code, output = run(capsys, "status", "--pair", str(pair))
    assert code == 3
    assert "home.token" in output


def test_an_unknown_direction_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["plan", "--pair", str(tmp_path / "none.toml"), "--direction", "sideways"]
    args += ["--holder", "0x" + "11" * 20, "--receiver", "X", "--amount", "1"]
    code, output = run(capsys, *args)
    assert code == 3
    assert "--direction" in output


def test_the_readme_block_uses_only_real_options(capsys: pytest.CaptureFixture[str]) -> None:
    """Every ``stbridge move <command>`` line of the README's move block names a command and
    options that exist (the flow itself runs in tests/integration/test_move_roundtrip.py)."""
    import re

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- readme-test: move", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = re.findall(r"stbridge move (\w+)((?:[^\n&]|\\\n)*)", block)
    assert {c for c, _ in commands} == {"plan", "run", "status", "link"}
    for command, rest in commands:
        code, helped = run(capsys, command, "--help")
        assert code == 0
        for option in re.findall(r"(--[a-z-]+)", rest):
            assert option in helped, (command, option)
