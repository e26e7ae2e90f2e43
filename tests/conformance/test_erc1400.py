"""The ERC-1400 adapter (on our SecurityToken1400) under the conformance suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.model import Capability
from tests.conformance.base import AdapterConformance, ConformanceEnv
from tests.fixtures.evm import EvmChains
from tests.integration.evm._contracts_support import contracts_cache, deployed_once
from tests.integration.evm.test_erc1400 import REG_S, TEN_DAYS, Env

__all__ = ["contracts_cache"]  # the session fixture, imported so pytest finds it


class TestErc1400Conformance(AdapterConformance):
    """alice (two partitions) and bob are whitelisted; mallory is not; a lock-up freezes."""

    @pytest.fixture
    def conformance_env(
        self,
        evm_backend: str,
        evm_chains: EvmChains,
        contracts_cache: dict[tuple[str, str], Any],
    ) -> Iterator[ConformanceEnv]:
        """The shared ERC-1400 environment, reverted after each test."""
        for env in deployed_once(evm_chains, evm_backend, contracts_cache, "erc1400", Env):
            yield self._conformance(env)

    @staticmethod
    def _conformance(env: Env) -> ConformanceEnv:
        def unlist(wallet: str) -> None:
            env.op(Capability.WHITELIST, account=wallet, whitelisted=False)

        def lock(wallet: str) -> None:
            env.op(Capability.LOCKS, account=wallet, until=env.chain_time() + TEN_DAYS)

        alice, bob = env.addr("alice"), env.addr("bob")
        cases: dict[Capability, Callable[[], dict[str, object]]] = {
            Capability.MINT: lambda: {"to": bob, "amount": 5, "partition": REG_S},
            Capability.BURN: lambda: {"account": alice, "amount": 1},
            Capability.FORCED_TRANSFER: lambda: {"sender": alice, "recipient": bob, "amount": 2},
            Capability.PARTITIONS: lambda: {
                "partition": REG_S,
                "sender": alice,
                "recipient": bob,
                "amount": 3,
            },
            Capability.PAUSE: lambda: {"paused": True},
            Capability.WHITELIST: lambda: {"account": env.addr("mallory"), "whitelisted": True},
            Capability.LOCKS: lambda: {
                "account": env.addr("carol"),
                "until": env.chain_time() + TEN_DAYS,
            },
            Capability.DOCUMENTS: lambda: {"name": "terms", "uri": "ipfs://terms", "hash": None},
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
