"""Obligations for the platform, several exemptions per instrument, fiat legs, KYC states,
and the law of the day (effective dates).

Sources cited per test: FEFTA Art 55(1) and the reporting ordinance Art 1(1) (JP);
FIEA Art 23-13(1) (JP); Regulation (EU) 2023/1113 (TFR) Art 4-5 and 14; MiFID II
Art 25(3)-(4); Regulation D Rule 502(d) (US); SFA s 276 (SG); Prospectus Regulation
(EU) 2017/1129 Art 1(4)(a)-(b) and 1(6); the UK POATRs 2024 (SI 2024/105, in force
19 January 2026); Regulation (EU) 2024/1624 (AMLR, applies from 10 July 2027); the
customer due diligence duties of each jurisdiction (JP APTCP Art 4, US 31 CFR 1023.220,
SG Notice SFA04-N02, HK AMLO Sch 2, CH AMLA Art 3, GB MLR 2017 reg 28).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.compliance.model import CashLeg, Kyc
from tests.strategies_compliance import (
    AT,
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

QII = cls("JP", "qualified_institutional")


def _kinds(decision: Any) -> dict[str, str]:
    return {o.rule_id: o.kind for o in decision.obligations}


# ---------------------------------------------------------------- obligations


def test_jp_fefta_report_is_an_obligation_with_its_kind_and_citation() -> None:
    """jp.fefta.payment_report (FEFTA Art 55(1)): JPY 30,000,001 JP->SG is allowed and the
    decision lists a report to file, citing Art 55."""
    inst = instrument("jp.tokenised_security", "jp.public_offering", "JP")
    d = decide(
        trade(
            inst,
            seller("JP"),
            buyer("SG", cls("SG", "accredited")),
            cash_leg=cash("JPY", 30_000_001),
        )
    )
    assert d.outcome == "allow", d.reasons
    (o,) = [o for o in d.obligations if o.rule_id == "jp.fefta.payment_report"]
    assert o.kind == "report"
    assert "Art 55" in o.citation.article


def test_jp_qii_only_notice_obligation() -> None:
    """jp.qii_only.notice (FIEA Art 23-13(1)): a QII-only token sold to a QII carries the
    duty to tell the buyer about the transfer restriction."""
    d = decide(
        trade(instrument("jp.ertr", "jp.qii_only", "JP"), seller("JP", QII), buyer("JP", QII))
    )
    assert d.outcome == "allow", d.reasons
    assert _kinds(d)["jp.qii_only.notice"] == "legend"


def test_eu_travel_rule_data_to_send_once_complete() -> None:
    """eu.tfr.casp_transfer.send (TFR Art 14(1)-(2)): with complete data the trade is allowed
    and the decision says the data must travel with the transfer."""
    inst = instrument("eu.transferable_security", "eu.public_offer", "FR")
    leg = cash("EUR", 50_000, executed_by="vasp", originator_vasp="FR", beneficiary_vasp="DE")
    d = decide(
        trade(
            inst,
            seller("FR"),
            buyer("FR", cls("EU", "retail")),
            cash_leg=leg,
            travel_rule=FULL_TRAVEL_RULE,
        )
    )
    assert d.outcome == "allow", d.reasons
    assert _kinds(d)["eu.tfr.casp_transfer.send"] == "travel_rule"


@pytest.mark.parametrize(
    ("home", "vasp", "currency", "amount", "rule"),
    [
        ("JP", "JP", "JPY", 1, "jp.travel_rule.send"),
        ("SG", "SG", "SGD", 150_001, "sg.psn02.above_1500.send"),
        ("HK", "HK", "HKD", 800_000, "hk.travel_rule.send"),
        ("CH", "CH", "CHF", 100_001, "ch.amlo_finma.travel_rule.send"),
        ("GB", "GB", "EUR", 100_001, "gb.mlr.travel_rule_above_1000.send"),
        ("US", "US", "USD", 300_000, "us.bsa.travel_rule.send"),
    ],
)
def test_travel_rule_data_to_send_in_each_jurisdiction(
    home: str, vasp: str, currency: str, amount: int, rule: str
) -> None:
    """<j>.travel_rule.send: JP APTCP Art 10-5, SG PSN02 para 13, HK AMLO Sch 2 s 13A, CH
    AMLO-FINMA Art 10, GB MLR 2017 reg 64D-64E, US 31 CFR 1010.410(f): a VASP leg with
    complete data is an obligation to send it."""
    inst = instrument("jp.ertr", "jp.qii_only", "JP")
    leg = vasp_cash(currency, amount, vasp)
    d = decide(
        trade(inst, seller("JP", QII), buyer("JP", QII), cash_leg=leg, travel_rule=FULL_TRAVEL_RULE)
    )
    assert _kinds(d).get(rule) == "travel_rule", (home, d.obligations, d.reasons)


def test_mifid_appropriateness_for_complex_product_to_eu_retail() -> None:
    """eu.mifid.appropriateness (MiFID II Art 25(3), 25(4)(a)): a complex product to a retail
    client in Italy is an appropriateness obligation, not a refusal; none for a professional."""
    inst = instrument("eu.transferable_security", "eu.public_offer", "IT", complex_product=True)
    retail = decide(trade(inst, seller("IT"), buyer("IT", cls("EU", "retail"))))
    assert retail.outcome == "allow", retail.reasons
    assert _kinds(retail)["eu.mifid.appropriateness"] == "appropriateness"
    pro = decide(trade(inst, seller("IT"), buyer("IT", cls("IT", "professional"))))
    assert "eu.mifid.appropriateness" not in _kinds(pro)


def test_us_restricted_securities_legend() -> None:
    """us.reg_d.restricted_legend (Rule 502(d)): a 506(b) sale records the restrictive legend."""
    inst = instrument("us.restricted_equity", "us.reg_d_506b", "US")
    b = buyer("US", cls("US", "accredited"))
    d = decide(trade(inst, seller("US"), b, kind="primary"))
    assert d.outcome == "allow", d.reasons
    assert _kinds(d)["us.reg_d.restricted_legend"] == "legend"


def test_sg_s276_record_obligation() -> None:
    """sg.s276.record (SFA s 276): units bought under s275 carry the resale restriction."""
    inst = instrument("sg.security", "sg.s275", "SG")
    d = decide(trade(inst, seller("SG"), buyer("SG", cls("SG", "accredited")), kind="primary"))
    assert _kinds(d)["sg.s276.record"] == "legend"


# ---------------------------------------------------------------- fiat leg


def test_fiat_bank_leg_is_a_funds_transfer_not_a_crypto_transfer() -> None:
    """eu.tfr.funds_transfer (TFR Art 4-5): a EUR bank transfer between DE and FR banks asks
    for no crypto travel-rule data (Art 14 does not apply) and obliges the payer's bank to
    send payer and payee information."""
    inst = instrument("eu.transferable_security", "eu.public_offer", "DE")
    leg = CashLeg(
        currency="EUR",
        amount=5_000_000,
        instrument="fiat",
        executed_by="bank",
        originator_vasp="DE",
        beneficiary_vasp="FR",
    )
    d = decide(trade(inst, seller("FR"), buyer("DE", cls("EU", "retail")), cash_leg=leg))
    assert d.outcome == "allow", d.reasons
    assert "eu.tfr.casp_transfer" in d.rules_evaluated
    assert _kinds(d)["eu.tfr.funds_transfer"] == "travel_rule"


def test_us_fiat_wire_at_3000_needs_travel_rule_data() -> None:
    """us.bsa.travel_rule (31 CFR 1010.410(f)): the funds-transfer rule covers a USD 3,000
    bank wire as well."""
    inst = instrument("us.restricted_equity", "us.reg_d_506b", "US")
    leg = CashLeg(
        currency="USD",
        amount=300_000,
        instrument="fiat",
        executed_by="bank",
        originator_vasp="US",
        beneficiary_vasp="US",
    )
    d = decide(trade(inst, seller("US"), buyer("US", cls("US", "accredited")), cash_leg=leg))
    assert reason(d, "us.bsa.travel_rule").code.value == "TRAVEL_RULE_DATA_MISSING"


def test_bank_leg_must_be_fiat() -> None:
    """CashLeg: a bank transfer of a stablecoin is refused at input with the field named."""
    with pytest.raises(ValidationError, match="executed_by"):
        CashLeg(currency="USD", amount=1, instrument="stablecoin", executed_by="bank")


# ---------------------------------------------------------------- several exemptions


def _qi_and_150(offerees: int) -> Any:
    return instrument(
        "eu.transferable_security",
        "eu.pr_qualified_investors",
        "NL",
        also_exempt_under=("eu.pr_150_per_state",),
        offerees_by_country={"NL": offerees},
    )


def test_eu_qualified_investors_and_150_combined_admit_retail_below_150() -> None:
    """PR Art 1(4)(a)+(b), Art 1(6) (exemptions may be combined): a retail buyer is refused
    under the QI exemption alone but fits the 150-persons exemption (149 prior offerees)."""
    d = decide(
        trade(_qi_and_150(149), seller("NL"), buyer("NL", cls("EU", "retail")), kind="primary")
    )
    allowed_after(d, "eu.pr.qualified_only")


def test_eu_combined_exemptions_refuse_when_neither_fits() -> None:
    """PR Art 1(4)(a)+(b): with 150 prior NL offerees a retail buyer fits neither exemption;
    the refusal names both, each under its exemption."""
    d = decide(
        trade(_qi_and_150(150), seller("NL"), buyer("NL", cls("EU", "retail")), kind="primary")
    )
    qi = denied_by(d, "eu.pr.qualified_only", "INVESTOR_CLASS_NOT_ALLOWED")
    assert "(under eu.pr_qualified_investors)" in qi.explanation
    n = reason(d, "eu.pr.150_per_member_state")
    assert "(under eu.pr_150_per_state)" in n.explanation


def test_unknown_additional_exemption_is_named() -> None:
    """engine.unknown_instrument: an also_exempt_under entry the home file does not define."""
    inst = instrument(
        "eu.transferable_security",
        "eu.public_offer",
        "DE",
        also_exempt_under=("eu.no_such_exemption",),
    )
    r = denied_by(
        decide(trade(inst, seller("DE"), buyer("DE"))),
        "engine.unknown_instrument",
        "UNKNOWN_INSTRUMENT",
    )
    assert "also_exempt_under[0]" in r.explanation
    assert r.verification == "policy"


# ---------------------------------------------------------------- KYC missing vs expired


@pytest.mark.parametrize("home", ["JP", "US", "SG", "HK", "CH", "GB"])
def test_kyc_missing_is_not_reported_as_expired(home: str) -> None:
    """<j>.kyc.buyer (APTCP Art 4; 31 CFR 1023.220; SFA04-N02; AMLO Sch 2; AMLA Art 3;
    MLR 2017 reg 28): a buyer with no KYC at all is KYC_MISSING, never KYC_EXPIRED."""
    inst = instrument("jp.ertr", "jp.qii_only", "JP")
    d = decide(trade(inst, seller("JP", QII), buyer(home, QII, kyc=Kyc())))
    r = reason(d, f"{home.lower()}.kyc.buyer")
    assert r.code.value == "KYC_MISSING"
    assert all(x.code.value != "KYC_EXPIRED" for x in d.reasons)


@pytest.mark.parametrize("home", ["JP", "US", "SG", "HK", "CH", "GB"])
def test_kyc_expired_has_its_own_rule(home: str) -> None:
    """<j>.kyc.seller_expired: a seller whose verified KYC ended yesterday is KYC_EXPIRED."""
    inst = instrument("jp.ertr", "jp.qii_only", "JP")
    lapsed = Kyc(status="verified", expires_on=date(2026, 2, 28))
    d = decide(trade(inst, seller(home, QII, kyc=lapsed), buyer("JP", QII)))
    denied_by(d, f"{home.lower()}.kyc.seller_expired", "KYC_EXPIRED")


# ---------------------------------------------------------------- the law of the day


def test_uk_poatrs_replace_the_uk_prospectus_regulation_on_19_january_2026() -> None:
    """POATRs 2024 in force 2026-01-19: on 2026-01-18 the UK PR rule judges a QI-only offer,
    from 2026-01-19 the POATRs rule does."""
    inst = instrument("gb.dss_security", "gb.qualified_investors", "GB")
    t = trade(inst, seller("GB"), buyer("GB", cls("GB", "retail")))
    before = decide(t, datetime(2026, 1, 18, 12, tzinfo=UTC))
    after = decide(t, datetime(2026, 1, 19, 0, tzinfo=UTC))
    denied_by(before, "gb.qualified_investors.transfer", "INVESTOR_CLASS_NOT_ALLOWED")
    assert "gb.poatrs.qualified_investors.transfer" not in before.rules_evaluated
    denied_by(after, "gb.poatrs.qualified_investors.transfer", "INVESTOR_CLASS_NOT_ALLOWED")
    assert "gb.qualified_investors.transfer" not in after.rules_evaluated


def test_eu_amlr_takes_over_customer_due_diligence_on_10_july_2027() -> None:
    """AMLR (Reg 2024/1624) applies from 2027-07-10: the same missing KYC is refused under
    the AMLD rule before and under the AMLR rule from that day."""
    inst = instrument("eu.transferable_security", "eu.public_offer", "AT")
    t = trade(inst, seller("AT"), buyer("AT", cls("EU", "retail"), kyc=Kyc()))
    denied_by(decide(t, datetime(2027, 7, 9, tzinfo=UTC)), "eu.kyc.buyer", "KYC_MISSING")
    denied_by(decide(t, datetime(2027, 7, 10, tzinfo=UTC)), "eu.amlr.kyc.buyer", "KYC_MISSING")


def test_eu_tfr_crypto_travel_rule_not_before_30_december_2024() -> None:
    """TFR (Reg 2023/1113) applies from 2024-12-30: a CASP leg on 2024-12-29 asks for nothing
    under it; on 2024-12-30 it needs the data."""
    inst = instrument("eu.transferable_security", "eu.public_offer", "BE")
    leg = vasp_cash("EUR", 1, "BE")
    t = trade(inst, seller("BE"), buyer("BE", cls("EU", "retail")), cash_leg=leg)
    early = decide(t, datetime(2024, 12, 29, 23, 59, tzinfo=UTC))
    assert "eu.tfr.casp_transfer" not in early.rules_evaluated
    assert reason(decide(t, datetime(2024, 12, 30, tzinfo=UTC)), "eu.tfr.casp_transfer")


def test_every_shipped_rule_has_an_effective_date() -> None:
    """Issue 15: every rule states when it took effect."""
    from tests.strategies_compliance import shipped_rules

    missing = [r.rule.id for r in shipped_rules().all_rules() if r.rule.effective_from is None]
    assert missing == []


def test_default_moment_is_the_scenario_date() -> None:
    """The scenarios run at 2026-03-01 unless they say otherwise (sanity of the fixture)."""
    assert AT.date() == date(2026, 3, 1)
