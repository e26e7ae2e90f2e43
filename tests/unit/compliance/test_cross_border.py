"""Cross-border pairs, both directions: JP-US, JP-SG, JP-EU, US-EU, SG-HK, CH-EU.

Each test names the rule that decides it: the home jurisdiction's resale rule, the
buyer's jurisdiction's rule for foreign instruments, or the conservative class mapping.
"""

from __future__ import annotations

from datetime import date

from tests.strategies_compliance import (
    AT,
    allowed_after,
    buyer,
    cls,
    decide,
    denied_by,
    instrument,
    seller,
    trade,
)

JP_QII = cls("JP", "qualified_institutional")
US_AI = cls("US", "accredited", verified=True)
US_QIB = cls("US", "qualified_institutional")


def test_jp_to_us_qii_only_token_refuses_us_accredited() -> None:
    """jp.qii_only.transfer (JP->US): a US accredited investor is no JP QII."""
    inst = instrument("jp.real_estate_st", "jp.qii_only", "JP")
    denied_by(
        decide(trade(inst, seller("JP", JP_QII), buyer("US", US_AI, US_QIB))),
        "jp.qii_only.transfer",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_jp_to_us_specified_token_admits_us_qib_via_mapping() -> None:
    """jp.specified_investors.transfer (JP->US): a US QIB maps to JP specified."""
    inst = instrument("jp.tokenised_security", "jp.specified_investors", "JP")
    allowed_after(
        decide(trade(inst, seller("JP", JP_QII), buyer("US", US_QIB))),
        "jp.specified_investors.transfer",
    )


def test_jp_to_us_specified_token_refuses_us_individual_accredited() -> None:
    """jp.specified_investors.transfer (JP->US): US accredited individuals are not mapped."""
    inst = instrument("jp.tokenised_security", "jp.specified_investors", "JP")
    denied_by(
        decide(trade(inst, seller("JP", JP_QII), buyer("US", US_AI))),
        "jp.specified_investors.transfer",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_jp_primary_to_us_person_needs_us_exemption() -> None:
    """us.foreign_primary.us_person (JP->US): a JP issuer's sale to US retail is refused."""
    inst = instrument("jp.tokenised_security", "jp.public_offering", "JP")
    d = decide(trade(inst, seller("JP"), buyer("US", cls("US", "retail")), kind="primary"))
    denied_by(d, "us.foreign_primary.us_person", "NO_EXEMPTION_AVAILABLE")


def test_us_to_jp_offshore_resale_by_non_affiliate_allowed() -> None:
    """us.rule144.holding_non_reporting (US->JP): Rule 904 resale to a JP QII (T08)."""
    inst = instrument("us.restricted_equity", "us.reg_d_506c", "US")
    t = trade(
        inst, seller("US", US_AI, acquired_on=date(2025, 3, 1)), buyer("JP", JP_QII), offshore=True
    )
    d = decide(t, AT.replace(year=2025, month=6, day=1))
    assert d.outcome == "allow", d.reasons
    assert "us.rule144.holding_non_reporting" in d.rules_evaluated


def test_us_to_jp_resale_to_jp_retail_refused_by_jp_side() -> None:
    """jp.foreign_instrument.buyer (US->JP): a US token is not resold to JP retail."""
    inst = instrument("us.restricted_equity", "us.reg_d_506c", "US")
    t = trade(inst, seller("US", US_AI), buyer("JP", cls("JP", "retail")), offshore=True)
    denied_by(decide(t), "jp.foreign_instrument.buyer", "NO_EXEMPTION_AVAILABLE")


def test_us_to_jp_affiliate_seller_not_discharged() -> None:
    """us.rule144.holding_non_reporting (US->JP): an affiliate cannot use the Rule 904 route."""
    inst = instrument("us.restricted_equity", "us.reg_d_506c", "US")
    t = trade(
        inst,
        seller("US", US_AI, acquired_on=date(2025, 3, 1), affiliate=True),
        buyer("JP", JP_QII),
        offshore=True,
    )
    denied_by(
        decide(t, AT.replace(year=2025, month=6, day=1)),
        "us.rule144.holding_non_reporting",
        "HOLDING_PERIOD_NOT_MET",
    )


def test_jp_to_sg_real_estate_token_to_sg_accredited_allowed() -> None:
    """sg.foreign_instrument.buyer (JP->SG): a SG accredited investor may buy a JP token."""
    inst = instrument("jp.real_estate_st", "jp.public_offering", "JP")
    allowed_after(
        decide(trade(inst, seller("JP"), buyer("SG", cls("SG", "accredited")))),
        "sg.foreign_instrument.buyer",
    )


def test_jp_to_sg_retail_refused() -> None:
    """sg.foreign_instrument.buyer (JP->SG): a SG retail buyer of a resold JP token is refused."""
    inst = instrument("jp.real_estate_st", "jp.public_offering", "JP")
    denied_by(
        decide(trade(inst, seller("JP"), buyer("SG", cls("SG", "retail")))),
        "sg.foreign_instrument.buyer",
        "NO_EXEMPTION_AVAILABLE",
    )


def test_sg_to_jp_s276_window_to_jp_buyer() -> None:
    """sg.s276.resale_window (SG->JP): within 6 months a JP QII is no SG AI."""
    inst = instrument("sg.security", "sg.s275", "SG")
    t = trade(inst, seller("SG", acquired_on=date(2026, 1, 15)), buyer("JP", JP_QII))
    denied_by(decide(t), "sg.s276.resale_window", "HOLDING_PERIOD_NOT_MET")


def test_jp_to_eu_professional_buyer_allowed() -> None:
    """eu.foreign_instrument.buyer (JP->EU): a DE professional client may buy a JP token."""
    inst = instrument("jp.tokenised_security", "jp.public_offering", "JP")
    allowed_after(
        decide(trade(inst, seller("JP"), buyer("DE", cls("EU", "professional")))),
        "eu.foreign_instrument.buyer",
    )


def test_jp_to_eu_retail_resale_refused() -> None:
    """eu.foreign_instrument.buyer (JP->EU): a FR retail client cannot receive a resold JP token."""
    inst = instrument("jp.tokenised_security", "jp.public_offering", "JP")
    denied_by(
        decide(trade(inst, seller("JP"), buyer("FR", cls("EU", "retail")))),
        "eu.foreign_instrument.buyer",
        "NO_EXEMPTION_AVAILABLE",
    )


def test_eu_to_jp_retail_refused_jp_qii_allowed() -> None:
    """jp.foreign_instrument.buyer (EU->JP): JP general investor refused; JP QII allowed."""
    inst = instrument("eu.dlt_share", "eu.public_offer", "EU")
    denied_by(
        decide(trade(inst, seller("DE"), buyer("JP", cls("JP", "retail")))),
        "jp.foreign_instrument.buyer",
        "NO_EXEMPTION_AVAILABLE",
    )
    allowed_after(
        decide(trade(inst, seller("DE"), buyer("JP", JP_QII))), "jp.foreign_instrument.buyer"
    )


def test_us_to_eu_reg_s_resale_to_eu_professional_allowed() -> None:
    """eu.foreign_instrument.buyer (US->EU): Reg S paper resold to a NL professional client."""
    inst = instrument(
        "us.restricted_equity", "us.reg_s_cat3", "US", offering_closed_on=date(2025, 12, 1)
    )
    allowed_after(
        decide(trade(inst, seller("JP", JP_QII), buyer("NL", cls("EU", "professional")))),
        "eu.foreign_instrument.buyer",
    )


def test_us_qib_counts_as_eu_professional() -> None:
    """eu.pr.qualified_only (EU->US): a US QIB maps to an EU professional client."""
    inst = instrument("eu.dlt_bond", "eu.pr_qualified_investors", "EU")
    allowed_after(
        decide(trade(inst, seller("DE", cls("EU", "professional")), buyer("US", US_QIB))),
        "eu.pr.qualified_only",
    )


def test_eu_to_us_accredited_individual_not_eu_professional() -> None:
    """eu.pr.qualified_only (EU->US): US accredited individuals are not EU professionals."""
    inst = instrument("eu.dlt_bond", "eu.pr_qualified_investors", "EU")
    denied_by(
        decide(trade(inst, seller("DE", cls("EU", "professional")), buyer("US", US_AI))),
        "eu.pr.qualified_only",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_sg_to_hk_buyer_must_be_hk_professional() -> None:
    """hk.foreign_instrument.buyer (SG->HK): HK retail refused, HK professional allowed."""
    inst = instrument("sg.security", "sg.prospectus", "SG")
    denied_by(
        decide(trade(inst, seller("SG"), buyer("HK", cls("HK", "retail")))),
        "hk.foreign_instrument.buyer",
        "NO_EXEMPTION_AVAILABLE",
    )
    allowed_after(
        decide(trade(inst, seller("SG"), buyer("HK", cls("HK", "professional")))),
        "hk.foreign_instrument.buyer",
    )


def test_hk_to_sg_pi_placement_to_sg_accredited() -> None:
    """hk.private_placement.pi_only (HK->SG): a SG accredited investor is no HK PI."""
    inst = instrument("hk.tokenised_security", "hk.private_placement_pi", "HK")
    denied_by(
        decide(
            trade(
                inst, seller("HK", cls("HK", "professional")), buyer("SG", cls("SG", "accredited"))
            )
        ),
        "hk.private_placement.pi_only",
        "INVESTOR_CLASS_NOT_ALLOWED",
    )


def test_ch_to_eu_professional_allowed_retail_refused() -> None:
    """eu.foreign_instrument.buyer (CH->EU): a CH ledger security to DE professional / retail."""
    inst = instrument("ch.ledger_security", "ch.public_prospectus", "CH")
    allowed_after(
        decide(trade(inst, seller("CH"), buyer("DE", cls("EU", "professional")))),
        "eu.foreign_instrument.buyer",
    )
    denied_by(
        decide(trade(inst, seller("CH"), buyer("DE", cls("EU", "retail")))),
        "eu.foreign_instrument.buyer",
        "NO_EXEMPTION_AVAILABLE",
    )


def test_eu_to_ch_eu_professional_maps_to_ch_professional() -> None:
    """ch.foreign_instrument.buyer (EU->CH): an EU professional living in CH may buy."""
    inst = instrument("eu.dlt_share", "eu.public_offer", "EU", offeree_count=800)
    allowed_after(
        decide(trade(inst, seller("DE"), buyer("CH", cls("EU", "professional")))),
        "ch.foreign_instrument.buyer",
    )
    denied_by(
        decide(trade(inst, seller("DE"), buyer("CH", cls("CH", "retail")))),
        "ch.foreign_instrument.buyer",
        "NO_EXEMPTION_AVAILABLE",
    )
