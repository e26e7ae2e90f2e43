"""Corporate actions as data (dividends, coupons, redemptions), and the verdict of an agent
operation's dry run (mint, burn, forced transfer, recovery)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from bridge.model.base import CanonicalModel
from bridge.model.chain import AssetRef
from bridge.model.enums import Capability
from bridge.model.transfer import Refusal
from bridge.reasons import ReasonCode
from bridge.types import Address, Amount, CurrencyCode

__all__ = [
    "AgentOperationCheck",
    "CorporateAction",
    "CouponPayment",
    "Dividend",
    "Redemption",
]


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


class AgentOperationCheck(CanonicalModel):
    """The verdict of dry-running an agent operation (nothing is sent).

    ``operation`` is the capability (mint, burn, forced transfer, recovery, ...),
    ``agent`` who would sign it, ``params`` the operation's parameters as given (addresses
    and integer amounts); refused with the same canonical reasons as a transfer, each
    carrying what the token would say (``raw_message``).
    """

    asset: AssetRef
    operation: Capability
    agent: Address
    params: dict[str, str | int | bool] = Field(default_factory=dict)
    allowed: bool
    refusals: tuple[Refusal, ...] = ()

    @model_validator(mode="after")
    def _verdict_matches_reasons(self) -> AgentOperationCheck:
        if self.allowed and self.refusals:
            raise ValueError("refusals: an allowed operation carries no refusal")
        if not self.allowed and not self.refusals:
            raise ValueError("refusals: a refused operation carries at least one reason")
        return self

    @property
    def reason(self) -> ReasonCode:
        """The first refusal's code, or OK."""
        return self.refusals[0].code if self.refusals else ReasonCode.OK
