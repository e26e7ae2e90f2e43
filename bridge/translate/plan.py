"""Deployment plans: what to deploy, per target standard, to re-express a security.

A plan is data (frozen pydantic models, a discriminated union on ``kind``): the target
adapter's deployment code executes it (``adapters.translate.deploy_plan``); nothing here
talks to a chain. Amounts are base units *of the target* (already scaled when the target's
decimals differ from the source's). Every plan deploys an empty mirror: units appear on
the target only when they are moved there (locked or burnt on the home chain first).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bridge.model import Document, Identifier, InstrumentTerms
from bridge.model.base import CanonicalModel
from bridge.types import UINT64_MAX, Address, Amount, CountryCode, EvmAddress

__all__ = [
    "Erc1400Plan",
    "Erc1404Plan",
    "Erc3643Plan",
    "IbetBondPlan",
    "IbetSharePlan",
    "Lockup",
    "ModuleCall",
    "ModulePlan",
    "Plan",
    "RegulatedAsaPlan",
]


class ModuleCall(CanonicalModel):
    """One setter of a T-REX compliance module, called through the compliance."""

    function: str = Field(max_length=64)
    args: tuple[int | str | tuple[int | str, ...] | tuple[tuple[int, int], ...], ...] = ()


class ModulePlan(CanonicalModel):
    """A T-REX compliance module to deploy and bind, with its setting calls in order."""

    name: str = Field(max_length=64)
    calls: tuple[ModuleCall, ...] = ()


class Lockup(CanonicalModel):
    """A per-holder lock-up until ``until`` (unix seconds)."""

    holder: Address
    until: int = Field(strict=True, ge=1)


class _PlanBase(CanonicalModel):
    name: str = Field(max_length=200)
    symbol: str = Field(max_length=32)
    paused: bool = False


class Erc3643Plan(_PlanBase):
    """A T-REX suite: claim topics, trusted issuer, compliance modules."""

    kind: Literal["erc3643"] = "erc3643"
    decimals: int = Field(strict=True, ge=0, le=18)
    claim_topics: tuple[int, ...] = ()
    modules: tuple[ModulePlan, ...] = ()


class Erc1400Plan(_PlanBase):
    """A SecurityToken1400: partitions, controllers, documents, whitelist, lock-ups."""

    kind: Literal["erc1400"] = "erc1400"
    decimals: int = Field(strict=True, ge=0, le=255)
    default_partition: str = Field(default="unrestricted", min_length=1, max_length=32)
    whitelist: tuple[EvmAddress, ...] = ()
    lockups: tuple[Lockup, ...] = ()
    documents: tuple[Document, ...] = ()


class Erc1404Plan(_PlanBase):
    """A RestrictedToken1404: whitelist, holder cap, lock-ups."""

    kind: Literal["erc1404"] = "erc1404"
    decimals: int = Field(strict=True, ge=0, le=255)
    max_holders: int = Field(default=0, strict=True, ge=0)
    whitelist: tuple[EvmAddress, ...] = ()
    lockups: tuple[Lockup, ...] = ()


class _IbetPlan(_PlanBase):
    approval_required: bool = False
    require_personal_info: bool = False
    registered: tuple[EvmAddress, ...] = Field(
        default=(), description="Accounts the issuer registers in PersonalInfo."
    )
    issuer: EvmAddress | None = Field(
        default=None,
        description="The account that deploys and owns the token (its issuer). An ibet token "
        "always lets its issuer receive, so the target reads the issuer among the accounts "
        "a recipient may be; the deployment refuses a signer other than this account.",
    )


class IbetSharePlan(_IbetPlan):
    """An IbetShare with a PersonalInfo register; equity terms in yen."""

    kind: Literal["ibet_share"] = "ibet_share"
    issue_price: Amount = 0
    principal_value: Amount = 0
    dividends: Amount = 0
    dividend_record_date: str = Field(default="", max_length=8)
    dividend_payment_date: str = Field(default="", max_length=8)
    cancellation_date: str = Field(default="", max_length=8)


class IbetBondPlan(_IbetPlan):
    """An IbetStraightBond with a PersonalInfo register; bond terms."""

    kind: Literal["ibet_bond"] = "ibet_bond"
    face_value: Amount = 0
    face_value_currency: str = "JPY"
    redemption_date: str = Field(default="", max_length=8)
    redemption_value: Amount = 0
    redemption_value_currency: str = "JPY"
    interest_rate: int = Field(default=0, strict=True, ge=0)
    interest_payment_dates: tuple[str, ...] = Field(default=(), max_length=12)
    interest_payment_currency: str = "JPY"


class RegulatedAsaPlan(_PlanBase):
    """A regulated ASA: compliance app settings, ASA parameters, ARC-3 metadata."""

    kind: Literal["regulated_asa"] = "regulated_asa"
    name: str = Field(max_length=32)
    symbol: str = Field(max_length=8, description="The ASA's unit name.")
    decimals: int = Field(strict=True, ge=0, le=19)
    capacity: int = Field(
        strict=True, ge=1, le=UINT64_MAX, description="The ASA's total, all in the reserve."
    )
    max_holders: int = Field(default=0, strict=True, ge=0)
    max_balance: int = Field(default=0, strict=True, ge=0, le=UINT64_MAX)
    countries: tuple[CountryCode, ...] = ()
    terms: InstrumentTerms | None = None
    identifiers: tuple[Identifier, ...] = ()
    home_jurisdiction: str | None = None


Plan = Annotated[
    Erc3643Plan | Erc1400Plan | Erc1404Plan | IbetSharePlan | IbetBondPlan | RegulatedAsaPlan,
    Field(discriminator="kind"),
]
"""A deployment plan for one of the security standards; ``kind`` names the standard."""
