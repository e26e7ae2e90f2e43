"""Instrument terms (what the token is a right to) and money amounts.

Money is an integer in the currency's minor unit (cents for USD, yen for JPY). Rates
are integers in parts per million (1 % = 10_000 ppm), which holds ibet's interest rate
(four decimal places of a percent) exactly.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from bridge.model.base import CanonicalModel
from bridge.types import Amount, CountryCode, CurrencyCode

__all__ = [
    "BondTerms",
    "CashTerms",
    "EquityTerms",
    "FundTerms",
    "InstrumentTerms",
    "Money",
    "OtherTerms",
    "RealEstateTerms",
]


class Money(CanonicalModel):
    """An amount of a fiat currency in its minor unit (integer)."""

    amount: Amount
    currency: CurrencyCode


class EquityTerms(CanonicalModel):
    """A share (ibet share, tokenised equity)."""

    kind: Literal["equity"] = "equity"
    currency: CurrencyCode
    share_class: str | None = Field(default=None, max_length=100)
    issue_price: Amount | None = Field(default=None, description="Per share, minor units.")
    principal_value: Amount | None = Field(default=None, description="Per share, minor units.")
    dividend_per_share: Amount | None = None
    dividend_record_date: date | None = None
    dividend_payment_date: date | None = None
    cancellation_date: date | None = None


class BondTerms(CanonicalModel):
    """A bond (ibet straight bond, tokenised note)."""

    kind: Literal["bond"] = "bond"
    currency: CurrencyCode
    face_value: Amount = Field(description="Per unit, minor units of currency.")
    coupon_rate_ppm: int | None = Field(default=None, strict=True, ge=0, le=10_000_000)
    coupon_payment_dates: tuple[str, ...] = Field(
        default=(), description="Coupon dates as MMDD (ibet style) or ISO dates."
    )
    issue_date: date | None = None
    maturity_date: date | None = None
    redemption_value: Amount | None = Field(default=None, description="Per unit, minor units.")
    interest_currency: CurrencyCode | None = None
    redemption_currency: CurrencyCode | None = None


class FundTerms(CanonicalModel):
    """A fund unit."""

    kind: Literal["fund"] = "fund"
    currency: CurrencyCode
    fund_type: str | None = Field(default=None, max_length=100)
    nav_per_unit: Amount | None = None
    nav_date: date | None = None


class RealEstateTerms(CanonicalModel):
    """A beneficial interest in real estate (e.g. a Japanese trust beneficiary right)."""

    kind: Literal["real_estate"] = "real_estate"
    currency: CurrencyCode
    property_name: str | None = Field(default=None, max_length=200)
    property_country: CountryCode | None = None
    appraisal_value: Amount | None = None
    distribution_per_unit: Amount | None = None


class CashTerms(CanonicalModel):
    """A cash token (stablecoin / electronic payment instrument) redeemable in ``currency``."""

    kind: Literal["cash"] = "cash"
    currency: CurrencyCode
    issuer_name: str | None = Field(default=None, max_length=200)


class OtherTerms(CanonicalModel):
    """Any other instrument; free attributes keep what could not be typed."""

    kind: Literal["other"] = "other"
    description: str = Field(max_length=2000)
    currency: CurrencyCode | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


InstrumentTerms = Annotated[
    EquityTerms | BondTerms | FundTerms | RealEstateTerms | CashTerms | OtherTerms,
    Field(discriminator="kind"),
]
"""The terms of an instrument; ``kind`` says which kind."""
