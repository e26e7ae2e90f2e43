"""Compile our Solidity sources into the artifacts shipped inside the Python package.

``python -m adapters.evm.contracts.build`` compiles every ``src/**/*.sol`` once per EVM
target in :data:`TARGETS`, each in one standard-JSON call to the npm ``solc`` pinned in
``package.json`` (solcjs, driven by the small ``build.mjs`` next to this file), with imports
such as ``@openzeppelin/contracts/...`` read from ``node_modules``. For every contract,
interface or library declared in our sources it writes ``artifacts/<target>/<Contract>.json``
per target, and ``artifacts/<Contract>.json``: the build for the contract's default target
(:func:`default_target`: ``berlin`` for the ibet contracts and ``IbetHTLC``, as ibet builds
its own; ``cancun`` for the rest). Each holds the ABI, the creation and runtime bytecode, the
compiler's long version, the settings (the EVM version included) and the SHA-256 of the
source file. Artifacts are written deterministically (sorted keys, two-space indent, trailing
newline), so the same sources and compiler always give the same bytes.

Variants: where a target lacks a feature a contract uses (transient storage before Cancun),
the source says what to use instead between comment lines ``// #if <feature>``,
``// #if !<feature>``, ``// #else`` and ``// #endif``; :func:`resolve_variant` keeps the
branch the target supports before compiling (PUSH0 and MCOPY need nothing: solc emits them
only for targets that have them). The features are in :data:`TARGET_FEATURES`.

``--check`` rebuilds into a temporary directory and exits with status 1 naming every
artifact that is missing, stale or different: this is the CI drift check.

The compiler settings are fixed here and recorded in every artifact: optimizer enabled with
200 runs, the target's EVM version, metadata hash ``ipfs`` (the solc default).

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

from adapters.evm.contracts.targets import TARGET_FEATURES, TARGETS
from bridge.errors import ConfigError

__all__ = [
    "ARTIFACTS_DIR",
    "COMPILER_SETTINGS",
    "DEFAULT_TARGET",
    "SRC_DIR",
    "TARGETS",
    "TARGET_FEATURES",
    "BuildError",
    "build",
    "check",
    "compile_sources",
    "default_target",
    "main",
    "read_sources",
    "render_artifacts",
    "resolve_variant",
    "settings_for",
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

DEFAULT_TARGET: Final = "cancun"
"""The target of ``artifacts/<Contract>.json`` unless :func:`default_target` says otherwise."""

_BERLIN_BY_DEFAULT: Final = ("src/ibet/", "src/IbetHTLC.sol")

COMPILER_SETTINGS: Final[Mapping[str, Any]] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": DEFAULT_TARGET,
    "metadata": {"bytecodeHash": "ipfs"},
}
"""Settings that change the bytecode (here for the default target; see :func:`settings_for`)."""


def settings_for(target: str) -> dict[str, Any]:
    """The compiler settings for one EVM target, recorded verbatim in its artifacts."""
    if target not in TARGETS:
        raise BuildError(f"unknown EVM target {target!r}; known: {', '.join(TARGETS)}")
    return {**COMPILER_SETTINGS, "evmVersion": target}


def default_target(source_name: str) -> str:
    """The target of a contract's top-level artifact: ``berlin`` for ibet's, else cancun."""
    if source_name.startswith(_BERLIN_BY_DEFAULT):
        return "berlin"
    return DEFAULT_TARGET


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


def resolve_variant(unit: str, text: str, target: str) -> str:
    """``text`` with the ``// #if`` branches ``target`` cannot run removed.

    Directive lines become empty lines and dropped lines too, so line numbers in compiler
    messages stay those of the file. ``// #if <feature>`` keeps its block when the target
    has the feature, ``// #if !<feature>`` when it lacks it; ``// #else`` flips; blocks do
    not nest. An unknown feature or an unbalanced block is a :class:`BuildError`.
    """
    known = frozenset().union(*TARGET_FEATURES.values())
    features = TARGET_FEATURES[target]
    out: list[str] = []
    keep: bool | None = None  # None: outside any block
    for number, line in enumerate(text.split("\n"), start=1):
        directive = line.strip()
        if directive.startswith("// #"):
            word = directive[4:].split()
            where = f"{unit}:{number}"
            if word[:1] == ["if"] and len(word) == 2 and keep is None:
                feature = word[1].removeprefix("!")
                if feature not in known:
                    raise BuildError(f"{where}: unknown feature {feature!r}")
                keep = (feature in features) != word[1].startswith("!")
            elif word == ["else"] and keep is not None:
                keep = not keep
            elif word == ["endif"] and keep is not None:
                keep = None
            else:
                raise BuildError(f"{where}: misplaced or malformed directive {directive!r}")
            out.append("")
            continue
        out.append(line if keep is None or keep else "")
    if keep is not None:
        raise BuildError(f"{unit}: `// #if` without `// #endif`")
    return "\n".join(out)


def compile_sources(
    sources: Mapping[str, str],
    node_modules: Path = DEFAULT_NODE_MODULES,
    *,
    target: str = DEFAULT_TARGET,
) -> tuple[str, dict[str, Any]]:
    """Run solcjs on ``sources`` for EVM ``target``; return (compiler long version, output).

    The sources are resolved for the target first (:func:`resolve_variant`). Raises
    :class:`BuildError` naming every compiler error; warnings are returned in the output's
    ``errors`` list with severity ``warning``.
    """
    if not (node_modules / "solc" / "package.json").is_file():
        raise BuildError(f"npm solc not found under {node_modules} (run `npm ci`)")
    resolved = {unit: resolve_variant(unit, text, target) for unit, text in sources.items()}
    standard_input = {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sorted(resolved.items())},
        "settings": {**settings_for(target), "outputSelection": _OUTPUT_SELECTION},
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
        raise BuildError(f"solc reported {len(errors)} error(s) for {target}:\n{text}")
    return str(result["version"]), output


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hex(obj: str) -> str:
    return "0x" + obj if obj else "0x"


def render_artifacts(
    sources: Mapping[str, str],
    version: str,
    output: Mapping[str, Any],
    *,
    target: str = DEFAULT_TARGET,
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
                "settings": settings_for(target),
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


def _render_all(
    sources: Mapping[str, str], node_modules: Path, targets: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """Relative artifact path -> text for every target, plus the top-level defaults."""
    rendered: dict[str, str] = {}
    warnings: list[str] = []
    per_target: dict[str, dict[str, str]] = {}
    for target in targets:
        version, output = compile_sources(sources, node_modules, target=target)
        per_target[target] = render_artifacts(sources, version, output, target=target)
        warnings.extend(f"[{target}] {w}" for w in _warnings(output))
        for name, text in per_target[target].items():
            rendered[f"{target}/{name}"] = text
    first = per_target[targets[0]]
    for name in first:
        wanted = default_target(json.loads(first[name])["sourceName"])
        chosen = wanted if wanted in per_target else targets[-1]
        rendered[name] = per_target[chosen][name]
    return rendered, sorted(set(warnings))


def _shipped(out_dir: Path) -> dict[str, Path]:
    """Relative path -> file of every artifact under ``out_dir`` (top level and targets)."""
    if not out_dir.is_dir():
        return {}
    return {
        p.relative_to(out_dir).as_posix(): p
        for p in sorted(out_dir.rglob("*.json"))
        if p.parent == out_dir or p.parent.parent == out_dir
    }


def build(
    out_dir: Path = ARTIFACTS_DIR,
    *,
    src_dir: Path = SRC_DIR,
    node_modules: Path = DEFAULT_NODE_MODULES,
    targets: Sequence[str] = TARGETS,
) -> tuple[list[str], list[str]]:
    """Compile for every target and write artifacts into ``out_dir``; remove artifacts
    with no source left. Returns (top-level artifact file names, compiler warnings)."""
    sources = read_sources(src_dir)
    rendered, warnings = _render_all(sources, node_modules, targets)
    out_dir.mkdir(parents=True, exist_ok=True)
    for rel, stale in _shipped(out_dir).items():
        if rel not in rendered and stale.name not in KEEP_IN_ARTIFACTS:
            stale.unlink()
    for rel, text in rendered.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return sorted(r for r in rendered if "/" not in r), warnings


def check(
    shipped_dir: Path = ARTIFACTS_DIR,
    *,
    src_dir: Path = SRC_DIR,
    node_modules: Path = DEFAULT_NODE_MODULES,
    targets: Sequence[str] = TARGETS,
) -> list[str]:
    """Rebuild into a temporary directory; return one line per artifact that differs.

    An empty list means the shipped artifacts are exactly what the sources compile to.
    """
    with tempfile.TemporaryDirectory(prefix="stbridge-contracts-") as tmp:
        fresh_dir = Path(tmp)
        build(fresh_dir, src_dir=src_dir, node_modules=node_modules, targets=targets)
        fresh = {r: p.read_text(encoding="utf-8") for r, p in _shipped(fresh_dir).items()}
    shipped = {r: p.read_text(encoding="utf-8") for r, p in _shipped(shipped_dir).items()}
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
    print(f"wrote {len(written)} artifacts for each of {', '.join(TARGETS)} to {ARTIFACTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
