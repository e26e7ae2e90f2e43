"""Scenarios under US rules (specs/jurisdictions/US.json); each names its rule id."""

from __future__ import annotations

from datetime import date
from typing import Any

from bridge.compliance.model import Instrument, Party
from bridge.model import Money
from tests.strategies_compliance import (
    AT,
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
)

AI = cls("US", "accredited", verified=True)


def _regd(reporting: bool = False, **kw: Any) -> Instrument:
    return instrument(
        "us.restricted_equity", "us.reg_d_506c", "US", issuer_reporting=reporting, **kw
    )


def test_us_rule144_holding_non_reporting_day_before_denied() -> None:
    """us.rule144.holding_non_reporting: acquired 2025-03-01, sold 2026-02-28 (T05)."""
    t = trade(_regd(), seller("US", AI, acquired_on=date(2025, 3, 1)), buyer("US", AI))
    r = denied_by(
        decide(t, AT.replace(year=2026, month=2, day=28)),
        "us.rule144.holding_non_reporting",
        "HOLDING_PERIOD_NOT_MET",
    )
    assert r.eligible_from == date(2026, 3, 1)


def test_us_rule144_holding_non_reporting_day_of_allowed() -> None:
    """us.rule144.holding_non_reporting: on 2026-03-01 the one-year period is met (T06)."""
    t = trade(_regd(), seller("US", AI, acquired_on=date(2025, 3, 1)), buyer("US", AI))
    allowed_after(
        decide(t, AT.replace(year=2026, month=3, day=1)), "us.rule144.holding_non_reporting"
    )


def test_us_rule144_holding_reporting_boundaries() -> None:
    """us.rule144.holding_reporting: acquired 2025-01-10; 07-09 denied, 07-10 allowed (T07)."""
    t = trade(
        _regd(reporting=True), seller("US", AI, acquired_on=date(2025, 1, 10)), buyer("US", AI)
    )
    denied_by(
        decide(t, AT.replace(year=2025, month=7, day=9)),
        "us.rule144.holding_reporting",
        "HOLDING_PERIOD_NOT_MET",
    )
    allowed_after(decide(t, AT.replace(year=2025, month=7, day=10)), "us.rule144.holding_reporting")


def test_us_rule144_holding_month_end_clamps() -> None:
    """us.rule144.holding_reporting: 2024-08-31 + 6 months is 2025-02-28 (clamped)."""
    t = trade(
        _regd(reporting=True), seller("US", AI, acquired_on=date(2024, 8, 31)), buyer("US", AI)
    )
    r = denied_by(
        decide(t, AT.replace(year=2025, month=2, day=27)),
        "us.rule144.holding_reporting",
        "HOLDING_PERIOD_NOT_MET",
    )
    assert r.eligible_from == date(2025, 2, 28)
    allowed_after(decide(t, AT.replace(year=2025, month=2, day=28)), "us.rule144.holding_reporting")


def test_us_rule144_holding_discharged_by_rule_144a_resale_to_qib() -> None:
    """us.rule144.holding_non_reporting: a resale to a QIB (Rule 144A) is not held to it."""
    qib = cls("US", "qualified_institutional")
    t = trade(_regd(), seller("US", AI, acquired_on=date(2026, 1, 1)), buyer("US", qib, AI))
    d = decide(t)
    assert d.outcome == "allow", d.reasons


def test_us_reg_d_506c_verified_accredited_required() -> None:
    """us.reg_d_506c.verified_accredited: a self-certified accredited investor is refused."""
    unverified = cls("US", "accredited")
    d = decide(trade(_regd(), seller("US"), buyer("US", unverified), kind="primary"))
    denied_by(d, "us.reg_d_506c.verified_accredited", "ACCREDITATION_REQUIRED")


def test_us_reg_d_506c_verified_accredited_allowed() -> None:
    """us.reg_d_506c.verified_accredited: a verified accredited investor may buy."""
    allowed_after(
        decide(trade(_regd(), seller("US"), buyer("US", AI), kind="primary")),
        "us.reg_d_506c.verified_accredited",
    )


def test_us_reg_d_506b_non_accredited_cap_35th_denied() -> None:
    """us.reg_d_506b.non_accredited_cap: 35 non-accredited purchasers already (T14)."""
    inst = instrument(
        "us.restricted_equity", "us.reg_d_506b", "US", non_accredited_purchaser_count=35
    )
    b = buyer("US", cls("US", "sophisticated"))
    denied_by(
        decide(trade(inst, seller("US"), b, kind="primary")),
        "us.reg_d_506b.non_accredited_cap",
        "OFFERING_LIMIT_EXCEEDED",
    )


def test_us_reg_d_506b_non_accredited_cap_34_allowed() -> None:
    """us.reg_d_506b.non_accredited_cap: with 34 so far the 35th may still buy."""
    inst = instrument(
        "us.restricted_equity", "us.reg_d_506b", "US", non_accredited_purchaser_count=34
    )
    b = buyer("US", cls("US", "sophisticated"))
    allowed_after(
        decide(trade(inst, seller("US"), b, kind="primary")), "us.reg_d_506b.non_accredited_cap"
    )


def test_us_reg_d_506b_sophistication() -> None:
    """us.reg_d_506b.sophistication: a non-accredited, unsophisticated purchaser is refused."""
    inst = instrument("us.restricted_equity", "us.reg_d_506b", "US")
    denied_by(
        decide(trade(inst, seller("US"), buyer("US", cls("US", "retail")), kind="primary")),
        "us.reg_d_506b.sophistication",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_us_reg_s_dcp_equity_non_reporting_us_person_denied() -> None:
    """us.reg_s.dcp_equity_non_reporting: Cat 3 equity, US buyer within a year (T09)."""
    inst = instrument(
        "us.restricted_equity", "us.reg_s_cat3", "US", offering_closed_on=date(2025, 6, 1)
    )
    t = trade(inst, seller("JP", cls("JP", "qualified_institutional")), buyer("US", AI))
    r = denied_by(
        decide(t, AT.replace(year=2025, month=12, day=1)),
        "us.reg_s.dcp_equity_non_reporting",
        "DISTRIBUTION_PERIOD_ACTIVE",
    )
    assert r.eligible_from == date(2026, 6, 1)


def test_us_reg_s_dcp_40_days_boundary() -> None:
    """us.reg_s.dcp_40_days: Cat 2 closed 2025-06-01; day 39 denied, day 40 allowed."""
    inst = instrument(
        "us.restricted_debt", "us.reg_s_cat2", "US", offering_closed_on=date(2025, 6, 1)
    )
    t = trade(inst, seller("SG", cls("SG", "accredited")), buyer("US", AI))
    denied_by(
        decide(t, AT.replace(year=2025, month=7, day=10)),
        "us.reg_s.dcp_40_days",
        "DISTRIBUTION_PERIOD_ACTIVE",
    )
    allowed_after(decide(t, AT.replace(year=2025, month=7, day=11)), "us.reg_s.dcp_40_days")


def test_us_reg_s_offshore_transaction_primary() -> None:
    """us.reg_s.offshore_transaction: a Reg S primary sale must be offshore to a non-US person."""
    inst = instrument("us.restricted_equity", "us.reg_s_cat1", "US")
    onshore = trade(
        inst, seller("US"), buyer("JP", cls("JP", "qualified_institutional")), kind="primary"
    )
    denied_by(decide(onshore), "us.reg_s.offshore_transaction", "NO_EXEMPTION_AVAILABLE")
    offshore = onshore.model_copy(update={"offshore": True})
    assert decide(offshore).outcome == "allow"


def test_us_holders_12g_total_at_edge() -> None:
    """us.holders_12g.total: 1,998 holders + a new one is allowed; 1,999 + one is not (T10)."""
    ok = instrument("us.restricted_equity", "us.reg_d_506c", "US", holder_count=1998)
    t = trade(ok, seller("US", AI), buyer("US", AI))
    allowed_after(decide(t), "us.holders_12g.total")
    full = t.model_copy(update={"instrument": ok.model_copy(update={"holder_count": 1999})})
    denied_by(decide(full), "us.holders_12g.total", "MAX_HOLDERS_REACHED")


def test_us_holders_12g_total_existing_holder_new_wallet_allowed() -> None:
    """us.holders_12g.total: an existing holder on a new wallet adds no holder (T11)."""
    full = instrument("us.restricted_equity", "us.reg_d_506c", "US", holder_count=1999)
    t = trade(full, seller("US", AI), buyer("US", AI, balance=5))
    d = decide(t)
    assert d.outcome == "allow", d.reasons


def test_us_holders_12g_total_seller_exit_frees_a_place() -> None:
    """us.holders_12g.total: a seller selling out leaves the count unchanged at 1,999."""
    full = instrument("us.restricted_equity", "us.reg_d_506c", "US", holder_count=1999)
    t = trade(full, seller("US", AI, balance=10), buyer("US", AI))
    allowed_after(decide(t), "us.holders_12g.total")


def test_us_holders_12g_non_accredited_at_edge() -> None:
    """us.holders_12g.non_accredited: 499 non-accredited holders block a new non-accredited one."""
    inst = instrument(
        "us.restricted_equity", "us.reg_d_506c", "US", non_accredited_holder_count=499
    )
    denied_by(
        decide(trade(inst, seller("US", AI), buyer("US", cls("US", "retail")))),
        "us.holders_12g.non_accredited",
        "MAX_HOLDERS_REACHED",
    )
    inst2 = inst.model_copy(update={"non_accredited_holder_count": 498})
    allowed_after(
        decide(trade(inst2, seller("US", AI), buyer("US", cls("US", "retail")))),
        "us.holders_12g.non_accredited",
    )


def _usd(dollars: int) -> Money:
    return Money(amount=dollars * 100, currency="USD")


def _cf_buyer(income: int, net_worth: int, prior: int) -> Party:
    return buyer(
        "US",
        cls("US", "retail"),
        annual_income=_usd(income),
        net_worth=_usd(net_worth),
        crowdfunding_purchases_12m=_usd(prior),
    )


def test_us_reg_cf_investor_limit_lower_t12() -> None:
    """us.reg_cf.investor_limit_lower: $80k income, $3k prior: $5k denied, $4.5k ok (T12)."""
    inst = instrument("us.restricted_equity", "us.reg_cf", "US")
    b = _cf_buyer(80_000, 150_000, 3_000)
    over = trade(inst, seller("US"), b, kind="primary", cash_leg=cash("USD", 5_000_00))
    denied_by(decide(over), "us.reg_cf.investor_limit_lower", "AMOUNT_LIMIT_EXCEEDED")
    at_limit = over.model_copy(update={"cash_leg": cash("USD", 4_500_00)})
    allowed_after(decide(at_limit), "us.reg_cf.investor_limit_lower")


def test_us_reg_cf_investor_limit_lower_floor_2500() -> None:
    """us.reg_cf.investor_limit_lower: with small means the floor is $2,500 (equality allowed)."""
    inst = instrument("us.restricted_equity", "us.reg_cf", "US")
    t = trade(inst, seller("US"), _cf_buyer(20_000, 10_000, 0), kind="primary")
    allowed_after(
        decide(t.model_copy(update={"cash_leg": cash("USD", 2_500_00)})),
        "us.reg_cf.investor_limit_lower",
    )
    over = t.model_copy(update={"cash_leg": cash("USD", 2_500_01)})
    denied_by(decide(over), "us.reg_cf.investor_limit_lower", "AMOUNT_LIMIT_EXCEEDED")


def test_us_reg_cf_investor_limit_higher_capped_at_124k() -> None:
    """us.reg_cf.investor_limit_higher: 10% of $2m is capped at $124,000."""
    inst = instrument("us.restricted_equity", "us.reg_cf", "US")
    t = trade(inst, seller("US"), _cf_buyer(2_000_000, 500_000, 0), kind="primary")
    allowed_after(
        decide(t.model_copy(update={"cash_leg": cash("USD", 124_000_00)})),
        "us.reg_cf.investor_limit_higher",
    )
    over = t.model_copy(update={"cash_leg": cash("USD", 124_000_01)})
    denied_by(decide(over), "us.reg_cf.investor_limit_higher", "AMOUNT_LIMIT_EXCEEDED")


def test_us_reg_cf_limit_without_means_needs_information() -> None:
    """us.reg_cf.investor_limit_lower: without income or net worth the engine asks for them."""
    inst = instrument("us.restricted_equity", "us.reg_cf", "US")
    t = trade(
        inst,
        seller("US"),
        buyer("US", cls("US", "retail")),
        kind="primary",
        cash_leg=cash("USD", 100_00),
    )
    d = decide(t)
    assert d.outcome == "needs_information", d.reasons
    r = reason(d, "us.reg_cf.investor_limit_lower")
    assert r.code.value == "INFORMATION_MISSING"
    assert "buyer.annual_income" in r.explanation


def test_us_reg_cf_resale_one_year() -> None:
    """us.reg_cf.resale_one_year: issued 2025-03-01; to retail 2026-02-28 denied, 03-01 allowed."""
    inst = instrument(
        "us.restricted_equity", "us.reg_cf", "US", offering_closed_on=date(2025, 3, 1)
    )
    t = trade(inst, seller("US"), buyer("US", cls("US", "retail")))
    r = denied_by(
        decide(t, AT.replace(month=2, day=28)),
        "us.reg_cf.resale_one_year",
        "HOLDING_PERIOD_NOT_MET",
    )
    assert r.eligible_from == date(2026, 3, 1)
    allowed_after(decide(t, AT), "us.reg_cf.resale_one_year")


def test_us_reg_cf_resale_to_accredited_excepted() -> None:
    """us.reg_cf.resale_one_year: to an accredited investor within the year is allowed."""
    inst = instrument(
        "us.restricted_equity", "us.reg_cf", "US", offering_closed_on=date(2026, 1, 1)
    )
    allowed_after(decide(trade(inst, seller("US"), buyer("US", AI))), "us.reg_cf.resale_one_year")


def test_us_reg_a_tier2_investor_limit_t13() -> None:
    """us.reg_a_tier2.investor_limit: income $60k, NW $90k; $9,500 denied, $9,000 allowed (T13)."""
    inst = instrument("us.reg_a_security", "us.reg_a_tier2", "US")
    b = buyer("US", cls("US", "retail"), annual_income=_usd(60_000), net_worth=_usd(90_000))
    over = trade(inst, seller("US"), b, kind="primary", cash_leg=cash("USD", 9_500_00))
    denied_by(decide(over), "us.reg_a_tier2.investor_limit", "AMOUNT_LIMIT_EXCEEDED")
    ok = over.model_copy(update={"cash_leg": cash("USD", 9_000_00)})
    allowed_after(decide(ok), "us.reg_a_tier2.investor_limit")
