"""Cash-leg rules: travel-rule thresholds at and just below the limit, stablecoin caps, reports."""

from __future__ import annotations

from datetime import date
from typing import Any

from bridge.compliance.model import FxRate, Ivms101Person, Trade, TravelRuleData
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
NAMES_ONLY = TravelRuleData(
    originator=Ivms101Person(name="Alice", account_number="a-1"),
    beneficiary=Ivms101Person(name="Bob", account_number="b-2"),
)


def _jp_trade(**kw: Any) -> Trade:
    return trade(
        instrument("jp.ertr", "jp.qii_only", "JP"), seller("JP", QII), buyer("JP", QII), **kw
    )


def _needs(decision: object, rule_id: str) -> None:
    assert decision.outcome == "needs_information", decision.reasons  # type: ignore[attr-defined]
    r = reason(decision, rule_id)
    assert r.code.value == "TRAVEL_RULE_DATA_MISSING"
    assert r.effect == "needs_information"


def test_us_bsa_travel_rule_at_3000_needs_data() -> None:
    """us.bsa.travel_rule: a $3,000.00 VASP transfer without an address needs information."""
    t = _jp_trade(cash_leg=vasp_cash("USD", 300_000, "US"), travel_rule=NAMES_ONLY)
    _needs(decide(t), "us.bsa.travel_rule")


def test_us_bsa_travel_rule_just_below_3000_not_triggered() -> None:
    """us.bsa.travel_rule: $2,999.99 is below the threshold, names and accounts suffice."""
    t = _jp_trade(cash_leg=vasp_cash("USD", 299_999, "US"), travel_rule=NAMES_ONLY)
    allowed_after(decide(t), "us.bsa.travel_rule")


def test_sg_psn02_above_1500_at_limit_not_triggered() -> None:
    """sg.psn02.above_1500: exactly S$1,500 is not 'above', so names and accounts suffice."""
    t = _jp_trade(cash_leg=vasp_cash("SGD", 150_000, "SG"), travel_rule=NAMES_ONLY)
    allowed_after(decide(t), "sg.psn02.above_1500")


def test_sg_psn02_above_1500_one_cent_over_needs_data() -> None:
    """sg.psn02.above_1500: S$1,500.01 also needs an address, ID or date and place of birth."""
    t = _jp_trade(cash_leg=vasp_cash("SGD", 150_001, "SG"), travel_rule=NAMES_ONLY)
    _needs(decide(t), "sg.psn02.above_1500")


def test_sg_psn02_basic_every_transfer() -> None:
    """sg.psn02.basic: even S$1 between VASPs needs the names and accounts."""
    t = _jp_trade(cash_leg=vasp_cash("SGD", 100, "SG"))
    _needs(decide(t), "sg.psn02.basic")


def test_gb_travel_rule_above_1000_eur_boundary() -> None:
    """gb.mlr.travel_rule_above_1000: EUR 1,000.00 is fine with names; EUR 1,000.01 is not."""
    at = vasp_cash("EUR", 100_000, "GB")
    allowed_after(
        decide(_jp_trade(cash_leg=at, travel_rule=NAMES_ONLY)), "gb.mlr.travel_rule_above_1000"
    )
    over = vasp_cash("EUR", 100_001, "GB")
    _needs(
        decide(_jp_trade(cash_leg=over, travel_rule=NAMES_ONLY)), "gb.mlr.travel_rule_above_1000"
    )


def test_hk_travel_rule_at_and_below_8000() -> None:
    """hk.travel_rule: HK$7,999.99 needs nothing; HK$8,000.00 needs full originator data."""
    below = vasp_cash("HKD", 799_999, "HK")
    allowed_after(decide(_jp_trade(cash_leg=below)), "hk.travel_rule")
    at = vasp_cash("HKD", 800_000, "HK")
    _needs(decide(_jp_trade(cash_leg=at, travel_rule=NAMES_ONLY)), "hk.travel_rule")
    assert decide(_jp_trade(cash_leg=at, travel_rule=FULL_TRAVEL_RULE)).outcome == "allow"


def test_eu_tfr_casp_transfer_no_de_minimis() -> None:
    """eu.tfr.casp_transfer: EUR 10 between CASPs without the beneficiary name (T22)."""
    leg = cash("EUR", 1_000, executed_by="vasp", originator_vasp="DE", beneficiary_vasp="FR")
    data = TravelRuleData(
        originator=Ivms101Person(name="A", account_number="1"),
        beneficiary=Ivms101Person(account_number="2"),
    )
    _needs(decide(_jp_trade(cash_leg=leg, travel_rule=data)), "eu.tfr.casp_transfer")


def test_eu_tfr_not_in_force_before_2024_12_30() -> None:
    """eu.tfr.casp_transfer: effective from 2024-12-30, so not evaluated on 2024-12-29."""
    leg = cash("EUR", 1_000, executed_by="vasp", originator_vasp="DE", beneficiary_vasp="FR")
    d = decide(_jp_trade(cash_leg=leg), AT.replace(year=2024, month=12, day=29))
    assert "eu.tfr.casp_transfer" not in d.rules_evaluated
    assert (
        "eu.tfr.casp_transfer"
        in decide(_jp_trade(cash_leg=leg), AT.replace(year=2024, month=12, day=30)).rules_evaluated
    )


def test_eu_tfr_self_hosted_over_1000_unverified_denied() -> None:
    """eu.tfr.self_hosted_over_1000: EUR 1,500 to an unverified self-hosted address (T21)."""
    leg = cash(
        "EUR", 150_000, executed_by="vasp", originator_vasp="DE", beneficiary_self_hosted=True
    )
    denied_by(
        decide(_jp_trade(cash_leg=leg, travel_rule=FULL_TRAVEL_RULE)),
        "eu.tfr.self_hosted_over_1000",
        "SELF_HOSTED_WALLET_UNVERIFIED",
    )


def test_eu_tfr_self_hosted_800_allowed() -> None:
    """eu.tfr.self_hosted_over_1000: EUR 800 with the payload recorded is allowed (T21)."""
    leg = cash(
        "EUR", 80_000, executed_by="vasp", originator_vasp="DE", beneficiary_self_hosted=True
    )
    allowed_after(
        decide(_jp_trade(cash_leg=leg, travel_rule=FULL_TRAVEL_RULE)),
        "eu.tfr.self_hosted_over_1000",
    )


def test_jp_type2_fto_cap_boundary() -> None:
    """jp.type2_fto.cap: Type II operator, JPY 1m allowed, 1.2m denied (T23)."""
    ok = cash("JPY", 1_000_000, token="JPYC", instrument="epi", executed_by="jp_fto_type2")
    allowed_after(decide(_jp_trade(cash_leg=ok)), "jp.type2_fto.cap")
    over = cash("JPY", 1_200_000, token="JPYC", instrument="epi", executed_by="jp_fto_type2")
    denied_by(decide(_jp_trade(cash_leg=over)), "jp.type2_fto.cap", "AMOUNT_LIMIT_EXCEEDED")


def test_jp_type2_fto_cap_not_for_self_custody() -> None:
    """jp.type2_fto.cap: JPY 5,000,000 of JPYC between self-custodied wallets has no cap (T24)."""
    leg = cash("JPY", 5_000_000, token="JPYC", instrument="epi", executed_by="self_custody")
    allowed_after(decide(_jp_trade(cash_leg=leg)), "jp.type2_fto.cap")


def test_jp_epi_intermediary_cap_converts_usd_with_fx() -> None:
    """jp.epi_intermediary.cap: USD 6,700 at 150 JPY/USD is above JPY 1m."""
    leg = cash("USD", 670_000, token="USDC", executed_by="jp_epi_intermediary")
    fx = (FxRate(base="USD", quote="JPY", numerator=150, as_of=date(2026, 3, 1)),)
    denied_by(
        decide(_jp_trade(cash_leg=leg, fx_rates=fx)),
        "jp.epi_intermediary.cap",
        "AMOUNT_LIMIT_EXCEEDED",
    )
    small = cash("USD", 666_666, token="USDC", executed_by="jp_epi_intermediary")
    allowed_after(decide(_jp_trade(cash_leg=small, fx_rates=fx)), "jp.epi_intermediary.cap")


def test_jp_epi_intermediary_cap_without_fx_needs_information() -> None:
    """jp.epi_intermediary.cap: without a USD/JPY rate the engine asks for one."""
    leg = cash("USD", 670_000, token="USDC", executed_by="jp_epi_intermediary")
    d = decide(_jp_trade(cash_leg=leg))
    assert d.outcome == "needs_information"
    r = reason(d, "jp.epi_intermediary.cap")
    assert r.code.value == "INFORMATION_MISSING"
    assert "USD->JPY" in r.explanation


def test_jp_travel_rule_between_vasps() -> None:
    """jp.travel_rule: a JP VASP-to-VASP leg without data needs information; with data it passes."""
    leg = vasp_cash("JPY", 1, "JP")
    _needs(decide(_jp_trade(cash_leg=leg)), "jp.travel_rule")
    allowed_after(decide(_jp_trade(cash_leg=leg, travel_rule=NAMES_ONLY)), "jp.travel_rule")


def test_jp_fefta_payment_report_obligation_not_refusal() -> None:
    """jp.fefta.payment_report: JPY 30,000,001 SG->JP: allowed plus a report."""
    inst = instrument("jp.tokenised_security", "jp.public_offering", "JP")
    b = buyer("SG", cls("SG", "accredited"))
    t = trade(inst, seller("JP"), b, cash_leg=cash("JPY", 30_000_001))
    d = decide(t)
    assert d.outcome == "allow", d.reasons
    assert [o.rule_id for o in d.obligations] == ["jp.fefta.payment_report"]


def test_jp_fefta_payment_report_exactly_30m_not_reported() -> None:
    """jp.fefta.payment_report: payments of JPY 30m or less are excluded from reporting."""
    inst = instrument("jp.tokenised_security", "jp.public_offering", "JP")
    t = trade(
        inst, seller("JP"), buyer("SG", cls("SG", "accredited")), cash_leg=cash("JPY", 30_000_000)
    )
    d = decide(t)
    assert "jp.fefta.payment_report" in d.rules_evaluated
    assert d.obligations == ()
