"""Corporate actions as data: dividends, coupons, redemptions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from bridge.model.base import CanonicalModel
from bridge.model.chain import AssetRef
from bridge.types import Amount, CurrencyCode

__all__ = ["CorporateAction", "CouponPayment", "Dividend", "Redemption"]


class Dividend(CanonicalModel):
    """A dividend of ``amount_per_unit`` (minor units of ``currency``) per token unit."""

    kind: Literal["dividend"] = "dividend"
    asset: AssetRef
    record_date: date
    payment_date: date
    amount_per_unit: Amount
    currency: CurrencyCode


class CouponPayment(CanonicalModel):
    """A bond coupon paid on ``payment_date`` at ``rate_ppm`` of face value."""

    kind: Literal["coupon"] = "coupon"
    asset: AssetRef
    payment_date: date
    rate_ppm: int = Field(strict=True, ge=0, le=10_000_000)
    amount_per_unit: Amount
    currency: CurrencyCode


class Redemption(CanonicalModel):
    """Redemption (repayment) of the instrument at ``amount_per_unit``."""

    kind: Literal["redemption"] = "redemption"
    asset: AssetRef
    redemption_date: date
    amount_per_unit: Amount
    currency: CurrencyCode


CorporateAction = Annotated[Dividend | CouponPayment | Redemption, Field(discriminator="kind")]
"""Any corporate action; ``kind`` says which."""
