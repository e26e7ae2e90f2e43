"""A T-REX token and the regulated ASA translated from the same security refuse the same
transfers, except where a loss report says they cannot.

The security has a country allow list, a per-investor balance cap and a holder cap. It is
translated to ERC-3643 (deployed through the real T-REX factory on anvil: CountryAllow and
MaxBalance modules; the holder cap has no T-REX module, so that report names it as enforced
off-chain) and to a regulated ASA (embedded Algorand ledger: the compliance application
enforces all three; its report names the per-identity balance cap, per account there). The
same investors exist on both: each has one wallet (with an ONCHAINID identity registered
with its country on T-REX) and one Algorand account (whitelisted with the same country);
one investor is registered nowhere.

For a random sequence of transfers sent for real on both chains, each transfer lands on
both or is refused by both, except when the side that refuses does so for a feature one of
the two loss reports names (the reason is the side's own dry-run reading of the refusal).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.chain import AlgodChain
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner
from adapters.evm.trex_deploy import InvestorSpec
from adapters.translate import Deployment, deploy_plan
from bridge.errors import TransactionReverted
from bridge.model import (
    Asset,
    AssetRef,
    Capability,
    CountryAllowRule,
    EvmChain,
    EvmContractLocator,
    MaxBalanceRule,
    MaxHoldersRule,
    Standard,
    TransferIntent,
)
from bridge.reasons import ReasonCode
from bridge.translate import Feature, translate
from tests.fixtures.algorand import AlgoTestAccount
from tests.fixtures.algorand_optin import opt_in_all
from tests.fixtures.evm import EvmChains

pytestmark = pytest.mark.anvil  # T-REX on py-evm costs seconds per transaction

MAX_BALANCE, MAX_HOLDERS = 500, 2
INVESTORS = (("jp1", "JP", True), ("sg1", "SG", True), ("us1", "US", True), ("jp2", "JP", True))
UNREGISTERED = "jp3"
NAMES = (*(n for n, _, _ in INVESTORS), UNREGISTERED)
START = {"jp1": 400, "sg1": 300}
KYC_UNTIL = 4_102_444_800
GAS = 900_000

FEATURE_OF = {
    ReasonCode.MAX_HOLDERS_REACHED: Feature.HOLDER_CAP,
    ReasonCode.MAX_BALANCE_EXCEEDED: Feature.BALANCE_CAP,
    ReasonCode.COUNTRY_RESTRICTED: Feature.COUNTRY_RULES,
    ReasonCode.RECIPIENT_NOT_ELIGIBLE: Feature.IDENTITY,
    ReasonCode.SENDER_NOT_ELIGIBLE: Feature.IDENTITY,
}
"""The feature a refusal's canonical reason stands for (others stand for no feature:
balance, pause... which both standards carry)."""

SECURITY = Asset(
    chain=EvmChain(chain_id=1),
    locator=EvmContractLocator(address="0x" + "11" * 20),
    standard=Standard.ERC3643,
    name="Tokyo Office REIT",
    symbol="TOR",
    decimals=0,
    total_supply=0,
    rules=(
        CountryAllowRule(countries=("JP", "SG")),
        MaxBalanceRule(limit=MAX_BALANCE, per="identity"),
        MaxHoldersRule(limit=MAX_HOLDERS),
    ),
)


@dataclass
class Pair:
    client: Any
    ledger: EmbeddedLedger
    trex: Deployment
    asa: Deployment
    evm_wallets: dict[str, Any]
    algo_accounts: dict[str, AlgorandSigner]
    exempt: frozenset[Feature]

    def intent(self, side: str, sender: str, recipient: str, amount: int) -> TransferIntent:
        if side == "trex":
            ref: AssetRef = self.trex.ref
            a, b = self.evm_wallets[sender].address, self.evm_wallets[recipient].address
        else:
            ref = self.asa.ref
            a, b = self.algo_accounts[sender].address, self.algo_accounts[recipient].address
        return TransferIntent(asset=ref, sender=a, recipient=b, amount=amount)

    def send(self, side: str, sender: str, recipient: str, amount: int) -> ReasonCode | None:
        """Send the transfer for real; None if it landed, else the refusal's reason as the
        side's dry run reads it (after the refusal, which changed nothing)."""
        intent = self.intent(side, sender, recipient, amount)
        deployment = self.trex if side == "trex" else self.asa
        try:
            if side == "trex":
                deployment.adapter.transfer(intent, self.evm_wallets[sender], gas=GAS)
            else:
                deployment.adapter.transfer(intent, self.algo_accounts[sender])
        except TransactionReverted:
            check = deployment.adapter.check_transfer(intent)
            return check.refusals[0].code if check.refusals else ReasonCode.UNKNOWN
        return None


@pytest.fixture(scope="module")
def pair(
    evm_chains: EvmChains,
    embedded_ledger: EmbeddedLedger,
    embedded_accounts: tuple[AlgoTestAccount, ...],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pair]:
    chain = evm_chains.get("anvil")
    client, deployer = chain.client, chain.deployer
    evm_before, algo_before = client.snapshot(), embedded_ledger.snapshot()
    try:
        t_result = translate(SECURITY, Standard.ERC3643, allow_loss="all")
        a_result = translate(SECURITY, Standard.REGULATED_ASA, allow_loss="all")
        trex = deploy_plan(t_result.plan, evm=(client, deployer.owner), trex_deployer=deployer)
        suite = trex.suite
        wallets = {}
        for name, country, registered in (*INVESTORS, (UNREGISTERED, "JP", False)):
            spec = InvestorSpec(label=name, country=country, register=registered)
            wallets[name] = deployer.add_investor(suite, spec).signer
        algod = AlgodChain(EmbeddedAlgodClient(embedded_ledger, wait_timeout=0.0))
        issuer = AlgorandSigner.generate()
        embedded_ledger.fund(issuer.address, 20_000_000)
        asa = deploy_plan(
            a_result.plan,
            algorand=(algod, issuer),
            metadata_dir=tmp_path_factory.mktemp("arc3-trex-asa"),
        )
        accounts = {
            name: AlgorandSigner(a.private_key)
            for name, a in zip(NAMES, embedded_accounts, strict=True)
        }
        for name, country, _ in INVESTORS:
            asa.adapter.agent_operation(
                asa.ref,
                Capability.WHITELIST,
                issuer,
                holder=accounts[name].address,
                country=country,
                kyc_expiry=KYC_UNTIL,
            )
        opt_in_all(algod, asa.adapter.info(asa.ref).asset_id, list(accounts.values()))
        for name, amount in START.items():
            trex.adapter.agent_operation(
                trex.ref, Capability.MINT, suite.agent, to=wallets[name].address, amount=amount
            )
            asa.adapter.agent_operation(
                asa.ref, Capability.MINT, issuer, recipient=accounts[name].address, amount=amount
            )
        exempt = frozenset(
            e.feature
            for report in (t_result.report, a_result.report)
            for e in report.entries
            if e.scope == "reading"
        )
        yield Pair(client, embedded_ledger, trex, asa, wallets, accounts, exempt)
    finally:
        client.revert(evm_before)
        embedded_ledger.restore(algo_before)


def transfers(max_size: int) -> st.SearchStrategy[list[tuple[str, str, int]]]:
    """Transfers between the investors: small ones and ones near the balance cap."""
    return st.lists(
        st.tuples(
            st.sampled_from(NAMES),
            st.sampled_from(NAMES),
            st.one_of(st.integers(1, 150), st.integers(150, 600)),
        ),
        min_size=1,
        max_size=max_size,
    )


_EXAMPLES = {"thorough": 60}.get(os.environ.get("STBRIDGE_HYPOTHESIS_PROFILE", "dev"), 1)
_SLOW = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
}


def check_sequence(
    pair: Pair, sequence: list[tuple[str, str, int]], *, in_hypothesis: bool = True
) -> None:
    record = note_event if in_hypothesis else (lambda value: None)
    evm, algo = pair.client.snapshot(), pair.ledger.snapshot()
    try:
        for sender, recipient, amount in sequence:
            trex = pair.send("trex", sender, recipient, amount)
            asa = pair.send("asa", sender, recipient, amount)
            if (trex is None) == (asa is None):
                record("agree: " + ("landed" if trex is None else "refused"))
                continue
            reason = trex if trex is not None else asa
            assert reason is not None
            feature = FEATURE_OF.get(reason)
            record(f"differ, {'trex' if trex else 'asa'} refused: {reason.value}")
            assert feature in pair.exempt, (
                f"{sender} -> {recipient} {amount}: T-REX {trex}, ASA {asa}; "
                f"{reason.value} is not a feature the loss reports name ({sorted(pair.exempt)})"
            )
    finally:
        pair.client.revert(evm)
        pair.ledger.restore(algo)


@settings(max_examples=_EXAMPLES, **_SLOW)
@given(sequence=transfers(4))
def test_asa_refuses_what_trex_refuses_except_reported_losses(
    pair: Pair, sequence: list[tuple[str, str, int]]
) -> None:
    """Invariant: for the same transfer sequence on the T-REX token and on the regulated ASA
    translated from the same security, a transfer lands on both or is refused by both,
    unless the refusing side's reason is a feature one of the loss reports names."""
    check_sequence(pair, sequence)


def test_the_reports_name_the_holder_cap_and_the_per_identity_cap(pair: Pair) -> None:
    """The exemptions are what the translator reports, not more: T-REX has no holder-cap
    module, the ASA caps balances per account rather than per identity."""
    assert Feature.HOLDER_CAP in pair.exempt
    assert Feature.BALANCE_CAP in pair.exempt
    assert Feature.COUNTRY_RULES not in pair.exempt


@pytest.mark.thorough
def test_a_third_holder_is_refused_only_by_the_asa(pair: Pair) -> None:
    """The difference the holder cap makes: with two holders, a transfer to a third lands
    on T-REX (no holder-cap module) and the ASA refuses it (MAX_HOLDERS_REACHED)."""
    evm, algo = pair.client.snapshot(), pair.ledger.snapshot()
    try:
        assert pair.send("trex", "jp1", "jp2", 10) is None
        assert pair.send("asa", "jp1", "jp2", 10) is ReasonCode.MAX_HOLDERS_REACHED
    finally:
        pair.client.revert(evm)
        pair.ledger.restore(algo)
    # a country refusal, a balance-cap refusal, an unregistered receiver: both refuse
    sequence = [("sg1", "us1", 5), ("jp1", "sg1", 201), ("jp1", "jp3", 1)]
    check_sequence(pair, sequence, in_hypothesis=False)


@pytest.mark.thorough
@settings(max_examples=40, **_SLOW)
@given(sequence=transfers(10))
def test_deep_asa_refuses_what_trex_refuses(
    pair: Pair, sequence: list[tuple[str, str, int]]
) -> None:
    """The same invariant over more sequences (thorough run)."""
    check_sequence(pair, sequence)
