"""Enumerations of the canonical model: standards, capabilities, investor classes, claims."""

from __future__ import annotations

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
