"""What every adapter family shares: the result of inspecting an asset, progress callbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.model import Asset, Holding

__all__ = ["InspectResult", "Progress"]

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` during long scans (blocks, accounts)."""


@dataclass(frozen=True)
class InspectResult:
    """A canonical asset, optionally its holders, and counters about the read (RPC calls...)."""

    asset: Asset
    holdings: tuple[Holding, ...] = ()
    stats: dict[str, int] = field(default_factory=dict)
