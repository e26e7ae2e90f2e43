"""Compile our Solidity sources into the artifacts shipped inside the Python package.

``python -m adapters.evm.contracts.build`` compiles every ``src/**/*.sol`` in one
standard-JSON call to the npm ``solc`` pinned in ``package.json`` (solcjs, driven by the
small ``build.mjs`` next to this file), with imports such as ``@openzeppelin/contracts/...``
read from ``node_modules``. It writes one ``artifacts/<Contract>.json`` per contract,
interface or library declared in our sources, holding the ABI, the creation and runtime
bytecode, the compiler's long version, the settings below and the SHA-256 of the source
file. Artifacts are written deterministically (sorted keys, two-space indent, trailing
newline), so the same sources and compiler always give the same bytes.

``--check`` rebuilds into a temporary directory and exits with status 1 naming every
artifact that is missing, stale or different: this is the CI drift check.

The compiler settings are fixed here and recorded in every artifact:
optimizer enabled with 200 runs, EVM version ``cancun`` (runs on py-evm's Prague VM, on
anvil and on any post-Dencun chain), metadata hash ``ipfs`` (the solc default).

Only this build needs Node; the runtime reads the JSON through
:func:`adapters.evm.contracts.load_artifact`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from bridge.errors import ConfigError

__all__ = [
    "ARTIFACTS_DIR",
    "COMPILER_SETTINGS",
    "SRC_DIR",
    "BuildError",
    "build",
    "check",
    "compile_sources",
    "main",
    "read_sources",
    "render_artifacts",
]

CONTRACTS_DIR: Final = Path(__file__).resolve().parent
SRC_DIR: Final = CONTRACTS_DIR / "src"
ARTIFACTS_DIR: Final = CONTRACTS_DIR / "artifacts"
REPO_ROOT: Final = CONTRACTS_DIR.parents[2]
DEFAULT_NODE_MODULES: Final = REPO_ROOT / "node_modules"
NODE_SCRIPT: Final = CONTRACTS_DIR / "build.mjs"
ARTIFACT_FORMAT: Final = "stbridge-artifact/1"
KEEP_IN_ARTIFACTS: Final = frozenset({"__init__.py"})
SOLC_TIMEOUT_SECONDS: Final = 600

COMPILER_SETTINGS: Final[Mapping[str, Any]] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "ipfs"},
}
"""Settings that change the bytecode; recorded verbatim in every artifact."""

_OUTPUT_SELECTION: Final = {
    "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
}


class BuildError(ConfigError):
    """The sources could not be compiled (compiler error, missing import, no Node)."""


def read_sources(src_dir: Path = SRC_DIR) -> dict[str, str]:
    """Every ``.sol`` file under ``src_dir`` (subfolders included), keyed by unit name.

    Unit names are ``src/<relative path>`` with forward slashes, so relative imports
    between our files resolve inside the input and artifacts name their source stably.
    """
    sources: dict[str, str] = {}
    for path in sorted(src_dir.rglob("*.sol")):
        unit = "src/" + path.relative_to(src_dir).as_posix()
        sources[unit] = path.read_text(encoding="utf-8")
    if not sources:
        raise BuildError(f"no Solidity sources under {src_dir}")
    return sources


def compile_sources(
    sources: Mapping[str, str], node_modules: Path = DEFAULT_NODE_MODULES
) -> tuple[str, dict[str, Any]]:
    """Run solcjs on ``sources``; return (compiler long version, standard JSON output).

    Raises :class:`BuildError` naming every compiler error; warnings are returned in the
    output's ``errors`` list with severity ``warning``.
    """
    if not (node_modules / "solc" / "package.json").is_file():
        raise BuildError(f"npm solc not found under {node_modules} (run `npm ci`)")
    standard_input = {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sorted(sources.items())},
        "settings": {**COMPILER_SETTINGS, "outputSelection": _OUTPUT_SELECTION},
    }
    node = shutil.which("node")
    if node is None:
        raise BuildError("node is not on PATH; the contract build needs Node 20")
    try:
        done = subprocess.run(
            [node, str(NODE_SCRIPT), str(node_modules)],
            input=json.dumps(standard_input),
            capture_output=True,
            text=True,
            timeout=SOLC_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"solc did not finish within {SOLC_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        raise BuildError(f"solc (node) failed: {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout)
    output: dict[str, Any] = result["output"]
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        text = "\n".join(e.get("formattedMessage", e.get("message", "?")) for e in errors)
        raise BuildError(f"solc reported {len(errors)} error(s):\n{text}")
    return str(result["version"]), output


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hex(obj: str) -> str:
    return "0x" + obj if obj else "0x"


def render_artifacts(
    sources: Mapping[str, str], version: str, output: Mapping[str, Any]
) -> dict[str, str]:
    """Artifact file name -> file text, for every contract declared in ``sources``.

    Two declarations with the same name in different files are refused: artifacts are
    looked up by contract name.
    """
    rendered: dict[str, str] = {}
    origin: dict[str, str] = {}
    contracts: Mapping[str, Mapping[str, Any]] = output.get("contracts", {})
    for unit in sorted(sources):
        for name, compiled in sorted(contracts.get(unit, {}).items()):
            if name in origin:
                raise BuildError(f"contract {name} is declared in {origin[name]} and in {unit}")
            origin[name] = unit
            evm = compiled.get("evm", {})
            artifact = {
                "format": ARTIFACT_FORMAT,
                "contractName": name,
                "sourceName": unit,
                "sourceSha256": _sha256(sources[unit]),
                "abi": compiled.get("abi", []),
                "bytecode": _hex(evm.get("bytecode", {}).get("object", "")),
                "deployedBytecode": _hex(evm.get("deployedBytecode", {}).get("object", "")),
                "compiler": {"name": "solc", "version": version},
                "settings": dict(COMPILER_SETTINGS),
            }
            text = json.dumps(artifact, sort_keys=True, indent=2, ensure_ascii=True) + "\n"
            rendered[f"{name}.json"] = text
    return rendered


def _warnings(output: Mapping[str, Any]) -> list[str]:
    return [
        str(e.get("formattedMessage", e.get("message", "?"))).strip()
        for e in output.get("errors", [])
        if e.get("severity") != "error"
    ]


def build(
    out_dir: Path = ARTIFACTS_DIR,
    *,
    src_dir: Path = SRC_DIR,
    node_modules: Path = DEFAULT_NODE_MODULES,
) -> tuple[list[str], list[str]]:
    """Compile and write artifacts into ``out_dir``; remove artifacts with no source left.

    Returns (artifact file names written, compiler warnings).
    """
    sources = read_sources(src_dir)
    version, output = compile_sources(sources, node_modules)
    rendered = render_artifacts(sources, version, output)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out_dir.iterdir()):
        if stale.is_file() and stale.name not in rendered and stale.name not in KEEP_IN_ARTIFACTS:
            stale.unlink()
    for name, text in rendered.items():
        target = out_dir / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return sorted(rendered), _warnings(output)


def check(
    shipped_dir: Path = ARTIFACTS_DIR,
    *,
    src_dir: Path = SRC_DIR,
    node_modules: Path = DEFAULT_NODE_MODULES,
) -> list[str]:
    """Rebuild into a temporary directory; return one line per artifact that differs.

    An empty list means the shipped artifacts are exactly what the sources compile to.
    """
    with tempfile.TemporaryDirectory(prefix="stbridge-contracts-") as tmp:
        fresh_dir = Path(tmp)
        build(fresh_dir, src_dir=src_dir, node_modules=node_modules)
        fresh = {p.name: p.read_text(encoding="utf-8") for p in fresh_dir.glob("*.json")}
    shipped = {p.name: p.read_text(encoding="utf-8") for p in shipped_dir.glob("*.json")}
    problems: list[str] = []
    for name in sorted(fresh.keys() | shipped.keys()):
        if name not in shipped:
            problems.append(f"{name}: missing from the shipped artifacts")
        elif name not in fresh:
            problems.append(f"{name}: shipped but no source declares it any more")
        elif fresh[name] != shipped[name]:
            problems.append(f"{name}: differs from a rebuild of its source")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build (default) or ``--check``; returns the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m adapters.evm.contracts.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="rebuild into a temp dir and compare; write nothing"
    )
    parser.add_argument(
        "--node-modules",
        type=Path,
        default=DEFAULT_NODE_MODULES,
        help="node_modules holding solc and @openzeppelin/contracts",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(node_modules=args.node_modules)
            for line in problems:
                print(f"contract artifact drift: {line}", file=sys.stderr)
            if problems:
                print("run `make contracts` and commit the artifacts", file=sys.stderr)
                return 1
            print("contract artifacts match their sources")
            return 0
        written, warnings = build(node_modules=args.node_modules)
    except BuildError as exc:
        print(f"contract build failed: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"solc warning: {warning}", file=sys.stderr)
    print(f"wrote {len(written)} artifacts to {ARTIFACTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
