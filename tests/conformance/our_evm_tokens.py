"""What the conformance suites of our own EVM tokens (the cash coin, ERC-1404, ERC-1400)
share: the environment is built once per backend on the session chains and reverted after
each test (:func:`deployed_once`); ERC-1404 and ERC-1400 also share how a wallet is made
ineligible (taken off the whitelist) and frozen (locked up), and four agent cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import pytest

from bridge.model import Capability
from tests.conformance.base import AdapterConformance, ConformanceEnv
from tests.fixtures.evm import EvmChains
from tests.integration.evm._contracts_support import TEN_DAYS, TokenEnv, deployed_once

Cases = Mapping[Capability, Callable[[], dict[str, object]]]


class OurTokenConformance(AdapterConformance):
    """The conformance suite on one of our tokens: a subclass names the environment
    (``kind``, its cache key, and ``build``) and turns it into a :class:`ConformanceEnv`
    (``conformance``). The test module imports the ``contracts_cache`` fixture."""

    kind: ClassVar[str]
    build: ClassVar[type[Any]]

    @staticmethod
    def conformance(env: Any) -> ConformanceEnv:
        """The conformance environment over the token's test environment."""
        raise NotImplementedError

    @pytest.fixture
    def conformance_env(
        self,
        evm_backend: str,
        evm_chains: EvmChains,
        contracts_cache: dict[tuple[str, str], Any],
    ) -> Iterator[ConformanceEnv]:
        """The shared environment of ``kind``, reverted after each test."""
        build = type(self).build
        for env in deployed_once(evm_chains, evm_backend, contracts_cache, self.kind, build):
            yield self.conformance(env)


def whitelist_lockup_env(env: TokenEnv, cases: Cases) -> ConformanceEnv:
    """alice and bob are whitelisted holders, mallory is off the whitelist, carol holds no
    agent role; taking a wallet off the whitelist makes it ineligible, a ten-day lock-up
    freezes it. ``cases`` adds to (or replaces) the shared burn, pause, whitelist and
    lock-up cases."""

    def unlist(wallet: str) -> None:
        env.op(Capability.WHITELIST, account=wallet, whitelisted=False)

    def lock(wallet: str) -> None:
        env.op(Capability.LOCKS, account=wallet, until=env.chain_time() + TEN_DAYS)

    shared: dict[Capability, Callable[[], dict[str, object]]] = {
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
        agent_cases={**shared, **cases},
        non_agent=env.s["carol"],
        head=env.client.head,
    )
