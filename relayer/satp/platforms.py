"""Two platforms from one devnet: a JP securities firm's relayer and an SG cash platform's.

:func:`write_platforms` turns a ``stbridge devnet up`` directory (its chains, contracts,
investors and keystores) into two relayer directories, each with only its own keys:

=====  ===================================================  ====================================
side   keys (copied from the devnet's keystores)            role in a trade
=====  ===================================================  ====================================
jp     EVM: relayer-evm (fees), alice, dave (sellers);      initiator: locks the security on
       Algorand: alice (fees; receives the cash)            the EVM chain, holds the secret
sg     EVM: bob (fees; receives the security);               responder: locks the cash on
       Algorand: relayer-algorand (fees), bob, erin         Algorand, claims with the secret
=====  ===================================================  ====================================

Each directory holds ``relayer.toml`` (with ``[satp]`` naming the other as its peer by URL
and public JWK, and ``[[api.clients]]`` binding each client's token to its wallets), its
own SATP key (``satp-key.json``, encrypted), its keystores under ``keys/``, and
``platform.env`` (mode 0600: its secrets, and nothing of the other side's). Used by
``stbridge demo --two-platforms`` and the two-process tests.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from relayer.keystore import decrypt_document, write_keystore
from relayer.satp.jws import PublicJwk, SigningKey
from relayer.satp.keys import write_satp_keystore

__all__ = ["PLATFORMS", "Platform", "read_env", "write_platforms"]

SATP_KEY_ITERATIONS: Final = 2**12
"""scrypt work factor of the platforms' keystores (devnet keys: light on purpose). Each
platform's keystores (its SATP key and its copies of the devnet's keys) are encrypted under
its own password: one platform's password opens nothing of the other's."""

PLATFORMS: Final[dict[str, dict[str, Any]]] = {
    "jp": {
        "gateway_id": "jp-securities",
        "jurisdiction": "JP",
        "evm": ("relayer-evm", ["evm-alice", "evm-dave"]),
        "algorand": ("algorand-alice", []),
        "wallets": [("alice", "evm"), ("dave", "evm")],
        "clients": ["alice", "dave"],
    },
    "sg": {
        "gateway_id": "sg-cash",
        "jurisdiction": "SG",
        "evm": ("evm-bob", []),
        "algorand": ("relayer-algorand", ["algorand-bob", "algorand-erin"]),
        "wallets": [("bob", "algorand"), ("erin", "algorand")],
        "clients": ["bob", "erin"],
    },
}


@dataclass(frozen=True)
class Platform:
    """One written platform: its directory, files, API URL and environment."""

    name: str
    directory: Path
    config: Path
    api_url: str
    env: dict[str, str]
    public_key: PublicJwk
    keystores: tuple[Path, ...]

    def client_token_env(self, client: str) -> str:
        """The variable holding ``client``'s bearer token."""
        return f"STBRIDGE_TOKEN_{client.upper()}"


def read_env(path: Path) -> dict[str, str]:
    """The ``export NAME=value`` lines of an env file."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("export ") and "=" in line:
            name, value = line.removeprefix("export ").split("=", 1)
            out[name] = value
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_platforms(
    devnet: Path, out: Path, *, poll_interval_s: float = 0.3
) -> dict[str, Platform]:
    """Write the JP and SG relayer directories under ``out`` from the devnet at ``devnet``."""
    state = json.loads((devnet / "devnet.json").read_text(encoding="utf-8"))
    devnet_password = read_env(devnet / "devnet.env")["STBRIDGE_KEYSTORE_PASSWORD"]
    ports = {name: _free_port() for name in PLATFORMS}
    keys = {name: SigningKey.generate() for name in PLATFORMS}
    passwords = {name: secrets.token_urlsafe(18) for name in PLATFORMS}
    publics: dict[str, PublicJwk] = {}
    for name in PLATFORMS:
        directory = out / name
        (directory / "keys").mkdir(parents=True, exist_ok=True)
        publics[name] = write_satp_keystore(
            directory / "satp-key.json",
            keys[name],
            password=passwords[name],
            iterations=SATP_KEY_ITERATIONS,
        )
    written: dict[str, Platform] = {}
    for name, spec in PLATFORMS.items():
        peer = "sg" if name == "jp" else "jp"
        directory = (out / name).resolve()
        copied: list[Path] = []

        def copy(
            key: str,
            directory: Path = directory,
            copied: list[Path] = copied,
            password: str = passwords[name],
        ) -> Path:
            """Re-encrypt one devnet keystore under this platform's own password."""
            document, raw = decrypt_document(devnet / "keys" / f"{key}.json", devnet_password)
            target = directory / "keys" / f"{key}.json"
            write_keystore(
                target,
                kind=document["stbridge_kind"],
                key=raw,
                password=password,
                iterations=SATP_KEY_ITERATIONS,
            )
            copied.append(target)
            return target

        evm_op, evm_custody = spec["evm"]
        algo_op, algo_custody = spec["algorand"]
        evm_paths = [copy(evm_op), *(copy(k) for k in evm_custody)]
        algo_paths = [copy(algo_op), *(copy(k) for k in algo_custody)]
        investors = state["investors"]
        wallets = [investors[label][kind] for label, kind in spec["wallets"]]
        clients = "".join(
            f"""
[[api.clients]]
name = "{label}"
token_env = "STBRIDGE_TOKEN_{label.upper()}"
wallets = {json.dumps([investors[label]["evm"], investors[label]["algorand"]])}
"""
            for label in spec["clients"]
        )
        public = publics[peer].model_dump()
        toml = f"""# the {name.upper()} platform's relayer (stbridge demo --two-platforms)
store = {json.dumps(str(directory / "relayer.sqlite3"))}
replica_id = "{name}-1"
poll_interval_s = {poll_interval_s}
reaction_s = 20
compliance_recheck_s = 5
margin_s = 20

[api]
host = "127.0.0.1"
port = {ports[name]}
{clients}
[[chains]]
name = "evm"
kind = "evm"
endpoint = "{state["evm_url"]}"
confirmations = 0
htlc = "{state["contracts"]["htlc"]}"
keystore = {json.dumps(str(evm_paths[0]))}
custody = {json.dumps([str(p) for p in evm_paths[1:]])}
block_time_min_ms = 1000
block_time_max_ms = 3000
timestamp_drift_s = 5

[[chains]]
name = "algorand"
kind = "algorand"
endpoint = "{state["algod_url"]}"
confirmations = 0
keystore = {json.dumps(str(algo_paths[0]))}
custody = {json.dumps([str(p) for p in algo_paths[1:]])}
block_time_min_ms = 2800
block_time_max_ms = 4500

[satp]
gateway_id = "{spec["gateway_id"]}"
keystore = {json.dumps(str(directory / "satp-key.json"))}
public_url = "http://127.0.0.1:{ports[name]}"
wallets = {json.dumps(wallets)}
jurisdictions = ["{spec["jurisdiction"]}"]
lock_window_s = 120
lock_confirmations = 1

[satp.peer]
gateway_id = "{PLATFORMS[peer]["gateway_id"]}"
url = "http://127.0.0.1:{ports[peer]}"
public_key = {{ kty = "EC", crv = "P-256", x = "{public["x"]}", y = "{public["y"]}" }}
"""
        config = directory / "relayer.toml"
        config.write_text(toml, encoding="utf-8")
        env = {
            "STBRIDGE_SECRET_KEY": secrets.token_hex(32),
            "STBRIDGE_API_TOKEN": secrets.token_urlsafe(24),
            "STBRIDGE_KEYSTORE_PASSWORD": passwords[name],
            "STBRIDGE_SATP_PASSWORD": passwords[name],
            **{f"STBRIDGE_TOKEN_{c.upper()}": secrets.token_urlsafe(24) for c in spec["clients"]},
        }
        _private(
            directory / "platform.env",
            "".join(f"export {k}={v}\n" for k, v in env.items()),
        )
        written[name] = Platform(
            name=name,
            directory=directory,
            config=config,
            api_url=f"http://127.0.0.1:{ports[name]}",
            env=env,
            public_key=publics[name],
            keystores=(directory / "satp-key.json", *copied),
        )
    return written
