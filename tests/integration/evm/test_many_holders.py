"""A T-REX token with 2,000 holders on anvil, read with progress and batched calls.

The token is a real T-REX suite deployed by the factory (no compliance modules, KYC claim
topic required). 2,000 distinct wallets are registered in its identity registry in batches
(``batchRegisterIdentity``), spread over 20 ONCHAINID identities that hold a KYC claim --
T-REX lets one identity own several wallets -- and each wallet receives a distinct amount
by ``batchMint``. The scan then finds every holder from Transfer events and reads balances,
frozen amounts and freeze flags in JSON-RPC batches. The number of RPC requests is printed;
no timing is asserted.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from adapters.evm.inspect import inspect_client
from adapters.evm.trex_deploy import InvestorSpec
from tests.fixtures.evm import EvmChains

HOLDERS = 2_000
IDENTITIES = 20
CHUNK = 50


@pytest.mark.slow
@pytest.mark.anvil
def test_two_thousand_holders_on_anvil(evm_chains: EvmChains) -> None:
    """Every one of 2,000 holders is found with its exact balance; reads are batched."""
    chain = evm_chains.get("anvil")
    client, deployer = chain.client, chain.deployer
    snapshot = client.snapshot()
    try:
        suite = deployer.deploy_suite(name="Many Holders", symbol="MANY", decimals=0)
        investors = [
            deployer.add_investor(suite, InvestorSpec(f"id{i}", "JP", register=False))
            for i in range(IDENTITIES)
        ]
        wallets = [
            Web3.to_checksum_address(Web3.keccak(text=f"holder-{i}")[-20:]) for i in range(HOLDERS)
        ]
        amounts = [1_000 + i for i in range(HOLDERS)]
        registry = deployer.contract("IdentityRegistry", suite.identity_registry)
        token = deployer.contract("Token", suite.token)
        for start in range(0, HOLDERS, CHUNK):
            part = wallets[start : start + CHUNK]
            identities = [
                str(investors[(start + k) % IDENTITIES].identity) for k in range(len(part))
            ]
            deployer.send(
                registry.functions.batchRegisterIdentity(part, identities, [392] * len(part)),
                suite.agent,
            )
            deployer.send(
                token.functions.batchMint(part, amounts[start : start + CHUNK]), suite.agent
            )

        seen: list[tuple[int, int]] = []
        before = client.stats.requests
        result = inspect_client(
            client,
            address=suite.token,
            standard="erc3643",
            holders=True,
            progress=lambda done, total: seen.append((done, total)),
        )
        used = client.stats.requests - before

        by_holder = {h.holder: h.balance for h in result.holdings}
        assert len(by_holder) == HOLDERS
        assert by_holder == dict(zip(wallets, amounts, strict=True))
        assert sum(by_holder.values()) == result.asset.total_supply
        assert seen[-1] == (HOLDERS, HOLDERS)
        # 3 reads per holder, batched: far fewer HTTP requests than reads
        assert used < HOLDERS
        print(
            f"\n2,000-holder T-REX scan on anvil: {used} RPC requests "
            f"({client.stats.batches} batches in this client so far), "
            f"{3 * HOLDERS} balance/frozen/flag reads"
        )
    finally:
        client.revert(snapshot)
