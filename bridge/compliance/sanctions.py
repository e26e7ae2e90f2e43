"""Sanctions screening against list files the operator supplies.

The list format (CSV, UTF-8, ``#`` starts a comment line) has this header and columns::

    kind,value,program,listed_on,note

- ``kind``: ``name`` (a person's or entity's name), ``wallet`` (a chain address) or
  ``identifier`` (an LEI, passport or registry number written as the parties write it,
  e.g. ``LEI:5493001KJTIIGC8Y1R12``);
- ``value``: what is listed; ``program``: the list or programme it comes from
  (``SDN``, ``EU-CFSP``...); ``listed_on``: ISO date; ``note``: free text.

Matching is exact after normalisation: names are case-folded with punctuation and
repeated spaces removed; wallets compare case-insensitively; identifiers exactly
(case-folded). Fuzzy name matching belongs to the operator's screening provider, whose
output can be written in this format. An entity is also treated as listed when listed
owners hold 50 % or more of it in aggregate (the OFAC 50 percent rule).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from bridge.compliance.model import Party
from bridge.errors import ConfigError

__all__ = ["BLOCKING_SHARE_BPS", "SanctionsList", "Screening", "load_sanctions", "normalise_name"]

BLOCKING_SHARE_BPS = 5_000
"""Aggregate ownership by listed persons at or above which an entity is blocked (50 %)."""

_HEADER = ("kind", "value", "program", "listed_on", "note")
_KINDS = ("name", "wallet", "identifier")


@lru_cache(maxsize=65_536)
def normalise_name(name: str) -> str:
    """Case-folded name without accents, punctuation or repeated spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.sub(r"[^\w\s]", " ", stripped.casefold()).split()
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Screening:
    """The hits of one party: what matched, as short human phrases."""

    party: str
    hits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SanctionsList:
    """Listed names, wallets and identifiers (normalised) and the files they came from."""

    names: frozenset[str] = frozenset()
    wallets: frozenset[str] = frozenset()
    identifiers: frozenset[str] = frozenset()
    files: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.names) + len(self.wallets) + len(self.identifiers)

    def with_entries(
        self,
        *,
        names: Iterable[str] = (),
        wallets: Iterable[str] = (),
        identifiers: Iterable[str] = (),
    ) -> SanctionsList:
        """A copy with more entries (used by tests and by callers merging lists)."""
        return SanctionsList(
            names=self.names | {normalise_name(n) for n in names},
            wallets=self.wallets | {w.lower() for w in wallets},
            identifiers=self.identifiers | {i.casefold() for i in identifiers},
            files=self.files,
        )

    def _listed(self, name: str, identifiers: Iterable[str]) -> str | None:
        if normalise_name(name) in self.names:
            return f"name {name!r}"
        for ident in identifiers:
            if ident.casefold() in self.identifiers:
                return f"identifier {ident!r}"
        return None

    def screen(self, role: str, party: Party) -> Screening:
        """Hits for ``party``: its name, identifiers, wallet, and listed owners >= 50 %."""
        hits: list[str] = []
        direct = self._listed(party.name, party.identifiers)
        if direct:
            hits.append(f"{role} {direct} is listed")
        if party.wallet is not None and party.wallet.lower() in self.wallets:
            hits.append(f"{role} wallet {party.wallet} is listed")
        listed_share = sum(
            o.share_bps for o in party.owners if self._listed(o.name, o.identifiers) is not None
        )
        if listed_share >= BLOCKING_SHARE_BPS:
            hits.append(f"{role} is {listed_share / 100:g}% owned by listed persons (50% rule)")
        return Screening(role, tuple(hits))


def load_sanctions(paths: Sequence[Path]) -> SanctionsList:
    """Read one or more list files; ConfigError names the file, line and problem."""
    names: set[str] = set()
    wallets: set[str] = set()
    identifiers: set[str] = set()
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the sanctions list ({exc.strerror})") from exc
        rows = [
            (n, line) for n, line in enumerate(text.splitlines(), 1) if not line.startswith("#")
        ]
        rows = [(n, line) for n, line in rows if line.strip()]
        if not rows:
            raise ConfigError(f"{path}: line 1: empty sanctions list (a header is required)")
        reader = csv.reader([line for _, line in rows])
        for index, record in enumerate(reader):
            lineno = rows[index][0]
            if index == 0:
                if tuple(c.strip() for c in record) != _HEADER:
                    raise ConfigError(f"{path}: line {lineno}: header must be {','.join(_HEADER)}")
                continue
            if len(record) != len(_HEADER):
                raise ConfigError(
                    f"{path}: line {lineno}: expected {len(_HEADER)} columns, got {len(record)}"
                )
            kind, value, _program, listed_on, _note = (c.strip() for c in record)
            if kind not in _KINDS:
                raise ConfigError(
                    f"{path}: line {lineno}: kind {kind!r} is not one of {', '.join(_KINDS)}"
                )
            if not value:
                raise ConfigError(f"{path}: line {lineno}: value is empty")
            if listed_on:
                try:
                    date.fromisoformat(listed_on)
                except ValueError:
                    raise ConfigError(
                        f"{path}: line {lineno}: listed_on {listed_on!r} is not an ISO date"
                    ) from None
            if kind == "name":
                names.add(normalise_name(value))
            elif kind == "wallet":
                wallets.add(value.lower())
            else:
                identifiers.add(value.casefold())
    return SanctionsList(
        names=frozenset(names),
        wallets=frozenset(wallets),
        identifiers=frozenset(identifiers),
        files=tuple(str(p) for p in paths),
    )
