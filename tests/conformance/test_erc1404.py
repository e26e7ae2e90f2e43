"""The ERC-1404 adapter (on our RestrictedToken1404) under the conformance suite."""

from __future__ import annotations

from bridge.model import Capability
from tests.conformance.base import ConformanceEnv
from tests.conformance.our_evm_tokens import OurTokenConformance, whitelist_lockup_env
from tests.integration.evm._contracts_support import contracts_cache
from tests.integration.evm.test_erc1404 import Env

__all__ = ["contracts_cache"]  # the session fixture, imported so pytest finds it


class TestErc1404Conformance(OurTokenConformance):
    """alice and bob are whitelisted holders; mallory is off the whitelist; a lock-up freezes."""

    kind = "erc1404"
    build = Env

    @staticmethod
    def conformance(env: Env) -> ConformanceEnv:
        """The whitelist and lock-up environment; the issuer mints to bob."""
        return whitelist_lockup_env(
            env, {Capability.MINT: lambda: {"to": env.addr("bob"), "amount": 5}}
        )
