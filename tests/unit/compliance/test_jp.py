"""Scenarios under Japanese rules (specs/jurisdictions/JP.json); each names its rule id."""

from __future__ import annotations

from datetime import date
from typing import Any

from bridge.compliance.model import Instrument
from bridge.model.enums import Capability
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

QII = cls("JP", "qualified_institutional")


def _qii_only(**kw: Any) -> Instrument:
    return instrument("jp.ertr", "jp.qii_only", "JP", **kw)


def test_jp_qii_only_transfer_denies_general_investor() -> None:
    """jp.qii_only.transfer: a QII-only ERTR cannot pass to a JP general investor (T01)."""
    d = decide(trade(_qii_only(), seller("JP", QII), buyer("JP", cls("JP", "retail"))))
    denied_by(d, "jp.qii_only.transfer", "INVESTOR_CLASS_NOT_ALLOWED")


def test_jp_qii_only_transfer_allows_qii() -> None:
    """jp.qii_only.transfer: a buyer holding a valid JP QII classification may buy (T02)."""
    allowed_after(
        decide(trade(_qii_only(), seller("JP", QII), buyer("JP", QII))), "jp.qii_only.transfer"
    )


def test_jp_qii_only_transfer_expired_qii_classification_denies() -> None:
    """jp.qii_only.transfer: a QII classification that ended the day before does not count."""
    expired = cls("JP", "qualified_institutional", valid_until=date(2026, 2, 28))
    d = decide(trade(_qii_only(), seller("JP", QII), buyer("JP", expired)))
    denied_by(d, "jp.qii_only.transfer", "INVESTOR_CLASS_NOT_ALLOWED")


def test_jp_qii_only_transfer_valid_until_today_still_counts() -> None:
    """jp.qii_only.transfer: valid_until is inclusive, so the last day still counts."""
    last_day = cls("JP", "qualified_institutional", valid_until=AT.date())
    allowed_after(
        decide(trade(_qii_only(), seller("JP", QII), buyer("JP", last_day))), "jp.qii_only.transfer"
    )


def test_jp_qii_only_onchain_control_needs_whitelist() -> None:
    """jp.qii_only.onchain_control: a chain without an enforced allow list is refused (T03)."""
    d = decide(trade(_qii_only(capabilities=()), seller("JP", QII), buyer("JP", QII)))
    denied_by(d, "jp.qii_only.onchain_control", "TECHNICAL_CONTROL_MISSING")


def test_jp_qii_only_onchain_control_satisfied_by_whitelist() -> None:
    """jp.qii_only.onchain_control: with Capability.WHITELIST the control rule is met."""
    inst = _qii_only(capabilities=(Capability.WHITELIST, Capability.ADDRESS_FREEZE))
    allowed_after(
        decide(trade(inst, seller("JP", QII), buyer("JP", QII))), "jp.qii_only.onchain_control"
    )


def test_jp_small_number_offerees_49_allowed() -> None:
    """jp.small_number.offerees: the 49th offeree (counting the buyer) is allowed."""
    inst = instrument("jp.ertr", "jp.small_number", "JP", offeree_count=49)
    allowed_after(
        decide(trade(inst, seller("JP"), buyer("JP"), kind="primary")), "jp.small_number.offerees"
    )


def test_jp_small_number_offerees_50_denied() -> None:
    """jp.small_number.offerees: a 50th offeree breaks the fewer-than-50 limit."""
    inst = instrument("jp.ertr", "jp.small_number", "JP", offeree_count=50)
    d = decide(trade(inst, seller("JP"), buyer("JP"), kind="primary"))
    denied_by(d, "jp.small_number.offerees", "OFFERING_LIMIT_EXCEEDED")


def test_jp_small_number_counts_offerees_not_holders() -> None:
    """jp.small_number.offerees: 300 holders do not matter; the limit counts offerees."""
    inst = instrument("jp.ertr", "jp.small_number", "JP", offeree_count=10, holder_count=300)
    allowed_after(
        decide(trade(inst, seller("JP"), buyer("JP"), kind="primary")), "jp.small_number.offerees"
    )


def test_jp_specified_investors_transfer_expired_opt_up_denied() -> None:
    """jp.specified_investors.transfer: an opt-up granted 2024-05-01 lapses after one year (T04)."""
    opted = cls("JP", "specified", granted_on=date(2024, 5, 1))
    inst = instrument("jp.tokenised_security", "jp.specified_investors", "JP")
    d = decide(
        trade(inst, seller("JP", QII), buyer("JP", opted)), AT.replace(year=2025, month=6, day=1)
    )
    denied_by(d, "jp.specified_investors.transfer", "INVESTOR_CLASS_NOT_ALLOWED")


def test_jp_specified_investors_transfer_opt_up_last_day_and_expiry_day() -> None:
    """jp.specified_investors.transfer: valid the day before the anniversary, not on it."""
    opted = cls("JP", "specified", granted_on=date(2024, 5, 1))
    inst = instrument("jp.tokenised_security", "jp.specified_investors", "JP")
    t = trade(inst, seller("JP", QII), buyer("JP", opted))
    allowed_after(
        decide(t, AT.replace(year=2025, month=4, day=30)), "jp.specified_investors.transfer"
    )
    d = decide(t, AT.replace(year=2025, month=5, day=1))
    denied_by(d, "jp.specified_investors.transfer", "INVESTOR_CLASS_NOT_ALLOWED")


def test_jp_specified_investors_transfer_qii_counts_as_specified() -> None:
    """jp.specified_investors.transfer: a QII is a specified investor (class lattice)."""
    inst = instrument("jp.tokenised_security", "jp.specified_investors", "JP")
    allowed_after(
        decide(trade(inst, seller("JP", QII), buyer("JP", QII))), "jp.specified_investors.transfer"
    )


def test_jp_specified_investors_transfer_foreign_legal_person() -> None:
    """jp.specified_investors.transfer: a foreign legal person is a specified investor per se."""
    inst = instrument("jp.tokenised_security", "jp.specified_investors", "JP")
    foreign_corp = buyer("SG", cls("SG", "accredited"), entity_type="legal_person")
    allowed_after(
        decide(trade(inst, seller("JP", QII), foreign_corp)), "jp.specified_investors.transfer"
    )


def test_jp_excluded_ertr_transfer_conservative_qii_only() -> None:
    """jp.excluded_ertr.transfer: the permitted set is encoded conservatively as QIIs."""
    inst = instrument("jp.ertr_excluded", "jp.excluded_ertr", "JP")
    d = decide(
        trade(
            inst,
            seller("JP", QII),
            buyer("JP", cls("JP", "specified", granted_on=date(2026, 1, 1))),
        )
    )
    denied_by(d, "jp.excluded_ertr.transfer", "INVESTOR_CLASS_NOT_ALLOWED")


def test_jp_kyc_buyer_expired_denies() -> None:
    """jp.kyc.buyer_expired: a buyer whose KYC expired yesterday is refused with KYC_EXPIRED."""
    from bridge.compliance.model import Kyc

    b = buyer("JP", QII, kyc=Kyc(status="verified", expires_on=date(2026, 2, 28)))
    d = decide(trade(_qii_only(), seller("JP", QII), b))
    denied_by(d, "jp.kyc.buyer_expired", "KYC_EXPIRED")
    assert all(r.rule_id != "jp.kyc.buyer" for r in d.reasons)


def test_jp_kyc_seller_pending_denies() -> None:
    """jp.kyc.seller: a seller whose KYC is still pending has none yet: KYC_MISSING."""
    from bridge.compliance.model import Kyc

    s = seller("JP", QII, kyc=Kyc(status="pending"))
    denied_by(decide(trade(_qii_only(), s, buyer("JP", QII))), "jp.kyc.seller", "KYC_MISSING")
