"""The ERC-1400 partition of an order's leg (``LegOrder.partition``): its rules.

A leg of an ERC-1400 security may name the partition its units come from: a bytes32 id
written as 0x + 64 hex digits (kept in lower case, as the HTLC hashes it into the lock id).
Only a token of a standard with partitions can have one, and the order must say so
(``standard: erc1400``): a partition on an ERC-20, a T-REX token, a native coin or a leg of
unknown standard is refused where the order is read, naming the field. The relayer then
locks that partition (``lockPartition``, :func:`relayer.evm.prepare_token_lock` approving
the HTLC by partition) and the leg's lock id commits to it.
"""

from __future__ import annotations

import re
from typing import Final

from bridge.model import AssetRef, Standard

__all__ = ["PARTITIONED", "PARTITION_PATTERN", "PARTITION_RULE", "check_partition", "partition_of"]

PARTITIONED: Final = frozenset({Standard.ERC1400})
"""The standards whose tokens have partitions."""

PARTITION_PATTERN: Final = r"^0x[0-9a-fA-F]{64}$"
"""A bytes32 partition id (the order's JSON Schema carries it)."""

PARTITION_RULE: Final = "a bytes32 partition id: 0x + 64 hex digits"

_FORM: Final = re.compile(PARTITION_PATTERN)


def partition_of(value: str | None) -> str | None:
    """``value`` checked for its form and lower-cased (None stays None)."""
    if value is None:
        return None
    if not _FORM.match(value):
        raise ValueError(PARTITION_RULE)
    return value.lower()


def check_partition(partition: str | None, asset: AssetRef | None, standard: str | None) -> None:
    """Refuse a partition on a leg that cannot have one (``ValueError``: the rule, for the
    ``partition`` field's validator)."""
    if partition is None:
        return
    if asset is None:
        raise ValueError("a native coin has no partitions")
    if standard not in PARTITIONED:
        raise ValueError(
            "only an ERC-1400 leg (standard erc1400) has partitions, "
            f"not {standard or 'a leg without its standard'}"
        )
