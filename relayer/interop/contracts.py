"""HTLC builds with one of the contract's safety fixes reverted, for the interop mutations.

A relayer bug can be put back in memory (:mod:`relayer.interop.mutations`); a contract bug
cannot: the chain runs bytecode. This module derives a *mutant* of ``HTLC.sol`` from the
source the package ships (``adapters/evm/contracts/src/HTLC.sol``, the one ``make contracts``
compiles) by a few exact text replacements that undo one fix, and compiles it with the same
pinned npm ``solc`` and the same settings as the shipped artifacts
(:func:`adapters.evm.contracts.build.compile_sources`). Each replacement must match the
source exactly once, so a change of the fixed code that moves a line makes the mutant fail
to build (:class:`~adapters.evm.contracts.build.BuildError`) instead of silently compiling
the fixed contract: the mutant cannot drift from the contract it mutates.

Mutants (:data:`HTLC_MUTANTS`):

- ``token_zero_closes_native`` (issue 13 item 2, as found): ``claimToken`` / ``refundToken``
  with ``token = address(0)`` compute the *native* lock's id, and paying a token that
  returned nothing is accepted from an address without code: anyone can close a native
  lock through the token functions without paying it out (after the deadline with any
  secret-less refund; before it with the public secret), and the coin stays in the
  contract for ever.

Compiling takes a few seconds (solcjs), so the two bytecodes are cached per user under
``$XDG_CACHE_HOME/stbridge/htlc-mutants`` (or ``~/.cache/stbridge/htlc-mutants``), keyed by
the SHA-256 of the mutated source, the EVM target and the compiler version: a cache hit is
exactly what a fresh compile would give.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Final

from adapters.evm.contracts.build import (
    DEFAULT_NODE_MODULES,
    SRC_DIR,
    BuildError,
    compile_sources,
)

__all__ = ["HTLC_MUTANTS", "htlc_mutant_build", "htlc_mutant_source"]

HTLC_UNIT: Final = "src/HTLC.sol"

HTLC_MUTANTS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "token_zero_closes_native": (
        (
            "bytes32 id = _tokenId(_sha256(secret), token, sender, receiver, amount, deadline);",
            "bytes32 id = token == address(0)\n"
            "            ? _nativeId(_sha256(secret), sender, receiver, amount, deadline)\n"
            "            : _tokenId(_sha256(secret), token, sender, receiver, amount, deadline);",
        ),
        (
            "bytes32 id = _tokenId(hashlock, token, sender, receiver, amount, deadline);",
            "bytes32 id = token == address(0)\n"
            "            ? _nativeId(hashlock, sender, receiver, amount, deadline)\n"
            "            : _tokenId(hashlock, token, sender, receiver, amount, deadline);",
        ),
        (
            "case 0 {\n                if iszero(extcodesize(token)) {",
            "case 0 {\n                if and(iszero(extcodesize(token)), 0) {",
        ),
    ),
}
"""Mutant name -> the (fixed text, reverted text) replacements applied to ``HTLC.sol``."""


def htlc_mutant_source(name: str, src_dir: Path = SRC_DIR) -> str:
    """``HTLC.sol`` with mutant ``name``'s replacements applied (each must match once)."""
    if name not in HTLC_MUTANTS:
        raise BuildError(f"unknown HTLC mutant {name!r}; known: {', '.join(HTLC_MUTANTS)}")
    path = src_dir / "HTLC.sol"
    if not path.is_file():
        raise BuildError(f"{path}: the HTLC source is needed to build mutant {name!r}")
    text = path.read_text(encoding="utf-8")
    for fixed, reverted in HTLC_MUTANTS[name]:
        found = text.count(fixed)
        if found != 1:
            raise BuildError(
                f"HTLC mutant {name!r}: the fixed text {fixed.splitlines()[0]!r} occurs "
                f"{found} times in {path} (must be exactly once: update the mutant)"
            )
        text = text.replace(fixed, reverted)
    return text


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stbridge" / "htlc-mutants"


def _solc_version(node_modules: Path) -> str:
    package = node_modules / "solc" / "package.json"
    if not package.is_file():
        raise BuildError(f"npm solc not found under {node_modules} (run `npm ci`)")
    return str(json.loads(package.read_text(encoding="utf-8"))["version"])


def htlc_mutant_build(
    name: str, target: str, node_modules: Path = DEFAULT_NODE_MODULES
) -> tuple[str, str]:
    """The creation and the runtime bytecode (``0x...`` each) of mutant ``name`` for EVM
    ``target``, compiled with the pinned solc and the shipped artifacts' settings (cached,
    see the module)."""
    source = htlc_mutant_source(name)
    solc = _solc_version(node_modules)
    key = hashlib.sha256(f"{solc}\n{target}\n{source}".encode()).hexdigest()
    cached = _cache_dir() / f"{name}-{key}.json"
    if cached.is_file():
        data = json.loads(cached.read_text(encoding="utf-8"))
        return str(data["bytecode"]), str(data["deployed_bytecode"])
    _, output = compile_sources({HTLC_UNIT: source}, node_modules, target=target)
    evm = output["contracts"][HTLC_UNIT]["HTLC"]["evm"]
    build = ("0x" + str(evm["bytecode"]["object"]), "0x" + str(evm["deployedBytecode"]["object"]))
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=cached.parent, delete=False, suffix=".tmp", encoding="utf-8"
    ) as tmp:
        json.dump({"bytecode": build[0], "deployed_bytecode": build[1]}, tmp)
    Path(tmp.name).replace(cached)  # atomic: two processes may build it at once
    return build
