"""The regulated ASA on the embedded go-algorand ledger: reads, every refusal, agent
operations, the holder count, ARC-3 metadata, bad input, and the algod-over-HTTP path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from algosdk.v2client.algod import AlgodClient

from adapters.algorand import arc3
from adapters.algorand.chain import AlgodChain
from adapters.algorand.http_server import AlgodHttpServer
from adapters.algorand.inspect import inspect_algorand
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.regulated import RegulatedAsaAdapter
from adapters.algorand.signer import AlgorandSigner
from bridge.errors import ChainUnavailable, InvalidInput, NotFound, TransactionReverted
from bridge.model import (
    AlgorandAsaLocator,
    AllowListRule,
    BondTerms,
    Capability,
    CountryAllowRule,
    InvestorClass,
    LockupRule,
    SupplyCapRule,
    TransferIntent,
)
from bridge.reasons import ReasonCode
from tests.fixtures.algorand_assets import KYC_YEAR, RegulatedWorld, build_regulated_world, restored

pytestmark = pytest.mark.timeout(300)
R = ReasonCode
DAY = 86_400


@pytest.fixture(scope="module")
def module_world(
    embedded_ledger: EmbeddedLedger, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegulatedWorld]:
    """Deployed once per module; the session ledger is restored when the module ends."""
    with restored(embedded_ledger):
        yield build_regulated_world(embedded_ledger, Path(tmp_path_factory.mktemp("arc3")))


@pytest.fixture
def world(module_world: RegulatedWorld) -> Iterator[RegulatedWorld]:
    """The module's world, restored to its deployed state after each test."""
    with restored(module_world.ledger):
        yield module_world


def _intent(world: RegulatedWorld, sender: str, receiver: str, amount: int) -> TransferIntent:
    return TransferIntent(
        asset=world.ref,
        sender=world[sender].address,
        recipient=world[receiver].address,
        amount=amount,
    )


def _whitelist(world: RegulatedWorld, name: str, country: str, kyc: int, lock: int = 0) -> None:
    world.adapter.agent_operation(
        world.ref,
        Capability.WHITELIST,
        world.issuer,
        holder=world[name].address,
        country=country,
        investor_class=InvestorClass.PROFESSIONAL,
        kyc_expiry=kyc,
        lockup_end=lock,
    )


# ---------------------------------------------------------------------------- reading


def test_asset_reads_with_terms_rules_and_circulating_supply(world: RegulatedWorld) -> None:
    asset = world.adapter.read_asset(world.ref)
    assert asset.standard.value == "regulated_asa"
    assert asset.locator.kind == "algorand_asa"
    assert asset.locator.app_id == world.deployed.app_id
    assert asset.name == "Tokyo Green Bond 2031"
    assert asset.symbol == "TGB31"
    assert asset.total_supply == 1_500  # minted to alice and bob; the rest is in the reserve
    assert isinstance(asset.terms, BondTerms)
    assert asset.terms.face_value == 1_000_000
    assert asset.identifiers[0].value == "JP3633400001"
    assert asset.home_jurisdiction == "JP"
    assert not asset.paused
    assert asset.active
    kinds = {rule.kind: rule for rule in asset.rules}
    allow = kinds["country_allow"]
    assert isinstance(allow, CountryAllowRule)
    assert allow.countries == ("JP", "SG", "US")
    cap = kinds["supply_cap"]
    assert isinstance(cap, SupplyCapRule)
    assert cap.limit == 1_000_000
    listed = kinds["allow_list"]
    assert isinstance(listed, AllowListRule)
    assert world["alice"].address in listed.addresses
    assert world["stranger"].address not in listed.addresses
    roles = {r.role: r.holder for r in asset.roles}
    assert roles["admin"] == world.issuer.address
    assert roles["clawback"] == roles["freeze"] == roles["compliance_app"]


def test_metadata_hash_of_the_created_asset_verifies(world: RegulatedWorld) -> None:
    info = world.adapter.info(world.ref)
    assert info.url.endswith("#arc3")
    assert len(info.url) <= 96
    assert info.metadata_hash == hashlib.sha256(world.deployed.metadata).digest()
    assert arc3.verify(world.deployed.metadata, info.metadata_hash)
    (document,) = world.adapter.read_asset(world.ref).documents
    assert document.hash == info.metadata_hash.hex()
    assert document.uri == arc3.resolve_url(info.url, info.asset_id)


def test_tampered_metadata_is_refused(world: RegulatedWorld) -> None:
    store = world.adapter.metadata
    assert isinstance(store, arc3.ContentStore)
    path = store.root / world.deployed.metadata_url.removeprefix("ipfs://").removesuffix("#arc3")
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"1000000", b"9000000"))
        with pytest.raises(InvalidInput, match="metadata_hash") as info:
            world.adapter.read_asset(world.ref)
        assert info.value.field == "metadata"
    finally:
        path.write_bytes(original)
    assert world.adapter.read_asset(world.ref).terms is not None


def test_holders_and_holdings(world: RegulatedWorld) -> None:
    holders = {h.holder: h.balance for h in world.adapter.holders(world.ref)}
    assert holders == {world["alice"].address: 1_000, world["bob"].address: 500}
    late = world.adapter.holding(world.ref, world["late"].address)
    assert late.opted_in is False
    assert late.balance == 0


def test_eligibility_from_the_whitelist(world: RegulatedWorld) -> None:
    alice = world.adapter.eligibility(world.ref, world["alice"].address)
    assert alice.eligible
    assert alice.investor is not None
    assert alice.investor.country == "JP"
    assert alice.investor.classifications[0].investor_class is InvestorClass.PROFESSIONAL
    assert alice.investor.claims[0].valid_until is not None
    assert world.adapter.eligibility(world.ref, world["stranger"].address).missing == ("whitelist",)
    assert world.adapter.eligibility(world.ref, world["kr"].address).missing == ("country",)
    assert world.adapter.eligibility(world.ref, world["late"].address).missing == ("opt_in",)


# ---------------------------------------------------------------------------- every refusal


def _none(world: RegulatedWorld) -> None:
    return None


def _expire_carol(world: RegulatedWorld) -> None:
    _whitelist(world, "carol", "JP", kyc=1)


def _jump_past_kyc(world: RegulatedWorld) -> None:
    world.ledger.jump_time(KYC_YEAR + DAY)


def _lock_alice(world: RegulatedWorld) -> None:
    _whitelist(world, "alice", "JP", kyc=world.chain.now() + KYC_YEAR, lock=world.chain.now() + DAY)


def _max_balance(world: RegulatedWorld) -> None:
    world.adapter.set_rules(
        world.ref, world.issuer, max_balance=1_200, countries=("JP", "SG", "US")
    )


def _max_holders(world: RegulatedWorld) -> None:
    world.adapter.set_rules(world.ref, world.issuer, max_holders=2, countries=("JP", "SG", "US"))


def _freeze(name: str) -> Callable[[RegulatedWorld], None]:
    def run(world: RegulatedWorld) -> None:
        world.adapter.agent_operation(
            world.ref, Capability.ADDRESS_FREEZE, world.issuer, holder=world[name].address
        )

    return run


def _pause(world: RegulatedWorld) -> None:
    world.adapter.agent_operation(world.ref, Capability.PAUSE, world.issuer)


CASES: list[tuple[str, Callable[[RegulatedWorld], None], str, str, int, ReasonCode]] = [
    ("whitelisted", _none, "alice", "bob", 10, R.OK),
    ("receiver not whitelisted", _none, "alice", "stranger", 1, R.RECIPIENT_NOT_ELIGIBLE),
    ("sender not whitelisted", _none, "stranger", "alice", 1, R.SENDER_NOT_ELIGIBLE),
    ("receiver KYC expired", _expire_carol, "alice", "carol", 1, R.KYC_EXPIRED),
    ("sender KYC expired", _jump_past_kyc, "alice", "bob", 1, R.KYC_EXPIRED),
    ("country not allowed", _none, "alice", "kr", 1, R.COUNTRY_RESTRICTED),
    ("in lock-up", _lock_alice, "alice", "bob", 1, R.FUNDS_LOCKED),
    ("over max balance", _max_balance, "alice", "bob", 701, R.MAX_BALANCE_EXCEEDED),
    ("at max balance", _max_balance, "alice", "bob", 700, R.OK),
    ("over max holders", _max_holders, "alice", "carol", 1, R.MAX_HOLDERS_REACHED),
    ("max holders, sender leaves", _max_holders, "bob", "carol", 500, R.OK),
    ("not opted in", _none, "alice", "late", 1, R.RECIPIENT_NOT_OPTED_IN),
    ("sender frozen", _freeze("alice"), "alice", "bob", 1, R.SENDER_FROZEN),
    ("receiver frozen", _freeze("bob"), "alice", "bob", 1, R.RECIPIENT_FROZEN),
    ("paused", _pause, "alice", "bob", 1, R.TOKEN_PAUSED),
    ("over balance", _none, "alice", "bob", 1_001, R.INSUFFICIENT_BALANCE),
    ("zero amount", _none, "carol", "alice", 0, R.OK),
]


@pytest.mark.parametrize(
    ("setup", "sender", "receiver", "amount", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_dry_run_reason_is_the_chain_reason(
    world: RegulatedWorld,
    setup: Callable[[RegulatedWorld], None],
    sender: str,
    receiver: str,
    amount: int,
    expected: ReasonCode,
) -> None:
    setup(world)
    intent = _intent(world, sender, receiver, amount)
    head = world.ledger.last_round
    verdict = world.adapter.check_transfer(intent)
    assert world.ledger.last_round == head  # the dry run sent nothing
    assert verdict.reason is expected
    if expected is R.OK:
        world.adapter.transfer(intent, world[sender])
        return
    with pytest.raises(TransactionReverted) as refused:
        world.adapter.transfer(intent, world[sender])
    assert refused.value.reason is expected
    assert world.ledger.last_round == head


def test_lock_up_ends_with_chain_time(world: RegulatedWorld) -> None:
    _lock_alice(world)
    intent = _intent(world, "alice", "bob", 1)
    assert world.adapter.check_transfer(intent).reason is R.FUNDS_LOCKED
    lockups = [r for r in world.adapter.read_asset(world.ref).rules if isinstance(r, LockupRule)]
    assert [r.holder for r in lockups] == [world["alice"].address]
    world.ledger.jump_time(DAY + 60)
    assert world.adapter.check_transfer(intent).allowed
    world.adapter.transfer(intent, world["alice"])
    assert world.adapter.holding(world.ref, world["bob"].address).balance == 501


# ---------------------------------------------------------------------------- agent operations


def test_mint_and_burn_move_the_circulating_supply(world: RegulatedWorld) -> None:
    adapter, ref, issuer = world.adapter, world.ref, world.issuer
    adapter.agent_operation(
        ref, Capability.MINT, issuer, recipient=world["carol"].address, amount=7
    )
    assert adapter.read_asset(ref).total_supply == 1_507
    adapter.agent_operation(ref, Capability.BURN, issuer, holder=world["alice"].address, amount=100)
    assert adapter.read_asset(ref).total_supply == 1_407
    assert adapter.holding(ref, world["alice"].address).balance == 900
    with pytest.raises(TransactionReverted) as refused:
        adapter.agent_operation(
            ref, Capability.MINT, issuer, recipient=world["kr"].address, amount=1
        )
    assert refused.value.reason is R.COUNTRY_RESTRICTED


def test_forced_transfer_bypasses_freeze_and_pause(world: RegulatedWorld) -> None:
    adapter, ref, issuer = world.adapter, world.ref, world.issuer
    _freeze("alice")(world)
    _pause(world)
    assert adapter.holding(ref, world["alice"].address).frozen == 1_000
    intent = TransferIntent(
        asset=ref,
        sender=world["alice"].address,
        recipient=world["carol"].address,
        amount=400,
        operator=issuer.address,
    )
    assert adapter.check_transfer(intent).allowed
    adapter.transfer(intent, issuer)
    assert adapter.holding(ref, world["carol"].address).balance == 400
    assert adapter.holding(ref, world["alice"].address).balance == 600


def test_agent_operations_by_a_non_admin_are_refused(world: RegulatedWorld) -> None:
    with pytest.raises(TransactionReverted) as refused:
        world.adapter.agent_operation(world.ref, Capability.PAUSE, world["alice"])
    assert refused.value.reason is R.OPERATOR_NOT_AUTHORIZED
    assert not world.adapter.read_asset(world.ref).paused


def test_whitelist_remove_only_without_units(world: RegulatedWorld) -> None:
    adapter, ref, issuer = world.adapter, world.ref, world.issuer
    with pytest.raises(TransactionReverted) as refused:
        adapter.agent_operation(
            ref, Capability.WHITELIST, issuer, holder=world["bob"].address, remove=True
        )
    assert refused.value.raw_message is not None
    assert "HOLDS_UNITS" in refused.value.message
    adapter.agent_operation(
        ref, Capability.WHITELIST, issuer, holder=world["carol"].address, remove=True
    )
    assert adapter.entry(world.deployed.app_id or 0, world["carol"].address) is None
    assert adapter.check_transfer(_intent(world, "alice", "carol", 1)).reason is (
        R.RECIPIENT_NOT_ELIGIBLE
    )


def test_live_holder_count_follows_moves(world: RegulatedWorld) -> None:
    adapter, app_id = world.adapter, world.deployed.app_id or 0
    assert adapter.app_state(app_id).holders == 2
    adapter.transfer(_intent(world, "alice", "carol", 10), world["alice"])
    assert adapter.app_state(app_id).holders == 3
    adapter.transfer(_intent(world, "bob", "carol", 500), world["bob"])
    assert adapter.app_state(app_id).holders == 2
    adapter.agent_operation(
        world.ref, Capability.BURN, world.issuer, holder=world["carol"].address, amount=510
    )
    assert adapter.app_state(app_id).holders == 1


# ---------------------------------------------------------------------------- bad input


def _bad_checksum(address: str) -> str:
    """``address`` with one data character changed: well-formed base32, wrong checksum."""
    return address[:56] + ("A" if address[56] != "A" else "B") + address[57]


def test_bad_input_is_refused_before_anything_is_sent(world: RegulatedWorld) -> None:
    adapter, ref = world.adapter, world.ref
    BAD_CHECKSUM = _bad_checksum(world["bob"].address)  # noqa: N806
    head = world.ledger.last_round
    with pytest.raises(InvalidInput) as bad:
        adapter.holding(ref, BAD_CHECKSUM)
    assert "checksum" in str(bad.value)
    unchecked = TransferIntent.model_construct(
        asset=ref, sender=world["alice"].address, recipient=BAD_CHECKSUM, amount=1
    )
    with pytest.raises(InvalidInput) as bad:
        adapter.transfer(unchecked, world["alice"])
    assert bad.value.field == "recipient"
    too_much = _intent(world, "alice", "bob", 2**64)
    with pytest.raises(InvalidInput) as bad:
        adapter.transfer(too_much, world["alice"])
    assert bad.value.field == "amount"
    with pytest.raises(InvalidInput):
        adapter.check_transfer(too_much)
    with pytest.raises(InvalidInput) as bad:
        adapter.agent_operation(
            ref, Capability.MINT, world.issuer, recipient=world["bob"].address, amount=2**64
        )
    assert bad.value.field == "amount"
    with pytest.raises(NotFound):
        adapter.read_asset(adapter.ref(999_999))
    assert world.ledger.last_round == head


def test_signer_never_shows_its_key() -> None:
    signer = AlgorandSigner.generate()
    assert signer.address in repr(signer)
    assert repr(signer) == str(signer) == f"AlgorandSigner({signer.address})"
    assert not any(k for k in dir(signer) if "key" in k.lower() and not k.startswith("_"))


# ---------------------------------------------------------------------------- algod over HTTP


def test_read_path_through_an_algod_shaped_http_server(world: RegulatedWorld) -> None:
    with AlgodHttpServer(world.ledger, token="a" * 64, wait_timeout=0.0) as server:
        client = AlgodClient("a" * 64, server.url)
        adapter = RegulatedAsaAdapter(AlgodChain(client), metadata=world.adapter.metadata)
        over_http = adapter.read_asset(world.ref)
        in_process = world.adapter.read_asset(world.ref)
        assert over_http == in_process
        intent = _intent(world, "alice", "kr", 1)
        assert adapter.check_transfer(intent).reason is R.COUNTRY_RESTRICTED
        store = world.adapter.metadata
        assert isinstance(store, arc3.ContentStore)
        result = inspect_algorand(
            algod=server.url,
            token="a" * 64,
            asset_id=world.deployed.asset_id,
            holders=True,
            metadata=store,
        )
        assert result.asset == in_process
        assert {h.holder for h in result.holdings} == {
            world["alice"].address,
            world["bob"].address,
        }
        assert result.stats["algod_calls"] > 0
        plain = inspect_algorand(
            algod=server.url, token="a" * 64, asset_id=world.deployed.asset_id, standard="asa"
        )
        assert plain.asset.standard.value == "asa"


def test_inspect_errors_name_the_problem() -> None:
    with pytest.raises(InvalidInput) as bad:
        inspect_algorand(algod="ftp://example.org", asset_id=1)
    assert bad.value.field == "algod"
    with pytest.raises(InvalidInput) as bad:
        inspect_algorand(algod="http://127.0.0.1:9", asset_id=0)
    assert bad.value.field == "asset_id"
    with pytest.raises(InvalidInput) as bad:
        inspect_algorand(algod="http://127.0.0.1:9", asset_id=5, standard="erc20")
    assert bad.value.field == "standard"
    with pytest.raises(ChainUnavailable):
        inspect_algorand(algod="http://127.0.0.1:9", asset_id=5)


def test_shipped_teal_artifacts_match_the_sources() -> None:
    """Reassembling the TEAL with the evaluator's assembler gives the shipped bytes."""
    from adapters.algorand.teal import build

    assert build.main(["--check"]) == 0


def test_inspect_embedded_reads_the_demo_assets() -> None:
    """``--algod embedded`` builds the demo world and reads it like any algod."""
    from adapters.algorand.demo import DEMO_IDS

    bond = inspect_algorand(algod="embedded", asset_id=DEMO_IDS["bond"], holders=True)
    assert bond.asset.standard.value == "regulated_asa"
    assert isinstance(bond.asset.locator, AlgorandAsaLocator)
    assert bond.asset.locator.app_id == DEMO_IDS["bond_app"]
    assert sorted(h.balance for h in bond.holdings) == [500, 1_000]
    assert bond.asset.total_supply == 1_500
    with pytest.raises(NotFound):
        inspect_algorand(algod="embedded", asset_id=999_999)


def test_program_cannot_be_changed_deleted_or_rebound(world: RegulatedWorld) -> None:
    """Update, delete and opt-in calls are refused (BAD_CALL); a second bind is refused."""
    from algosdk import transaction

    from adapters.algorand.regulated import encode_arg
    from adapters.algorand.teal import approval_program, clear_program

    app_id = world.deployed.app_id or 0
    issuer = world.issuer
    sp = world.chain.suggested_params()
    attempts = [
        transaction.ApplicationUpdateTxn(  # type: ignore[no-untyped-call]
            issuer.address, sp, app_id, approval_program(), clear_program()
        ),
        transaction.ApplicationDeleteTxn(issuer.address, sp, app_id),  # type: ignore[no-untyped-call]
        transaction.ApplicationOptInTxn(issuer.address, sp, app_id),  # type: ignore[no-untyped-call]
    ]
    for txn in attempts:
        (signed,) = issuer.sign_many([txn])
        with pytest.raises(TransactionReverted) as refused:
            world.chain.submit_group([signed])
        assert world.adapter.refusal_for(refused.value.raw_message or "", sender="").raw_code == (
            "BAD_CALL"
        )
    with pytest.raises(TransactionReverted) as refused:
        world.adapter.call(
            app_id,
            "bind",
            [encode_arg("uint64", world.deployed.asset_id, "asset_id")],
            issuer,
            asset_id=world.deployed.asset_id,
        )
    assert "ALREADY_BOUND" in refused.value.message
