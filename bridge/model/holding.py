"""A holder's position in one asset.

The invariant every adapter keeps: ``balance == free + frozen``, where ``balance`` is what
the standard's ``balanceOf`` (or the ASA holding amount) reports. What is *inside* that
balance differs per standard, and the adapters follow this table:

============  =========================  ==========================  ======================
standard      frozen                     locked                      pending
============  =========================  ==========================  ======================
ERC-3643      inside (getFrozenTokens;   not used                    not used
              whole balance if the
              address is frozen)
ERC-1400      inside (held/locked by     outside (holds, by id)      not used
              validator)
ERC-1404      inside (lock-up/freeze)    not used                    not used
ibet          not used                   outside (lockedOf per lock  outside (pendingTransfer
                                         address)                    awaiting approval)
ASA           inside (whole holding if   not used                    not used
              the holding is frozen)
ERC-20 cash   inside (blocklisted        not used                    not used
              holder: whole balance)
============  =========================  ==========================  ======================

``by_partition`` (ERC-1400) splits ``balance`` by partition; when present, its values add
up to ``balance``. ``opted_in`` is Algorand's opt-in state (None on EVM chains).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from bridge.model.base import CanonicalModel
from bridge.types import Address, Amount

__all__ = ["Holding"]


class Holding(CanonicalModel):
    """How much of an asset one address holds, and in which state."""

    holder: Address
    balance: Amount
    free: Amount
    frozen: Amount = 0
    locked: dict[str, Amount] = Field(
        default_factory=dict, description="Units locked, keyed by lock id / lock address."
    )
    pending: Amount = 0
    by_partition: dict[str, Amount] = Field(
        default_factory=dict, description="Balance per partition (ERC-1400), hex bytes32 keys."
    )
    opted_in: bool | None = None

    @model_validator(mode="after")
    def _invariants(self) -> Holding:
        if self.free + self.frozen != self.balance:
            raise ValueError(
                f"balance: must equal free + frozen ({self.free} + {self.frozen} != {self.balance})"
            )
        if self.by_partition and sum(self.by_partition.values()) != self.balance:
            raise ValueError("by_partition: amounts must add up to balance")
        return self

    @property
    def total_locked(self) -> int:
        """Units in locks (outside ``balance`` where the standard keeps them apart)."""
        return sum(self.locked.values())
