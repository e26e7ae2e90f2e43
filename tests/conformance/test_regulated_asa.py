"""The regulated-ASA adapter under the conformance suite, on the embedded go-algorand ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner
from bridge.model import Capability, InvestorClass
from tests.conformance.base import AdapterConformance, ConformanceEnv
from tests.fixtures.algorand_assets import (
    RegulatedWorld,
    build_regulated_world,
    clawback_cases,
    restored,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def regulated_world(
    embedded_ledger: EmbeddedLedger, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegulatedWorld]:
    """The regulated bond deployed once for the module; the ledger is restored at the end."""
    with restored(embedded_ledger):
        yield build_regulated_world(embedded_ledger, Path(tmp_path_factory.mktemp("arc3")))


class TestRegulatedAsaConformance(AdapterConformance):
    """alice (JP, 1 000 units) and bob (SG) hold; ``stranger`` is opted in, not whitelisted."""

    @pytest.fixture
    def conformance_env(self, regulated_world: RegulatedWorld) -> Iterator[ConformanceEnv]:
        """The module's world, restored to its deployed state after each test."""
        world = regulated_world
        adapter, ref, issuer = world.adapter, world.ref, world.issuer

        def make_ineligible(wallet: str) -> None:
            # KYC that expired long ago: the entry stays, the investor is no longer eligible
            adapter.agent_operation(
                ref,
                Capability.WHITELIST,
                issuer,
                holder=wallet,
                country="SG",
                investor_class=InvestorClass.PROFESSIONAL,
                kyc_expiry=1,
            )

        def freeze(wallet: str) -> None:
            adapter.agent_operation(ref, Capability.ADDRESS_FREEZE, issuer, holder=wallet)

        def whitelist_case() -> dict[str, object]:
            newcomer = AlgorandSigner.generate()
            return {
                "holder": newcomer.address,
                "country": "US",
                "investor_class": InvestorClass.ACCREDITED,
                "kyc_expiry": world.chain.now() + 86_400,
            }

        alice, bob = world["alice"], world["bob"]
        cases: dict[Capability, Callable[[], dict[str, object]]] = {
            **clawback_cases(alice, bob),
            Capability.ADDRESS_FREEZE: lambda: {"holder": bob.address, "frozen": False},
            Capability.MINT: lambda: {"recipient": bob.address, "amount": 5},
            Capability.PAUSE: lambda: {"paused": True},
            Capability.WHITELIST: whitelist_case,
        }
        with restored(world.ledger):
            yield ConformanceEnv(
                adapter=adapter,
                ref=ref,
                agent=issuer,
                holders=(alice, bob),
                ineligible=world["stranger"].address,
                make_ineligible=make_ineligible,
                freeze=freeze,
                agent_cases=cases,
                non_agent=world["carol"],
                head=lambda: world.ledger.last_round,
            )
