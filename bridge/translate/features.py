"""The canonical features a standard may or may not express, and an asset's reading of them.

A :class:`Feature` is one thing the canonical model says about a security that a token
standard may carry on chain (identity claims, country rules, a holder cap, partitions...).
:func:`profile` projects an :class:`~bridge.model.Asset` onto the features: one
comparable, hashable value per feature. Two readings of "the same" security on two chains
are compared feature by feature with :func:`differences`; that comparison is what the
translator's loss report must account for exactly.

What a profile leaves out, on purpose: where the token lives (chain, locator, standard),
its supply (a mirror starts empty and grows only by what is locked on the home chain), the
read height, and role holders (keys differ per chain; the *powers* are compared).

Amounts are compared in whole units of the asset (``limit / 10**decimals``, written as an
exact decimal string), so a cap carried to a standard with other decimals compares equal
when it is the same quantity of the security.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from bridge.model import (
    AllowListRule,
    Asset,
    Capability,
    CountryAllowRule,
    CountryDenyRule,
    IssuerApprovalRule,
    LockupRule,
    MaxBalanceRule,
    MaxHoldersRule,
    RequiredClaimsRule,
    SupplyCapRule,
    VolumeLimitRule,
)
from bridge.model.base import CanonicalModel

__all__ = [
    "POWER_FEATURES",
    "Difference",
    "Feature",
    "LossKind",
    "Profile",
    "differences",
    "profile",
    "units",
]


class Feature(StrEnum):
    """A canonical feature of a security, as the translator compares it."""

    IDENTITY = "identity"
    """Claim types a receiver must hold (``RequiredClaimsRule``)."""
    ALLOW_LIST = "allow_list"
    """A list of admitted wallets and who must be on it (``AllowListRule``)."""
    COUNTRY_RULES = "country_rules"
    """Countries allowed / denied (``CountryAllowRule``, ``CountryDenyRule``)."""
    HOLDER_CAP = "holder_cap"
    """At most N holders (``MaxHoldersRule`` without a country)."""
    BALANCE_CAP = "balance_cap"
    """Per-investor balance cap (``MaxBalanceRule``)."""
    SUPPLY_CAP = "supply_cap"
    """Total supply cap (``SupplyCapRule``)."""
    VOLUME_LIMIT = "volume_limit"
    """Rolling or fixed-window outflow limits (``VolumeLimitRule``)."""
    LOCKUP = "lockup"
    """Lock-ups (``LockupRule``)."""
    TRANSFER_APPROVAL = "transfer_approval"
    """Each transfer needs the issuer's approval (``IssuerApprovalRule``)."""
    OTHER_RULES = "other_rules"
    """Every other rule kind (min holding, ownership %, flowback, sanctions, fees, deny
    lists, country-scoped holder caps, opaque rules)."""
    PAUSE = "pause"
    """The pause power, and whether transfers are halted now (paused or not transferable)."""
    FREEZE = "freeze"
    """An agent can freeze a whole address."""
    PARTIAL_FREEZE = "partial_freeze"
    """An agent can freeze part of a balance."""
    FORCED_TRANSFER = "forced_transfer"
    """An agent can move units without the holder."""
    RECOVERY = "recovery"
    """An agent can move a lost wallet's units and identity to a new wallet."""
    PARTITIONS = "partitions"
    """Balances split into partitions / classes."""
    DOCUMENTS = "documents"
    """Attached documents (name, uri, hash)."""
    TERMS = "terms"
    """Instrument terms (equity, bond, fund...)."""
    IDENTIFIERS = "identifiers"
    """ISIN, LEI and other market identifiers."""
    HOME_JURISDICTION = "home_jurisdiction"
    """The jurisdiction whose law governs the security."""
    NAME_SYMBOL = "name_symbol"
    """Name and ticker."""
    DECIMALS = "decimals"
    """Decimals (granularity of one base unit)."""


class LossKind(StrEnum):
    """The families of loss a caller accepts with ``--allow-loss``."""

    IDENTITY = "identity"
    RULES = "rules"
    CROSS_CHAIN_STATE = "cross_chain_state"
    PARTITIONS = "partitions"
    IN_FLIGHT = "in_flight"
    CONTROLLER_POWERS = "controller_powers"
    DOCUMENTS = "documents"
    DECIMALS = "decimals"


POWER_FEATURES: dict[Feature, Capability] = {
    Feature.FREEZE: Capability.ADDRESS_FREEZE,
    Feature.PARTIAL_FREEZE: Capability.PARTIAL_FREEZE,
    Feature.FORCED_TRANSFER: Capability.FORCED_TRANSFER,
    Feature.RECOVERY: Capability.RECOVERY,
    Feature.PARTITIONS: Capability.PARTITIONS,
}
"""Features that are a controller power, read from ``Asset.controls``. A power is compared
one way: the target must have what the source has (a power the target adds is no loss)."""


def units(amount: int, decimals: int) -> str:
    """``amount`` base units as an exact decimal string of whole units (``1550, 2 -> 15.5``)."""
    value = Decimal(amount).scaleb(-decimals).normalize()
    return format(value, "f")


Value = object
"""A feature's value in a profile: None, a bool, an int, a string, or a tuple of them."""


class Profile(CanonicalModel):
    """An asset's reading projected onto the features (see :func:`profile`)."""

    values: dict[Feature, Value]

    def __getitem__(self, feature: Feature) -> Value:
        return self.values[feature]


def _addr(value: str) -> str:
    return value.lower() if value.startswith("0x") else value


def _ts(moment: object) -> int | None:
    from datetime import datetime

    return int(moment.timestamp()) if isinstance(moment, datetime) else None


def profile(asset: Asset) -> Profile:
    """The feature values of ``asset``'s reading.

    Rule features hold a sorted tuple of normalised entries (an asset may carry several
    rules of one kind); amounts are whole units (:func:`units`); addresses are compared
    case-insensitively on EVM.
    """
    d = asset.decimals
    identity: set[str] = set()
    allow: list[tuple[str, tuple[str, ...]]] = []
    c_allow: list[tuple[str, ...]] = []
    c_deny: list[tuple[str, ...]] = []
    holders: list[int] = []
    balance: list[tuple[str, str]] = []
    supply: list[str] = []
    volume: list[tuple[object, ...]] = []
    lockups: list[tuple[object, ...]] = []
    approval = False
    other: list[str] = []
    for rule in asset.rules:
        if isinstance(rule, RequiredClaimsRule):
            identity |= {c.value for c in rule.claim_types}
        elif isinstance(rule, AllowListRule):
            allow.append((rule.scope, tuple(sorted({_addr(a) for a in rule.addresses}))))
        elif isinstance(rule, CountryAllowRule):
            c_allow.append(tuple(rule.countries))
        elif isinstance(rule, CountryDenyRule):
            c_deny.append(tuple(rule.countries))
        elif isinstance(rule, MaxHoldersRule) and rule.country is None:
            holders.append(rule.limit)
        elif isinstance(rule, MaxBalanceRule):
            balance.append((units(rule.limit, d), rule.per))
        elif isinstance(rule, SupplyCapRule):
            supply.append(units(rule.limit, d))
        elif isinstance(rule, VolumeLimitRule):
            volume.append(
                (
                    rule.window_seconds,
                    units(rule.amount, d),
                    rule.window,
                    rule.per,
                    rule.agents_exempt,
                    None if rule.into is None else _addr(rule.into),
                )
            )
        elif isinstance(rule, LockupRule):
            holder = None if rule.holder is None else _addr(rule.holder)
            lockups.append((holder or "", _ts(rule.until) or 0, rule.period_seconds or 0))
        elif isinstance(rule, IssuerApprovalRule):
            approval = True
        else:
            other.append(
                json.dumps(rule.model_dump(mode="json", exclude={"source"}), sort_keys=True)
            )
    documents = tuple(
        sorted(
            (doc.name, doc.uri, doc.hash or "", doc.hash_alg or "")
            for doc in asset.documents
            if doc.name not in ("arc3-metadata", "asset-url")
        )
    )
    terms = (
        None
        if asset.terms is None
        else json.dumps(asset.terms.model_dump(mode="json", exclude_none=True), sort_keys=True)
    )
    values: dict[Feature, Value] = {
        Feature.IDENTITY: tuple(sorted(identity)),
        Feature.ALLOW_LIST: tuple(sorted(allow)),
        Feature.COUNTRY_RULES: (tuple(sorted(c_allow)), tuple(sorted(c_deny))),
        Feature.HOLDER_CAP: tuple(sorted(holders)),
        Feature.BALANCE_CAP: tuple(sorted(balance)),
        Feature.SUPPLY_CAP: tuple(sorted(supply)),
        Feature.VOLUME_LIMIT: tuple(sorted(volume, key=repr)),
        Feature.LOCKUP: tuple(sorted(lockups, key=repr)),
        Feature.TRANSFER_APPROVAL: approval,
        Feature.OTHER_RULES: tuple(sorted(other)),
        Feature.PAUSE: (Capability.PAUSE in asset.controls, asset.paused or not asset.transferable),
        Feature.DOCUMENTS: documents,
        Feature.TERMS: terms,
        Feature.IDENTIFIERS: tuple(sorted((i.kind, i.value) for i in asset.identifiers)),
        Feature.HOME_JURISDICTION: asset.home_jurisdiction,
        Feature.NAME_SYMBOL: (asset.name, asset.symbol),
        Feature.DECIMALS: d,
    }
    for feature, capability in POWER_FEATURES.items():
        values[feature] = capability in asset.controls
    return Profile(values=values)


class Difference(CanonicalModel):
    """One feature whose target reading does not carry the source's."""

    feature: Feature
    source: str
    target: str


def _show(value: Value) -> str:
    return json.dumps(value, default=str)


def _covers(feature: Feature, source: Value, target: Value) -> bool:
    if feature in POWER_FEATURES:
        return target is True or source is False
    if feature is Feature.PAUSE and isinstance(source, tuple) and isinstance(target, tuple):
        power_ok = target[0] or not source[0]
        return bool(power_ok) and source[1] == target[1]
    return source == target


def differences(source: Profile | Asset, target: Profile | Asset) -> tuple[Difference, ...]:
    """Every feature the target reading does not carry from the source reading.

    Equality for every feature, except powers (and the pause power), which the target
    must have when the source has them: a power only the target has is no difference.
    """
    a = source if isinstance(source, Profile) else profile(source)
    b = target if isinstance(target, Profile) else profile(target)
    return tuple(
        Difference(feature=f, source=_show(a[f]), target=_show(b[f]))
        for f in Feature
        if not _covers(f, a[f], b[f])
    )


def feature_kinds() -> Mapping[Feature, LossKind]:
    """The loss kind a reading difference in each feature belongs to."""
    return _KINDS


_KINDS: dict[Feature, LossKind] = {
    Feature.IDENTITY: LossKind.IDENTITY,
    Feature.ALLOW_LIST: LossKind.IDENTITY,
    Feature.COUNTRY_RULES: LossKind.RULES,
    Feature.HOLDER_CAP: LossKind.RULES,
    Feature.BALANCE_CAP: LossKind.RULES,
    Feature.SUPPLY_CAP: LossKind.RULES,
    Feature.VOLUME_LIMIT: LossKind.RULES,
    Feature.LOCKUP: LossKind.RULES,
    Feature.TRANSFER_APPROVAL: LossKind.RULES,
    Feature.OTHER_RULES: LossKind.RULES,
    Feature.PAUSE: LossKind.CONTROLLER_POWERS,
    Feature.FREEZE: LossKind.CONTROLLER_POWERS,
    Feature.PARTIAL_FREEZE: LossKind.CONTROLLER_POWERS,
    Feature.FORCED_TRANSFER: LossKind.CONTROLLER_POWERS,
    Feature.RECOVERY: LossKind.CONTROLLER_POWERS,
    Feature.PARTITIONS: LossKind.PARTITIONS,
    Feature.DOCUMENTS: LossKind.DOCUMENTS,
    Feature.TERMS: LossKind.DOCUMENTS,
    Feature.IDENTIFIERS: LossKind.DOCUMENTS,
    Feature.HOME_JURISDICTION: LossKind.DOCUMENTS,
    Feature.NAME_SYMBOL: LossKind.DOCUMENTS,
    Feature.DECIMALS: LossKind.DECIMALS,
}

ScopeName = Literal["reading", "split", "in_flight"]
