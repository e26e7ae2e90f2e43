"""Enumerations of the canonical model: standards, capabilities, investor classes, claims."""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["Capability", "ClaimType", "IdentitySource", "InvestorClass", "Standard"]


class Standard(StrEnum):
    """The token standard an asset follows on its chain."""

    ERC20 = "erc20"
    ERC3643 = "erc3643"
    ERC1400 = "erc1400"
    ERC1404 = "erc1404"
    CMTAT = "cmtat"
    ERC7943 = "erc7943"
    IBET_SHARE = "ibet_share"
    IBET_BOND = "ibet_bond"
    ASA = "asa"
    REGULATED_ASA = "regulated_asa"
    DS = "ds"

    @classmethod
    def _missing_(cls, value: object) -> Standard | None:
        """A standard admitted with :meth:`extend` (a third-party adapter's), else None."""
        return _EXTENSIONS.get(value) if isinstance(value, str) else None

    @classmethod
    def extend(cls, value: str) -> Standard:
        """Admit ``value`` as a standard: what the adapter registry does for a third-party
        adapter whose standard is not built in, so no one edits ``bridge`` to add one.

        ``value`` is a lower-case identifier (``[a-z][a-z0-9_]{1,47}``). Idempotent; the
        built-in members are returned as they are. Only admitted values validate.
        """
        try:
            return cls(value)
        except ValueError:
            pass
        if not isinstance(value, str) or not _EXTENSION_NAME.fullmatch(value):
            raise ValueError(f"standard: {value!r} is not a lower-case identifier")
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        _EXTENSIONS[value] = member
        return member


_EXTENSIONS: dict[str, Standard] = {}
_EXTENSION_NAME = re.compile(r"[a-z][a-z0-9_]{1,47}")


class Capability(StrEnum):
    """A controller power or feature a token (or its adapter) offers."""

    MINT = "mint"
    BURN = "burn"
    PAUSE = "pause"
    FORCED_TRANSFER = "forced_transfer"
    ADDRESS_FREEZE = "address_freeze"
    PARTIAL_FREEZE = "partial_freeze"
    RECOVERY = "recovery"
    PARTITIONS = "partitions"
    APPROVAL_FLOW = "approval_flow"
    LOCKS = "locks"
    HOLDS_HTLC = "holds_htlc"
    IDENTITY_REGISTRATION = "identity_registration"
    WHITELIST = "whitelist"
    DOCUMENTS = "documents"
    OPT_IN = "opt_in"
    CLAWBACK = "clawback"
    BLOCKLIST = "blocklist"


class InvestorClass(StrEnum):
    """Investor classification, named for what it means (the jurisdiction is kept beside it).

    ``qualified_institutional`` is Japan's 適格機関投資家 (QII) and the US QIB;
    ``specified`` is Japan's 特定投資家; ``professional`` covers the EU/UK professional client
    and HK professional investor; ``accredited`` the US and SG accredited investor;
    ``qualified`` the Swiss qualified investor.
    """

    RETAIL = "retail"
    PROFESSIONAL = "professional"
    ELIGIBLE_COUNTERPARTY = "eligible_counterparty"
    ACCREDITED = "accredited"
    QUALIFIED_PURCHASER = "qualified_purchaser"
    QUALIFIED_INSTITUTIONAL = "qualified_institutional"
    INSTITUTIONAL = "institutional"
    SPECIFIED = "specified"
    QUALIFIED = "qualified"
    HIGH_NET_WORTH = "high_net_worth"
    SOPHISTICATED = "sophisticated"
    AFFILIATE = "affiliate"


class ClaimType(StrEnum):
    """What an eligibility claim attests."""

    KYC = "kyc"
    AML = "aml"
    CDD = "cdd"
    ACCREDITED = "accredited"
    QUALIFIED_INVESTOR = "qualified_investor"
    PROFESSIONAL = "professional"
    AFFILIATE = "affiliate"
    JURISDICTION = "jurisdiction"
    SANCTIONS_CLEAR = "sanctions_clear"
    CUSTOM = "custom"


class IdentitySource(StrEnum):
    """Where an investor's identity and eligibility were read from."""

    ONCHAINID = "onchainid"
    IBET_PERSONAL_INFO = "ibet_personal_info"
    ALGORAND_WHITELIST_APP = "algorand_whitelist_app"
    CONTRACT_WHITELIST = "contract_whitelist"
    OFFCHAIN_ATTESTATION = "offchain_attestation"
