"""The translator's pure half: capability matrix, plans, loss reports, refusal.

The chain half (deploy the plan, read it back) is in ``tests/property/test_translate_chains.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import InvalidInput
from bridge.model import (
    AllowListRule,
    Asset,
    BondTerms,
    Capability,
    ClaimType,
    CountryAllowRule,
    CountryDenyRule,
    Document,
    EquityTerms,
    EvmChain,
    EvmContractLocator,
    Holding,
    Identifier,
    IssuerApprovalRule,
    LockupRule,
    MaxBalanceRule,
    MaxHoldersRule,
    RequiredClaimsRule,
    Standard,
    SupplyCapRule,
    VolumeLimitRule,
)
from bridge.translate import (
    MATRIX,
    SECURITY_STANDARDS,
    Erc1400Plan,
    Erc3643Plan,
    Feature,
    LossKind,
    LossyTranslation,
    RegulatedAsaPlan,
    differences,
    expected_asset,
    profile,
    translate,
    unexpressed,
)
from bridge.types import to_checksum_address
from tests.strategies import assets

ALICE = to_checksum_address("0x" + "a1" * 20)
BOB = to_checksum_address("0x" + "b2" * 20)
DAVE = to_checksum_address("0x" + "dd" * 20)
TREX_CONTROLS = (
    Capability.MINT,
    Capability.BURN,
    Capability.PAUSE,
    Capability.ADDRESS_FREEZE,
    Capability.PARTIAL_FREEZE,
    Capability.FORCED_TRANSFER,
    Capability.RECOVERY,
    Capability.IDENTITY_REGISTRATION,
)


securities = assets().filter(lambda a: a.terms is None or a.terms.kind != "cash")


def trex_asset(**extra: object) -> Asset:
    """The demo T-REX token as its adapter reads it: KYC, JP/SG allowed, max balance."""
    fields: dict[str, object] = {
        "chain": EvmChain(chain_id=1337),
        "locator": EvmContractLocator(address="0x" + "11" * 20),
        "standard": Standard.ERC3643,
        "name": "Tokyo Office Trust",
        "symbol": "TOT",
        "decimals": 0,
        "total_supply": 800_000,
        "rules": (
            RequiredClaimsRule(claim_types=(ClaimType.KYC,), topics=(1,)),
            CountryAllowRule(countries=("JP", "SG")),
            MaxBalanceRule(limit=1_000_000, per="identity"),
        ),
        "controls": TREX_CONTROLS,
    }
    fields.update(extra)
    return Asset.model_validate(fields)


def test_every_standard_has_a_row_for_every_feature() -> None:
    for standard in (*SECURITY_STANDARDS, Standard.ERC20, Standard.ASA):
        assert set(MATRIX[standard]) == set(Feature), standard
    cell = MATRIX[Standard.ERC3643][Feature.PARTITIONS]
    assert cell.level == "none"
    assert MATRIX[Standard.ERC1400][Feature.PARTITIONS].level == "native"


def test_same_standard_is_lossless_but_for_split_state() -> None:
    result = translate(trex_asset(), "erc3643", allow_loss=[LossKind.CROSS_CHAIN_STATE])
    assert result.report.reading_features == frozenset()
    (split,) = result.report.entries
    assert (split.scope, split.feature, split.off_chain_rule) == (
        "split",
        Feature.BALANCE_CAP,
        "token.max_balance",
    )
    assert isinstance(result.plan, Erc3643Plan)
    assert [m.name for m in result.plan.modules] == ["CountryAllowModule", "MaxBalanceModule"]
    assert result.plan.claim_topics == (1,)


def test_lossy_translation_is_refused_naming_the_losses() -> None:
    with pytest.raises(LossyTranslation) as refused:
        translate(trex_asset(), Standard.ERC1400)
    message = str(refused.value)
    assert "identity:identity" in message
    assert "rules:country_rules" in message
    assert "controller_powers:partial_freeze" in message
    assert "--allow-loss" in message
    assert refused.value.exit_code == 1
    # accepting some kinds is not enough
    with pytest.raises(LossyTranslation) as still:
        translate(trex_asset(), Standard.ERC1400, allow_loss=["identity"])
    assert all(e.kind is not LossKind.IDENTITY for e in still.value.losses)


def test_trex_to_regulated_asa_report_says_what_happens_instead() -> None:
    result = translate(trex_asset(), Standard.REGULATED_ASA, allow_loss="all")
    by_feature = {(e.feature, e.scope): e for e in result.report.entries}
    # the ASA caps per wallet, T-REX per identity: enforced off chain by the relayer's rule
    cap = by_feature[(Feature.BALANCE_CAP, "reading")]
    assert (cap.handling, cap.off_chain_rule) == ("enforced_off_chain", "token.max_balance")
    # the ASA's total is a cap the source did not have
    assert by_feature[(Feature.SUPPLY_CAP, "reading")].handling == "approximated"
    assert by_feature[(Feature.PARTIAL_FREEZE, "reading")].handling == "lost"
    assert (Feature.COUNTRY_RULES, "reading") not in by_feature  # carried natively
    assert (Feature.IDENTITY, "reading") not in by_feature  # KYC is what the ASA requires
    assert by_feature[(Feature.BALANCE_CAP, "split")].kind is LossKind.CROSS_CHAIN_STATE
    plan = result.plan
    assert isinstance(plan, RegulatedAsaPlan)
    assert (plan.countries, plan.max_balance) == (("JP", "SG"), 1_000_000)


def test_decimals_rescale_amounts_and_report_rounding() -> None:
    source = trex_asset(
        decimals=2,
        rules=(MaxBalanceRule(limit=1_550, per="identity"), SupplyCapRule(limit=10_000)),
    )
    result = translate(source, Standard.IBET_SHARE, allow_loss="all")
    features = result.report.reading_features
    assert Feature.DECIMALS in features
    # 15.50 units cannot be held in whole shares; 100 units can (ibet cannot express either
    # rule, so both are enforced off-chain and the values are the source's)
    entry = next(e for e in result.report.entries if e.feature is Feature.DECIMALS)
    assert (entry.source_value, entry.target_value) == ("2", "0")
    asa = translate(source, Standard.REGULATED_ASA, allow_loss="all")
    assert isinstance(asa.plan, RegulatedAsaPlan)
    assert (asa.plan.decimals, asa.plan.capacity, asa.plan.max_balance) == (2, 10_000, 1_550)


def test_decimals_above_the_target_round_caps_down() -> None:
    source = trex_asset(
        chain=EvmChain(chain_id=5), decimals=20, rules=(SupplyCapRule(limit=123 * 10**18 + 5),)
    )
    source = source.model_copy(update={"standard": Standard.ERC1400})
    result = translate(source, Standard.ERC3643, allow_loss="all")
    assert isinstance(result.plan, Erc3643Plan)
    assert result.plan.decimals == 18
    (supply,) = result.plan.modules
    assert supply.calls[0].args == (123 * 10**16,)  # rounded down, 5 base units lost
    assert {Feature.DECIMALS, Feature.SUPPLY_CAP} <= result.report.reading_features


def test_erc1400_carries_whitelist_lockups_and_documents() -> None:
    until = datetime(2031, 1, 1, tzinfo=UTC)
    source = trex_asset(
        standard=Standard.ERC1400,
        decimals=6,
        rules=(
            AllowListRule(addresses=(ALICE, BOB)),
            LockupRule(until=until, holder=ALICE),
        ),
        documents=(Document(name="prospectus", uri="ipfs://x", hash="ab" * 32, hash_alg="sha256"),),
        controls=(Capability.PARTITIONS, Capability.FORCED_TRANSFER, Capability.PAUSE),
    )
    result = translate(source, Standard.ERC1400)
    assert result.report.lossless
    plan = result.plan
    assert isinstance(plan, Erc1400Plan)
    assert [lock.until for lock in plan.lockups] == [int(until.timestamp())]
    # the same to ERC-3643: the whitelist becomes TransferRestrictModule ("either"), and
    # lock-ups, partitions and documents are not expressed
    trex = translate(source, Standard.ERC3643, allow_loss="all").report.reading_features
    assert {Feature.ALLOW_LIST, Feature.LOCKUP, Feature.PARTITIONS, Feature.DOCUMENTS} <= trex


def test_ibet_terms_are_carried_exactly_when_ibet_can_hold_them() -> None:
    share = EquityTerms(
        currency="JPY",
        issue_price=1_000,
        principal_value=800,
        dividend_per_share=12,
        dividend_payment_date=datetime(2027, 3, 15).date(),
    )
    # an ibet reading: registered recipients and the issuer, who always receives
    source = trex_asset(
        standard=Standard.IBET_SHARE,
        home_jurisdiction="JP",
        terms=share,
        rules=(IssuerApprovalRule(), AllowListRule(addresses=(ALICE, BOB), scope="recipient")),
        controls=(Capability.PAUSE, Capability.FORCED_TRANSFER),
    ).model_copy(update={"issuer": BOB})
    assert translate(source, Standard.IBET_SHARE).report.lossless
    to_bond = translate(source, Standard.IBET_BOND, allow_loss="all")
    assert to_bond.report.reading_features == {Feature.TERMS}
    bond = BondTerms(currency="USD", face_value=100, issue_date=datetime(2026, 1, 1).date())
    lossy = translate(source.model_copy(update={"terms": bond}), "ibet_bond", allow_loss="all")
    assert Feature.TERMS in lossy.report.reading_features  # ibet reads no issue date


def test_cross_family_addresses_are_not_carried() -> None:
    algo = "A" * 58
    source = trex_asset(standard=Standard.ERC1400, rules=(AllowListRule(addresses=(ALICE,)),))
    moved = translate(source, Standard.REGULATED_ASA, allow_loss="all")
    entry = next(e for e in moved.report.entries if e.feature is Feature.ALLOW_LIST)
    assert entry.kind is LossKind.IDENTITY
    assert entry.handling == "enforced_off_chain"
    assert entry.off_chain_rule == "token.allow_list"
    assert algo not in moved.model_dump_json()


def test_in_flight_state_and_holder_eligibility() -> None:
    holdings = (
        Holding(holder=ALICE, balance=100, free=60, frozen=40),
        Holding(holder=BOB, balance=10, free=10, locked={"0x" + "cc" * 20: 5}, pending=3),
        Holding(
            holder=DAVE,
            balance=7,
            free=7,
            by_partition={"0x" + "01" * 32: 3, "0x" + "02" * 32: 4},
        ),
    )
    source = trex_asset(standard=Standard.ERC1400, rules=(AllowListRule(addresses=(ALICE,)),))
    result = translate(source, Standard.ERC1404, holdings=holdings, allow_loss="all")
    in_flight = [e for e in result.report.entries if e.scope == "in_flight"]
    summary = {(e.holder, e.feature, e.kind) for e in in_flight}
    assert (ALICE, Feature.PARTIAL_FREEZE, LossKind.IN_FLIGHT) in summary
    assert (BOB, Feature.LOCKUP, LossKind.IN_FLIGHT) in summary
    assert (BOB, Feature.TRANSFER_APPROVAL, LossKind.IN_FLIGHT) in summary
    assert (DAVE, Feature.PARTITIONS, LossKind.PARTITIONS) in summary
    # alice is whitelisted by the plan; bob is not, so he must be listed before a move
    not_eligible = {e.holder for e in in_flight if e.feature is Feature.IDENTITY}
    assert BOB in not_eligible
    assert ALICE not in not_eligible
    with pytest.raises(LossyTranslation):
        translate(source, Standard.ERC1404, holdings=holdings, allow_loss=["identity", "rules"])


def test_expected_reading_of_a_regulated_asa_plan() -> None:
    plan = RegulatedAsaPlan(
        name="Tokyo Green Bond",
        symbol="TGB",
        decimals=0,
        capacity=10**6,
        countries=("JP",),
        identifiers=(Identifier(kind="isin", value="JP3633400001"),),
    )
    asset = expected_asset(plan)
    kinds = sorted(r.kind for r in asset.rules)
    assert kinds == ["allow_list", "country_allow", "required_claims", "supply_cap"]
    assert asset.identifiers == plan.identifiers


def test_bad_targets_are_refused_with_the_field() -> None:
    from bridge.errors import InvalidInput

    with pytest.raises(InvalidInput, match="target"):
        translate(trex_asset(), "nonsense")
    with pytest.raises(InvalidInput, match="security standards"):
        translate(trex_asset(), "erc20")


def test_volume_limits_and_country_rules_on_trex() -> None:
    source = trex_asset(
        rules=(
            VolumeLimitRule(
                window_seconds=86_400,
                amount=500,
                window="fixed",
                per="identity",
                agents_exempt=True,
            ),
            CountryDenyRule(countries=("KP",)),
            MaxHoldersRule(limit=99),
        )
    )
    result = translate(source, Standard.ERC3643, allow_loss="all")
    assert result.report.reading_features == {Feature.HOLDER_CAP}
    holder = next(e for e in result.report.entries if e.scope == "reading")
    assert (holder.handling, holder.off_chain_rule) == ("enforced_off_chain", "token.max_holders")


@given(
    asset=securities,
    target=st.sampled_from(SECURITY_STANDARDS),
    issuer=st.sampled_from((ALICE, BOB, DAVE)),
)
def test_report_is_the_difference_and_agrees_with_the_matrix(
    asset: Asset, target: Standard, issuer: str
) -> None:
    """For any canonical asset, security target and deployer (``issuer``): the report's
    reading entries are exactly the features where the expected target reading differs from
    the source's, and they are exactly the features the capability matrix says the target
    cannot express, plus the allow list when an ibet target would admit an issuer the
    source's list does not (ibet always admits its issuer; the matrix cannot see keys)."""
    result = translate(asset, target, allow_loss="all", issuer=issuer)
    diff = {d.feature for d in differences(profile(asset), result.expected)}
    assert result.report.reading_features == diff
    matrix = set(unexpressed(profile(asset), target))
    listed = {a.lower() for r in asset.rules if isinstance(r, AllowListRule) for a in r.addresses}
    adds_issuer = (
        target in (Standard.IBET_SHARE, Standard.IBET_BOND)
        and bool(profile(asset)[Feature.ALLOW_LIST])
        and Feature.ALLOW_LIST not in matrix
        and issuer.lower() not in listed
    )
    assert matrix | ({Feature.ALLOW_LIST} if adds_issuer else set()) == diff
    for entry in result.report.entries:
        assert (entry.handling == "enforced_off_chain") == (entry.off_chain_rule is not None)
    if not result.report.entries:
        translate(asset, target, issuer=issuer)  # nothing to accept: no refusal


def test_an_ibet_target_admits_its_issuer() -> None:
    """Regression (thorough erc3643 -> ibet_share): ibet reads its issuer among the admitted
    recipients and the sender unchecked; the prediction says so and the plan names the
    issuer, by default the source's own."""
    source = trex_asset(rules=(AllowListRule(addresses=(ALICE,), scope="either"),)).model_copy(
        update={"issuer": DAVE}
    )
    result = translate(source, Standard.IBET_SHARE, allow_loss="all")
    assert result.plan.issuer == DAVE  # type: ignore[union-attr]
    rule = next(r for r in expected_asset(result.plan).rules if isinstance(r, AllowListRule))
    assert (rule.scope, set(rule.addresses)) == ("recipient", {ALICE, DAVE})
    other = translate(source, Standard.IBET_SHARE, allow_loss="all", issuer=BOB)
    assert other.plan.issuer == BOB  # type: ignore[union-attr]
    assert Feature.ALLOW_LIST in other.report.reading_features


def test_an_ibet_target_needs_an_evm_issuer_when_it_requires_registration() -> None:
    source = trex_asset(rules=(AllowListRule(addresses=(ALICE,)),)).model_copy(
        update={"issuer": "A" * 58}
    )
    with pytest.raises(InvalidInput) as caught:
        translate(source, Standard.IBET_SHARE, allow_loss="all")
    assert caught.value.field == "issuer"
    with pytest.raises(InvalidInput, match="40 hexadecimal"):
        translate(source, Standard.IBET_BOND, allow_loss="all", issuer="0x12")
    assert translate(source, Standard.IBET_BOND, allow_loss="all", issuer=BOB).plan.issuer == BOB  # type: ignore[union-attr]
