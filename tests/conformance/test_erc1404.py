"""The ERC-1404 adapter (on our RestrictedToken1404) under the conformance suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.model import Capability
from tests.conformance.base import AdapterConformance, ConformanceEnv
from tests.fixtures.evm import EvmChains
from tests.integration.evm._contracts_support import contracts_cache, deployed_once
from tests.integration.evm.test_erc1404 import TEN_DAYS, Env

__all__ = ["contracts_cache"]  # the session fixture, imported so pytest finds it


class TestErc1404Conformance(AdapterConformance):
    """alice and bob are whitelisted holders; mallory is off the whitelist; a lock-up freezes."""

    @pytest.fixture
    def conformance_env(
        self,
        evm_backend: str,
        evm_chains: EvmChains,
        contracts_cache: dict[tuple[str, str], Any],
    ) -> Iterator[ConformanceEnv]:
        """The shared ERC-1404 environment, reverted after each test."""
        for env in deployed_once(evm_chains, evm_backend, contracts_cache, "erc1404", Env):
            yield self._conformance(env)

    @staticmethod
    def _conformance(env: Env) -> ConformanceEnv:
        def unlist(wallet: str) -> None:
            env.op(Capability.WHITELIST, account=wallet, whitelisted=False)

        def lock(wallet: str) -> None:
            env.op(Capability.LOCKS, account=wallet, until=env.chain_time() + TEN_DAYS)

        cases: dict[Capability, Callable[[], dict[str, object]]] = {
            Capability.MINT: lambda: {"to": env.addr("bob"), "amount": 5},
            Capability.BURN: lambda: {"account": env.addr("alice"), "amount": 1},
            Capability.PAUSE: lambda: {"paused": True},
            Capability.WHITELIST: lambda: {"account": env.addr("mallory"), "whitelisted": True},
            Capability.LOCKS: lambda: {
                "account": env.addr("carol"),
                "until": env.chain_time() + TEN_DAYS,
            },
        }
        return ConformanceEnv(
            adapter=env.adapter,
            ref=env.ref,
            agent=env.s["issuer"],
            holders=(env.s["alice"], env.s["bob"]),
            ineligible=env.addr("mallory"),
            make_ineligible=unlist,
            freeze=lock,
            agent_cases=cases,
            non_agent=env.s["carol"],
            head=env.client.head,
        )
