"""ibet share and straight bond (our contracts) and their adapters, on py-evm and on anvil.

The world of :mod:`tests.fixtures.ibet` is built once per backend and reset between tests:
alice (1,000) and bob (500) hold both tokens, carol is registered with no balance, mallory
never registered her personal information, locker is a lock address.

Where a test compares a dry run with the chain, the transaction is sent with explicit gas,
so a refusal is a mined, failed transaction whose revert string is the six-digit code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from adapters.evm.client import EvmReverted
from adapters.evm.contracts import artifact_for_chain, load_artifact
from adapters.evm.erc20 import SPEC as ERC20_SPEC
from adapters.evm.erc1404 import SPEC as ERC1404_SPEC
from adapters.evm.ibet import (
    IBET_BOND_MESSAGES,
    IBET_MESSAGES,
    OWNERSHIP_TOPIC,
    SPEC_BOND,
    SPEC_SHARE,
    TRANSFER_TOPIC,
    IbetBondAdapter,
    IbetShareAdapter,
    deploy_personal_info,
    probe_bond,
    probe_share,
)
from bridge.errors import InvalidInput, TransferRefused, UnsupportedCapability
from bridge.model import (
    AllowListRule,
    BondTerms,
    Capability,
    EquityTerms,
    IdentitySource,
    IssuerApprovalRule,
    OtherTerms,
    Standard,
    TransferCheck,
    TransferIntent,
)
from bridge.reasons import ReasonCode
from bridge.registry import Registry
from tests.fixtures.evm import across_forks
from tests.fixtures.ibet import BOND_SUPPLY, SHARE_SUPPLY, IbetWorld, ibet_world

GAS = 400_000
KINDS = ("share", "bond")


@pytest.fixture
def world(
    evm_backend: str, evm_fork: str | None, request: pytest.FixtureRequest
) -> Iterator[IbetWorld]:
    """The ibet world on this backend (at ``evm_fork``: ``@across_forks`` tests run at every
    target, Berlin included), reverted after the test."""
    yield from ibet_world(evm_backend, request, evm_fork)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each behaviour test runs on the share and on the bond."""
    return str(request.param)


def prefix(kind: str) -> str:
    """The two leading digits of the kind's revert codes."""
    return "11" if kind == "share" else "12"


def send(world: IbetWorld, intent: TransferIntent, signer: str) -> EvmReverted | None:
    """Send for real with explicit gas; None if mined successfully, else the revert."""
    adapter = world.adapter("share" if intent.asset == world.ref("share") else "bond")
    try:
        adapter.transfer(intent, world.signers[signer], gas=GAS)
    except EvmReverted as exc:
        return exc
    return None


def both_ways(world: IbetWorld, kind: str, intent: TransferIntent, signer: str) -> TransferCheck:
    """Dry-run, then send: the verdicts agree and a refusal's raw code is the revert string."""
    adapter = world.adapter(kind)
    head = world.client.head()
    verdict = adapter.check_transfer(intent)
    assert world.client.head() == head, "a dry run sends nothing"
    refused = send(world, intent, signer)
    assert verdict.allowed == (refused is None), (verdict, refused)
    if refused is not None:
        assert verdict.refusals[0].raw_code == refused.revert.message
    return verdict


def revert_of(world: IbetWorld, kind: str, signer: str, fn: str, *args: Any) -> str | None:
    """Send ``fn(*args)`` to the ``kind`` token signed by ``signer``: None if it is mined,
    else its revert message (the six-digit code)."""
    try:
        world.call(kind, signer, fn, *args)
    except EvmReverted as exc:
        return exc.revert.message
    return None


def balances(world: IbetWorld, kind: str, *names: str) -> dict[str, int]:
    """balanceOf of each named account."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    return {n: adapter.holding(ref, world.addr(n)).balance for n in names}


# -- reading ---------------------------------------------------------------------------------


def test_share_reads_as_equity_with_register_rule(world: IbetWorld) -> None:
    """The share: decimals 0, equity terms from its attributes, the register as an allow-list."""
    asset = world.adapter("share").read_asset(world.ref("share"))
    assert asset.standard is Standard.IBET_SHARE
    assert (asset.decimals, asset.total_supply) == (0, SHARE_SUPPLY)
    assert asset.transferable
    assert asset.active
    assert not asset.paused
    assert asset.issuer == world.addr("issuer")
    assert isinstance(asset.terms, EquityTerms)
    assert (asset.terms.issue_price, asset.terms.principal_value) == (1_000, 800)
    assert asset.terms.dividend_per_share == 12
    assert str(asset.terms.dividend_record_date) == "2026-12-31"
    assert str(asset.terms.dividend_payment_date) == "2027-03-15"
    assert str(asset.terms.cancellation_date) == "2035-12-31"
    (rule,) = asset.rules
    assert isinstance(rule, AllowListRule)
    assert set(rule.addresses) == {world.addr(n) for n in ("issuer", "alice", "bob", "carol")}
    assert rule.scope == "recipient"
    assert set(asset.controls) == set(IbetShareAdapter.capabilities)


def test_bond_reads_as_bond_terms(world: IbetWorld) -> None:
    """The bond: face value, interest rate in ppm (602 = 0.0602 %), dates and currencies."""
    asset = world.adapter("bond").read_asset(world.ref("bond"))
    assert asset.standard is Standard.IBET_BOND
    assert (asset.decimals, asset.total_supply) == (0, BOND_SUPPLY)
    terms = asset.terms
    assert isinstance(terms, BondTerms)
    assert (terms.currency, terms.face_value, terms.coupon_rate_ppm) == ("JPY", 10_000, 602)
    assert terms.coupon_payment_dates == ("0531", "1130")
    assert str(terms.maturity_date) == "2031-11-30"
    assert terms.redemption_value == 10_000
    assert (terms.interest_currency, terms.redemption_currency) == ("JPY", "JPY")


def test_bond_attribute_changes_are_read(world: IbetWorld) -> None:
    """Setting the rate and redeeming the bond show in the canonical asset."""
    world.call("bond", "issuer", "setInterestRate", 12_345)
    world.call("bond", "issuer", "changeToRedeemed")
    asset = world.adapter("bond").read_asset(world.ref("bond"))
    assert isinstance(asset.terms, BondTerms)
    assert asset.terms.coupon_rate_ppm == 12_345
    assert not asset.active


def test_probes_tell_share_bond_and_other_contracts_apart(world: IbetWorld) -> None:
    """Each probe accepts its own kind only; the register is neither."""
    assert probe_share(world.client, world.share)
    assert not probe_share(world.client, world.bond)
    assert probe_bond(world.client, world.bond)
    assert not probe_bond(world.client, world.share)
    assert not probe_share(world.client, world.registry)
    assert not probe_bond(world.client, world.addr("alice"))
    assert SPEC_SHARE.standard is Standard.IBET_SHARE
    assert SPEC_BOND.standard is Standard.IBET_BOND


def test_registry_order_detects_each_kind(world: IbetWorld) -> None:
    """Probing a registry of EVM adapters, most specific first, finds the right ibet kind."""
    registry = Registry([ERC20_SPEC, ERC1404_SPEC, SPEC_SHARE, SPEC_BOND])

    def detect(address: str) -> Standard | None:
        for spec in registry.for_family("evm"):
            if spec.probe is not None and spec.probe(world.client, address):
                return spec.standard
        return None

    assert detect(world.share) is Standard.IBET_SHARE
    assert detect(world.bond) is Standard.IBET_BOND
    assert detect(world.registry) is None


# -- transfers and their checks -----------------------------------------------------------


@across_forks
def test_allowed_transfer_moves_balances(world: IbetWorld, kind: str) -> None:
    """A transfer between registered holders is allowed and goes through."""
    before = balances(world, kind, "alice", "bob")
    both_ways(world, kind, world.intent(kind, "alice", "bob", 40), "alice")
    assert balances(world, kind, "alice", "bob") == {
        "alice": before["alice"] - 40,
        "bob": before["bob"] + 40,
    }


@across_forks
def test_no_personal_info_is_refused(world: IbetWorld, kind: str) -> None:
    """To mallory (never registered): refused with XX0202 until the issuer registers her."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    verdict = both_ways(world, kind, world.intent(kind, "alice", "mallory", 1), "alice")
    assert verdict.reason is ReasonCode.RECIPIENT_NOT_ELIGIBLE
    assert verdict.refusals[0].raw_code == prefix(kind) + "0202"
    elig = adapter.eligibility(ref, world.addr("mallory"))
    assert not elig.eligible
    assert elig.missing == ("personal_info_registration",)
    adapter.agent_operation(
        ref, Capability.IDENTITY_REGISTRATION, world.signers["issuer"], wallet=world.addr("mallory")
    )
    elig = adapter.eligibility(ref, world.addr("mallory"))
    assert elig.eligible
    assert elig.investor is not None
    assert elig.investor.identity_source is IdentitySource.IBET_PERSONAL_INFO
    assert both_ways(world, kind, world.intent(kind, "alice", "mallory", 1), "alice").allowed


def test_identity_registration_needs_the_issuer(world: IbetWorld) -> None:
    """Only the issuer registers wallets with itself; anyone else is refused before sending."""
    head = world.client.head()
    with pytest.raises(InvalidInput) as info:
        world.adapter("share").agent_operation(
            world.ref("share"),
            Capability.IDENTITY_REGISTRATION,
            world.signers["outsider"],
            wallet=world.addr("mallory"),
        )
    assert info.value.field == "signer"
    assert world.client.head() == head


def test_not_transferable_is_refused(world: IbetWorld, kind: str) -> None:
    """setTransferable(false): XX0402 by both; the asset reads transferable=False."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    adapter.agent_operation(ref, Capability.PAUSE, world.signers["issuer"], transferable=False)
    assert not adapter.read_asset(ref).transferable
    verdict = both_ways(world, kind, world.intent(kind, "alice", "bob", 1), "alice")
    assert verdict.reason is ReasonCode.NOT_TRANSFERABLE
    assert verdict.refusals[0].raw_code == prefix(kind) + "0402"


def test_over_balance_is_refused_first(world: IbetWorld, kind: str) -> None:
    """Balance is the contract's first check: XX0401 even when also not transferable."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    adapter.agent_operation(ref, Capability.PAUSE, world.signers["issuer"], transferable=False)
    verdict = both_ways(world, kind, world.intent(kind, "alice", "mallory", 1_001), "alice")
    codes = [r.raw_code for r in verdict.refusals]
    p = prefix(kind)
    assert codes == [p + "0401", p + "0402", p + "0202"]
    assert verdict.reason is ReasonCode.INSUFFICIENT_BALANCE


def test_status_false_marks_inactive_but_the_token_still_transfers(
    world: IbetWorld, kind: str
) -> None:
    """Handling status false: active=False; ibet tokens leave enforcement to exchanges."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    world.call(kind, "issuer", "setStatus", False)
    assert not adapter.read_asset(ref).active
    assert both_ways(world, kind, world.intent(kind, "alice", "bob", 3), "alice").allowed


def test_contract_receiver_must_be_the_tradable_exchange(world: IbetWorld, kind: str) -> None:
    """To a contract that is not the tradable exchange: XX0301 by both."""
    verdict = both_ways(world, kind, world.intent(kind, "alice", world.registry, 1), "alice")
    assert verdict.reason is ReasonCode.INVALID_RECEIVER
    assert verdict.refusals[0].raw_code == prefix(kind) + "0301"


def test_contract_receiver_hook_is_simulated(world: IbetWorld, kind: str) -> None:
    """A receiving contract without tokenFallback: refused by both (found by the property).

    Forced transfers into a contract and transfers to a tradable exchange that cannot take
    the units both run the receiver's hook; the dry run simulates it at the same block.
    """
    forced = world.intent(kind, "alice", world.registry, 12, operator="issuer")
    verdict = both_ways(world, kind, forced, "issuer")
    assert verdict.reason is ReasonCode.INVALID_RECEIVER
    world.call(kind, "issuer", "setTradableExchange", world.registry)
    verdict = both_ways(world, kind, world.intent(kind, "alice", world.registry, 1), "alice")
    assert verdict.reason is ReasonCode.INVALID_RECEIVER
    assert verdict.refusals[0].raw_code is None
    assert balances(world, kind, "alice") == {"alice": 1_000}


def test_forced_transfer_skips_the_holder_checks(world: IbetWorld, kind: str) -> None:
    """transferFrom by the issuer: allowed to an unregistered wallet, refused for others."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    adapter.agent_operation(ref, Capability.PAUSE, world.signers["issuer"], transferable=False)
    forced = world.intent(kind, "alice", "mallory", 100, operator="issuer")
    assert both_ways(world, kind, forced, "issuer").allowed
    assert balances(world, kind, "alice", "mallory") == {"alice": 900, "mallory": 100}
    by_outsider = world.intent(kind, "alice", "bob", 1, operator="outsider")
    verdict = both_ways(world, kind, by_outsider, "outsider")
    assert verdict.reason is ReasonCode.OPERATOR_NOT_AUTHORIZED
    assert verdict.refusals[0].raw_code == "500001"
    too_much = world.intent(kind, "alice", "bob", 901, operator="issuer")
    assert both_ways(world, kind, too_much, "issuer").refusals[0].raw_code == prefix(kind) + "0601"
    receipt = adapter.agent_operation(
        ref,
        Capability.FORCED_TRANSFER,
        world.signers["issuer"],
        sender=world.addr("bob"),
        recipient=world.addr("carol"),
        amount=50,
    )
    assert receipt.success
    assert balances(world, kind, "bob", "carol") == {"bob": 450, "carol": 50}


# -- approval flow ----------------------------------------------------------------------------


@across_forks
def test_approval_flow_round_trip(world: IbetWorld, kind: str) -> None:
    """apply -> approve moves the units; apply -> cancel moves nothing; pending is shown."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    issuer = world.signers["issuer"]
    adapter.agent_operation(ref, Capability.APPROVAL_FLOW, issuer, action="require", required=True)
    asset = adapter.read_asset(ref)
    assert any(isinstance(r, IssuerApprovalRule) for r in asset.rules)
    direct = both_ways(world, kind, world.intent(kind, "alice", "bob", 10), "alice")
    assert direct.reason is ReasonCode.ISSUER_APPROVAL_REQUIRED
    assert direct.refusals[0].raw_code == prefix(kind) + "0201"

    intent = world.intent(kind, "alice", "bob", 100)
    assert adapter.check_apply_for_transfer(intent).allowed
    index, _ = adapter.apply_for_transfer(intent, world.signers["alice"], data="trade 1")
    alice = adapter.holding(ref, world.addr("alice"))
    assert (alice.balance, alice.pending) == (900, 100)
    assert balances(world, kind, "bob") == {"bob": 500}
    (pending,) = adapter.pending_transfers(ref)
    assert (pending.index, pending.sender, pending.recipient, pending.amount) == (
        index,
        world.addr("alice"),
        world.addr("bob"),
        100,
    )
    assert adapter.read_asset(ref).total_supply == sum(
        h.balance + h.pending + h.total_locked for h in adapter.holders(ref)
    )
    adapter.agent_operation(ref, Capability.APPROVAL_FLOW, issuer, action="approve", index=index)
    alice = adapter.holding(ref, world.addr("alice"))
    assert (alice.balance, alice.pending) == (900, 0)
    assert balances(world, kind, "bob") == {"bob": 600}
    assert adapter.pending_transfers(ref) == []

    second, _ = adapter.apply_for_transfer(
        world.intent(kind, "alice", "bob", 200), world.signers["alice"]
    )
    assert adapter.holding(ref, world.addr("alice")).pending == 200
    with pytest.raises(EvmReverted) as info:
        adapter.cancel_transfer(ref, second, world.signers["outsider"])
    assert info.value.revert.message == prefix(kind) + "0801"
    adapter.cancel_transfer(ref, second, world.signers["alice"])
    alice = adapter.holding(ref, world.addr("alice"))
    assert (alice.balance, alice.pending) == (900, 0)
    assert balances(world, kind, "bob") == {"bob": 600}
    assert adapter.pending_transfers(ref) == []
    with pytest.raises(EvmReverted) as info:
        adapter.agent_operation(ref, Capability.APPROVAL_FLOW, issuer, action="approve", index=1)
    assert info.value.revert.message == prefix(kind) + "0902"


def test_issuer_cancels_an_application(world: IbetWorld) -> None:
    """The issuer may cancel an application too; the applicant's units come back."""
    adapter, ref = world.adapter("share"), world.ref("share")
    issuer = world.signers["issuer"]
    adapter.agent_operation(ref, Capability.APPROVAL_FLOW, issuer, action="require", required=True)
    index, _ = adapter.apply_for_transfer(
        world.intent("share", "bob", "carol", 500), world.signers["bob"]
    )
    assert balances(world, "share", "bob") == {"bob": 0}
    adapter.agent_operation(ref, Capability.APPROVAL_FLOW, issuer, action="cancel", index=index)
    assert balances(world, "share", "bob", "carol") == {"bob": 500, "carol": 0}


def test_apply_for_transfer_checks_match_the_chain(world: IbetWorld) -> None:
    """Applying without approval required, or to an unregistered wallet, is refused by both."""
    adapter, ref = world.adapter("share"), world.ref("share")
    alice = world.signers["alice"]
    intent = world.intent("share", "alice", "bob", 10)
    verdict = adapter.check_apply_for_transfer(intent)
    assert verdict.refusals[0].raw_code == "110701"
    with pytest.raises(EvmReverted) as info:
        adapter.apply_for_transfer(intent, alice, gas=GAS)
    assert info.value.revert.message == "110701"
    adapter.agent_operation(
        ref, Capability.APPROVAL_FLOW, world.signers["issuer"], action="require", required=True
    )
    to_mallory = world.intent("share", "alice", "mallory", 10)
    verdict = adapter.check_apply_for_transfer(to_mallory)
    assert [r.raw_code for r in verdict.refusals] == ["110702"]
    assert verdict.reason is ReasonCode.RECIPIENT_NOT_ELIGIBLE
    with pytest.raises(EvmReverted) as info:
        adapter.apply_for_transfer(to_mallory, alice, gas=GAS)
    assert info.value.revert.message == "110702"


def test_offering_needs_an_open_offering_and_a_registered_applicant(
    world: IbetWorld, kind: str
) -> None:
    """applyForOffering: XX1001 while closed, XX1002 for mallory; alice's is recorded."""
    p = prefix(kind)
    with pytest.raises(EvmReverted) as info:
        world.call(kind, "alice", "applyForOffering", 10, "")
    assert info.value.revert.message == p + "1001"
    world.call(kind, "issuer", "changeOfferingStatus", True)
    with pytest.raises(EvmReverted) as info:
        world.call(kind, "mallory", "applyForOffering", 10, "")
    assert info.value.revert.message == p + "1002"
    assert info.value.reason is ReasonCode.RECIPIENT_NOT_ELIGIBLE
    world.call(kind, "alice", "applyForOffering", 10, "lot 1")
    world.call(kind, "issuer", "allot", world.addr("alice"), 7)
    adapter = world.adapter(kind)
    contract = adapter.token(world.token(kind))
    applied = adapter.read(contract.functions.applicationsForOffering(world.addr("alice")))
    assert tuple(applied) == (10, 7, "lot 1")


# -- locks ----------------------------------------------------------------------------------


def unlock_by_locker(
    world: IbetWorld, kind: str, account: str, recipient: str, amount: int, **options: bool
) -> None:
    """locker releases ``amount`` of ``account``'s units locked to it to ``recipient``."""
    world.adapter(kind).unlock(
        world.ref(kind),
        account=world.addr(account),
        recipient=world.addr(recipient),
        amount=amount,
        signer=world.signers["locker"],
        **options,
    )


def issuer_locks(
    world: IbetWorld, kind: str, action: str, account: str, amount: int, **accounts: str
) -> None:
    """The issuer's ``LOCKS`` operation ``action`` on ``amount`` of ``account``'s units at
    the lock address locker (``recipient``/``new_account`` named in ``accounts``)."""
    world.adapter(kind).agent_operation(
        world.ref(kind),
        Capability.LOCKS,
        world.signers["issuer"],
        action=action,
        lock_address=world.addr("locker"),
        account=world.addr(account),
        amount=amount,
        **{key: world.addr(name) for key, name in accounts.items()},
    )


@across_forks
def test_lock_and_unlock_by_a_lock_address(world: IbetWorld, kind: str) -> None:
    """alice locks to locker (outside balanceOf); locker releases to bob; limits hold."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    locker = world.addr("locker")
    adapter.lock(ref, lock_address=locker, amount=300, signer=world.signers["alice"])
    alice = adapter.holding(ref, world.addr("alice"))
    assert (alice.balance, alice.locked) == (700, {locker: 300})
    assert adapter.read_asset(ref).total_supply == (
        SHARE_SUPPLY if kind == "share" else BOND_SUPPLY
    )
    assert both_ways(world, kind, world.intent(kind, "alice", "bob", 701), "alice").reason is (
        ReasonCode.INSUFFICIENT_BALANCE
    )

    unlock_by_locker(world, kind, "alice", "bob", 100)
    assert adapter.holding(ref, world.addr("alice")).locked == {locker: 200}
    assert balances(world, kind, "bob") == {"bob": 600}

    over = adapter.check_unlock(
        ref,
        lock_address=locker,
        account=world.addr("alice"),
        recipient=world.addr("bob"),
        amount=201,
    )
    assert over.refusals[0].raw_code == prefix(kind) + "0102"
    with pytest.raises(EvmReverted) as info:
        unlock_by_locker(world, kind, "alice", "bob", 201)
    assert info.value.revert.message == prefix(kind) + "0102"
    with pytest.raises(EvmReverted) as info:
        adapter.lock(ref, lock_address=locker, amount=701, signer=world.signers["alice"])
    assert info.value.revert.message == prefix(kind) + "0002"


def test_unlock_to_an_unregistered_wallet_is_stopped_off_chain(world: IbetWorld) -> None:
    """ibet's unlock skips the register check: stbridge refuses it unless told not to."""
    adapter, ref = world.adapter("share"), world.ref("share")
    adapter.lock(ref, lock_address=world.addr("locker"), amount=50, signer=world.signers["alice"])
    head = world.client.head()
    with pytest.raises(TransferRefused) as info:
        unlock_by_locker(world, "share", "alice", "mallory", 50)
    assert info.value.reason is ReasonCode.RECIPIENT_NOT_ELIGIBLE
    assert world.client.head() == head
    unlock_by_locker(world, "share", "alice", "mallory", 50, enforce=False)
    assert balances(world, "share", "mallory") == {"mallory": 50}


def test_force_lock_and_unlock_by_the_issuer(world: IbetWorld, kind: str) -> None:
    """forceLock takes free units into a lock; forceUnlock releases them to any recipient."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    locker = world.addr("locker")
    issuer_locks(world, kind, "lock", "bob", 500)
    bob = adapter.holding(ref, world.addr("bob"))
    assert (bob.balance, bob.locked) == (0, {locker: 500})
    assert both_ways(world, kind, world.intent(kind, "bob", "alice", 1), "bob").reason is (
        ReasonCode.INSUFFICIENT_BALANCE
    )
    issuer_locks(world, kind, "unlock", "bob", 200, recipient="carol")
    assert adapter.holding(ref, world.addr("bob")).locked == {locker: 300}
    assert balances(world, kind, "carol") == {"carol": 200}
    with pytest.raises(EvmReverted) as info:
        issuer_locks(world, kind, "unlock", "bob", 301, recipient="carol")
    assert info.value.revert.message == prefix(kind) + "1201"


def test_locked_units_move_to_a_new_account(world: IbetWorld) -> None:
    """forceChangeLockedAccount moves a lock from one wallet to another; holders follow."""
    adapter, ref = world.adapter("bond"), world.ref("bond")
    locker = world.addr("locker")
    adapter.lock(ref, lock_address=locker, amount=400, signer=world.signers["bob"])
    issuer_locks(world, "bond", "change_account", "bob", 150, new_account="carol")
    assert adapter.holding(ref, world.addr("bob")).locked == {locker: 250}
    assert adapter.holding(ref, world.addr("carol")).locked == {locker: 150}
    held = {h.holder: h for h in adapter.holders(ref)}
    assert held[world.addr("carol")].locked == {locker: 150}
    assert held[world.addr("carol")].balance == 0
    with pytest.raises(EvmReverted) as info:
        issuer_locks(world, "bond", "change_account", "carol", 151, new_account="bob")
    assert info.value.revert.message == "121701"


def test_untypable_bond_currency_keeps_the_raw_terms(world: IbetWorld) -> None:
    """A face value currency that is not ISO 4217 is kept verbatim as other terms."""
    world.call("bond", "issuer", "setFaceValueCurrency", "YEN")
    terms = world.adapter("bond").read_asset(world.ref("bond")).terms
    assert isinstance(terms, OtherTerms)
    assert terms.attributes["faceValueCurrency"] == "YEN"
    assert terms.attributes["interestRate"] == "602"


def test_mint_and_burn_with_and_without_a_lock(world: IbetWorld, kind: str) -> None:
    """issueFrom / redeemFrom on the free balance or on a lock; supply follows."""
    adapter, ref = world.adapter(kind), world.ref(kind)
    issuer, locker = world.signers["issuer"], world.addr("locker")
    supply = adapter.read_asset(ref).total_supply
    adapter.agent_operation(ref, Capability.MINT, issuer, to=world.addr("carol"), amount=70)
    adapter.agent_operation(
        ref, Capability.MINT, issuer, to=world.addr("carol"), amount=30, lock_address=locker
    )
    carol = adapter.holding(ref, world.addr("carol"))
    assert (carol.balance, carol.locked) == (70, {locker: 30})
    adapter.agent_operation(
        ref, Capability.BURN, issuer, account=world.addr("carol"), amount=10, lock_address=locker
    )
    adapter.agent_operation(ref, Capability.BURN, issuer, account=world.addr("carol"), amount=20)
    carol = adapter.holding(ref, world.addr("carol"))
    assert (carol.balance, carol.locked) == (50, {locker: 20})
    assert adapter.read_asset(ref).total_supply == supply + 70
    holdings = list(adapter.holders(ref))
    assert sum(h.balance + h.total_locked + h.pending for h in holdings) == supply + 70
    with pytest.raises(EvmReverted) as info:
        adapter.agent_operation(
            ref,
            Capability.BURN,
            issuer,
            account=world.addr("carol"),
            amount=21,
            lock_address=locker,
        )
    assert info.value.revert.message == prefix(kind) + "1101"
    assert info.value.reason is ReasonCode.INSUFFICIENT_BALANCE


def test_non_issuer_operations_revert_with_500001(world: IbetWorld) -> None:
    """Every issuer operation signed by another account reverts with the Ownable code."""
    adapter, ref = world.adapter("bond"), world.ref("bond")
    with pytest.raises(EvmReverted) as info:
        adapter.agent_operation(
            ref, Capability.MINT, world.signers["outsider"], to=world.addr("bob"), amount=1
        )
    assert info.value.revert.message == "500001"
    assert info.value.reason is ReasonCode.OPERATOR_NOT_AUTHORIZED


def test_undeclared_capability_and_bad_parameters(world: IbetWorld) -> None:
    """Undeclared -> UnsupportedCapability; bad parameters -> InvalidInput; nothing sent."""
    adapter, ref = IbetBondAdapter(world.client), world.ref("bond")
    issuer = world.signers["issuer"]
    head = world.client.head()
    for capability in (Capability.ADDRESS_FREEZE, Capability.PARTITIONS, Capability.RECOVERY):
        with pytest.raises(UnsupportedCapability):
            adapter.agent_operation(ref, capability, issuer)
    with pytest.raises(InvalidInput) as info:
        adapter.agent_operation(ref, Capability.LOCKS, issuer, action="freeze")
    assert info.value.field == "action"
    with pytest.raises(InvalidInput) as info:
        adapter.agent_operation(ref, Capability.PAUSE, issuer, transferable="no")
    assert info.value.field == "transferable"
    with pytest.raises(InvalidInput) as info:
        adapter.check_transfer(
            TransferIntent(
                asset=ref,
                sender=world.addr("alice"),
                recipient=world.addr("bob"),
                amount=1,
                partition="0x" + "00" * 32,
            )
        )
    assert info.value.field == "partition"
    assert world.client.head() == head


def test_registers_are_switchable(world: IbetWorld) -> None:
    """Pointing the token at a new register (where bob is absent) makes bob ineligible."""
    adapter, ref = world.adapter("share"), world.ref("share")
    fresh = deploy_personal_info(world.client, world.signers["issuer"])
    world.call("share", "issuer", "setPersonalInfoAddress", fresh)
    assert not adapter.eligibility(ref, world.addr("bob")).eligible
    assert adapter.eligibility(ref, world.addr("issuer")).eligible
    verdict = both_ways(world, "share", world.intent("share", "alice", "bob", 1), "alice")
    assert verdict.reason is ReasonCode.RECIPIENT_NOT_ELIGIBLE
    world.call("share", "issuer", "setRequirePersonalInfoRegistered", False)
    assert adapter.eligibility(ref, world.addr("mallory")).eligible
    assert not any(isinstance(r, AllowListRule) for r in adapter.read_asset(ref).rules)
    assert both_ways(world, "share", world.intent("share", "alice", "mallory", 1), "alice").allowed


# -- exactly ibet's public interfaces (issue 19) ---------------------------------------------

REFERENCE = (
    Path(__file__).resolve().parents[3] / "adapters/evm/abi/reference/ibet_public_interface.json"
)


def _described(abi: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Our ABI in the shape of the checked-in description of ibet's."""
    out: dict[str, Any] = {"constructor": [], "functions": [], "events": []}
    for item in abi:
        if item["type"] == "constructor":
            out["constructor"] = [[x["name"], x["type"]] for x in item["inputs"]]
        elif item["type"] == "function":
            out["functions"].append(
                {
                    "name": item["name"],
                    "inputs": [[x["name"], x["type"]] for x in item["inputs"]],
                    "outputs": [x["type"] for x in item["outputs"]],
                    "stateMutability": item["stateMutability"],
                }
            )
        elif item["type"] == "event":
            out["events"].append(
                {
                    "name": item["name"],
                    "inputs": [[x["name"], x["type"], x["indexed"]] for x in item["inputs"]],
                }
            )
    for key in ("functions", "events"):
        out[key].sort(key=lambda f: (f["name"], json.dumps(f["inputs"])))
    return out


@pytest.mark.parametrize("name", ["IbetShare", "IbetStraightBond", "PersonalInfo"])
def test_abi_is_exactly_ibets_public_interface(name: str) -> None:
    """Every constructor argument, function (argument names, types and order, return
    types, mutability) and event equals the checked-in description of BOOSTRY's contract,
    on every target: no public item missing, none added."""
    reference = json.loads(REFERENCE.read_text())["contracts"][name]
    for target in (None, "berlin", "cancun"):
        ours = _described(load_artifact(name, target).abi)
        assert ours["constructor"] == reference["constructor"], (name, target)
        theirs_fns = {json.dumps(f, sort_keys=True) for f in reference["functions"]}
        ours_fns = {json.dumps(f, sort_keys=True) for f in ours["functions"]}
        assert sorted(theirs_fns - ours_fns) == [], f"{name}: missing"
        assert sorted(ours_fns - theirs_fns) == [], f"{name}: not in ibet's interface"
        assert ours["events"] == reference["events"], name
    assert load_artifact(name).evm_version == "berlin"  # as ibet builds its own


@pytest.mark.parametrize("name", ["IbetShare", "IbetStraightBond"])
def test_revert_codes_are_exactly_ibets(name: str) -> None:
    """The codes our token's source raises, and those the adapter names, are exactly the
    codes BOOSTRY's contract raises (the checked-in description: every ``ErrorCode``
    constant its source references, and Ownable's): none missing, none of our own.
    XX1601 / XX1701 (forceLock, forceChangeLockedAccount) are ibet's, not stbridge's."""
    reference = json.loads(REFERENCE.read_text())["contracts"][name]
    theirs = set(reference["revert_codes"])
    prefix_ = "11" if name == "IbetShare" else "12"
    src = Path(__file__).resolve().parents[3] / "adapters/evm/contracts/src/ibet"
    base = (src / "IbetSecurityTokenBase.sol").read_text()
    own = (src / f"{name}.sol").read_text()
    raised = {prefix_ + c for c in re.findall(r'_fail\("(\d{4})"\)', base + own)}
    raised |= set(re.findall(r'revert\("(\d{6})"\)', base + own))
    if name == "IbetStraightBond":  # the bond's bulkTransfer has no approval check (no XX0504)
        raised.discard("120504")
    assert raised == theirs
    suffixes = dict(IBET_MESSAGES)
    if name == "IbetStraightBond":
        suffixes = {k: v for k, v in suffixes.items() if not k.startswith("05")}
        suffixes.update(IBET_BOND_MESSAGES)
    named = {prefix_ + k for k in suffixes} | {"500001", "500101"}
    assert named == theirs
    assert reference["constructor_events"] == []
    assert reference["transfer_to_contract"] == ["tokenFallback", "Transfer"]


@across_forks
def test_bond_constructor_takes_ibets_eleven_arguments(world: IbetWorld) -> None:
    """_returnDate and _returnAmount come before _purpose and are stored."""
    art = load_artifact("IbetStraightBond")
    issuer = world.signers["issuer"]
    bond = world.client.deploy(
        issuer, art.abi, art.bytecode,
        "Bond", "B", 100, 10_000, "JPY", "20301231", 10_000, "JPY",
        "20301231", "principal in full", "refinancing",
    )  # fmt: skip
    read = world.adapter("bond").read
    assert read(bond.functions.returnDate()) == "20301231"
    assert read(bond.functions.returnAmount()) == "principal in full"
    assert read(bond.functions.purpose()) == "refinancing"
    assert read(bond.functions.balances(issuer.address)) == 100


@across_forks
def test_public_balances_and_legacy_getters(world: IbetWorld) -> None:
    adapter = world.adapter("share")
    share = adapter.token(world.token("share"))
    assert adapter.read(share.functions.balances(world.addr("alice"))) == 1_000
    assert adapter.read(share.functions.balanceOf(world.addr("alice"))) == 1_000
    assert adapter.read(share.functions.offeringStatus()) is False
    assert adapter.read(share.functions.referenceUrls(0)) == ""


@across_forks
def test_personal_info_register_force_register_and_modify_return_true(world: IbetWorld) -> None:
    adapter = world.adapter("share")
    registry = adapter.registry(world.registry)
    issuer, mallory = world.addr("issuer"), world.addr("mallory")
    caller = {"from": mallory}
    assert registry.functions.register(issuer, "x").call(caller) is True
    assert registry.functions.forceRegister(mallory, "y").call({"from": issuer}) is True
    with pytest.raises(Exception, match="400001"):
        registry.functions.modify(mallory, "z").call({"from": issuer})
    world.call("share", "issuer", "setPersonalInfoAddress", world.registry)  # unchanged
    data = registry.encode_abi("forceRegister", args=[mallory, "y"])
    adapter.send_call(world.signers["issuer"], world.registry, data, "forceRegister")
    assert registry.functions.modify(mallory, "z").call({"from": issuer}) is True


@across_forks
def test_bulk_transfer_checks_then_moves_each_item(world: IbetWorld, kind: str) -> None:
    """bulkTransfer: lengths, total balance, transferable (the share first refuses while
    approval is required), then each item as one transfer; bulkTransferFrom,
    bulkIssueFrom and bulkRedeemFrom run their single operation per item."""
    p = prefix(kind)
    share = kind == "share"
    alice, bob, carol = (world.addr(n) for n in ("alice", "bob", "carol"))
    refused = partial(revert_of, world, kind)

    base = 501 if not share else 502
    assert refused("alice", "bulkTransfer", [bob, carol], [1]) == f"{p}0{base}"
    assert refused("alice", "bulkTransfer", [bob, carol], [600, 401]) == f"{p}0{base + 1}"
    world.call(kind, "issuer", "setTransferable", False)
    assert refused("alice", "bulkTransfer", [bob], [1]) == f"{p}0{base + 2}"
    world.call(kind, "issuer", "setTransferable", True)
    assert refused("alice", "bulkTransfer", [bob, world.addr("mallory")], [1, 1]) == f"{p}0202"
    if share:
        world.call(kind, "issuer", "setTransferApprovalRequired", True)
        assert refused("alice", "bulkTransfer", [bob], [1]) == "110501"
        world.call(kind, "issuer", "setTransferApprovalRequired", False)
    world.call(kind, "alice", "bulkTransfer", [bob, carol], [100, 50])
    holding = world.adapter(kind).holding
    ref = world.ref(kind)
    assert [holding(ref, w).balance for w in (alice, bob, carol)] == [850, 600, 50]

    assert refused("issuer", "bulkTransferFrom", [bob], [carol, alice], [1]) == f"{p}1501"
    assert refused("alice", "bulkTransferFrom", [bob], [carol], [1]) == "500001"
    world.call(kind, "issuer", "bulkTransferFrom", [bob, carol], [alice, alice], [10, 20])
    assert holding(ref, alice).balance == 880
    locker = world.addr("locker")
    zero = "0x" + "00" * 20
    assert refused("issuer", "bulkIssueFrom", [bob], [zero, zero], [1]) == f"{p}1301"
    world.call(kind, "issuer", "bulkIssueFrom", [bob, carol], [zero, locker], [5, 7])
    token = world.adapter(kind).token(world.token(kind))
    assert world.adapter(kind).read(token.functions.lockedOf(locker, carol)) == 7
    assert refused("issuer", "bulkRedeemFrom", [bob], [zero], [1, 2]) == f"{p}1401"
    assert refused("issuer", "bulkRedeemFrom", [carol], [locker], [8]) == f"{p}1101"
    world.call(kind, "issuer", "bulkRedeemFrom", [bob, carol], [zero, locker], [5, 7])
    assert world.adapter(kind).read(token.functions.lockedOf(locker, carol)) == 0


@across_forks
def test_no_registration_required_opens_every_path(world: IbetWorld, kind: str) -> None:
    """With requirePersonalInfoRegistered false, mallory (never registered) can apply for
    the offering, receive by transfer and bulk transfer, and be named in a transfer
    application; with it true, each of those refuses her."""
    p = prefix(kind)
    mallory = world.addr("mallory")
    world.call(kind, "issuer", "changeOfferingStatus", True)
    refused = partial(revert_of, world, kind)

    assert refused("mallory", "applyForOffering", 5, "") == f"{p}1002"
    assert refused("alice", "transfer", mallory, 1) == f"{p}0202"
    assert refused("alice", "bulkTransfer", [mallory], [1]) == f"{p}0202"
    world.call(kind, "issuer", "setRequirePersonalInfoRegistered", False)
    world.call(kind, "mallory", "applyForOffering", 5, "no register")
    world.call(kind, "alice", "transfer", mallory, 1)
    world.call(kind, "alice", "bulkTransfer", [mallory], [2])
    world.call(kind, "issuer", "setTransferApprovalRequired", True)
    world.call(kind, "alice", "applyForTransfer", mallory, 3, "")
    adapter = world.adapter(kind)
    token = adapter.token(world.token(kind))
    assert adapter.read(token.functions.applicationsForOffering(mallory))[0] == 5
    assert adapter.read(token.functions.balanceOf(mallory)) == 3
    assert adapter.read(token.functions.pendingTransfer(world.addr("alice"))) == 3
    world.call(kind, "issuer", "setRequirePersonalInfoRegistered", True)
    assert refused("alice", "applyForTransfer", mallory, 1, "") == f"{p}0702"


# -- ibet's events and codes, as BOOSTRY's contracts log and raise them ----------------------


def test_the_constructor_logs_nothing_and_the_issuer_is_still_a_holder(
    world: IbetWorld, kind: str
) -> None:
    """ibet's constructor (and its Ownable's) logs no event: the issuer's initial balance has
    no ``Transfer`` from the zero address and there is no ``OwnershipTransferred``. The
    holder list still finds the issuer (from ``owner()``), with the units it kept."""
    token = world.token(kind)
    logs = list(
        world.client.logs(address=token, topics=[[OWNERSHIP_TOPIC, TRANSFER_TOPIC]], from_block=0)
    )
    minted = [
        e
        for e in logs
        if "0x" + bytes(e["topics"][0]).hex() == TRANSFER_TOPIC
        and int.from_bytes(bytes(e["topics"][1]), "big") == 0
    ]
    owned = [e for e in logs if "0x" + bytes(e["topics"][0]).hex() == OWNERSHIP_TOPIC]
    assert (minted, owned) == ([], [])
    adapter, ref = world.adapter(kind), world.ref(kind)
    held = {h.holder: h.balance for h in adapter.holders(ref)}
    supply = SHARE_SUPPLY if kind == "share" else BOND_SUPPLY
    assert held[world.addr("issuer")] == supply - sum(
        v for k, v in held.items() if k != world.addr("issuer")
    )
    assert sum(held.values()) == adapter.read_asset(ref).total_supply


def test_a_receiving_contract_logs_before_the_tokens_transfer(world: IbetWorld, kind: str) -> None:
    """A transfer to the tradable exchange (and the issuer's forced transfer into it) calls
    ``tokenFallback`` first and logs ``Transfer`` after, as ibet does: the receiver's own
    logs come first in the receipt."""
    artifact = artifact_for_chain("IbetReceiverProbe", world.client)
    probe = world.client.deploy(world.signers["issuer"], artifact.abi, artifact.bytecode)
    world.call(kind, "issuer", "setTradableExchange", probe.address)
    token = world.token(kind)

    def logged() -> list[tuple[str, str]]:
        head = world.client.head()
        entries = world.client.logs(address=[token, probe.address], from_block=head, to_block=head)
        return [
            (str(e["address"]), "0x" + bytes(e["topics"][0]).hex())
            for e in sorted(entries, key=lambda e: int(e["logIndex"]))
        ]

    fallback = "0x" + bytes(world.client.w3.keccak(text="Fallback(address,address,uint256)")).hex()
    world.call(kind, "alice", "transfer", probe.address, 5)
    assert logged() == [(probe.address, fallback), (token, TRANSFER_TOPIC)]
    world.call(kind, "issuer", "transferFrom", world.addr("alice"), probe.address, 3)
    assert logged() == [(probe.address, fallback), (token, TRANSFER_TOPIC)]
    assert balances(world, kind, probe.address) == {probe.address: 8}


def test_offering_with_registration_required_and_no_register_fails_as_ibets(
    world: IbetWorld, kind: str
) -> None:
    """With registration required and no PersonalInfo set, ibet's applyForOffering calls the
    zero address and fails without a reason (it never reaches XX1002); so does ours."""
    world.call(kind, "issuer", "changeOfferingStatus", True)
    world.call(kind, "issuer", "setPersonalInfoAddress", "0x" + "00" * 20)
    with pytest.raises(EvmReverted) as info:
        world.call(kind, "alice", "applyForOffering", 10, "")
    assert info.value.revert.message is None, info.value.revert.describe()
    assert info.value.revert.data == b""
    world.call(kind, "issuer", "setRequirePersonalInfoRegistered", False)
    world.call(kind, "alice", "applyForOffering", 10, "")
