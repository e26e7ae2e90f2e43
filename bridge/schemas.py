"""JSON Schemas of the public models, generated from the pydantic models.

``stbridge schema export`` writes one file per model to ``specs/schemas/``;
``stbridge schema export --check`` (and a test) fails when the checked-in files drift.
Models outside ``bridge`` (the relayer's swap order) come in through the
``stbridge.schemas`` entry points, so ``bridge`` imports neither ``adapters`` nor ``relayer``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bridge import model as m

__all__ = [
    "ENTRY_POINT_GROUP",
    "SCHEMA_DIALECT",
    "drifted",
    "public_schemas",
    "render",
    "write_all",
]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _core_models() -> dict[str, Any]:
    return {
        "asset": m.Asset,
        "asset-ref": m.AssetRef,
        "holding": m.Holding,
        "investor": m.Investor,
        "eligibility": m.Eligibility,
        "transfer-intent": m.TransferIntent,
        "transfer-check": m.TransferCheck,
        "refusal": m.Refusal,
        "rule": m.Rule,
        "corporate-action": m.CorporateAction,
        "instrument-terms": m.InstrumentTerms,
    }


def _all_models() -> dict[str, Any]:
    from bridge.compliance import SCHEMA_MODELS  # imported late: compliance builds on the model

    return {**_core_models(), **SCHEMA_MODELS}


ENTRY_POINT_GROUP = "stbridge.schemas"
"""Schemas of models outside ``bridge`` (the relayer's order): each entry point of this
group in stbridge's own distribution names a function returning a JSON Schema."""


_UNAVAILABLE: set[str] = set()
"""Plugged schemas whose module needs an extra that is not installed (e.g. the relayer's
``server`` extra): neither written nor reported as drifted."""


def _plugged_schemas() -> dict[str, dict[str, Any]]:
    from importlib.metadata import entry_points

    out: dict[str, dict[str, Any]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.dist is not None and ep.dist.name == "stbridge":
            try:
                out[ep.name] = ep.load()()
            except ImportError:
                _UNAVAILABLE.add(ep.name)
    return out


def public_schemas() -> dict[str, dict[str, Any]]:
    """Schema documents by file stem, with ``$schema`` and ``title`` set."""
    out: dict[str, dict[str, Any]] = {}
    for name, target in _all_models().items():
        schema = TypeAdapter(target).json_schema(mode="validation")
        out[name] = {"$schema": SCHEMA_DIALECT, "$id": f"stbridge:{name}", **schema}
    for name, schema in _plugged_schemas().items():
        out[name] = {"$schema": SCHEMA_DIALECT, "$id": f"stbridge:{name}", **schema}
    return out


def render(schema: dict[str, Any]) -> str:
    """Stable text of one schema (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in public_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def drifted(directory: Path) -> list[str]:
    """Names of schema files that are missing, different, or no longer generated."""
    expected = {f"{name}.schema.json": render(s) for name, s in public_schemas().items()}
    problems = []
    for filename, text in expected.items():
        path = directory / filename
        if not path.exists():
            problems.append(f"{filename} (missing)")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{filename} (differs from the models)")
    skipped = {f"{name}.schema.json" for name in _UNAVAILABLE}
    if directory.exists():
        for path in sorted(directory.glob("*.schema.json")):
            if path.name not in expected and path.name not in skipped:
                problems.append(f"{path.name} (no model generates it)")
    return problems
