"""Transfer-restriction rules as data, one model per kind of rule.

Adapters read a token's on-chain rules into these; the compliance engine enforces them
beside the law. ``source`` says where the rule was read (a T-REX module address, an
Algorand app id, a validator contract) so a reader can check it on chain. A rule an
adapter could not interpret becomes :class:`OpaqueRule`: it is listed, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
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
    "TransferFeeRule",
    "VolumeLimitRule",
    "fixed_window_moved",
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
    """At most ``limit`` holders (optionally counted only in ``country``).

    A transfer that brings in a new holder is refused when the count after it would exceed
    ``limit``; a sender whose whole holding moves leaves, which makes room. ``replacement``
    says what happens while the count is already above ``limit`` (the limit was lowered
    after holders came in):

    - ``within_limit``: the count after the transfer must still be within ``limit``, so a
      new holder replacing a leaving one is refused too (the regulated ASA);
    - ``always``: a new holder replacing a leaving one does not grow the count and always
      passes (stbridge's RestrictedToken1404).
    """

    kind: Literal["max_holders"] = "max_holders"
    limit: int = Field(strict=True, ge=0)
    country: CountryCode | None = None
    replacement: Literal["within_limit", "always"] = "within_limit"


class MaxBalanceRule(_RuleBase):
    """No holder may hold more than ``limit`` base units (per identity or per wallet).

    ``self_transfers``: ``checked`` -- a wallet sending to itself is judged like any
    receiver, its balance plus the amount (T-REX's MaxBalanceModule); ``exempt`` -- it
    always passes (the regulated ASA: the balance does not change).
    """

    kind: Literal["max_balance"] = "max_balance"
    limit: Amount
    per: Literal["identity", "wallet"] = "identity"
    self_transfers: Literal["checked", "exempt"] = "checked"


class MinHoldingRule(_RuleBase):
    """A holder may not keep a non-zero balance below ``amount``."""

    kind: Literal["min_holding"] = "min_holding"
    amount: Amount


class MaxOwnershipRule(_RuleBase):
    """No holder may own more than ``limit_bps`` of the supply."""

    kind: Literal["max_ownership"] = "max_ownership"
    limit_bps: BasisPoints


class VolumeLimitRule(_RuleBase):
    """At most ``amount`` may leave one holder within one window of ``window_seconds``.

    ``window`` says how the window runs:

    - ``sliding``: any ``window_seconds`` ending at the transfer (a rolling sum);
    - ``fixed``: a window opens at the first transfer after the previous one closed and
      lasts ``window_seconds`` (T-REX's time and exchange limits: the counter starts at the
      first transfer and resets only once its end has passed; a transfer landing exactly
      at the end opens a new window).

    ``per`` says whose outflows are counted together (one wallet, or every wallet of one
    identity). ``agents_exempt``: transfers sent by the token's agents are not limited.
    ``into``: only transfers to this identity count (an exchange's limit per investor);
    ``None`` counts every transfer. A single transfer above ``amount`` is always refused.
    """

    kind: Literal["volume_limit"] = "volume_limit"
    window_seconds: int = Field(strict=True, ge=1)
    amount: Amount
    window: Literal["sliding", "fixed"] = "sliding"
    per: Literal["wallet", "identity"] = "wallet"
    agents_exempt: bool = False
    into: Address | None = Field(
        default=None, description="Only transfers to this identity count (exchange limits)."
    )

    def moved(self, outflows: Iterable[tuple[datetime, int]], at: datetime) -> int:
        """What already counts against the limit for a transfer at ``at``, given the
        holder's earlier outflows ``(time, amount)`` that this rule counts."""
        history = sorted(outflows, key=lambda o: o[0])
        span = timedelta(seconds=self.window_seconds)
        if self.window == "sliding":
            return sum(a for t, a in history if at - span < t <= at)
        return fixed_window_moved(((t, a) for t, a in history if t <= at), span, at)

    def allows(
        self,
        amount: int,
        outflows: Iterable[tuple[datetime, int]],
        at: datetime,
        *,
        sender_is_agent: bool = False,
    ) -> bool:
        """The rule's verdict on moving ``amount`` at ``at`` after ``outflows``."""
        if self.agents_exempt and sender_is_agent:
            return True
        if amount > self.amount:
            return False
        return self.moved(outflows, at) + amount <= self.amount


def fixed_window_moved(
    outflows: Iterable[tuple[datetime, int]], span: timedelta, at: datetime
) -> int:
    """The counter of a fixed window (T-REX's) at ``at``: 0 once the window has ended.

    ``outflows`` in time order; each one landing at or after the current window's end
    opens a new window of ``span`` starting at that outflow.
    """
    end: datetime | None = None
    value = 0
    for t, a in outflows:
        if end is None or end <= t:
            end, value = t + span, 0
        value += a
    return 0 if end is None or end <= at else value


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
    """Listed (whitelisted) addresses; ``scope`` says who must be listed for a transfer.

    - ``both``: the recipient, and the sender unless it is an issuance (a whitelist);
    - ``either``: at least one party; an issuance (no sender) always passes (T-REX's
      TransferRestrictModule);
    - ``recipient``: the recipient only (T-REX's TokenListingRestrictions in whitelisting
      mode; an entry may be the recipient's wallet or its identity contract).
    """

    kind: Literal["allow_list"] = "allow_list"
    addresses: tuple[Address, ...] = ()
    scope: Literal["both", "either", "recipient"] = "both"

    def permits(self, sender: Iterable[str] | None, recipient: Iterable[str]) -> bool:
        """Whether a transfer passes; each party is given as its addresses (wallet, and its
        identity contract when known); ``sender`` is None for an issuance."""
        listed = {a.lower() for a in self.addresses}

        def on(party: Iterable[str]) -> bool:
            return any(a.lower() in listed for a in party)

        if self.scope == "either":
            return sender is None or on(sender) or on(recipient)
        if self.scope == "recipient" or sender is None:
            return on(recipient)
        return on(sender) and on(recipient)


class DenyListRule(_RuleBase):
    """Listed (blocked) addresses; ``scope`` says whose listing refuses a transfer.

    - ``either``: a transfer from or to a listed address is refused;
    - ``recipient``: only a listed recipient is refused (T-REX's TokenListingRestrictions
      in blacklisting mode; an entry may be the recipient's wallet or its identity).
    """

    kind: Literal["deny_list"] = "deny_list"
    addresses: tuple[Address, ...] = ()
    scope: Literal["either", "recipient"] = "either"

    def permits(self, sender: Iterable[str] | None, recipient: Iterable[str]) -> bool:
        """Whether a transfer passes (parties as in :meth:`AllowListRule.permits`)."""
        listed = {a.lower() for a in self.addresses}
        only_recipient = self.scope == "recipient" or sender is None
        parties = [recipient] if only_recipient or sender is None else [sender, recipient]
        return not any(a.lower() in listed for party in parties for a in party)


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
    """A receiver must hold valid claims of every listed type (from a trusted issuer).

    ``parties``: ``recipient`` (T-REX checks the receiver's identity only) or ``both``
    (the sender's claims must be valid too, as the regulated ASA checks its KYC expiry).
    """

    kind: Literal["required_claims"] = "required_claims"
    claim_types: tuple[ClaimType, ...]
    topics: tuple[int, ...] = Field(default=(), description="Native claim topics, if any.")
    trusted_issuers: tuple[str, ...] = ()
    parties: Literal["recipient", "both"] = "recipient"


class TransferFeeRule(_RuleBase):
    """Each transfer pays ``rate_bps`` of its amount (rounded down) to ``collector``,
    taken from the recipient after it received the amount.

    No fee when: the rate is 0, the fee rounds to 0, the sender or the recipient is the
    collector, or both parties are wallets of the same identity (T-REX's
    TransferFeesModule). The fee is itself a transfer to ``collector``: the collector must
    be able to receive it (a verified identity, within any balance limit), or the whole
    transfer fails.
    """

    kind: Literal["transfer_fee"] = "transfer_fee"
    rate_bps: BasisPoints
    collector: Address

    def fee(self, amount: int, *, sender: str, recipient: str, same_identity: bool = False) -> int:
        """The fee a transfer of ``amount`` pays."""
        low = self.collector.lower()
        if same_identity or self.rate_bps == 0 or low in (sender.lower(), recipient.lower()):
            return 0
        return amount * self.rate_bps // 10_000

    def net_amount(
        self, amount: int, *, sender: str, recipient: str, same_identity: bool = False
    ) -> int:
        """What the recipient keeps of a transfer of ``amount``."""
        return amount - self.fee(
            amount, sender=sender, recipient=recipient, same_identity=same_identity
        )


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
    | TransferFeeRule
    | OpaqueRule,
    Field(discriminator="kind"),
]
"""Any restriction rule; ``kind`` says which."""
