"""Generate the T-REX / ONCHAINID ABIs the runtime ships, from the npm artifacts.

The runtime reads and drives a deployed T-REX token with ABIs it ships itself (ABIs are
facts, taken verbatim from the Hardhat artifacts of ``@tokenysolutions/t-rex`` and
``@onchain-id/solidity`` in ``node_modules``); bytecode is not shipped.

    python -m adapters.evm.abi_gen            # (re)write adapters/evm/abi/*.json
    python -m adapters.evm.abi_gen --check    # exit 1 if a shipped ABI differs (drift)

The same module tells tests and the demo where each artifact (ABI + bytecode) is:
:func:`artifact_path` and :func:`load_artifact`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from bridge.errors import ConfigError

__all__ = [
    "ABI_DIR",
    "ARTIFACTS",
    "SHIPPED",
    "artifact_path",
    "check",
    "generate",
    "load_artifact",
    "node_modules",
    "render",
]

ABI_DIR: Final = Path(__file__).resolve().parent / "abi"

_TREX = "@tokenysolutions/t-rex/artifacts/contracts"
_OID = "@onchain-id/solidity/artifacts/contracts"

ARTIFACTS: Final[dict[str, str]] = {
    # T-REX token and registries
    "Token": f"{_TREX}/token/Token.sol/Token.json",
    "IdentityRegistry": (
        f"{_TREX}/registry/implementation/IdentityRegistry.sol/IdentityRegistry.json"
    ),
    "IdentityRegistryStorage": (
        f"{_TREX}/registry/implementation/IdentityRegistryStorage.sol/IdentityRegistryStorage.json"
    ),
    "ClaimTopicsRegistry": (
        f"{_TREX}/registry/implementation/ClaimTopicsRegistry.sol/ClaimTopicsRegistry.json"
    ),
    "TrustedIssuersRegistry": (
        f"{_TREX}/registry/implementation/TrustedIssuersRegistry.sol/TrustedIssuersRegistry.json"
    ),
    "ModularCompliance": f"{_TREX}/compliance/modular/ModularCompliance.sol/ModularCompliance.json",
    # compliance modules
    **{
        name: f"{_TREX}/compliance/modular/modules/{name}.sol/{name}.json"
        for name in (
            "CountryAllowModule",
            "CountryRestrictModule",
            "MaxBalanceModule",
            "TransferRestrictModule",
            "ConditionalTransferModule",
            "SupplyLimitModule",
            "TimeTransfersLimitsModule",
            "ExchangeMonthlyLimitsModule",
            "TimeExchangeLimitsModule",
            "TokenListingRestrictionsModule",
            "TransferFeesModule",
        )
    },
    "IModule": f"{_TREX}/compliance/modular/modules/IModule.sol/IModule.json",
    # deployment path (bytecode from node_modules; only some ABIs shipped)
    "TREXImplementationAuthority": (
        f"{_TREX}/proxy/authority/TREXImplementationAuthority.sol/TREXImplementationAuthority.json"
    ),
    "TREXFactory": f"{_TREX}/factory/TREXFactory.sol/TREXFactory.json",
    # ONCHAINID
    "Identity": f"{_OID}/Identity.sol/Identity.json",
    "ClaimIssuer": f"{_OID}/ClaimIssuer.sol/ClaimIssuer.json",
    "ImplementationAuthority": (
        f"{_OID}/proxy/ImplementationAuthority.sol/ImplementationAuthority.json"
    ),
    "IdFactory": f"{_OID}/factory/IdFactory.sol/IdFactory.json",
}
"""Artifact paths (relative to ``node_modules``) by contract name."""

SHIPPED: Final[tuple[str, ...]] = (
    "Token",
    "IdentityRegistry",
    "IdentityRegistryStorage",
    "ClaimTopicsRegistry",
    "TrustedIssuersRegistry",
    "ModularCompliance",
    "CountryAllowModule",
    "CountryRestrictModule",
    "MaxBalanceModule",
    "TransferRestrictModule",
    "ConditionalTransferModule",
    "SupplyLimitModule",
    "TimeTransfersLimitsModule",
    "ExchangeMonthlyLimitsModule",
    "TimeExchangeLimitsModule",
    "TokenListingRestrictionsModule",
    "TransferFeesModule",
    "IModule",
    "Identity",
    "ClaimIssuer",
    "IdFactory",
)
"""The ABIs the runtime needs to read and drive a deployed suite."""


def node_modules() -> Path:
    """The ``node_modules`` folder with the npm packages (T-REX, ONCHAINID, anvil, solc).

    ``STBRIDGE_NODE_MODULES`` when set; else the checkout's (next to ``package.json``);
    else one in the working directory or above it (an installed wheel has no checkout).
    """
    import os

    if os.environ.get("STBRIDGE_NODE_MODULES"):
        return Path(os.environ["STBRIDGE_NODE_MODULES"])
    here = Path(__file__).resolve()
    for parent in (*here.parents, Path.cwd(), *Path.cwd().parents):
        candidate = parent / "node_modules"
        if candidate.is_dir():
            return candidate
    return here.parents[2] / "node_modules"


def artifact_path(name: str) -> Path:
    """Where the Hardhat artifact of ``name`` is in ``node_modules``."""
    return node_modules() / ARTIFACTS[name]


def load_artifact(name: str) -> dict[str, Any]:
    """The Hardhat artifact (``abi``, ``bytecode``, ...) of ``name`` from ``node_modules``."""
    path = artifact_path(name)
    try:
        with path.open(encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: T-REX/ONCHAINID artifacts come from npm: run `npm ci` in a stbridge "
            "checkout, or set STBRIDGE_NODE_MODULES to a node_modules folder that has them"
        ) from None
    return data


def render(name: str) -> str:
    """The JSON text of the shipped ABI of ``name`` (stable formatting)."""
    abi = load_artifact(name)["abi"]
    return json.dumps(abi, indent=1, sort_keys=True) + "\n"


def generate() -> list[Path]:
    """Write every shipped ABI; return the files written."""
    ABI_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SHIPPED:
        target = ABI_DIR / f"{name}.json"
        target.write_text(render(name), encoding="utf-8")
        written.append(target)
    return written


def check() -> list[str]:
    """Names whose shipped ABI is missing or differs from the npm artifact."""
    drift = []
    for name in SHIPPED:
        target = ABI_DIR / f"{name}.json"
        if not target.is_file() or target.read_text(encoding="utf-8") != render(name):
            drift.append(name)
    extra = {p.stem for p in ABI_DIR.glob("*.json")} - set(SHIPPED)
    drift.extend(sorted(f"{e} (not generated)" for e in extra))
    return drift


def main(argv: list[str] | None = None) -> int:
    """Command line entry: generate, or ``--check`` for drift (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m adapters.evm.abi_gen")
    parser.add_argument("--check", action="store_true", help="fail if shipped ABIs drifted")
    args = parser.parse_args(argv)
    if args.check:
        drift = check()
        if drift:
            sys.stderr.write("ABI drift: " + ", ".join(drift) + "\n")
            return 1
        sys.stdout.write(f"{len(SHIPPED)} ABIs match node_modules\n")
        return 0
    written = generate()
    sys.stdout.write(f"wrote {len(written)} ABIs to {ABI_DIR}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
