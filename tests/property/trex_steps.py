"""Agent actions on a T-REX token that the ERC-3643 property tests mix into their random
sequences (``test_trex_prediction``, ``test_trex_all_modules``); each test module carries
them out in its own way and adds steps of its own."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Freeze", "MaxBalance", "PartialFreeze", "Pause"]


@dataclass(frozen=True)
class Freeze:
    """Freeze (or unfreeze) a wallet."""

    label: str
    frozen: bool


@dataclass(frozen=True)
class PartialFreeze:
    """Freeze ``share`` per mille of a wallet's free balance."""

    label: str
    share: int


@dataclass(frozen=True)
class Pause:
    """Pause (or unpause) the token."""

    paused: bool


@dataclass(frozen=True)
class MaxBalance:
    """Set the MaxBalanceModule cap."""

    limit: int
