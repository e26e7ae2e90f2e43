"""Scenarios under EU, SG, HK, CH and UK (GB) rules; each names its rule id."""

from __future__ import annotations

from datetime import date

from tests.strategies_compliance import (
    AT,
    allowed_after,
    buyer,
    cash,
    cls,
    decide,
    denied_by,
    instrument,
    seller,
    trade,
)

EU_PRO = cls("EU", "professional")


# ---------------------------------------------------------------- EU


def test_eu_pr_150_per_member_state_de_149_prior_denied() -> None:
    """eu.pr.150_per_member_state: 149 DE offerees plus this DE retail buyer is 150 (T15)."""
    inst = instrument(
        "eu.transferable_security",
        "eu.pr_150_per_state",
        "EU",
        offerees_by_country={"DE": 150, "FR": 20},
    )
    d = decide(trade(inst, seller("DE"), buyer("DE", cls("EU", "retail")), kind="primary"))
    denied_by(d, "eu.pr.150_per_member_state", "OFFERING_LIMIT_EXCEEDED")


def test_eu_pr_150_per_member_state_counts_per_state() -> None:
    """eu.pr.150_per_member_state: the same offer to a FR retail buyer (FR count 21) is fine."""
    inst = instrument(
        "eu.transferable_security",
        "eu.pr_150_per_state",
        "EU",
        offerees_by_country={"DE": 150, "FR": 21},
    )
    allowed_after(
        decide(trade(inst, seller("DE"), buyer("FR", cls("EU", "retail")), kind="primary")),
        "eu.pr.150_per_member_state",
    )


def test_eu_pr_qualified_only_retail_denied_elective_professional_allowed() -> None:
    """eu.pr.qualified_only: DE retail refused, DE elective professional admitted (T16)."""
    inst = instrument("eu.dlt_bond", "eu.pr_qualified_investors", "EU")
    denied_by(
        decide(trade(inst, seller("FR", EU_PRO), buyer("DE", cls("EU", "retail")))),
        "eu.pr.qualified_only",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )
    allowed_after(
        decide(trade(inst, seller("FR", EU_PRO), buyer("DE", cls("DE", "professional")))),
        "eu.pr.qualified_only",
    )


def test_eu_pr_qualified_only_eligible_counterparty_included() -> None:
    """eu.pr.qualified_only: an eligible counterparty is a professional (class lattice)."""
    inst = instrument("eu.dlt_share", "eu.pr_qualified_investors", "EU")
    allowed_after(
        decide(trade(inst, seller("FR", EU_PRO), buyer("NL", cls("EU", "eligible_counterparty")))),
        "eu.pr.qualified_only",
    )


def test_eu_pr_100k_per_investor_boundary() -> None:
    """eu.pr.100k_per_investor: EUR 100,000.00 is enough, EUR 99,999.99 is not."""
    inst = instrument("eu.de_crypto_security", "eu.pr_100k_per_investor", "EU")
    t = trade(inst, seller("DE"), buyer("DE"), kind="primary", cash_leg=cash("EUR", 10_000_000))
    allowed_after(decide(t), "eu.pr.100k_per_investor")
    short = t.model_copy(update={"cash_leg": cash("EUR", 9_999_999)})
    denied_by(decide(short), "eu.pr.100k_per_investor", "NO_EXEMPTION_AVAILABLE")
    unpaid = t.model_copy(update={"cash_leg": None})
    denied_by(decide(unpaid), "eu.pr.100k_per_investor", "NO_EXEMPTION_AVAILABLE")


# ---------------------------------------------------------------- SG


def test_sg_s276_resale_window_retail_within_6_months_denied() -> None:
    """sg.s276.resale_window: s275 shares sold to SG retail within 6 months (T17a)."""
    inst = instrument("sg.security", "sg.s275", "SG")
    t = trade(
        inst,
        seller("SG", cls("SG", "accredited"), acquired_on=date(2025, 1, 15)),
        buyer("SG", cls("SG", "retail")),
    )
    r = denied_by(
        decide(t, AT.replace(year=2025, month=5, day=1)),
        "sg.s276.resale_window",
        "HOLDING_PERIOD_NOT_MET",
    )
    assert r.eligible_from == date(2025, 7, 15)


def test_sg_s276_resale_window_accredited_buyer_allowed() -> None:
    """sg.s276.resale_window: the same sale to a SG accredited investor is allowed (T17b)."""
    inst = instrument("sg.security", "sg.s275", "SG")
    t = trade(
        inst,
        seller("SG", cls("SG", "accredited"), acquired_on=date(2025, 1, 15)),
        buyer("SG", cls("SG", "accredited")),
    )
    allowed_after(decide(t, AT.replace(year=2025, month=5, day=1)), "sg.s276.resale_window")


def test_sg_s276_resale_window_day_before_and_day_of() -> None:
    """sg.s276.resale_window: to retail, 2025-07-14 is refused and 2025-07-15 allowed."""
    inst = instrument("sg.security", "sg.s275", "SG")
    t = trade(inst, seller("SG", acquired_on=date(2025, 1, 15)), buyer("SG", cls("SG", "retail")))
    denied_by(
        decide(t, AT.replace(year=2025, month=7, day=14)),
        "sg.s276.resale_window",
        "HOLDING_PERIOD_NOT_MET",
    )
    allowed_after(decide(t, AT.replace(year=2025, month=7, day=15)), "sg.s276.resale_window")


def test_sg_s276_listed_same_class_excepted() -> None:
    """sg.s276.resale_window: listed same-class securities are excepted (s276(7))."""
    inst = instrument("sg.security", "sg.s275", "SG", listed=True)
    t = trade(inst, seller("SG", acquired_on=date(2025, 1, 15)), buyer("SG", cls("SG", "retail")))
    assert decide(t, AT.replace(year=2025, month=5, day=1)).outcome == "allow"


def test_sg_s275_offer_eligibility_primary() -> None:
    """sg.s275.offer_eligibility: a s275 primary offer to SG retail is refused."""
    inst = instrument("sg.security", "sg.s275", "SG")
    denied_by(
        decide(trade(inst, seller("SG"), buyer("SG", cls("SG", "retail")), kind="primary")),
        "sg.s275.offer_eligibility",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_sg_s272b_offerees_50_allowed_51_denied() -> None:
    """sg.s272b.offerees: the 50th offeree is allowed, the 51st is not."""
    inst = instrument("sg.security", "sg.s272b", "SG", offeree_count=50)
    allowed_after(
        decide(trade(inst, seller("SG"), buyer("SG"), kind="primary")), "sg.s272b.offerees"
    )
    over = inst.model_copy(update={"offeree_count": 51})
    denied_by(
        decide(trade(over, seller("SG"), buyer("SG"), kind="primary")),
        "sg.s272b.offerees",
        "OFFERING_LIMIT_EXCEEDED",
    )


# ---------------------------------------------------------------- HK


def test_hk_private_placement_pi_only_retail_denied() -> None:
    """hk.private_placement.pi_only: a privately placed bond cannot go to HK retail (T18a)."""
    inst = instrument("hk.tokenised_security", "hk.private_placement_pi", "HK")
    denied_by(
        decide(
            trade(inst, seller("HK", cls("HK", "professional")), buyer("HK", cls("HK", "retail")))
        ),
        "hk.private_placement.pi_only",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_hk_private_placement_pi_only_professional_allowed() -> None:
    """hk.private_placement.pi_only: an individual PI (HK$9m portfolio) may buy (T18b)."""
    inst = instrument("hk.tokenised_security", "hk.private_placement_pi", "HK")
    allowed_after(
        decide(
            trade(
                inst,
                seller("HK", cls("HK", "professional")),
                buyer("HK", cls("HK", "professional")),
            )
        ),
        "hk.private_placement.pi_only",
    )


def test_hk_sfc_authorised_fund_to_retail_allowed() -> None:
    """hk.private_placement.pi_only: an SFC-authorised tokenised fund adds no PI test (T19)."""
    inst = instrument("hk.tokenised_fund", "hk.sfc_authorised", "HK")
    d = decide(
        trade(inst, seller("HK", cls("HK", "professional")), buyer("HK", cls("HK", "retail")))
    )
    assert d.outcome == "allow", d.reasons
    assert "hk.private_placement.pi_only" in d.rules_evaluated


# ---------------------------------------------------------------- CH


def test_ch_finsa36_professional_only_resale_to_private_client_denied() -> None:
    """ch.finsa36.professional_only: each resale is an offer; a private client is refused."""
    inst = instrument("ch.ledger_security", "ch.finsa36_professional", "CH")
    denied_by(
        decide(
            trade(inst, seller("CH", cls("CH", "professional")), buyer("CH", cls("CH", "retail")))
        ),
        "ch.finsa36.professional_only",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_ch_finsa36_professional_only_institutional_included() -> None:
    """ch.finsa36.professional_only: institutional clients are a subset of professional clients."""
    inst = instrument("ch.ledger_security", "ch.finsa36_professional", "CH")
    allowed_after(
        decide(trade(inst, seller("CH"), buyer("CH", cls("CH", "institutional")))),
        "ch.finsa36.professional_only",
    )


def test_ch_finsa36_under_500_edge() -> None:
    """ch.finsa36.under_500: 499 investors allowed, 500 refused."""
    inst = instrument("ch.ledger_security", "ch.finsa36_under_500", "CH", offeree_count=499)
    allowed_after(decide(trade(inst, seller("CH"), buyer("CH"))), "ch.finsa36.under_500")
    over = inst.model_copy(update={"offeree_count": 500})
    denied_by(
        decide(trade(over, seller("CH"), buyer("CH"))),
        "ch.finsa36.under_500",
        "OFFERING_LIMIT_EXCEEDED",
    )


# ---------------------------------------------------------------- GB


def test_gb_fpo_restricted_promotion_hnw_allowed_retail_denied() -> None:
    """gb.fpo.restricted_promotion: a certified HNW investor may buy; a retail client may not."""
    inst = instrument("gb.transferable_security", "gb.fpo_restricted", "GB")
    hnw = cls("GB", "high_net_worth", granted_on=date(2025, 6, 1))
    allowed_after(
        decide(trade(inst, seller("GB"), buyer("GB", hnw))), "gb.fpo.restricted_promotion"
    )
    denied_by(
        decide(trade(inst, seller("GB"), buyer("GB", cls("GB", "retail")))),
        "gb.fpo.restricted_promotion",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_gb_fpo_restricted_promotion_hnw_certificate_lapses() -> None:
    """gb.fpo.restricted_promotion: a HNW certificate from 2025-02-01 has lapsed by 2026-03-01."""
    inst = instrument("gb.transferable_security", "gb.fpo_restricted", "GB")
    old = cls("GB", "high_net_worth", granted_on=date(2025, 2, 1))
    denied_by(
        decide(trade(inst, seller("GB"), buyer("GB", old))),
        "gb.fpo.restricted_promotion",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_gb_qualified_investors_transfer_refusal_carries_its_verification() -> None:
    """gb.qualified_investors.transfer (UK Prospectus Regulation, in force until 2026-01-18):
    the refusal carries the rule's verification, 'partial' (Art 1(4)(a) read in the EU text
    the UK took over, not in the UK's amended version)."""
    inst = instrument("gb.dss_security", "gb.qualified_investors", "GB")
    r = denied_by(
        decide(trade(inst, seller("GB"), buyer("GB", cls("GB", "retail"))), AT.replace(year=2025)),
        "gb.qualified_investors.transfer",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )
    assert r.verification == "partial"
