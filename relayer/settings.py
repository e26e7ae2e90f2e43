"""The relayer's one validated settings model: a TOML file, overridden by ``STBRIDGE_*``.

Example ``relayer.toml``::

    store = "relayer.sqlite3"            # or postgresql://user@host/db (shared by replicas)
    replica_id = "relayer-1"
    lease_seconds = 30
    poll_interval_s = 1.0
    log_format = "text"                  # or "json"
    log_level = "INFO"                   # DEBUG, INFO, WARNING or ERROR

    [api]
    host = "127.0.0.1"
    port = 8787
    token_env = "STBRIDGE_API_TOKEN"     # the bearer token is read from this variable

    [[chains]]
    name = "evm-local"
    kind = "evm"
    endpoint = "http://127.0.0.1:8545"   # or "embedded"
    confirmations = 2                    # events this deep below the head are acted on
    htlc = "0x52908400098527886E0F7030069857D2E4169EE7"
    ibet_htlc = "0x..."                  # optional: IbetHTLC, for ibet share / bond legs
    chain_id = 31337                     # optional: refused at start if the node differs
    start_height = 1200                  # first run only: where to start following the HTLC
    keystore = "keys/evm-relayer.json"

    [[chains]]
    name = "algorand-local"
    kind = "algorand"
    endpoint = "embedded"
    confirmations = 0
    keystore = "keys/algo-relayer.json"

An optional ``[satp]`` section makes the relayer one platform's SATP gateway, negotiating
with one peer platform's relayer (its fields: ``relayer/satp/config.py``).

Environment variables win over the file: ``STBRIDGE_STORE``, ``STBRIDGE_REPLICA_ID``,
``STBRIDGE_API__PORT`` (nested with ``__``)... Secrets (API token, keystore passwords, the
sealing key) are never in the file: the file names the variables that hold them.

A bad file is refused at start with one line naming the file, the field and the rule; a
bad environment override names the variable. A configuration without any chain is refused.
``stbridge relayer run --check`` validates all of it plus every chain (reachable, chain id,
HTLC code, keys) and exits.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bridge.errors import ConfigError
from bridge.validation import describe
from relayer.clients import ApiClientSettings
from relayer.move_daemon import MovesSettings
from relayer.satp.config import SatpSettings

__all__ = ["ApiSettings", "ChainSettings", "RelayerSettings", "load_settings"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApiSettings(_Section):
    """Where the HTTP API listens and where its bearer token comes from."""

    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535)
    token_env: str = Field(default="STBRIDGE_API_TOKEN", pattern=r"^[A-Z_][A-Z0-9_]*$")
    clients: tuple[ApiClientSettings, ...] = ()  # clients bound to wallets (relayer/clients.py)


class ChainSettings(_Section):
    """One chain the relayer watches and acts on."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: Literal["evm", "algorand"]
    endpoint: str = Field(min_length=1, description="JSON-RPC / algod URL, or 'embedded'.")
    confirmations: int = Field(default=1, ge=0, le=1000)
    htlc: str | None = Field(default=None, description="EVM HTLC contract address.")
    ibet_htlc: str | None = Field(
        default=None,
        description="EVM: IbetHTLC contract address; ibet share and bond legs settle through it.",
    )
    chain_id: int | None = Field(
        default=None, ge=1, description="EVM: the EIP-155 chain id the node must report."
    )
    keystore: Path | None = Field(default=None, description="The relayer's own key (pays fees).")
    custody: tuple[Path, ...] = Field(
        default=(), description="Keystores of wallets the relayer locks from on parties' behalf."
    )
    password_env: str = Field(default="STBRIDGE_KEYSTORE_PASSWORD", pattern=r"^[A-Z_][A-Z0-9_]*$")
    token_env: str = Field(
        default="STBRIDGE_ALGOD_TOKEN",
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Variable holding the algod API token (Algorand chains).",
    )
    evm_version: Literal["berlin", "london", "shanghai", "cancun", "prague"] | None = Field(
        default=None,
        description="The EVM chain's target (e.g. 'berlin' for ibet); unset: detected.",
    )
    block_time_min_ms: int = Field(default=1000, ge=1)
    block_time_max_ms: int = Field(default=15000, ge=1)
    timestamp_drift_s: int = Field(default=15, ge=0)
    start_height: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Where to start following the HTLC's events when the store has no cursor for this "
            "chain yet (default: the chain's head when the relayer first starts)."
        ),
    )


class RelayerSettings(BaseSettings):
    """Everything the daemon needs, validated once at start and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="STBRIDGE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    store: str = Field(default="relayer.sqlite3", min_length=1)
    replica_id: str = Field(default="relayer-1", min_length=1, max_length=64)
    lease_seconds: float = Field(default=30.0, gt=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    secret_key_env: str = Field(default="STBRIDGE_SECRET_KEY", pattern=r"^[A-Z_][A-Z0-9_]*$")
    reaction_s: int = Field(default=60, ge=0, description="From an event to a sent transaction.")
    compliance_recheck_s: int = Field(default=30, ge=0)
    margin_s: int = Field(default=300, ge=0, description="Extra safety margin on every window.")
    api: ApiSettings = ApiSettings()
    chains: tuple[ChainSettings, ...] = ()
    satp: SatpSettings | None = None  # this platform's SATP gateway (relayer/satp/config.py)
    moves: MovesSettings | None = None  # lock-and-mint moves of one pair (relayer/move_daemon.py)

    @model_validator(mode="after")
    def _unique_chain_names(self) -> RelayerSettings:
        names = [c.name for c in self.chains]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"chains: names must be unique ({', '.join(duplicates)} repeated)")
        return self

    def chain(self, name: str) -> ChainSettings:
        """The chain called ``name``."""
        for chain in self.chains:
            if chain.name == name:
                return chain
        raise ConfigError(f"no chain named {name!r} in the settings")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the file's values (passed as init arguments)."""
        return (env_settings, init_settings)


def load_settings(path: Path | None) -> RelayerSettings:
    """Read ``path`` (TOML) and the environment; ``ConfigError`` names file, field and rule."""
    data: dict[str, Any] = {}
    where = "environment"
    if path is not None:
        where = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such settings file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        settings = RelayerSettings(**data)
    except ValidationError as exc:
        variable = _environment_source(exc)
        if variable is not None:
            where = f"environment variable {variable}"
        raise ConfigError(f"{where}: {describe(exc)}") from None
    if not settings.chains:
        raise ConfigError(
            f"{where}: chains: at least one [[chains]] table is required (see relayer/settings.py)"
        )
    return settings


def _environment_source(exc: ValidationError) -> str | None:
    """The ``STBRIDGE_*`` variable that set the first invalid field, if one did."""
    loc = [str(p) for p in exc.errors(include_url=False)[0]["loc"]]
    # the variable may name the field itself or any section above it (a JSON value)
    for depth in range(len(loc), 0, -1):
        variable = "STBRIDGE_" + "__".join(loc[:depth]).upper()
        if variable in os.environ:
            return variable
    return None
