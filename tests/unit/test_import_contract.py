"""The architecture's import contract: ``bridge`` imports neither ``adapters`` nor ``relayer``.

Checked twice: statically (every import statement under bridge/) and dynamically (importing
every bridge module pulls in no adapters/relayer module).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bridge

BRIDGE_DIR = Path(bridge.__file__).resolve().parent
FORBIDDEN = ("adapters", "relayer")


def forbidden_imports(path: Path) -> list[str]:
    """``file:line module`` for each import of a forbidden package in ``path``."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in FORBIDDEN:
                found.append(f"{path.name}:{node.lineno} {name}")
    return found


def test_bridge_source_imports_no_adapter_or_relayer() -> None:
    offenders = [hit for path in BRIDGE_DIR.rglob("*.py") for hit in forbidden_imports(path)]
    assert offenders == []


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from adapters.evm import client\nimport relayer.engine\n")
    assert len(forbidden_imports(bad)) == 2


def test_importing_all_of_bridge_loads_no_adapter_or_relayer() -> None:
    code = (
        "import importlib, pkgutil, sys, bridge\n"
        "for m in pkgutil.walk_packages(bridge.__path__, 'bridge.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('adapters', 'relayer'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
