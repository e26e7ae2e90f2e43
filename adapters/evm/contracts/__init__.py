"""Our Solidity contracts, shipped as compiled artifacts so the runtime needs no Node.

The sources live in ``src/`` and are compiled by :mod:`adapters.evm.contracts.build`
(``make contracts``) for every EVM target; the JSON artifacts in ``artifacts/`` (the default
build of each contract) and ``artifacts/<target>/`` are part of the package.
:func:`load_artifact` reads one by contract name (and target); :func:`artifact_for_chain`
picks the build a chain runs; :func:`require_runs_on` refuses, in one line, a build that
needs what the chain's EVM lacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from adapters.evm.contracts.targets import TARGET_FEATURES, TARGETS
from bridge.errors import ConfigError, InvalidInput, NotFound

__all__ = [
    "TARGETS",
    "Artifact",
    "artifact_for_chain",
    "available_artifacts",
    "load_artifact",
    "require_code_runs",
    "require_runs_on",
]

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
    def evm_version(self) -> str:
        """The EVM target this build is for."""
        return str(self.settings["evmVersion"])

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


@lru_cache(maxsize=256)
def load_artifact(name: str, evm_version: str | None = None) -> Artifact:
    """The shipped artifact of contract ``name``: its default build, or the build for
    ``evm_version`` (one of :data:`TARGETS`); ``NotFound`` lists the known names."""
    root = resources.files(_PACKAGE)
    if evm_version is not None:
        if evm_version not in TARGETS:
            raise InvalidInput(
                "evm_version", f"must be one of {', '.join(TARGETS)}", value=evm_version
            )
        root = root / evm_version
    path = root / f"{name}.json"
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


def require_runs_on(artifact: Artifact, evm_version: str, *, chain: str = "the chain") -> None:
    """Refuse (``ConfigError``, one line) a build that needs what ``evm_version`` lacks."""
    if evm_version not in TARGET_FEATURES:
        raise InvalidInput("evm_version", f"must be one of {', '.join(TARGETS)}", value=evm_version)
    missing = TARGET_FEATURES[artifact.evm_version] - TARGET_FEATURES[evm_version]
    if missing:
        raise ConfigError(
            f"{artifact.name} is built for {artifact.evm_version} and {chain} runs "
            f"{evm_version}, which lacks {', '.join(sorted(missing))}: use its "
            f"{evm_version} build"
        )


def artifact_for_chain(name: str, client: Any) -> Artifact:
    """The build of ``name`` to deploy on ``client``'s chain (an ``EvmClient``): the
    default build where the chain runs it, else the build for the chain's EVM target."""
    version = str(client.evm_version)
    default = load_artifact(name)
    if TARGET_FEATURES[default.evm_version] <= TARGET_FEATURES[version]:
        return default
    artifact = load_artifact(name, version)
    require_runs_on(artifact, version, chain=f"chain {client.chain_id}")
    return artifact


def require_code_runs(client: Any, address: str, name: str) -> Artifact:
    """The build of ``name`` deployed at ``address``, refused (``ConfigError``, one line)
    unless the code there is exactly one of our builds of ``name`` and the chain's EVM
    target runs it (e.g. a Cancun HTLC on a Shanghai chain, where TLOAD would fail)."""
    code = "0x" + bytes(client.code_at(address)).hex()
    version = str(client.evm_version)
    for target in TARGETS:
        artifact = load_artifact(name, target)
        if artifact.deployed_bytecode == code:
            require_runs_on(artifact, version, chain=f"chain {client.chain_id}")
            return artifact
    raise ConfigError(
        f"the code at {address} is none of our {name} builds ({', '.join(TARGETS)}): "
        f"deploy the {version} build"
    )
