"""The EU as the union of its 27 member states: every EU rule, run for each member state.

An instrument homed in a member state (DE, FR, ...) is an EU instrument; a buyer resident
in a member state is an EU resident; a prospectus approved in one member state reaches
another only when notified there (passport). Sources: Prospectus Regulation (EU)
2017/1129 Art 1(4), 2(e), 3(1), 24-25 (https://eur-lex.europa.eu/eli/reg/2017/1129/oj);
Transfer of Funds Regulation (EU) 2023/1113 Art 14, 16 (https://eur-lex.europa.eu/eli/reg/2023/1113/oj);
Directive (EU) 2015/849 Art 13-14; MiFID II Directive 2014/65/EU Art 25(3).
"""

from __future__ import annotations

import pytest

from tests.strategies_compliance import (
    FULL_TRAVEL_RULE,
    allowed_after,
    buyer,
    cash,
    cls,
    decide,
    denied_by,
    instrument,
    reason,
    seller,
    trade,
    vasp_cash,
)

MEMBER_STATES = (
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
)
"""The 27 member states (TEU Art 52; ISO 3166-1, Greece as GR)."""

RETAIL = cls("EU", "retail")
PRO = cls("EU", "professional")


def test_the_shipped_eu_file_lists_exactly_the_27() -> None:
    """EU.json members are the 27 member states, and each resolves to the EU file."""
    from tests.strategies_compliance import shipped_rules

    book = shipped_rules()
    assert set(book.jurisdictions["EU"].members) == set(MEMBER_STATES)
    assert all(book.resolve(ms) == "EU" for ms in MEMBER_STATES)


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_public_offer_homed_in_a_member_state_reaches_its_retail_buyer(ms: str) -> None:
    """eu.foreign_instrument.buyer: a bond homed in ``ms`` with a prospectus approved there
    is an EU instrument; a retail buyer in ``ms`` may buy it (PR Art 3(1))."""
    inst = instrument("eu.transferable_security", "eu.public_offer", ms)
    allowed_after(decide(trade(inst, seller(ms), buyer(ms, RETAIL))), "eu.pr.public_offer.passport")


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_casp_payment_for_member_state_bond_asks_for_travel_rule_data(ms: str) -> None:
    """eu.tfr.casp_transfer: a CASP-to-CASP EUR stablecoin payment for a bond homed in
    ``ms`` needs travel-rule data (TFR Art 14(1)-(2)); it is not refused."""
    inst = instrument("eu.transferable_security", "eu.public_offer", ms)
    leg = vasp_cash("EUR", 50_000, ms)
    d = decide(trade(inst, seller(ms), buyer(ms, RETAIL), cash_leg=leg))
    assert d.outcome == "needs_information", d.reasons
    assert reason(d, "eu.tfr.casp_transfer").code.value == "TRAVEL_RULE_DATA_MISSING"
    full = decide(
        trade(inst, seller(ms), buyer(ms, RETAIL), cash_leg=leg, travel_rule=FULL_TRAVEL_RULE)
    )
    allowed_after(full, "eu.tfr.casp_transfer")


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_qualified_only_over_every_member_state(ms: str) -> None:
    """eu.pr.qualified_only: a QI-only bond homed in ``ms``: retail in ``ms`` refused,
    a professional client classified by ``ms`` itself admitted (PR Art 1(4)(a), 2(e))."""
    inst = instrument("eu.dlt_bond", "eu.pr_qualified_investors", ms)
    denied_by(
        decide(trade(inst, seller(ms, PRO), buyer(ms, RETAIL))),
        "eu.pr.qualified_only",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )
    allowed_after(
        decide(trade(inst, seller(ms, PRO), buyer(ms, cls(ms, "professional")))),
        "eu.pr.qualified_only",
    )


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_150_per_member_state_over_every_member_state(ms: str) -> None:
    """eu.pr.150_per_member_state: 149 prior offerees in ``ms`` pass, 150 do not (Art 1(4)(b))."""
    inst = instrument("eu.transferable_security", "eu.pr_150_per_state", ms)
    ok = inst.model_copy(update={"offerees_by_country": {ms: 149}})
    full = inst.model_copy(update={"offerees_by_country": {ms: 150}})
    allowed_after(
        decide(trade(ok, seller(ms), buyer(ms, RETAIL), kind="primary")),
        "eu.pr.150_per_member_state",
    )
    denied_by(
        decide(trade(full, seller(ms), buyer(ms, RETAIL), kind="primary")),
        "eu.pr.150_per_member_state",
        "OFFERING_LIMIT_EXCEEDED",
    )


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_100k_per_investor_over_every_member_state(ms: str) -> None:
    """eu.pr.100k_per_investor: EUR 100,000 per investor in ``ms`` (Art 1(4)(d))."""
    inst = instrument("eu.transferable_security", "eu.pr_100k_per_investor", ms)
    t = trade(inst, seller(ms), buyer(ms), kind="primary", cash_leg=cash("EUR", 10_000_000))
    allowed_after(decide(t), "eu.pr.100k_per_investor")
    short = t.model_copy(update={"cash_leg": cash("EUR", 9_999_999)})
    denied_by(decide(short), "eu.pr.100k_per_investor", "NO_EXEMPTION_AVAILABLE")


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_foreign_instrument_to_every_member_state(ms: str) -> None:
    """eu.foreign_instrument.buyer: a JP public-offer token reaches a retail buyer in ``ms``
    only as an exempt offer; a professional client in ``ms`` may buy (PR Art 1(4)(a), 5(1))."""
    inst = instrument("jp.tokenised_security", "jp.public_offering", "JP")
    denied_by(
        decide(trade(inst, seller("JP"), buyer(ms, RETAIL))),
        "eu.foreign_instrument.buyer",
        "NO_EXEMPTION_AVAILABLE",
    )
    allowed_after(
        decide(trade(inst, seller("JP"), buyer(ms, cls(ms, "professional")))),
        "eu.foreign_instrument.buyer",
    )


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_self_hosted_over_1000_over_every_member_state(ms: str) -> None:
    """eu.tfr.self_hosted_over_1000: a CASP in ``ms`` paying EUR 1,000.01 to a self-hosted
    address needs proof of ownership (TFR Art 14(5)); EUR 1,000.00 does not."""
    inst = instrument("eu.transferable_security", "eu.public_offer", ms)
    over = cash(
        "EUR", 100_001, executed_by="vasp", originator_vasp=ms, beneficiary_self_hosted=True
    )
    at = over.model_copy(update={"amount": 100_000})
    t = trade(inst, seller(ms), buyer(ms, RETAIL), cash_leg=over, travel_rule=FULL_TRAVEL_RULE)
    denied_by(decide(t), "eu.tfr.self_hosted_over_1000", "SELF_HOSTED_WALLET_UNVERIFIED")
    allowed_after(decide(t.model_copy(update={"cash_leg": at})), "eu.tfr.self_hosted_over_1000")


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_kyc_missing_and_expired_over_every_member_state(ms: str) -> None:
    """eu.kyc.buyer / eu.kyc.buyer_expired: no KYC is KYC_MISSING, a lapsed one KYC_EXPIRED
    (Directive 2015/849 Art 13(1), 14(1))."""
    from datetime import date

    from bridge.compliance.model import Kyc

    inst = instrument("eu.transferable_security", "eu.public_offer", ms)
    none = buyer(ms, RETAIL, kyc=Kyc())
    lapsed = buyer(ms, RETAIL, kyc=Kyc(status="verified", expires_on=date(2026, 2, 28)))
    denied_by(decide(trade(inst, seller(ms), none)), "eu.kyc.buyer", "KYC_MISSING")
    denied_by(decide(trade(inst, seller(ms), lapsed)), "eu.kyc.buyer_expired", "KYC_EXPIRED")
    s_none = seller(ms, kyc=Kyc(status="pending"))
    denied_by(decide(trade(inst, s_none, buyer(ms, RETAIL))), "eu.kyc.seller", "KYC_MISSING")


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_sanctions_over_every_member_state(ms: str) -> None:
    """eu.sanctions.screening: a listed buyer in ``ms`` is refused (Reg 269/2014 Art 2)."""
    from tests.strategies_compliance import engine

    listed = next(iter(engine().sanctions.names))
    inst = instrument("eu.transferable_security", "eu.public_offer", ms)
    d = decide(trade(inst, seller(ms), buyer(ms, RETAIL, name=listed)))
    denied_by(d, "eu.sanctions.screening", "SANCTIONED_PARTY")


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_prospectus_passport_over_every_member_state(ms: str) -> None:
    """eu.pr.public_offer.passport (PR Art 24(1), 25(1)): a prospectus approved in ``ms`` and
    notified nowhere reaches a retail buyer in ``ms`` but not one in another member state;
    notified to that state, it does."""
    other = "PT" if ms != "PT" else "ES"
    inst = instrument("eu.transferable_security", "eu.public_offer", ms)
    denied_by(
        decide(trade(inst, seller(ms), buyer(other, RETAIL))),
        "eu.pr.public_offer.passport",
        "NO_EXEMPTION_AVAILABLE",
    )
    notified = inst.model_copy(update={"prospectus_notified_to": (other,)})
    allowed_after(
        decide(trade(notified, seller(ms), buyer(other, RETAIL))), "eu.pr.public_offer.passport"
    )


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_prospectus_state_unknown_for_an_eu_homed_instrument(ms: str) -> None:
    """eu.pr.public_offer.prospectus_state (PR Art 20(1), 24(1)): an instrument homed in "EU"
    without the approving member state needs that information for a retail buyer in ``ms``;
    given as ``ms``, the offer is allowed."""
    inst = instrument("eu.transferable_security", "eu.public_offer", "EU")
    d = decide(trade(inst, seller(ms), buyer(ms, RETAIL)))
    assert d.outcome == "needs_information", d.reasons
    assert reason(d, "eu.pr.public_offer.prospectus_state").code.value == "INFORMATION_MISSING"
    approved = inst.model_copy(update={"prospectus_approved_in": ms})
    allowed_after(
        decide(trade(approved, seller(ms), buyer(ms, RETAIL))), "eu.pr.public_offer.passport"
    )


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_denomination_over_every_member_state(ms: str) -> None:
    """eu.pr.denomination_100k (PR Art 1(4)(c)): EUR 100,000 per unit in ``ms`` is exempt,
    EUR 99,999.99 is not."""
    from bridge.model.terms import Money

    inst = instrument(
        "eu.transferable_security",
        "eu.pr_denomination_100k",
        ms,
        denomination=Money(amount=10_000_000, currency="EUR"),
    )
    allowed_after(decide(trade(inst, seller(ms), buyer(ms, RETAIL))), "eu.pr.denomination_100k")
    low = inst.model_copy(update={"denomination": Money(amount=9_999_999, currency="EUR")})
    denied_by(
        decide(trade(low, seller(ms), buyer(ms, RETAIL))),
        "eu.pr.denomination_100k",
        "NO_EXEMPTION_AVAILABLE",
    )


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_appropriateness_and_funds_transfer_over_every_member_state(ms: str) -> None:
    """eu.mifid.appropriateness (MiFID II Art 25(3)) and eu.tfr.funds_transfer (TFR Art 4-5):
    a complex product to a retail client in ``ms`` paid by bank transfer from a bank in
    ``ms`` carries both obligations."""
    from bridge.compliance.model import CashLeg

    inst = instrument("eu.transferable_security", "eu.public_offer", ms, complex_product=True)
    leg = CashLeg(
        currency="EUR",
        amount=1_000_000,
        instrument="fiat",
        executed_by="bank",
        originator_vasp=ms,
        beneficiary_vasp=ms,
    )
    d = decide(trade(inst, seller(ms), buyer(ms, RETAIL), cash_leg=leg))
    assert d.outcome == "allow", d.reasons
    kinds = {o.rule_id: o.kind for o in d.obligations}
    assert kinds["eu.mifid.appropriateness"] == "appropriateness"
    assert kinds["eu.tfr.funds_transfer"] == "travel_rule"


@pytest.mark.parametrize("ms", MEMBER_STATES)
def test_seller_kyc_expired_over_every_member_state(ms: str) -> None:
    """eu.kyc.seller_expired (Directive 2015/849 Art 13-14): a seller resident in ``ms`` whose
    KYC ended yesterday is KYC_EXPIRED."""
    from datetime import date

    from bridge.compliance.model import Kyc

    inst = instrument("eu.transferable_security", "eu.public_offer", ms)
    lapsed = seller(ms, kyc=Kyc(status="verified", expires_on=date(2026, 2, 28)))
    denied_by(
        decide(trade(inst, lapsed, buyer(ms, RETAIL))), "eu.kyc.seller_expired", "KYC_EXPIRED"
    )
