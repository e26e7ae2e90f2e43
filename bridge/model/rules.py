"""Transfer-restriction rules as data, one model per kind of rule.

Adapters read a token's on-chain rules into these; the compliance engine enforces them
beside the law. ``source`` says where the rule was read (a T-REX module address, an
Algorand app id, a validator contract) so a reader can check it on chain. A rule an
adapter could not interpret becomes :class:`OpaqueRule`: it is listed, never dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from bridge.model.base import CanonicalModel
from bridge.model.enums import ClaimType, Standard
from bridge.types import Address, Amount, BasisPoints, CountryCode

__all__ = [
    "AllowListRule",
    "CountryAllowRule",
    "CountryDenyRule",
    "DenyListRule",
    "FlowbackBlockRule",
    "FullTransferOnlyRule",
    "IssuerApprovalRule",
    "LockupRule",
    "MaxBalanceRule",
    "MaxHoldersRule",
    "MaxOwnershipRule",
    "MinHoldingRule",
    "OpaqueRule",
    "RequiredClaimsRule",
    "Rule",
    "SanctionsScreeningRule",
    "SupplyCapRule",
    "VolumeLimitRule",
]


class _RuleBase(CanonicalModel):
    source: str | None = Field(
        default=None, max_length=200, description="Where the rule was read (module address...)."
    )


def _sorted_unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


CountrySet = Annotated[tuple[CountryCode, ...], AfterValidator(_sorted_unique)]
"""Countries as a sorted tuple without duplicates (so equal sets compare equal)."""


class CountryAllowRule(_RuleBase):
    """Only investors resident in one of ``countries`` may receive the token."""

    kind: Literal["country_allow"] = "country_allow"
    countries: CountrySet


class CountryDenyRule(_RuleBase):
    """Investors resident in any of ``countries`` may not receive the token."""

    kind: Literal["country_deny"] = "country_deny"
    countries: CountrySet


class MaxHoldersRule(_RuleBase):
    """At most ``limit`` holders (optionally counted only in ``country``)."""

    kind: Literal["max_holders"] = "max_holders"
    limit: int = Field(strict=True, ge=0)
    country: CountryCode | None = None


class MaxBalanceRule(_RuleBase):
    """No holder may hold more than ``limit`` base units (per identity or per wallet)."""

    kind: Literal["max_balance"] = "max_balance"
    limit: Amount
    per: Literal["identity", "wallet"] = "identity"


class MinHoldingRule(_RuleBase):
    """A holder may not keep a non-zero balance below ``amount``."""

    kind: Literal["min_holding"] = "min_holding"
    amount: Amount


class MaxOwnershipRule(_RuleBase):
    """No holder may own more than ``limit_bps`` of the supply."""

    kind: Literal["max_ownership"] = "max_ownership"
    limit_bps: BasisPoints


class VolumeLimitRule(_RuleBase):
    """At most ``amount`` may leave one holder within any ``window_seconds``."""

    kind: Literal["volume_limit"] = "volume_limit"
    window_seconds: int = Field(strict=True, ge=1)
    amount: Amount


class LockupRule(_RuleBase):
    """Tokens cannot move before ``until``, or for ``period_seconds`` after acquisition."""

    kind: Literal["lockup"] = "lockup"
    until: AwareDatetime | None = None
    period_seconds: int | None = Field(default=None, strict=True, ge=1)
    holder: Address | None = Field(default=None, description="Only this holder, if set.")

    @model_validator(mode="after")
    def _one_of(self) -> LockupRule:
        if (self.until is None) == (self.period_seconds is None):
            raise ValueError("lockup: set exactly one of until and period_seconds")
        return self


class IssuerApprovalRule(_RuleBase):
    """Each transfer needs the issuer's (or an agent's) approval first."""

    kind: Literal["issuer_approval"] = "issuer_approval"


class AllowListRule(_RuleBase):
    """Only listed (whitelisted) addresses may send or receive."""

    kind: Literal["allow_list"] = "allow_list"
    addresses: tuple[Address, ...] = ()


class DenyListRule(_RuleBase):
    """Listed (blocked) addresses may not send or receive."""

    kind: Literal["deny_list"] = "deny_list"
    addresses: tuple[Address, ...] = ()


class SanctionsScreeningRule(_RuleBase):
    """Parties are screened against a sanctions list or oracle named by ``list_ref``."""

    kind: Literal["sanctions_screening"] = "sanctions_screening"
    list_ref: str = Field(max_length=200)


class SupplyCapRule(_RuleBase):
    """Total supply may not exceed ``limit``."""

    kind: Literal["supply_cap"] = "supply_cap"
    limit: Amount


class FullTransferOnlyRule(_RuleBase):
    """A holder may only transfer its whole balance."""

    kind: Literal["full_transfer_only"] = "full_transfer_only"


class FlowbackBlockRule(_RuleBase):
    """No transfer back into ``countries`` before ``until`` (e.g. Reg S distribution period)."""

    kind: Literal["flowback_block"] = "flowback_block"
    until: AwareDatetime
    countries: CountrySet


class RequiredClaimsRule(_RuleBase):
    """A receiver must hold valid claims of every listed type (from a trusted issuer)."""

    kind: Literal["required_claims"] = "required_claims"
    claim_types: tuple[ClaimType, ...]
    topics: tuple[int, ...] = Field(default=(), description="Native claim topics, if any.")
    trusted_issuers: tuple[str, ...] = ()


class OpaqueRule(_RuleBase):
    """A rule the adapter found but could not interpret; kept so it is never silently lost."""

    kind: Literal["opaque"] = "opaque"
    standard: Standard
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    observed_at: datetime | None = None


Rule = Annotated[
    CountryAllowRule
    | CountryDenyRule
    | MaxHoldersRule
    | MaxBalanceRule
    | MinHoldingRule
    | MaxOwnershipRule
    | VolumeLimitRule
    | LockupRule
    | IssuerApprovalRule
    | AllowListRule
    | DenyListRule
    | SanctionsScreeningRule
    | SupplyCapRule
    | FullTransferOnlyRule
    | FlowbackBlockRule
    | RequiredClaimsRule
    | OpaqueRule,
    Field(discriminator="kind"),
]
"""Any restriction rule; ``kind`` says which."""
