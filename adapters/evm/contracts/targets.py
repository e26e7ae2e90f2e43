"""The EVM targets our contracts are built for, and what each one's EVM offers.

Shared by the build (:mod:`adapters.evm.contracts.build`) and the runtime
(:mod:`adapters.evm.contracts`), so the package never imports the build script.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["TARGETS", "TARGET_FEATURES"]

TARGETS: Final = ("berlin", "london", "shanghai", "cancun", "prague")
"""EVM versions every contract is built for, oldest first (a Paris chain runs ``london``)."""

TARGET_FEATURES: Final[Mapping[str, frozenset[str]]] = {
    "berlin": frozenset(),
    "london": frozenset({"basefee"}),
    "shanghai": frozenset({"basefee", "push0"}),
    "cancun": frozenset({"basefee", "push0", "transient-storage", "mcopy"}),
    "prague": frozenset({"basefee", "push0", "transient-storage", "mcopy"}),
}
"""What each target's EVM offers that an older one lacks (the features our code cares about)."""
