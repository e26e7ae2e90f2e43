"""The ERC-20 cash adapter (on our CashToken) under the conformance suite, py-evm and anvil."""

from __future__ import annotations

from collections.abc import Callable

from bridge.model import Capability
from tests.conformance.base import ConformanceEnv
from tests.conformance.our_evm_tokens import OurTokenConformance
from tests.integration.evm._contracts_support import contracts_cache
from tests.integration.evm.test_cash_token import Env

__all__ = ["contracts_cache"]  # the session fixture, imported so pytest finds it


class TestErc20Conformance(OurTokenConformance):
    """The USD coin: alice and bob hold it; a blocklisted wallet is ineligible and frozen."""

    kind = "cash"
    build = Env

    @staticmethod
    def conformance(env: Env) -> ConformanceEnv:
        """The USD coin; blocklisting makes a wallet ineligible and freezes it."""

        def block(wallet: str) -> None:
            env.op(Capability.BLOCKLIST, account=wallet, blocked=True)

        def burn_case() -> dict[str, object]:
            env.op(Capability.MINT, to=env.addr("issuer"), amount=10)
            return {"amount": 1}

        block(env.addr("mallory"))
        cases: dict[Capability, Callable[[], dict[str, object]]] = {
            Capability.MINT: lambda: {"to": env.addr("bob"), "amount": 5},
            Capability.BURN: burn_case,
            Capability.PAUSE: lambda: {"paused": True},
            Capability.BLOCKLIST: lambda: {"account": env.addr("carol"), "blocked": True},
        }
        return ConformanceEnv(
            adapter=env.adapter,
            ref=env.usd_ref,
            agent=env.s["issuer"],
            holders=(env.s["alice"], env.s["bob"]),
            ineligible=env.addr("mallory"),
            make_ineligible=block,
            freeze=block,
            agent_cases=cases,
            non_agent=env.s["carol"],
            head=env.client.head,
        )
