"""The capability matrix: which canonical features each token standard expresses on chain.

One row per standard (the five security standards stbridge deploys, and the plain ERC-20
and ASA cash standards), one :class:`Support` per :class:`~bridge.translate.features.Feature`:

- ``native``: the standard carries the feature itself (with the limits in ``note``);
- ``approximated``: it carries something close (``note`` says what differs);
- ``none``: it cannot; ``handling`` says what happens instead when a source uses it.

The matrix describes the standards as stbridge's contracts and adapters realise them (the
T-REX suite, ``SecurityToken1400``, ``RestrictedToken1404``, the ibet contracts, the
regulated-ASA application), because the translator's promise is about what the target
adapter reads back. :func:`unexpressed` answers, from the matrix alone, which features of a
source reading a target cannot carry; the translator's loss report must name exactly those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

from bridge.model import Standard
from bridge.translate.features import Feature, Profile

__all__ = [
    "MATRIX",
    "SECURITY_STANDARDS",
    "Handling",
    "Limits",
    "Support",
    "family_of",
    "limits",
    "support",
    "unexpressed",
]

Handling = Literal["enforced_off_chain", "approximated", "lost"]
Level = Literal["native", "approximated", "none"]

SECURITY_STANDARDS: Final = (
    Standard.ERC3643,
    Standard.ERC1400,
    Standard.ERC1404,
    Standard.IBET_SHARE,
    Standard.IBET_BOND,
    Standard.REGULATED_ASA,
)
"""The security standards the translator plans and deploys for."""


@dataclass(frozen=True)
class Support:
    """How one standard expresses one feature, and what happens when it cannot."""

    level: Level
    note: str
    handling: Handling = "lost"
    off_chain_rule: str | None = None


@dataclass(frozen=True)
class Limits:
    """Hard limits of a standard: decimals, name and symbol lengths (bytes), chain family."""

    family: Literal["evm", "algorand"]
    max_decimals: int
    max_name: int | None = None
    max_symbol: int | None = None
    fixed_decimals: int | None = None


_LIMITS: Final[Mapping[Standard, Limits]] = {
    Standard.ERC3643: Limits("evm", 18),
    Standard.ERC1400: Limits("evm", 255),
    Standard.ERC1404: Limits("evm", 255),
    Standard.IBET_SHARE: Limits("evm", 0, fixed_decimals=0),
    Standard.IBET_BOND: Limits("evm", 0, fixed_decimals=0),
    Standard.REGULATED_ASA: Limits("algorand", 19, max_name=32, max_symbol=8),
    Standard.ERC20: Limits("evm", 255),
    Standard.ASA: Limits("algorand", 19, max_name=32, max_symbol=8),
}

_OFF: Final[Handling] = "enforced_off_chain"
_RELAYER = (
    "the relayer's compliance gate evaluates the home asset's rule before every move and "
    "swap it runs (transfers made directly on the target are not gated)"
)


def _gated(rule: str) -> Support:
    """No on-chain form: the relayer's gate enforces the home asset's ``rule`` instead."""
    return Support("none", _RELAYER, _OFF, rule)


def _native(note: str) -> Support:
    return Support("native", note)


def _approx(note: str, handling: Handling = "approximated", rule: str | None = None) -> Support:
    return Support("approximated", note, handling, rule)


def _off_chain(note: str, rule: str) -> Support:
    """Approximated on chain; the home asset's ``rule`` is enforced exactly off chain."""
    return _approx(note, _OFF, rule)


_DEFAULT_NONE: Final[Mapping[Feature, Support]] = {
    Feature.IDENTITY: _gated("token.required_claims"),
    Feature.ALLOW_LIST: _gated("token.allow_list"),
    Feature.COUNTRY_RULES: _gated("token.country_allow / token.country_deny"),
    Feature.HOLDER_CAP: _gated("token.max_holders"),
    Feature.BALANCE_CAP: _gated("token.max_balance"),
    Feature.SUPPLY_CAP: _gated("token.supply_cap"),
    Feature.VOLUME_LIMIT: _gated("token.volume_limit"),
    Feature.LOCKUP: _gated("token.lockup"),
    Feature.TRANSFER_APPROVAL: _gated("token.issuer_approval"),
    Feature.OTHER_RULES: _gated("token.<kind> of each rule"),
    Feature.PAUSE: Support(
        "none", "no pause on the target: a halt on the home chain is not mirrored"
    ),
    Feature.FREEZE: Support("none", "no address freeze on the target"),
    Feature.PARTIAL_FREEZE: Support("none", "no partial freeze on the target"),
    Feature.FORCED_TRANSFER: Support("none", "no forced transfer on the target"),
    Feature.RECOVERY: Support("none", "no wallet recovery on the target"),
    Feature.PARTITIONS: Support(
        "none", "no partitions on the target: a moved balance is one fungible balance"
    ),
    Feature.DOCUMENTS: Support("none", "documents stay on the home chain only"),
    Feature.TERMS: Support("none", "instrument terms stay on the home chain only"),
    Feature.IDENTIFIERS: Support("none", "identifiers (ISIN, LEI) stay on the home chain only"),
    Feature.HOME_JURISDICTION: Support("none", "the home jurisdiction is not recorded on chain"),
    Feature.NAME_SYMBOL: _native("name and symbol"),
    Feature.DECIMALS: _native("decimals"),
}


def _row(**entries: Support) -> dict[Feature, Support]:
    row = dict(_DEFAULT_NONE)
    for name, entry in entries.items():
        row[Feature(name)] = entry
    return row


def _ibet_row(*, terms: str, unit: str) -> dict[Feature, Support]:
    """The row of an ibet token: the share and the bond differ only in their terms and in
    what one unit is."""
    return _row(
        allow_list=_native(
            "PersonalInfo registration with the issuer (optional): the recipient must be "
            "registered (or be the issuer, who always receives); the sender need not be"
        ),
        transfer_approval=_native("transferApprovalRequired (apply / approve)"),
        pause=_native("transferable flag (false halts transfers)"),
        freeze=_approx("forceLock of a holder's whole free balance to a lock address"),
        partial_freeze=_approx("forceLock of part of a balance to a lock address"),
        forced_transfer=_native("transferFrom by the issuer"),
        recovery=_approx("transferFrom / forceChangeLockedAccount by the issuer"),
        terms=_native(terms),
        home_jurisdiction=_native("always JP"),
        decimals=_approx(f"no decimals: one unit is one {unit}"),
    )


_EVM_DOCS = "ERC-1643 documents (bytes32 ASCII name, uri, 32-byte hash read as SHA-256)"

MATRIX: Final[Mapping[Standard, Mapping[Feature, Support]]] = {
    Standard.ERC3643: _row(
        identity=_native("ONCHAINID claims: topics 1 KYC, 2 accreditation, 3 jurisdiction"),
        allow_list=_off_chain(
            "TransferRestrictModule: passes when either party is listed (scope 'either')",
            "token.allow_list",
        ),
        country_rules=_native("CountryAllowModule / CountryRestrictModule"),
        balance_cap=_native("MaxBalanceModule: per identity"),
        supply_cap=_native("SupplyLimitModule"),
        volume_limit=_native(
            "TimeTransfersLimitsModule: fixed windows per identity, agents exempt, at most 4"
        ),
        transfer_approval=_native("ConditionalTransferModule"),
        pause=_native("pause / unpause by an agent"),
        freeze=_native("setAddressFrozen"),
        partial_freeze=_native("freezePartialTokens"),
        forced_transfer=_native("forcedTransfer"),
        recovery=_native("recoveryAddress (wallet and identity)"),
        decimals=_native("decimals 0..18"),
    ),
    Standard.ERC1400: _row(
        allow_list=_off_chain(
            "the validator's whitelist, always enforced (sender and receiver)", "token.allow_list"
        ),
        lockup=_native("lock-up until a date, per holder"),
        pause=_native("pause"),
        freeze=_approx(
            "a lock-up far in the future or removal from the whitelist freezes a holder",
        ),
        forced_transfer=_native("controllerTransfer (ERC-1644)"),
        recovery=_approx("controllerTransfer moves a lost wallet's units (no identity)"),
        partitions=_native("ERC-1410 partitions"),
        documents=_native(_EVM_DOCS),
        decimals=_native("decimals 0..255"),
    ),
    Standard.ERC1404: _row(
        allow_list=_off_chain(
            "the token's whitelist, always enforced (sender and receiver)", "token.allow_list"
        ),
        holder_cap=_native("maxHolders"),
        lockup=_native("lock-up until a date, per holder"),
        pause=_native("pause"),
        freeze=_approx("a lock-up far in the future or removal from the whitelist"),
        recovery=_approx("burn from the lost wallet, mint to the new one"),
        forced_transfer=_approx("burn from one holder and mint to another"),
        decimals=_native("decimals 0..255"),
    ),
    Standard.IBET_SHARE: _ibet_row(
        terms="equity terms in yen: issue price, principal, dividend, dates", unit="share"
    ),
    Standard.IBET_BOND: _ibet_row(
        terms="bond terms: face value, rate, payment dates (MMDD), redemption", unit="bond"
    ),
    Standard.REGULATED_ASA: _row(
        identity=_off_chain(
            "a whitelist entry with a KYC expiry: KYC only, always required",
            "token.required_claims",
        ),
        allow_list=_off_chain(
            "whitelist boxes (country, class, KYC expiry), always enforced; entries are "
            "written per investor by the relayer before a first mint",
            "token.allow_list",
        ),
        country_rules=_off_chain("an allow list of countries (no deny list)", "token.country_deny"),
        holder_cap=_native("max_holders"),
        balance_cap=_off_chain("max_balance per wallet (not per identity)", "token.max_balance"),
        supply_cap=_approx(
            "the ASA's total, fixed at creation (2^64-1 base units when the source has none)",
            "approximated",
        ),
        lockup=_off_chain("lock-up end per whitelist entry", "token.lockup"),
        pause=_native("pause / unpause by the admin"),
        freeze=_native("set_frozen per holder"),
        forced_transfer=_native("forced_transfer by the admin (clawback)"),
        recovery=_approx("forced_transfer from the lost wallet"),
        terms=_native("ARC-3 metadata properties.stbridge.terms"),
        identifiers=_native("ARC-3 metadata properties.stbridge.identifiers"),
        home_jurisdiction=_native("ARC-3 metadata properties.stbridge.home_jurisdiction"),
        name_symbol=_approx("asset name at most 32 bytes, unit name at most 8", "approximated"),
        decimals=_native("decimals 0..19"),
    ),
    Standard.ERC20: _row(
        other_rules=_off_chain("a blocklist only (CashToken)", "token.<kind> of each rule"),
        pause=_native("pause (CashToken)"),
        decimals=_native("decimals 0..255"),
    ),
    Standard.ASA: _row(
        supply_cap=_approx("the ASA's total, fixed at creation", "approximated"),
        freeze=_native("the freeze address freezes a holding"),
        forced_transfer=_native("the clawback address"),
        recovery=_approx("clawback from the lost wallet"),
        name_symbol=_approx("asset name at most 32 bytes, unit name at most 8", "approximated"),
        decimals=_native("decimals 0..19"),
    ),
}
"""Standard -> feature -> support (see the module docstring)."""


def support(standard: Standard, feature: Feature) -> Support:
    """The matrix cell of ``standard`` and ``feature`` (KeyError for an unknown standard)."""
    return MATRIX[standard][feature]


def limits(standard: Standard) -> Limits:
    """Decimals and name limits and the chain family of ``standard``."""
    return _LIMITS[standard]


def family_of(standard: Standard) -> Literal["evm", "algorand"]:
    """The chain family a standard lives on."""
    return _LIMITS[standard].family


_TREX_TOPICS: Final = frozenset({"kyc", "accredited", "jurisdiction"})
_TREX_MAX_WINDOWS: Final = 4


def _evm_doc_ok(doc: tuple[str, str, str, str]) -> bool:
    name, _uri, digest, alg = doc
    ascii_name = name.isascii() and 0 < len(name) <= 32
    return ascii_name and (digest == "" or (len(digest) == 64 and alg == "sha256"))


def _same_family(values: object, family: str) -> bool:
    """True when every address inside ``values`` belongs to ``family``."""
    if isinstance(values, str):
        if values.startswith("0x") and len(values) == 42:
            return family == "evm"
        if len(values) == 58 and values.isupper():
            return family == "algorand"
        return True
    if isinstance(values, tuple):
        return all(_same_family(v, family) for v in values)
    return True


def _expressible(standard: Standard, feature: Feature, value: Any, source: Profile) -> bool:
    """Whether ``standard`` carries ``value`` of ``feature`` exactly (the matrix's limits)."""
    lim = _LIMITS[standard]
    fam = lim.family
    cell = MATRIX[standard][feature]
    if feature is Feature.DECIMALS:
        if lim.fixed_decimals is not None:
            return bool(value == lim.fixed_decimals)
        return bool(value <= lim.max_decimals)
    if feature is Feature.NAME_SYMBOL:
        name, symbol = value
        name_ok = lim.max_name is None or len(str(name).encode()) <= lim.max_name
        return name_ok and (lim.max_symbol is None or len(str(symbol).encode()) <= lim.max_symbol)
    if feature is Feature.PAUSE:
        return cell.level == "native" or not value[0]
    if feature in (
        Feature.FREEZE,
        Feature.PARTIAL_FREEZE,
        Feature.FORCED_TRANSFER,
        Feature.RECOVERY,
        Feature.PARTITIONS,
    ):
        return value is False or cell.level == "native"
    empty = value in ((), None, False, ((), ()))
    if not _granular(feature, value, _decimals_on(standard, source)):
        return False
    if standard is Standard.ERC3643:
        if feature is Feature.IDENTITY:
            return set(value) <= _TREX_TOPICS
        if feature is Feature.ALLOW_LIST:
            return empty or (
                len(value) == 1 and value[0][0] == "either" and _same_family(value, fam)
            )
        if feature is Feature.COUNTRY_RULES:
            allow, deny = value
            return len(allow) <= 1 and len(deny) <= 1
        if feature is Feature.BALANCE_CAP:
            return empty or (len(value) == 1 and value[0][1] == "identity" and value[0][0] != "0")
        if feature is Feature.SUPPLY_CAP:
            return len(value) <= 1
        if feature is Feature.VOLUME_LIMIT:
            entries = list(value)
            windows = [e[0] for e in entries]
            return (
                len(entries) <= _TREX_MAX_WINDOWS
                and len(set(windows)) == len(windows)
                and all(w < 2**32 for w in windows)
                and all(
                    e[2] == "fixed" and e[3] == "identity" and e[4] and e[5] is None
                    for e in entries
                )
            )
        if feature is Feature.TRANSFER_APPROVAL:
            return True
        return empty
    if standard in (Standard.ERC1400, Standard.ERC1404):
        if feature is Feature.ALLOW_LIST:
            return len(value) == 1 and value[0][0] == "both" and _same_family(value, fam)
        if feature is Feature.LOCKUP:
            return all(e[0] and e[1] and not e[2] and _same_family(e[0], fam) for e in value)
        if feature is Feature.DOCUMENTS and standard is Standard.ERC1400:
            names = [d[0] for d in value]
            return len(set(names)) == len(names) and all(_evm_doc_ok(d) for d in value)
        if feature is Feature.HOLDER_CAP and standard is Standard.ERC1404:
            return len(value) <= 1 and all(v > 0 for v in value)
        return empty
    if standard in (Standard.IBET_SHARE, Standard.IBET_BOND):
        if feature is Feature.ALLOW_LIST:
            # exact when the plan's issuer is on the list (the source's own issuer, by
            # default): ibet reads the issuer among the admitted recipients
            return empty or (
                len(value) == 1 and value[0][0] == "recipient" and _same_family(value, fam)
            )
        if feature is Feature.TRANSFER_APPROVAL:
            return True
        if feature is Feature.HOME_JURISDICTION:
            return bool(value == "JP")
        if feature is Feature.TERMS:
            return _ibet_terms_ok(standard, value)
        return empty
    if standard is Standard.REGULATED_ASA:
        if feature is Feature.IDENTITY:
            return bool(value == ("kyc",))
        if feature is Feature.ALLOW_LIST:
            return bool(value == (("both", ()),))
        if feature is Feature.COUNTRY_RULES:
            allow, deny = value
            return len(allow) <= 1 and all(allow) and not deny
        if feature is Feature.HOLDER_CAP:
            return len(value) <= 1 and all(v > 0 for v in value)
        if feature is Feature.BALANCE_CAP:
            return empty or (
                len(value) == 1 and value[0][1] == "wallet" and _fits_u64(value[0][0], source)
            )
        if feature is Feature.SUPPLY_CAP:
            return len(value) == 1 and _fits_u64(value[0], source)
        if feature in (Feature.TERMS, Feature.IDENTIFIERS, Feature.HOME_JURISDICTION):
            return True
        return empty
    if standard is Standard.ASA and feature is Feature.SUPPLY_CAP:
        return len(value) == 1 and _fits_u64(value[0], source)
    return empty


def _decimals_on(standard: Standard, source: Profile) -> int:
    """The decimals a source gets on ``standard``: its own, within the standard's limit."""
    lim = _LIMITS[standard]
    decimals = source[Feature.DECIMALS]
    assert isinstance(decimals, int)
    return lim.fixed_decimals if lim.fixed_decimals is not None else min(decimals, lim.max_decimals)


def _whole(units: object, decimals: int) -> Decimal:
    return Decimal(str(units)).scaleb(decimals)


def _granular(feature: Feature, value: Any, decimals: int) -> bool:
    """Amounts of ``feature`` are whole base units at ``decimals`` (granularity)."""
    if feature in (Feature.BALANCE_CAP, Feature.VOLUME_LIMIT):
        position = 0 if feature is Feature.BALANCE_CAP else 1
        amounts = [entry[position] for entry in value]
    elif feature is Feature.SUPPLY_CAP:
        amounts = list(value)
    else:
        return True
    return all(_whole(a, decimals) == _whole(a, decimals).to_integral_value() for a in amounts)


def _fits_u64(whole_units: object, source: Profile) -> bool:
    base = _whole(whole_units, _decimals_on(Standard.ASA, source))
    return 0 < base <= 2**64 - 1


def _ibet_terms_ok(standard: Standard, value: object) -> bool:
    import json

    if not isinstance(value, str):
        return False
    terms = json.loads(value)
    if standard is Standard.IBET_SHARE:
        keys = set(terms) - {
            "kind",
            "currency",
            "issue_price",
            "principal_value",
            "dividend_per_share",
            "dividend_record_date",
            "dividend_payment_date",
            "cancellation_date",
        }
        need = {"issue_price", "principal_value", "dividend_per_share"}
        return (
            terms.get("kind") == "equity"
            and terms.get("currency") == "JPY"
            and not keys
            and need <= set(terms)
        )
    keys = set(terms) - {
        "kind",
        "currency",
        "face_value",
        "coupon_rate_ppm",
        "coupon_payment_dates",
        "maturity_date",
        "redemption_value",
        "interest_currency",
        "redemption_currency",
    }
    need = {"coupon_rate_ppm", "redemption_value", "interest_currency", "redemption_currency"}
    dates = terms.get("coupon_payment_dates", [])
    return (
        terms.get("kind") == "bond"
        and not keys
        and need <= set(terms)
        and len(dates) <= 12
        and all(len(d) == 4 and d.isdigit() for d in dates)
    )


def unexpressed(source: Profile, target: Standard) -> tuple[Feature, ...]:
    """The features of ``source`` that ``target`` cannot carry exactly, from the matrix
    alone (independent of the translator, which must agree with it)."""
    if target not in MATRIX:
        raise KeyError(target)
    return tuple(f for f in Feature if not _expressible(target, f, source[f], source))
