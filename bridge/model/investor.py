"""Investors, their claims and classifications, and their eligibility for one asset."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, model_validator

from bridge.model.base import CanonicalModel
from bridge.model.chain import AssetRef
from bridge.model.enums import ClaimType, IdentitySource, InvestorClass
from bridge.types import Address, CountryCode, JurisdictionCode

__all__ = ["Claim", "Classification", "Eligibility", "Investor"]


class Claim(CanonicalModel):
    """An attestation about an investor (KYC, accreditation, ...), by an issuer, maybe expiring."""

    type: ClaimType
    issuer: str | None = Field(default=None, max_length=200)
    topic: int | None = Field(default=None, strict=True, ge=0, description="Native claim topic.")
    custom_name: str | None = Field(default=None, max_length=100)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    evidence_ref: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _window(self) -> Claim:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until: must not be before valid_from")
        if (self.type is ClaimType.CUSTOM) != (self.custom_name is not None):
            raise ValueError("custom_name: required for a custom claim, and only for one")
        return self

    def is_valid_at(self, at: datetime) -> bool:
        """True when ``at`` lies inside the claim's validity window."""
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_until is None or at <= self.valid_until


class Classification(CanonicalModel):
    """An investor class under the law of ``jurisdiction`` (e.g. JP qualified institutional)."""

    jurisdiction: JurisdictionCode
    investor_class: InvestorClass
    valid_until: AwareDatetime | None = None


class Investor(CanonicalModel):
    """A person or entity behind one or more wallets."""

    identity_ref: str = Field(min_length=1, max_length=200)
    identity_source: IdentitySource
    wallets: tuple[Address, ...] = ()
    country: CountryCode | None = None
    classifications: tuple[Classification, ...] = ()
    claims: tuple[Claim, ...] = ()

    def valid_claims(self, at: datetime) -> tuple[Claim, ...]:
        """Claims valid at ``at``."""
        return tuple(c for c in self.claims if c.is_valid_at(at))


class Eligibility(CanonicalModel):
    """Whether an investor may hold a given asset now, and why not if not."""

    asset: AssetRef
    wallet: Address
    eligible: bool
    investor: Investor | None = None
    missing: tuple[str, ...] = Field(
        default=(), description="What is missing (claim types, registration, country...)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Eligibility:
        if self.eligible and self.missing:
            raise ValueError("missing: an eligible investor has nothing missing")
        return self
