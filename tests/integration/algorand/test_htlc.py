"""The Algorand HTLC (per-lock logic-signature escrows) on the embedded go-algorand evaluator.

ALGO, a USD stablecoin ASA and the regulated bond ASA: claim with the right secret, refusal
of a wrong or 31/33-byte secret by the escrow program itself, refund only from the deadline
round on, no claim after refund and no refund after claim, a third party's claim paying the
receiver, duplicate locks, close-to / rekey / fee / group-size attacks, the minimum balance
returned on close-out, and the regulated ASA's pre-flight before and after set-up.

Attacks are sent through :meth:`AlgorandHtlc.send_group` (no adapter-side checks), so what
refuses them is the escrow program evaluated by go-algorand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from algosdk import transaction
from hypothesis import given
from hypothesis import strategies as st

from adapters.algorand.addresses import address_from_key, key_from_address
from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.htlc import (
    DEFAULT_FEE_CAP,
    MIN_BALANCE,
    AlgorandHtlc,
    HtlcKind,
    HtlcTerms,
    admit_escrow,
    release_escrow,
    settle_transactions,
    template_slots,
)
from adapters.algorand.ledger import EmbeddedLedger
from bridge.errors import InvalidInput, SettlementError, TransactionReverted, TransferRefused
from bridge.model import Capability
from bridge.ports import HtlcPort, Signer, TxReceipt
from bridge.reasons import ReasonCode
from tests.fixtures.algorand_assets import (
    KYC_YEAR,
    RegulatedWorld,
    StablecoinWorld,
    build_regulated_world,
    build_stablecoin_world,
    restored,
)

pytestmark = pytest.mark.timeout(600)

SECRET = hashlib.sha256(b"stbridge htlc test secret").digest()
HASHLOCK = hashlib.sha256(SECRET).digest()


@dataclass
class Worlds:
    """Both asset worlds on the session ledger, and a snapshot of that state."""

    ledger: EmbeddedLedger
    regulated: RegulatedWorld
    cash: StablecoinWorld


@pytest.fixture(scope="module")
def worlds(
    embedded_ledger: EmbeddedLedger, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worlds]:
    """The regulated bond and the stablecoins, deployed once; the ledger restored at the end."""
    with restored(embedded_ledger):
        store = Path(tmp_path_factory.mktemp("arc3"))
        regulated = build_regulated_world(embedded_ledger, store)
        cash = build_stablecoin_world(embedded_ledger, store)
        yield Worlds(embedded_ledger, regulated, cash)


@pytest.fixture
def env(worlds: Worlds) -> Iterator[Worlds]:
    """The deployed worlds, restored after each test."""
    with restored(worlds.ledger):
        yield worlds


def _htlc(ledger: EmbeddedLedger, world: RegulatedWorld | None = None) -> AlgorandHtlc:
    return AlgorandHtlc(
        EmbeddedAlgodClient(ledger, wait_timeout=0.0),
        from_round=ledger.last_round + 1,
        regulated=None if world is None else world.adapter,
    )


def _lock_algos(
    htlc: AlgorandHtlc, sender: Signer, receiver: str, amount: int, deadline: int
) -> tuple[str, TxReceipt]:
    """``sender`` locks ``amount`` microalgos for ``receiver`` under ``HASHLOCK``."""
    return htlc.lock(
        asset=None,
        receiver=receiver,
        amount=amount,
        hashlock=HASHLOCK,
        deadline=deadline,
        signer=sender,
    )


def _refused_by_escrow(send: Callable[[], object]) -> SettlementError:
    """Run ``send`` and return the SettlementError the escrow program's refusal became."""
    with pytest.raises(SettlementError) as caught:
        send()
    assert "rejected by logic" in str(caught.value)
    return caught.value


def _raw_claim(
    htlc: AlgorandHtlc,
    terms: HtlcTerms,
    secret: bytes,
    *,
    mutate: Callable[[list[tuple[Any, bool]]], None] | None = None,
    last: int | None = None,
) -> object:
    sp = htlc.chain.suggested_params()
    first = int(sp.first)
    txns = settle_transactions(
        terms, sp, claim=True, first=first, last=last or min(first + 500, terms.deadline - 1)
    )
    if mutate is not None:
        mutate(txns)
    return htlc.send_group(txns, terms, secret=secret, what="claim")


# ---------------------------------------------------------------------------------- ALGO


def test_algo_claim_by_third_party_pays_receiver_and_returns_deposit(env: Worlds) -> None:
    ledger = env.ledger
    sender, receiver, stranger = (env.cash[n] for n in ("alice", "bob", "dave"))
    htlc = _htlc(ledger)
    assert isinstance(htlc, HtlcPort)
    amount = 2_500_000
    before_sender, before_receiver = (
        ledger.balance(sender.address),
        ledger.balance(receiver.address),
    )
    lock_id, locked = _lock_algos(htlc, sender, receiver.address, amount, ledger.last_round + 20)
    terms = htlc.terms_of(lock_id)
    assert terms.kind is HtlcKind.ALGO
    assert terms.escrow == lock_id
    assert ledger.balance(lock_id) == amount + MIN_BALANCE + DEFAULT_FEE_CAP
    assert (
        ledger.balance(sender.address) == before_sender - amount - terms.deposit - locked.fee_paid
    )
    assert htlc.get(lock_id).state == "open"

    claimed = htlc.claim(lock_id, SECRET, stranger)  # anyone may claim: it pays the receiver
    assert ledger.balance(receiver.address) == before_receiver + amount
    assert ledger.account_data(lock_id) == {}  # closed: no account left
    returned = terms.deposit - claimed.fee_paid
    assert returned >= MIN_BALANCE
    assert ledger.balance(sender.address) == (
        before_sender - amount - terms.deposit - locked.fee_paid + returned
    )
    assert htlc.secret_from_claim(claimed.tx_id) == SECRET
    (found,) = htlc.find(HASHLOCK)
    assert (found.lock_id, found.state, found.amount) == (lock_id, "claimed", amount)
    names = [(e.name, e.tx_id) for e in htlc.events(locked.height, claimed.height)]
    assert names == [("Locked", locked.tx_id), ("Claimed", claimed.tx_id)]
    (claim_event,) = htlc.events(claimed.height, claimed.height)
    assert claim_event.args["secret"] == SECRET

    with pytest.raises(SettlementError, match="not open"):
        htlc.refund(lock_id, sender)
    ledger.advance(20)
    with pytest.raises(TransactionReverted):  # the closed escrow cannot pay anything
        htlc.send_group(
            settle_transactions(
                terms,
                htlc.chain.suggested_params(),
                claim=False,
                first=terms.deadline,
                last=terms.deadline + 10,
            ),
            terms,
        )


def test_algo_wrong_and_malformed_secrets_are_refused(env: Worlds) -> None:
    ledger = env.ledger
    sender, receiver = env.cash["alice"], env.cash["bob"]
    htlc = _htlc(ledger)
    lock_id, _ = _lock_algos(htlc, sender, receiver.address, 1_000_000, ledger.last_round + 30)
    terms = htlc.terms_of(lock_id)
    # the adapter refuses before sending anything
    with pytest.raises(InvalidInput, match="exactly 32 bytes"):
        htlc.claim(lock_id, SECRET[:31], receiver)
    with pytest.raises(SettlementError, match="wrong secret"):
        htlc.claim(lock_id, bytes(32), receiver)
    # the escrow program refuses them on chain: wrong, 31 bytes, 33 bytes, none
    for bad in (bytes(32), SECRET[:31], SECRET + b"\x00", b"\x00" + SECRET):
        _refused_by_escrow(lambda bad=bad: _raw_claim(htlc, terms, bad))  # type: ignore[misc]
    _refused_by_escrow(
        lambda: htlc.send_group(
            settle_transactions(
                terms,
                htlc.chain.suggested_params(),
                claim=True,
                first=ledger.last_round,
                last=ledger.last_round + 5,
            ),
            terms,
        )
    )
    assert ledger.balance(lock_id) == 1_000_000 + terms.deposit
    _raw_claim(htlc, terms, SECRET)
    assert ledger.account_data(lock_id) == {}


def test_algo_refund_only_from_the_deadline_and_no_claim_after(env: Worlds) -> None:
    ledger = env.ledger
    sender, receiver = env.cash["alice"], env.cash["bob"]
    htlc = _htlc(ledger)
    deadline = ledger.last_round + 4
    before = ledger.balance(sender.address)
    lock_id, locked = _lock_algos(htlc, sender, receiver.address, 3_000_000, deadline)
    terms = htlc.terms_of(lock_id)
    with pytest.raises(SettlementError, match="not reached"):
        htlc.refund(lock_id, sender)
    # a refund valid now (FirstValid before the deadline) is refused by the program
    now = ledger.last_round
    _refused_by_escrow(
        lambda: htlc.send_group(
            settle_transactions(
                terms, htlc.chain.suggested_params(), claim=False, first=now, last=now + 10
            ),
            terms,
        )
    )
    # a claim whose validity reaches the deadline round is refused too
    _refused_by_escrow(lambda: _raw_claim(htlc, terms, SECRET, last=deadline))
    ledger.advance(deadline - ledger.last_round - 1)  # the next round is the deadline
    with pytest.raises(SettlementError, match="only be refunded"):
        htlc.claim(lock_id, SECRET, receiver)
    refunded = htlc.refund(lock_id, receiver)  # anyone may refund: it pays the sender
    assert refunded.height == deadline
    assert ledger.account_data(lock_id) == {}
    assert ledger.balance(sender.address) == before - locked.fee_paid - refunded.fee_paid
    assert htlc.get(lock_id).state == "refunded"
    with pytest.raises(SettlementError, match="not open"):
        htlc.claim(lock_id, SECRET, receiver)
    names = [e.name for e in htlc.events(locked.height, ledger.last_round)]
    assert names == ["Locked", "Refunded"]


def test_algo_refund_long_after_the_deadline(env: Worlds) -> None:
    """A refund more than a transaction lifetime (1 000 rounds) after the deadline."""
    ledger = env.ledger
    sender, receiver = env.cash["alice"], env.cash["bob"]
    htlc = _htlc(ledger)
    before = ledger.balance(sender.address)
    lock_id, _ = _lock_algos(htlc, sender, receiver.address, 1_000_000, ledger.last_round + 3)
    ledger.advance(1_500)
    htlc.refund(lock_id, sender)
    assert ledger.account_data(lock_id) == {}
    assert ledger.balance(sender.address) == before - 2 * 1_000


def test_algo_duplicate_lock_refused_and_second_funding_harmless(env: Worlds) -> None:
    ledger = env.ledger
    sender, receiver = env.cash["alice"], env.cash["bob"]
    htlc = _htlc(ledger)
    deadline = ledger.last_round + 30

    def lock() -> str:
        lock_id, _ = _lock_algos(htlc, sender, receiver.address, 1_000_000, deadline)
        return lock_id

    with pytest.raises(InvalidInput, match="a timestamp is not a round"):
        _lock_algos(htlc, sender, receiver.address, 1_000_000, deadline=1_800_000_000)
    lock_id = lock()
    with pytest.raises(SettlementError, match="duplicate lock"):
        lock()
    # a second funding by plain payment cannot be prevented: the claim still pays exactly
    # the amount, and the surplus goes back to the sender with the close-out
    ledger.fund(lock_id, 5_000_000)
    before_sender, before_receiver = (
        ledger.balance(sender.address),
        ledger.balance(receiver.address),
    )
    claimed = htlc.claim(lock_id, SECRET, receiver)
    assert ledger.balance(receiver.address) == before_receiver + 1_000_000
    terms = htlc.terms_of(lock_id)
    assert ledger.balance(sender.address) == (
        before_sender + 5_000_000 + terms.deposit - claimed.fee_paid
    )


def test_algo_close_to_rekey_fee_and_group_attacks_are_refused(env: Worlds) -> None:
    ledger = env.ledger
    sender, receiver, thief = env.cash["alice"], env.cash["bob"], env.cash["dave"]
    htlc = _htlc(ledger)
    lock_id, _ = _lock_algos(htlc, sender, receiver.address, 1_000_000, ledger.last_round + 40)
    terms = htlc.terms_of(lock_id)

    def set_attr(name: str, value: object) -> Callable[[list[tuple[Any, bool]]], None]:
        def mutate(txns: list[tuple[Any, bool]]) -> None:
            setattr(txns[0][0], name, value)

        return mutate

    attacks = {
        "close to a thief": set_attr("close_remainder_to", thief.address),
        "pay a thief": set_attr("receiver", thief.address),
        "pay more than the amount": set_attr("amt", 1_050_000),
        "rekey to a thief": set_attr("rekey_to", thief.address),
        "fee drain": set_attr("fee", DEFAULT_FEE_CAP + 1),
    }
    for name, mutate in attacks.items():
        error = _refused_by_escrow(lambda m=mutate: _raw_claim(htlc, terms, SECRET, mutate=m))  # type: ignore[misc]
        assert error.reason is not None, name
    # a second escrow transaction in the group (group-size guard)
    sp = htlc.chain.suggested_params()
    first = int(sp.first)
    pair = [
        *settle_transactions(terms, sp, claim=True, first=first, last=first + 10),
        *settle_transactions(terms, sp, claim=True, first=first, last=first + 11),
    ]
    pair[1][0].amt = 0
    pair[1][0].receiver = thief.address
    pair[1][0].close_remainder_to = None
    _refused_by_escrow(lambda: htlc.send_group(pair, terms, secret=SECRET))
    assert ledger.balance(lock_id) == 1_000_000 + terms.deposit
    assert ledger.account_data(lock_id).get("spend") is None  # never rekeyed


def test_underfunded_escrow_is_not_reported_open(env: Worlds) -> None:
    """A counterparty auditing a lock sees ``open`` only with the whole deposit in place."""
    ledger = env.ledger
    htlc = _htlc(ledger)
    terms = htlc.terms_for(
        asset=None,
        sender=env.cash["alice"].address,
        receiver=env.cash["bob"].address,
        amount=1_000_000,
        hashlock=HASHLOCK,
        deadline=ledger.last_round + 30,
    )
    htlc.register(terms)
    ledger.fund(terms.escrow, terms.amount + MIN_BALANCE)  # no fee budget
    assert htlc.get(terms.escrow).state == "underfunded"
    with pytest.raises(SettlementError, match="not open"):
        htlc.claim(terms.escrow, SECRET, env.cash["bob"])


# ---------------------------------------------------------------------------------- ASA


def test_asa_claim_closes_out_and_returns_minimum_balance(env: Worlds) -> None:
    ledger, cash = env.ledger, env.cash
    sender, receiver, stranger = cash["alice"], cash["carol"], cash["dave"]
    htlc = _htlc(ledger)
    asset_id = cash.usd.asset_id
    algos_before = ledger.balance(sender.address)
    lock_id, locked = htlc.lock(
        asset=cash.usd_ref,
        receiver=receiver.address,
        amount=12_345,
        hashlock=HASHLOCK,
        deadline=ledger.last_round + 20,
        signer=sender,
    )
    terms = htlc.terms_of(lock_id)
    assert terms.kind is HtlcKind.ASA
    assert terms.asset_id == asset_id
    assert ledger.asset_holding(lock_id, asset_id) == {"a": 12_345, "f": False}
    assert ledger.min_balance(lock_id) == 2 * MIN_BALANCE
    assert ledger.balance(lock_id) == terms.deposit == 2 * MIN_BALANCE + 2 * DEFAULT_FEE_CAP
    # the escrow's opt-in is free for it: a repeat with a fee is refused (no fee drain)
    sp = htlc.chain.suggested_params()
    repeat = transaction.AssetTransferTxn(lock_id, sp, lock_id, 0, asset_id)  # type: ignore[no-untyped-call]
    repeat.fee = 1_000
    _refused_by_escrow(lambda: htlc.send_group([(repeat, True)], terms))

    claimed = htlc.claim(lock_id, SECRET, stranger)
    assert ledger.asset_holding(receiver.address, asset_id) == {"a": 12_345, "f": False}
    assert ledger.account_data(lock_id) == {}
    # lock: funding 2 000 (pays the escrow's opt-in too) + transfer 1 000; the deposit
    # comes back minus the claim's two 1 000 fees
    assert locked.fee_paid == 2_000
    assert ledger.balance(sender.address) == algos_before - (2_000 + 1_000) - (1_000 + 1_000)
    assert htlc.secret_from_claim(claimed.tx_id) == SECRET
    assert [lock.state for lock in htlc.find(HASHLOCK)] == ["claimed"]


def test_asa_attacks_refused_then_refund_after_deadline(env: Worlds) -> None:
    ledger, cash = env.ledger, env.cash
    sender, receiver, thief = cash["alice"], cash["carol"], cash["bob"]
    htlc = _htlc(ledger)
    asset_id = cash.usd.asset_id
    units_before = ledger.asset_holding(sender.address, asset_id)
    assert units_before is not None
    deadline = ledger.last_round + 6
    lock_id, _ = htlc.lock(
        asset=cash.usd_ref,
        receiver=receiver.address,
        amount=500,
        hashlock=HASHLOCK,
        deadline=deadline,
        signer=sender,
    )
    terms = htlc.terms_of(lock_id)

    def asset_close_to_thief(txns: list[tuple[Any, bool]]) -> None:
        txns[0][0].close_assets_to = thief.address

    def algos_close_to_thief(txns: list[tuple[Any, bool]]) -> None:
        txns[1][0].close_remainder_to = thief.address

    def units_to_thief(txns: list[tuple[Any, bool]]) -> None:
        txns[0][0].receiver = thief.address
        txns[0][0].close_assets_to = thief.address

    for mutate in (asset_close_to_thief, algos_close_to_thief, units_to_thief):
        _refused_by_escrow(lambda m=mutate: _raw_claim(htlc, terms, SECRET, mutate=m))  # type: ignore[misc]
    _refused_by_escrow(lambda: _raw_claim(htlc, terms, SECRET[:31] + b"\x00\x00"))
    ledger.advance(deadline - ledger.last_round - 1)
    htlc.refund(lock_id, thief)
    assert ledger.asset_holding(sender.address, asset_id) == units_before
    assert ledger.account_data(lock_id) == {}
    with pytest.raises(SettlementError, match="not open"):
        htlc.claim(lock_id, SECRET, receiver)


def test_asa_preflight_names_what_is_missing(env: Worlds) -> None:
    ledger, cash = env.ledger, env.cash
    htlc = _htlc(ledger)
    terms = htlc.terms_for(
        asset=cash.usd_ref,
        sender=cash["carol"].address,  # opted in, holds nothing
        receiver=cash["dave"].address,  # not opted in
        amount=10,
        hashlock=HASHLOCK,
        deadline=ledger.last_round + 10,
    )
    check = htlc.preflight(terms)
    assert check.codes == (ReasonCode.RECIPIENT_NOT_OPTED_IN, ReasonCode.INSUFFICIENT_BALANCE)
    with pytest.raises(TransferRefused) as refused:  # the lock refuses before sending
        htlc.lock(
            asset=cash.usd_ref,
            receiver=cash["dave"].address,
            amount=10,
            hashlock=HASHLOCK,
            deadline=terms.deadline,
            signer=cash["alice"],
        )
    assert refused.value.reason is ReasonCode.RECIPIENT_NOT_OPTED_IN
    assert ledger.account_data(refused_escrow(terms, cash["alice"].address)) == {}
    ok = htlc.preflight(replace_receiver(terms, cash["bob"].address, sender=cash["alice"].address))
    assert ok.ok, ok.describe()


def refused_escrow(terms: HtlcTerms, sender: str) -> str:
    """The escrow the refused lock would have funded."""
    return replace_receiver(terms, terms.receiver, sender=sender).escrow


def replace_receiver(terms: HtlcTerms, receiver: str, *, sender: str) -> HtlcTerms:
    """``terms`` with another receiver and sender (a new escrow)."""
    return HtlcTerms(
        terms.kind,
        terms.hashlock,
        sender,
        receiver,
        terms.amount,
        terms.deadline,
        terms.fee_cap,
        asset_id=terms.asset_id,
        app_id=terms.app_id,
        creator=terms.creator,
    )


# ---------------------------------------------------------------------------------- regulated


def _regulated_terms(env: Worlds, htlc: AlgorandHtlc, receiver: str, deadline: int) -> HtlcTerms:
    return htlc.terms_for(
        asset=env.regulated.ref,
        sender=env.regulated["alice"].address,
        receiver=receiver,
        amount=100,
        hashlock=HASHLOCK,
        deadline=deadline,
    )


def _lock_regulated(
    htlc: AlgorandHtlc, world: RegulatedWorld, receiver: str, deadline: int
) -> tuple[str, TxReceipt]:
    """alice locks 100 units of the bond for ``receiver`` (the terms of ``_regulated_terms``)."""
    return htlc.lock(
        asset=world.ref,
        receiver=receiver,
        amount=100,
        hashlock=HASHLOCK,
        deadline=deadline,
        signer=world["alice"],
    )


def _admit(world: RegulatedWorld, escrow: str, country: str, kyc_expiry: int) -> None:
    """The issuer whitelists ``escrow`` in ``country`` with KYC valid until ``kyc_expiry``."""
    admit_escrow(
        world.adapter, world.ref, escrow, world.issuer, country=country, kyc_expiry=kyc_expiry
    )


def test_regulated_preflight_then_set_up_then_claim(env: Worlds) -> None:
    ledger, world = env.ledger, env.regulated
    alice, carol = world["alice"], world["carol"]
    htlc = _htlc(ledger, world)
    deadline = ledger.last_round + 30
    terms = _regulated_terms(env, htlc, carol.address, deadline)
    escrow = terms.escrow
    check = htlc.preflight(terms)
    assert [(r.code, r.raw_code) for r in check.missing] == [
        (ReasonCode.RECIPIENT_NOT_ELIGIBLE, "ESCROW_NOT_WHITELISTED")
    ]
    assert "admit_escrow" in check.describe()
    before = ledger.asset_holding(alice.address, world.deployed.asset_id)
    with pytest.raises(TransferRefused) as refused:
        _lock_regulated(htlc, world, carol.address, deadline)
    assert refused.value.reason is ReasonCode.RECIPIENT_NOT_ELIGIBLE
    assert ledger.account_data(escrow) == {}  # nothing was sent
    assert ledger.asset_holding(alice.address, world.deployed.asset_id) == before

    _admit(world, escrow, "JP", world.chain.now() + KYC_YEAR)
    assert htlc.preflight(terms).ok
    lock_id, _ = _lock_regulated(htlc, world, carol.address, deadline)
    assert lock_id == escrow
    asset_id = world.deployed.asset_id
    assert ledger.asset_holding(escrow, asset_id) == {"a": 100, "f": True}
    assert world.adapter.holding(world.ref, escrow).balance == 100

    # a claim that names another receiver in the app call is refused by the program
    def to_bob(txns: list[tuple[Any, bool]]) -> None:
        call = txns[0][0]
        call.app_args[1] = key_from_address(world["bob"].address)
        call.accounts = [world["bob"].address]

    _refused_by_escrow(lambda: _raw_claim(htlc, terms, SECRET, mutate=to_bob))
    claimed = htlc.claim(lock_id, SECRET, world["bob"])
    assert ledger.asset_holding(carol.address, asset_id) == {"a": 100, "f": True}
    assert ledger.account_data(escrow) == {}
    assert htlc.secret_from_claim(claimed.tx_id) == SECRET
    assert htlc.get(lock_id).state == "claimed"
    release_escrow(world.adapter, world.ref, escrow, world.issuer)
    assert world.adapter.entry(world.deployed.app_id or 0, escrow) is None


def test_regulated_preflight_reports_each_missing_item(env: Worlds) -> None:
    ledger, world = env.ledger, env.regulated
    htlc = _htlc(ledger, world)
    deadline = ledger.last_round + 30
    world.adapter.agent_operation(world.ref, Capability.PAUSE, world.issuer, paused=True)
    late = _regulated_terms(env, htlc, world["late"].address, deadline)  # not opted in
    assert sorted((r.code, r.raw_code or "") for r in htlc.preflight(late).missing) == sorted(
        [
            (ReasonCode.TOKEN_PAUSED, "PAUSED"),
            (ReasonCode.RECIPIENT_NOT_ELIGIBLE, "ESCROW_NOT_WHITELISTED"),
            (ReasonCode.RECIPIENT_NOT_OPTED_IN, "RECEIVER_NOT_OPTED_IN"),
        ]
    )
    world.adapter.agent_operation(world.ref, Capability.PAUSE, world.issuer, paused=False)
    korea = _regulated_terms(env, htlc, world["kr"].address, deadline)
    _admit(world, korea.escrow, "JP", world.chain.now())  # already expired
    check = htlc.preflight(korea)
    assert [(r.code, r.raw_code) for r in check.missing] == [
        (ReasonCode.KYC_EXPIRED, "ESCROW_KYC_EXPIRED"),
        (ReasonCode.COUNTRY_RESTRICTED, "RECEIVER_COUNTRY"),
    ]
    stranger = _regulated_terms(env, htlc, world["stranger"].address, deadline)
    assert [r.raw_code for r in htlc.preflight(stranger).missing] == [
        "ESCROW_NOT_WHITELISTED",
        "RECEIVER_NOT_WHITELISTED",
    ]


def test_regulated_refund_only_from_the_deadline(env: Worlds) -> None:
    ledger, world = env.ledger, env.regulated
    alice, carol = world["alice"], world["carol"]
    asset_id = world.deployed.asset_id
    htlc = _htlc(ledger, world)
    deadline = ledger.last_round + 8
    terms = _regulated_terms(env, htlc, carol.address, deadline)
    _admit(world, terms.escrow, "SG", world.chain.now() + KYC_YEAR)
    units = ledger.asset_holding(alice.address, asset_id)
    algos = ledger.balance(alice.address)
    lock_id, locked = _lock_regulated(htlc, world, carol.address, deadline)
    with pytest.raises(SettlementError, match="not reached"):
        htlc.refund(lock_id, carol)
    ledger.advance(deadline - ledger.last_round - 1)
    # the two-transaction refund of an emptied escrow cannot move units past the app:
    # the escrow's holding is frozen, so closing it to the sender fails while it holds any
    empty_shape = settle_transactions(
        terms,
        htlc.chain.suggested_params(),
        claim=False,
        first=deadline,
        last=deadline + 10,
        emptied=True,
    )
    with pytest.raises(TransactionReverted, match="frozen"):
        htlc.send_group(empty_shape, terms)
    refunded = htlc.refund(lock_id, carol)
    assert ledger.asset_holding(alice.address, asset_id) == units
    assert ledger.account_data(lock_id) == {}
    # lock: funding 2 000 + app call 2 000; refund: app call 2 000 (with its inner
    # transfer) + asset close-out 1 000 + account close 1 000, out of the deposit
    assert (locked.fee_paid, refunded.fee_paid) == (2_000, 2_000)
    assert ledger.balance(alice.address) == algos - (2_000 + 2_000) - (2_000 + 1_000 + 1_000)
    assert htlc.get(lock_id).state == "refunded"


def test_same_code_path_over_http_algod(env: Worlds, algod_http: Any) -> None:
    """A plain py-algorand-sdk ``AlgodClient`` over HTTP drives the same adapter."""
    from algosdk.v2client.algod import AlgodClient

    ledger = env.ledger
    sender, receiver = env.cash["alice"], env.cash["bob"]
    htlc = AlgorandHtlc(AlgodClient("a" * 64, algod_http.url), from_round=ledger.last_round + 1)
    before = ledger.balance(receiver.address)
    lock_id, _ = _lock_algos(htlc, sender, receiver.address, 777_000, ledger.last_round + 10)
    claimed = htlc.claim(lock_id, SECRET, sender)
    assert ledger.balance(receiver.address) == before + 777_000
    assert htlc.secret_from_claim(claimed.tx_id) == SECRET
    assert [lock.state for lock in htlc.find(HASHLOCK)] == ["claimed"]


def test_regulated_issuer_override_then_refund_recovers_the_deposit(env: Worlds) -> None:
    """The issuer empties an escrow by forced transfer: no claim; from the deadline the
    empty holding and the account close to the sender."""
    ledger, world = env.ledger, env.regulated
    alice, carol = world["alice"], world["carol"]
    asset_id = world.deployed.asset_id
    htlc = _htlc(ledger, world)
    deadline = ledger.last_round + 8
    terms = _regulated_terms(env, htlc, carol.address, deadline)
    _admit(world, terms.escrow, "JP", world.chain.now() + KYC_YEAR)
    units = ledger.asset_holding(alice.address, asset_id)
    lock_id, _ = _lock_regulated(htlc, world, carol.address, deadline)
    world.adapter.agent_operation(
        world.ref,
        Capability.FORCED_TRANSFER,
        world.issuer,
        sender=lock_id,
        recipient=alice.address,
        amount=100,
    )
    assert ledger.asset_holding(alice.address, asset_id) == units
    with pytest.raises(SettlementError, match="not open"):
        htlc.claim(lock_id, SECRET, carol)
    algos = ledger.balance(alice.address)
    ledger.advance(deadline - ledger.last_round - 1)
    htlc.refund(lock_id, carol)
    assert ledger.account_data(lock_id) == {}
    assert ledger.balance(alice.address) == algos + terms.deposit - 2 * 1_000
    assert htlc.get(lock_id).state == "refunded"


# ---------------------------------------------------------------------------------- pure


def test_shipped_templates_match_their_sources() -> None:
    """``python -m adapters.algorand.htlc_build --check``: bytes and substitution agree."""
    from adapters.algorand import htlc_build

    assert htlc_build.main(["--check"]) == 0


_KEYS = st.binary(min_size=32, max_size=32)


@st.composite
def _terms(draw: st.DrawFn) -> HtlcTerms:
    kind = draw(st.sampled_from(list(HtlcKind)))
    sender, receiver = draw(st.lists(_KEYS, min_size=2, max_size=2, unique=True))
    asset = draw(st.integers(1, 2**64 - 1)) if kind is not HtlcKind.ALGO else 0
    return HtlcTerms(
        kind,
        draw(_KEYS),
        address_from_key(sender),
        address_from_key(receiver),
        draw(st.integers(1, 2**64 - 1)),
        draw(st.integers(2, 2**64 - 1)),
        draw(st.integers(2_000, 2**64 - 1)),
        asset_id=asset,
        app_id=draw(st.integers(1, 2**64 - 1)) if kind is HtlcKind.REGULATED else 0,
        creator=address_from_key(draw(_KEYS)) if kind is HtlcKind.REGULATED else None,
    )


@given(terms=_terms(), flip=st.integers(0, 10_000))
def test_escrow_program_commits_to_every_term(terms: HtlcTerms, flip: int) -> None:
    """Invariant: the escrow program of any valid terms decodes back to exactly those terms,
    and changing any one byte of it outside the constants makes it not ours (None), so the
    terms read from a lock's note or a claim's signature are the ones its address commits to.
    """
    program = terms.program
    assert HtlcTerms.from_program(program) == terms
    assert terms.escrow == HtlcTerms.from_program(program).escrow  # type: ignore[union-attr]
    constants = {
        i for offset, width in template_slots(program) for i in range(offset, offset + width)
    }
    code = [i for i in range(len(program)) if i not in constants]
    index = code[flip % len(code)]
    tampered = bytearray(program)
    tampered[index] ^= 0x01
    assert HtlcTerms.from_program(bytes(tampered)) is None


def test_terms_refuse_bad_input() -> None:
    a, b = (address_from_key(bytes([n]) * 32) for n in (1, 2))
    with pytest.raises(InvalidInput, match="hashlock"):
        HtlcTerms(HtlcKind.ALGO, HASHLOCK + b"\x00", a, b, 1, 10)
    with pytest.raises(InvalidInput, match="receiver"):
        HtlcTerms(HtlcKind.ALGO, HASHLOCK, a, a, 1, 10)
    with pytest.raises(InvalidInput, match="amount"):
        HtlcTerms(HtlcKind.ALGO, HASHLOCK, a, b, 0, 10)
    with pytest.raises(InvalidInput, match="asset"):
        HtlcTerms(HtlcKind.ASA, HASHLOCK, a, b, 1, 10)
    with pytest.raises(InvalidInput, match="creator"):
        HtlcTerms(HtlcKind.REGULATED, HASHLOCK, a, b, 1, 10, asset_id=5000, app_id=5001)


class MemoryJournal:
    """A signed-transaction journal in memory (the relayer keeps it in its store)."""

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def stored(self, key: str) -> bytes | None:
        return self.kept.get(key)

    def keep(self, key: str, signed: bytes) -> bytes:
        return self.kept.setdefault(key, signed)

    def forget(self, key: str) -> None:
        self.kept.pop(key, None)


def test_a_retried_lock_sends_the_group_signed_first(
    env: Worlds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first submission of a lock never reaches algod (the fault is injected: the node
    is unreachable); rounds pass. The retry, inside the same journal, sends the group signed
    the first time (same transaction id), not a group built on newer suggested parameters."""
    from bridge.errors import ChainUnavailable
    from bridge.journal import journaled

    ledger = env.ledger
    sender, receiver = env.cash["alice"], env.cash["bob"]
    htlc = _htlc(ledger)
    submit = htlc.chain.submit

    def unreachable(signed: bytes) -> str:
        raise ChainUnavailable("algod is unreachable (injected)")

    journal = MemoryJournal()
    lock = {
        "asset": None,
        "receiver": receiver.address,
        "amount": 1_000_000,
        "hashlock": hashlib.sha256(b"journal").digest(),
        "deadline": ledger.last_round + 50,
        "signer": sender,
    }
    with journaled(journal):
        monkeypatch.setattr(htlc.chain, "submit", unreachable)
        with pytest.raises(ChainUnavailable):
            htlc.lock(**lock)  # type: ignore[arg-type]
        ((_, envelope),) = journal.kept.items()
        first_id = envelope[:52].decode()
        monkeypatch.setattr(htlc.chain, "submit", submit)
        ledger.advance(3)  # newer suggested parameters: a rebuilt group would differ
        lock_id, receipt = htlc.lock(**lock)  # type: ignore[arg-type]
    assert receipt.tx_id == first_id
    assert htlc.get(lock_id).state == "open"
    assert ledger.balance(lock_id) == 1_000_000 + MIN_BALANCE + DEFAULT_FEE_CAP  # funded once
