"""The ``[satp]`` section of ``relayer.toml``: this platform's gateway and its peers.

Example (the Japanese seller's platform; the Singapore platform mirrors it)::

    [satp]
    gateway_id = "jp-securities"              # our gateway id, as the peer knows it
    keystore = "keys/satp-jp.json"            # `stbridge relayer keygen --satp`
    password_env = "STBRIDGE_SATP_PASSWORD"   # the keystore's password variable
    public_url = "https://satp.jp.example"    # where the peer reaches our API (informative)
    wallets = ["0xSeller..."]                 # our clients' wallets SATP may lock from
    jurisdictions = ["JP"]                    # stated in our signed compliance statements
    lock_window_s = 600
    lock_confirmations = 2
    tls_ca = "certs/peer-ca.pem"              # optional: the CA that signed the peer's cert
    tls_cert = "certs/jp.pem"                 # optional: serve the API over TLS with these
    tls_key = "certs/jp-key.pem"

    [satp.peer]
    gateway_id = "sg-cash"
    url = "https://satp.sg.example"           # https, or http only on the loopback interface
    public_key = { kty = "EC", crv = "P-256", x = "...", y = "..." }

A platform trading with several peers lists them instead, keyed by their gateway ids (the
proposal's sender id picks the peer, and its key is the one the signature is checked
against; our client's trade names the peer it is proposed to)::

    [[satp.peers]]
    gateway_id = "sg-cash"
    url = "https://satp.sg.example"
    public_key = { kty = "EC", crv = "P-256", x = "...", y = "..." }

    [[satp.peers]]
    gateway_id = "ch-bank"
    url = "https://satp.ch.example"
    public_key = { kty = "EC", crv = "P-256", x = "...", y = "..." }

Transport rule: the peer is reached over TLS (``https``, TLS 1.3 at least) unless its host
is on the loopback interface; anything else is refused at start with one line naming
``satp.peer.url``. The peer's key is configured here, never taken from a message.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relayer.satp.jws import PublicJwk

__all__ = ["PeerSettings", "SatpSettings", "is_loopback", "transport_problem"]

_LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names the loopback interface (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def transport_problem(url: str) -> str | None:
    """Why ``url`` may not carry SATP messages (None: it may).

    The rule: ``https`` always; ``http`` only to a loopback host (tests, a sidecar proxy that
    terminates TLS on the same machine).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            f"plain http to {parts.hostname} is refused: the peer must be reached over TLS "
            "(https) unless it is on the loopback interface"
        )
    return None


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PeerSettings(_Section):
    """A peer gateway: its id, where it listens, and its ES256 public key."""

    gateway_id: str = Field(min_length=1, max_length=128)
    url: str = Field(min_length=1, description="The peer relayer's API base URL.")
    public_key: PublicJwk

    @field_validator("url")
    @classmethod
    def _tls_unless_loopback(cls, url: str) -> str:
        problem = transport_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return url.rstrip("/")

    @field_validator("public_key")
    @classmethod
    def _on_curve(cls, key: PublicJwk) -> PublicJwk:
        try:
            key.key()
        except Exception as exc:  # InvalidInput: the point is not on P-256
            raise ValueError(f"not a usable P-256 key ({exc})") from None
        return key


class SatpSettings(_Section):
    """This relayer's SATP gateway (absent: the relayer speaks no SATP)."""

    gateway_id: str = Field(min_length=1, max_length=128)
    keystore: Path = Field(description="Our ES256 key (`stbridge relayer keygen --satp`).")
    password_env: str = Field(default="STBRIDGE_SATP_PASSWORD", pattern=r"^[A-Z_][A-Z0-9_]*$")
    public_url: str | None = Field(default=None, description="Where the peer reaches us.")
    wallets: tuple[str, ...] = Field(
        min_length=1,
        description="Our clients' wallets SATP sessions may lock from (custody keystores).",
    )
    jurisdictions: tuple[str, ...] = Field(default=(), description="Stated in our decisions.")
    lock_window_s: int = Field(default=600, ge=0)
    lock_confirmations: int = Field(default=1, ge=0, le=1000)
    tls_ca: Path | None = Field(default=None, description="CA bundle for the peer's cert.")
    tls_cert: Path | None = Field(default=None, description="Our API's certificate (PEM).")
    tls_key: Path | None = Field(default=None, description="Our API's private key (PEM).")
    peer: PeerSettings | None = Field(default=None, description="The one peer ([satp.peer]).")
    peers: tuple[PeerSettings, ...] = Field(
        default=(), description="Several peers ([[satp.peers]]), keyed by gateway_id."
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> SatpSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert: tls_cert and tls_key go together")
        return self

    @model_validator(mode="after")
    def _peers(self) -> SatpSettings:
        if (self.peer is None) == (not self.peers):
            raise ValueError("peers: give either [satp.peer] or at least one [[satp.peers]]")
        ids = [p.gateway_id for p in self.all_peers]
        if len(set(ids)) != len(ids):
            raise ValueError("peers: each gateway_id once")
        if self.gateway_id in ids:
            raise ValueError("peers: a peer's gateway_id is our own gateway_id")
        return self

    @property
    def all_peers(self) -> tuple[PeerSettings, ...]:
        """Every configured peer (the one ``peer``, or the ``peers`` list)."""
        return (self.peer,) if self.peer is not None else self.peers

    def peer_named(self, gateway_id: str | None) -> PeerSettings:
        """The peer ``gateway_id``; None picks the only peer (refused when there are several)."""
        peers = {p.gateway_id: p for p in self.all_peers}
        if gateway_id is None:
            if len(peers) == 1:
                return next(iter(peers.values()))
            raise ValueError(f"peer: name one of the configured peers ({', '.join(peers)})")
        found = peers.get(gateway_id)
        if found is None:
            raise ValueError(f"peer: {gateway_id!r} is not a configured peer ({', '.join(peers)})")
        return found

    @field_validator("wallets")
    @classmethod
    def _distinct(cls, wallets: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(wallets)) != len(wallets):
            raise ValueError("each wallet once")
        return wallets
