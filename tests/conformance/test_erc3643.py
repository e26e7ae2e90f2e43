"""ERC-3643 (T-REX) adapter under the conformance suite, on py-evm and on anvil."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_abi.abi import encode as abi_encode
from web3 import Web3

from adapters.evm.erc3643 import Erc3643Adapter
from adapters.evm.signer import EvmSigner
from bridge.model import Capability, TransferIntent
from bridge.ports import Signer
from tests.conformance.base import AdapterConformance, ConformanceEnv
from tests.fixtures.evm import EvmTestChain

GAS = 900_000  # explicit gas: a refused transaction is mined with status 0 (a real revert)


class TestErc3643Conformance(AdapterConformance):
    """The T-REX demo suite (CountryAllow JP/SG + MaxBalance) against the base suite."""

    @pytest.fixture
    def conformance_env(self, evm_chain: EvmTestChain) -> ConformanceEnv:
        """alice (JP) and bob (SG) hold/receive; mallory is unregistered; dave is recoverable."""
        suite, deployer = evm_chain.suite, evm_chain.deployer
        adapter = Erc3643Adapter(evm_chain.client)
        ref = adapter.ref(suite.token)
        alice, bob = suite.investor("alice"), suite.investor("bob")
        dave = suite.investor("dave")
        registry = deployer.contract("IdentityRegistry", suite.identity_registry)

        def make_ineligible(wallet: str) -> None:
            deployer.send(registry.functions.deleteIdentity(wallet), suite.agent)

        def freeze(wallet: str) -> None:
            adapter.agent_operation(
                ref, Capability.ADDRESS_FREEZE, suite.agent, address=wallet, frozen=True
            )

        def recovery_case() -> dict[str, object]:
            new_wallet = EvmSigner.generate()
            identity = deployer.contract("Identity", str(dave.identity))
            key = Web3.keccak(abi_encode(["address"], [new_wallet.address]))
            deployer.send(identity.functions.addKey(key, 1, 1), dave.signer)
            return {
                "lost_wallet": dave.address,
                "new_wallet": new_wallet.address,
                "identity": str(dave.identity),
                "gas": GAS,
            }

        second_wallet = EvmSigner.from_seed("alice-second-wallet").address
        cases: dict[Capability, Callable[[], dict[str, object]]] = {
            Capability.MINT: lambda: {"to": bob.address, "amount": 5, "gas": GAS},
            Capability.BURN: lambda: {"holder": alice.address, "amount": 5, "gas": GAS},
            Capability.PAUSE: lambda: {"paused": True, "gas": GAS},
            Capability.ADDRESS_FREEZE: lambda: {
                "address": bob.address,
                "frozen": True,
                "gas": GAS,
            },
            Capability.PARTIAL_FREEZE: lambda: {"address": alice.address, "amount": 10, "gas": GAS},
            Capability.FORCED_TRANSFER: lambda: {
                "sender": alice.address,
                "recipient": bob.address,
                "amount": 5,
                "gas": GAS,
            },
            Capability.RECOVERY: recovery_case,
            Capability.IDENTITY_REGISTRATION: lambda: {
                "wallet": second_wallet,
                "identity": str(alice.identity),
                "country": "JP",
                "gas": GAS,
            },
        }

        def send(intent: TransferIntent, signer: Signer) -> object:
            return adapter.transfer(intent, signer, gas=GAS)

        return ConformanceEnv(
            adapter=adapter,
            ref=ref,
            agent=suite.agent,
            holders=(alice.signer, bob.signer),
            ineligible=suite.investor("mallory").address,
            make_ineligible=make_ineligible,
            freeze=freeze,
            agent_cases=cases,
            non_agent=bob.signer,
            head=evm_chain.client.head,
            send=send,
        )
