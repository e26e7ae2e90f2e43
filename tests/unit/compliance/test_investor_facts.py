"""Investor classes decided from facts, not labels, and the decision saying which it used.

Each test cites the provision whose threshold it exercises:
HK: Securities and Futures (Professional Investor) Rules (Cap. 571D) ss 3-5, individual
portfolio of at least HKD 8m, corporation HKD 8m portfolio or HKD 40m total assets.
SG: Securities and Futures Act 2001 s 4A(1)(a): net personal assets above SGD 2m, net
financial assets above SGD 1m, income of at least SGD 300k, corporation net assets above
SGD 10m; accredited-investor opt-in.
US: 17 CFR 230.501(a)(5)-(6): net worth above USD 1m without the primary residence;
income above USD 200k (joint 300k) in each of the two most recent years; 501(a)(7) and
(3): entities with total assets above USD 5m.
GB: FPO 2005 Art 48(2) (https://legislation.gov.uk/uksi/2005/1529/article/48): statement
signed within the twelve months ending with the day of the communication; Art 50A
(self-certified sophisticated, 12 months); Art 50 (certificate, three years).
EU: Prospectus Regulation (EU) 2017/1129 Art 1(4)(c): denomination per unit of at
least EUR 100,000.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bridge.compliance.model import FxRate, InvestorStatement
from bridge.model import Asset, BondTerms, EvmChain, EvmContractLocator, Standard
from bridge.model.terms import Money
from tests.strategies_compliance import (
    AT,
    allowed_after,
    buyer,
    cls,
    decide,
    denied_by,
    instrument,
    reason,
    seller,
    trade,
)


def _hkd(major: int) -> Money:
    return Money(amount=major * 100, currency="HKD")


def _reliance(decision: Any, party: str = "buyer") -> list[tuple[str, str, str]]:
    return [
        (r.jurisdiction, r.investor_class.value, r.basis)
        for r in decision.reliance
        if r.party == party
    ]


# ---------------------------------------------------------------- HK (Cap. 571D)

HK_PP = instrument("hk.tokenised_security", "hk.private_placement_pi", "HK")


def test_hk_pi_individual_portfolio_8m_is_professional() -> None:
    """Cap 571D s 4: an individual with a HKD 8,000,000 portfolio is a professional investor,
    decided from the portfolio with no class label."""
    d = decide(trade(HK_PP, seller("HK"), buyer("HK", portfolio=_hkd(8_000_000))))
    allowed_after(d, "hk.private_placement.pi_only")
    assert ("HK", "professional", "facts") in _reliance(d)


def test_hk_pi_individual_portfolio_just_below_8m_is_not() -> None:
    """Cap 571D s 4: HKD 7,999,999.99 is below the threshold; the refusal says so."""
    below = Money(amount=799_999_999, currency="HKD")
    d = decide(trade(HK_PP, seller("HK"), buyer("HK", portfolio=below)))
    r = denied_by(d, "hk.private_placement.pi_only", "INVESTOR_CLASS_NOT_ALLOWED")
    assert "not HK:professional" in r.explanation


def test_hk_pi_facts_override_a_professional_label() -> None:
    """Cap 571D s 4: a party labelled professional whose own portfolio is HKD 1m is not one;
    the decision records that the facts contradict the declaration."""
    b = buyer("HK", cls("HK", "professional"), portfolio=_hkd(1_000_000))
    d = decide(trade(HK_PP, seller("HK"), b))
    r = denied_by(d, "hk.private_placement.pi_only", "INVESTOR_CLASS_NOT_ALLOWED")
    assert "label is not relied on" in r.explanation


def test_hk_pi_label_only_is_relied_on_as_a_declaration() -> None:
    """Cap 571D: with only a class label, the decision allows and says it relied on a
    declaration of HK professional investor status."""
    d = decide(trade(HK_PP, seller("HK"), buyer("HK", cls("HK", "professional"))))
    allowed_after(d, "hk.private_placement.pi_only")
    assert _reliance(d) == [("HK", "professional", "declaration")]


def test_hk_pi_corporation_total_assets_40m() -> None:
    """Cap 571D s 5: a corporation with HKD 40m total assets (portfolio smaller) qualifies."""
    b = buyer(
        "HK",
        entity_type="legal_person",
        portfolio=_hkd(1_000_000),
        total_assets=_hkd(40_000_000),
    )
    allowed_after(decide(trade(HK_PP, seller("HK"), b)), "hk.private_placement.pi_only")


def test_hk_pi_portfolio_in_usd_needs_a_rate() -> None:
    """Cap 571D s 4 ('or its equivalent in any foreign currency'): a USD portfolio is
    converted exactly; without a USD/HKD rate the class cannot be decided."""
    b = buyer("HK", portfolio=Money(amount=110_000_000, currency="USD"))
    d = decide(trade(HK_PP, seller("HK"), b))
    r = denied_by(d, "hk.private_placement.pi_only", "INVESTOR_CLASS_NOT_ALLOWED")
    assert "FX rate" in r.explanation
    rate = FxRate(base="USD", quote="HKD", numerator=78, denominator=10, as_of=date(2026, 3, 1))
    ok = decide(trade(HK_PP, seller("HK"), b, fx_rates=(rate,)))
    allowed_after(ok, "hk.private_placement.pi_only")


# ---------------------------------------------------------------- SG (SFA s 4A)

SG_275 = instrument("sg.security", "sg.s275", "SG")
OPT_IN = InvestorStatement(kind="sg_accredited_opt_in", signed_on=date(2025, 6, 1))


def _sgd(major: int) -> Money:
    return Money(amount=major * 100, currency="SGD")


def test_sg_ai_net_personal_assets_above_2m() -> None:
    """SFA s 4A(1)(a)(i)(A): net personal assets above SGD 2m (and opted in) make an accredited
    investor for an s275 offer."""
    b = buyer("SG", net_personal_assets=_sgd(2_000_001), statements=(OPT_IN,))
    d = decide(trade(SG_275, seller("SG"), b, kind="primary"))
    allowed_after(d, "sg.s275.offer_eligibility")
    assert ("SG", "accredited", "facts") in _reliance(d)


def test_sg_ai_net_personal_assets_exactly_2m_is_not_above() -> None:
    """SFA s 4A: 'exceed SGD 2m': exactly SGD 2,000,000 does not."""
    b = buyer("SG", net_personal_assets=_sgd(2_000_000), statements=(OPT_IN,))
    denied_by(
        decide(trade(SG_275, seller("SG"), b, kind="primary")),
        "sg.s275.offer_eligibility",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_sg_ai_income_300k() -> None:
    """SFA s 4A(1)(a)(i)(C): income of at least SGD 300,000 in the preceding 12 months."""
    b = buyer("SG", annual_income=_sgd(300_000), statements=(OPT_IN,))
    allowed_after(
        decide(trade(SG_275, seller("SG"), b, kind="primary")), "sg.s275.offer_eligibility"
    )


def test_sg_ai_without_opt_in_is_not_accredited() -> None:
    """SFA s 4A opt-in regime: meeting the wealth test without opting in is not enough."""
    b = buyer("SG", net_personal_assets=_sgd(5_000_000))
    denied_by(
        decide(trade(SG_275, seller("SG"), b, kind="primary")),
        "sg.s275.offer_eligibility",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_sg_ai_corporation_net_assets_above_10m() -> None:
    """SFA s 4A(1)(a)(ii): a corporation with net assets above SGD 10m."""
    b = buyer("SG", entity_type="legal_person", net_worth=_sgd(10_000_001), statements=(OPT_IN,))
    allowed_after(
        decide(trade(SG_275, seller("SG"), b, kind="primary")), "sg.s275.offer_eligibility"
    )


# ---------------------------------------------------------------- US (Rule 501(a))

US_506B = instrument("us.restricted_equity", "us.reg_d_506b", "US")


def _usd(major: int) -> Money:
    return Money(amount=major * 100, currency="USD")


def _us_sophistication(d: Any) -> Any:
    return [r for r in d.reasons if r.rule_id == "us.reg_d_506b.sophistication"]


def test_us_accredited_net_worth_above_1m() -> None:
    """Rule 501(a)(5): net worth above USD 1,000,000 makes a natural person accredited, so
    the 506(b) sophistication requirement for non-accredited purchasers does not apply."""
    b = buyer("US", net_worth=_usd(1_000_001))
    d = decide(trade(US_506B, seller("US"), b, kind="primary"))
    assert not _us_sophistication(d), d.reasons
    assert ("US", "accredited", "facts") in _reliance(d)


def test_us_accredited_net_worth_exactly_1m_is_not() -> None:
    """Rule 501(a)(5): 'exceeds $1,000,000': exactly USD 1m is not accredited."""
    d = decide(trade(US_506B, seller("US"), buyer("US", net_worth=_usd(1_000_000)), kind="primary"))
    assert _us_sophistication(d), d.reasons


def test_us_accredited_income_two_years() -> None:
    """Rule 501(a)(6): income above USD 200k in each of the two most recent years; one
    year alone is not enough."""
    both = buyer("US", annual_income=_usd(200_001), prior_year_income=_usd(200_001))
    one = buyer("US", annual_income=_usd(400_000), prior_year_income=_usd(150_000))
    assert not _us_sophistication(decide(trade(US_506B, seller("US"), both, kind="primary")))
    assert _us_sophistication(decide(trade(US_506B, seller("US"), one, kind="primary")))


def test_us_accredited_joint_income_300k() -> None:
    """Rule 501(a)(6): joint income with a spouse must exceed USD 300k in both years."""
    joint = buyer(
        "US", annual_income=_usd(300_001), prior_year_income=_usd(300_001), joint_income=True
    )
    short = joint.model_copy(update={"annual_income": _usd(250_000)})
    assert not _us_sophistication(decide(trade(US_506B, seller("US"), joint, kind="primary")))
    assert _us_sophistication(decide(trade(US_506B, seller("US"), short, kind="primary")))


def test_us_accredited_entity_total_assets_above_5m() -> None:
    """Rule 501(a)(3): an entity with total assets above USD 5m is accredited."""
    b = buyer("US", entity_type="legal_person", total_assets=_usd(5_000_001))
    assert not _us_sophistication(decide(trade(US_506B, seller("US"), b, kind="primary")))


def test_us_506c_label_verified_is_recorded_as_verified_declaration() -> None:
    """Rule 506(c)(2)(ii): a class verified by reasonable steps is recorded as such."""
    inst = instrument("us.restricted_equity", "us.reg_d_506c", "US")
    b = buyer("US", cls("US", "accredited", verified=True))
    d = decide(trade(inst, seller("US"), b, kind="primary"))
    allowed_after(d, "us.reg_d_506c.verified_accredited")
    assert ("US", "accredited", "verified_declaration") in _reliance(d)


# ---------------------------------------------------------------- GB (FPO Art 48, 50, 50A)

GB_FPO = instrument("gb.dss_security", "gb.fpo_restricted", "GB")


def _statement(kind: str, signed_on: date) -> InvestorStatement:
    return InvestorStatement(kind=kind, signed_on=signed_on)  # type: ignore[arg-type]


def test_gb_certified_hnw_statement_within_12_months() -> None:
    """FPO Art 48(2)(a): a statement signed 2025-03-02 still counts on 2026-03-01."""
    b = buyer("GB", statements=(_statement("gb_certified_hnw", date(2025, 3, 2)),))
    d = decide(trade(GB_FPO, seller("GB"), b))
    allowed_after(d, "gb.fpo.restricted_promotion")
    assert ("GB", "high_net_worth", "facts") in _reliance(d)


def test_gb_certified_hnw_statement_lapsed_says_so() -> None:
    """FPO Art 48(2)(a): a statement signed 2025-03-01 lapsed on 2026-03-01; the refusal says
    it lapsed and when."""
    b = buyer("GB", statements=(_statement("gb_certified_hnw", date(2025, 3, 1)),))
    r = denied_by(
        decide(trade(GB_FPO, seller("GB"), b)),
        "gb.fpo.restricted_promotion",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )
    assert "signed on 2025-03-01 lapsed on 2026-03-01" in r.explanation


def test_gb_lapsed_statement_overrides_a_label() -> None:
    """FPO Art 48(2): a high-net-worth label backed by a lapsed statement is not relied on."""
    b = buyer(
        "GB",
        cls("GB", "high_net_worth", granted_on=date(2025, 6, 1)),
        statements=(_statement("gb_certified_hnw", date(2024, 1, 10)),),
    )
    r = denied_by(
        decide(trade(GB_FPO, seller("GB"), b)),
        "gb.fpo.restricted_promotion",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )
    assert "lapsed on 2025-01-10" in r.explanation
    assert "label is not relied on" in r.explanation


def test_gb_self_certified_sophisticated_within_12_months() -> None:
    """FPO Art 50A: a self-certified sophisticated investor statement of 2025-09-01 counts."""
    b = buyer("GB", statements=(_statement("gb_self_certified_sophisticated", date(2025, 9, 1)),))
    allowed_after(decide(trade(GB_FPO, seller("GB"), b)), "gb.fpo.restricted_promotion")


def test_gb_certified_sophisticated_certificate_three_years() -> None:
    """FPO Art 50: a certificate of 2023-03-02 is current on 2026-03-01, one of 2023-03-01 not."""
    ok = buyer("GB", statements=(_statement("gb_certified_sophisticated", date(2023, 3, 2)),))
    old = buyer("GB", statements=(_statement("gb_certified_sophisticated", date(2023, 3, 1)),))
    allowed_after(decide(trade(GB_FPO, seller("GB"), ok)), "gb.fpo.restricted_promotion")
    denied_by(
        decide(trade(GB_FPO, seller("GB"), old)),
        "gb.fpo.restricted_promotion",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


# ---------------------------------------------------------------- EU (PR Art 1(4)(c))


def _bond(face_value: int, currency: str = "EUR") -> Asset:
    return Asset(
        chain=EvmChain(chain_id=1),
        locator=EvmContractLocator(address="0x5555555555555555555555555555555555555555"),
        standard=Standard.ERC3643,
        name="Bund token",
        symbol="BND",
        decimals=0,
        total_supply=1_000,
        home_jurisdiction="DE",
        terms=BondTerms(currency=currency, face_value=face_value),
    )


def _denomination_trade(asset: Asset | None) -> Any:
    inst = instrument("eu.transferable_security", "eu.pr_denomination_100k", "DE", asset=asset)
    return trade(inst, seller("DE"), buyer("DE", cls("EU", "retail")))


def test_eu_denomination_from_face_value_100k_allows() -> None:
    """PR Art 1(4)(c): a bond whose face value is EUR 100,000.00 per unit is exempt."""
    allowed_after(decide(_denomination_trade(_bond(10_000_000))), "eu.pr.denomination_100k")


def test_eu_denomination_below_100k_denied() -> None:
    """PR Art 1(4)(c): EUR 99,999.99 per unit does not meet the denomination exemption."""
    denied_by(
        decide(_denomination_trade(_bond(9_999_999))),
        "eu.pr.denomination_100k",
        "NO_EXEMPTION_AVAILABLE",
    )


def test_eu_denomination_unknown_needs_information() -> None:
    """PR Art 1(4)(c): with no terms and no denomination, the decision asks for it."""
    d = decide(_denomination_trade(None))
    assert d.outcome == "needs_information", d.reasons
    assert reason(d, "eu.pr.denomination_100k.known").code.value == "INFORMATION_MISSING"


def test_eu_denomination_in_usd_converted_exactly() -> None:
    """PR Art 1(4)(c): a USD 110,000 face value is EUR 100,000 at 1.10 and meets the test;
    at 1.11 it does not."""
    at_110 = FxRate(base="EUR", quote="USD", numerator=110, denominator=100, as_of=AT.date())
    at_111 = at_110.model_copy(update={"numerator": 111})
    t = _denomination_trade(_bond(11_000_000, "USD"))
    allowed_after(decide(t.model_copy(update={"fx_rates": (at_110,)})), "eu.pr.denomination_100k")
    denied_by(
        decide(t.model_copy(update={"fx_rates": (at_111,)})),
        "eu.pr.denomination_100k",
        "NO_EXEMPTION_AVAILABLE",
    )
