"""TEAL sources of stbridge's Algorand programs and their assembled bytes.

``regulated_asa_approval.teal`` / ``regulated_asa_clear.teal`` are the regulated-ASA
compliance application; ``regulated_asa_errors.json`` maps the program counter of every
refusal to its error name (``python -m adapters.algorand.teal.build --check`` reassembles
and compares). ``htlc_algo.teal``, ``htlc_asa.teal`` and ``htlc_regulated.teal`` are the
HTLC logic-signature templates (``python -m adapters.algorand.htlc_build --check``). Each
``*.bin`` is the assembled program shipped with the package.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files

__all__ = ["approval_program", "clear_program", "error_map"]


def _read(name: str) -> bytes:
    return files(__package__).joinpath(name).read_bytes()


@lru_cache(maxsize=1)
def approval_program() -> bytes:
    """The assembled approval program (shipped bytes)."""
    return _read("regulated_asa_approval.bin")


@lru_cache(maxsize=1)
def clear_program() -> bytes:
    """The assembled clear-state program (shipped bytes)."""
    return _read("regulated_asa_clear.bin")


@lru_cache(maxsize=1)
def error_map() -> dict[int, str]:
    """Program counter of each ``err`` opcode -> the error name it stands for."""
    raw: dict[str, str] = json.loads(_read("regulated_asa_errors.json"))
    return {int(pc): name for pc, name in raw.items()}
