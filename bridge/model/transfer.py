"""Transfer intents and the verdict of checking them."""

from __future__ import annotations

from pydantic import Field, model_validator

from bridge.model.base import CanonicalModel
from bridge.model.chain import AssetRef
from bridge.model.enums import Standard
from bridge.reasons import ReasonCode
from bridge.types import Address, Amount

__all__ = ["Refusal", "TransferCheck", "TransferIntent"]


class TransferIntent(CanonicalModel):
    """A transfer someone wants to make: ``amount`` base units from ``sender`` to ``recipient``."""

    asset: AssetRef
    sender: Address
    recipient: Address
    amount: Amount
    partition: str | None = Field(default=None, description="ERC-1400 partition (hex bytes32).")
    operator: Address | None = Field(default=None, description="Caller, when not the sender.")


class Refusal(CanonicalModel):
    """One reason a transfer is refused: canonical code plus what the source really said."""

    code: ReasonCode
    source_standard: Standard | None = None
    raw_code: str | None = Field(default=None, max_length=200)
    raw_message: str | None = Field(default=None, max_length=2000)
    detail: str = Field(default="", max_length=2000, description="One line for a person.")


class TransferCheck(CanonicalModel):
    """The verdict of a dry run: allowed, or refused with at least one reason."""

    intent: TransferIntent
    allowed: bool
    refusals: tuple[Refusal, ...] = ()

    @model_validator(mode="after")
    def _verdict_matches_reasons(self) -> TransferCheck:
        if self.allowed and self.refusals:
            raise ValueError("refusals: an allowed transfer carries no refusal")
        if not self.allowed and not self.refusals:
            raise ValueError("refusals: a refused transfer carries at least one reason")
        return self

    @property
    def reason(self) -> ReasonCode:
        """The first refusal's code, or OK."""
        return self.refusals[0].code if self.refusals else ReasonCode.OK
