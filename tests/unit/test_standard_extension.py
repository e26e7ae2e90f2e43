"""Third-party standards: admitted by the adapter registry, never by editing ``bridge``."""

from __future__ import annotations

import pytest

from bridge.errors import ConfigError
from bridge.model import Capability, Standard
from bridge.model.transfer import Refusal
from bridge.registry import AdapterSpec, Registry


def test_unknown_standards_stay_refused_until_admitted() -> None:
    with pytest.raises(ValueError, match="not_yet_admitted"):
        Standard("not_yet_admitted")
    spec = AdapterSpec(
        standard="not_yet_admitted",  # type: ignore[arg-type]
        family="evm",
        capabilities=frozenset({Capability.MINT}),
        factory=object,
    )
    assert spec.standard is Standard("not_yet_admitted")
    assert spec.standard.value == "not_yet_admitted"
    assert Registry([spec]).get("not_yet_admitted") is spec
    # the canonical model accepts it now, as any built-in standard
    refusal = Refusal(code="TOKEN_PAUSED", source_standard="not_yet_admitted")
    assert refusal.model_dump(mode="json")["source_standard"] == "not_yet_admitted"


def test_extend_is_idempotent_and_keeps_built_ins() -> None:
    assert Standard.extend("erc3643") is Standard.ERC3643
    first = Standard.extend("some_new_standard")
    assert Standard.extend("some_new_standard") is first
    assert Standard.ERC3643 in list(Standard)  # iteration lists the built-ins only
    assert first not in list(Standard)


@pytest.mark.parametrize("name", ["Bad", "x", "with space", "1leading", "a" * 60, ""])
def test_malformed_standard_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="standard"):
        AdapterSpec(
            standard=name,  # type: ignore[arg-type]
            family="evm",
            capabilities=frozenset(),
            factory=object,
        )
