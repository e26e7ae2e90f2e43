"""Our Solidity contracts, shipped as compiled artifacts so the runtime needs no Node.

The sources live in ``src/`` and are compiled by :mod:`adapters.evm.contracts.build`
(``make contracts``); the JSON artifacts in ``artifacts/`` are part of the package.
:func:`load_artifact` reads one by contract name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from bridge.errors import NotFound

__all__ = ["Artifact", "available_artifacts", "load_artifact"]

_PACKAGE = "adapters.evm.contracts.artifacts"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: ABI, creation and runtime bytecode (0x hex), provenance."""

    name: str
    source_name: str
    source_sha256: str
    abi: tuple[dict[str, Any], ...]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    settings: dict[str, Any]

    @property
    def deployable(self) -> bool:
        """False for interfaces and abstract contracts (no creation code)."""
        return self.bytecode not in ("", "0x")

    @property
    def runtime_size(self) -> int:
        """Deployed code size in bytes (EIP-170 caps it at 24,576)."""
        return max(0, (len(self.deployed_bytecode) - 2) // 2)


def available_artifacts() -> tuple[str, ...]:
    """Names of every shipped artifact, sorted."""
    root = resources.files(_PACKAGE)
    return tuple(
        sorted(p.name[: -len(".json")] for p in root.iterdir() if p.name.endswith(".json"))
    )


@lru_cache(maxsize=64)
def load_artifact(name: str) -> Artifact:
    """The shipped artifact of contract ``name``; ``NotFound`` lists the known names."""
    path = resources.files(_PACKAGE) / f"{name}.json"
    if not path.is_file():
        known = ", ".join(available_artifacts()) or "none"
        raise NotFound(f"no compiled contract named {name!r}; shipped: {known}")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(
        name=data["contractName"],
        source_name=data["sourceName"],
        source_sha256=data["sourceSha256"],
        abi=tuple(data["abi"]),
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler_version=data["compiler"]["version"],
        settings=data["settings"],
    )
