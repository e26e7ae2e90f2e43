"""The ERC-1400 adapter (on our SecurityToken1400) under the conformance suite."""

from __future__ import annotations

from collections.abc import Callable

from bridge.model import Capability
from tests.conformance.base import ConformanceEnv
from tests.conformance.our_evm_tokens import OurTokenConformance, whitelist_lockup_env
from tests.integration.evm._contracts_support import contracts_cache
from tests.integration.evm.test_erc1400 import REG_S, Env

__all__ = ["contracts_cache"]  # the session fixture, imported so pytest finds it


class TestErc1400Conformance(OurTokenConformance):
    """alice (two partitions) and bob are whitelisted; mallory is not; a lock-up freezes."""

    kind = "erc1400"
    build = Env

    @staticmethod
    def conformance(env: Env) -> ConformanceEnv:
        """The whitelist and lock-up environment, with partitions, forced transfers and
        documents."""
        alice, bob = env.addr("alice"), env.addr("bob")
        cases: dict[Capability, Callable[[], dict[str, object]]] = {
            Capability.MINT: lambda: {"to": bob, "amount": 5, "partition": REG_S},
            Capability.FORCED_TRANSFER: lambda: {"sender": alice, "recipient": bob, "amount": 2},
            Capability.PARTITIONS: lambda: {
                "partition": REG_S,
                "sender": alice,
                "recipient": bob,
                "amount": 3,
            },
            Capability.DOCUMENTS: lambda: {"name": "terms", "uri": "ipfs://terms", "hash": None},
        }
        return whitelist_lockup_env(env, cases)
