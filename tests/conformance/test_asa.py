"""The plain-ASA adapter (USD stablecoin) under the conformance suite, on the embedded ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.algorand.ledger import EmbeddedLedger
from bridge.model import Capability
from tests.conformance.base import AdapterConformance, ConformanceEnv
from tests.fixtures.algorand_assets import (
    StablecoinWorld,
    build_stablecoin_world,
    clawback_cases,
    restored,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def stablecoin_world(
    embedded_ledger: EmbeddedLedger, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StablecoinWorld]:
    """USD and JPY stablecoins deployed once for the module; the ledger is restored after."""
    with restored(embedded_ledger):
        yield build_stablecoin_world(embedded_ledger, Path(tmp_path_factory.mktemp("arc3")))


class TestAsaConformance(AdapterConformance):
    """alice and bob hold USD; dave is not opted in (ineligible); the issuer holds every role."""

    @pytest.fixture
    def conformance_env(self, stablecoin_world: StablecoinWorld) -> Iterator[ConformanceEnv]:
        """The module's world, restored to its deployed state after each test."""
        world = stablecoin_world
        adapter, ref, issuer = world.adapter, world.usd_ref, world.issuer

        def freeze(wallet: str) -> None:
            adapter.agent_operation(
                ref, Capability.ADDRESS_FREEZE, issuer, holder=wallet, frozen=True
            )

        alice, bob = world["alice"], world["bob"]
        cases: dict[Capability, Callable[[], dict[str, object]]] = {
            **clawback_cases(alice, bob),
            Capability.ADDRESS_FREEZE: lambda: {"holder": bob.address, "frozen": True},
            Capability.MINT: lambda: {"recipient": alice.address, "amount": 5},
        }
        with restored(world.ledger):
            yield ConformanceEnv(
                adapter=adapter,
                ref=ref,
                agent=issuer,
                holders=(alice, bob),
                ineligible=world["dave"].address,
                make_ineligible=freeze,
                freeze=freeze,
                agent_cases=cases,
                non_agent=world["carol"],
                head=lambda: world.ledger.last_round,
            )
