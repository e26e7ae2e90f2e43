"""The adapter registry: explicit registration, clear errors, entry-point loading."""

from __future__ import annotations

import pytest

from bridge.errors import ConfigError, NotFound
from bridge.model import Capability, Standard
from bridge.registry import ENTRY_POINT_GROUP, AdapterSpec, Registry


def spec(standard: Standard, family: str = "evm", priority: int = 100) -> AdapterSpec:
    return AdapterSpec(
        standard=standard,
        family=family,  # type: ignore[arg-type]
        capabilities=frozenset({Capability.MINT}),
        factory=lambda client: client,
        priority=priority,
    )


def test_lookup_by_standard_and_family_order() -> None:
    reg = Registry([spec(Standard.ERC20, priority=200), spec(Standard.ERC3643, priority=10)])
    reg.register(spec(Standard.ASA, family="algorand"))
    assert reg.get("erc3643").standard is Standard.ERC3643
    assert [s.standard for s in reg.for_family("evm")] == [Standard.ERC3643, Standard.ERC20]
    assert len(reg) == 3
    assert [s.standard for s in reg] == [Standard.ASA, Standard.ERC20, Standard.ERC3643]


def test_errors_name_what_exists() -> None:
    reg = Registry([spec(Standard.ERC20)])
    with pytest.raises(NotFound, match="registered: erc20"):
        reg.get(Standard.ERC1400)
    with pytest.raises(NotFound, match="unknown standard 'erc9999'"):
        reg.get("erc9999")
    with pytest.raises(ConfigError, match="twice"):
        reg.register(spec(Standard.ERC20))


def test_group_name_is_the_documented_one() -> None:
    assert ENTRY_POINT_GROUP == "stbridge.adapters"
