"""ibet share adapter under the conformance suite, on py-evm and on anvil."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.base import AdapterConformance, ConformanceEnv
from tests.fixtures.ibet import IbetWorld, conformance_env, ibet_world


@pytest.fixture
def world(evm_backend: str, request: pytest.FixtureRequest) -> Iterator[IbetWorld]:
    """The ibet world on this backend, reverted after the test."""
    yield from ibet_world(evm_backend, request)


class TestIbetShareConformance(AdapterConformance):
    """The IbetShare of the ibet test world (alice 1,000, bob 500, mallory unregistered)."""

    @pytest.fixture
    def conformance_env(self, world: IbetWorld) -> ConformanceEnv:
        """The share token with its issuer as the agent and outsider as the non-agent."""
        return conformance_env(world, "share")
