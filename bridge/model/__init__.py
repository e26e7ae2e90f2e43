"""The canonical model: one description of every security token, whatever its chain.

All models are pydantic v2, frozen, refuse unknown fields, and hold amounts as integers
in base units. Unions carry a ``kind`` literal.
"""

from bridge.model.actions import (
    AgentOperationCheck,
    CorporateAction,
    CouponPayment,
    Dividend,
    Redemption,
)
from bridge.model.asset import Asset, Document, Identifier, RoleAssignment
from bridge.model.base import CanonicalModel
from bridge.model.chain import (
    AlgorandAsaLocator,
    AlgorandChain,
    AssetRef,
    ChainRef,
    EvmChain,
    EvmContractLocator,
    Locator,
)
from bridge.model.enums import Capability, ClaimType, IdentitySource, InvestorClass, Standard
from bridge.model.holding import Holding
from bridge.model.investor import Claim, Classification, Eligibility, Investor
from bridge.model.rules import (
    AllowListRule,
    CountryAllowRule,
    CountryDenyRule,
    DenyListRule,
    FlowbackBlockRule,
    FullTransferOnlyRule,
    IssuerApprovalRule,
    LockupRule,
    MaxBalanceRule,
    MaxHoldersRule,
    MaxOwnershipRule,
    MinHoldingRule,
    OpaqueRule,
    RequiredClaimsRule,
    Rule,
    SanctionsScreeningRule,
    SupplyCapRule,
    TransferFeeRule,
    VolumeLimitRule,
)
from bridge.model.terms import (
    BondTerms,
    CashTerms,
    EquityTerms,
    FundTerms,
    InstrumentTerms,
    Money,
    OtherTerms,
    RealEstateTerms,
)
from bridge.model.transfer import Refusal, TransferCheck, TransferIntent

__all__ = [
    "AgentOperationCheck",
    "AlgorandAsaLocator",
    "AlgorandChain",
    "AllowListRule",
    "Asset",
    "AssetRef",
    "BondTerms",
    "CanonicalModel",
    "Capability",
    "CashTerms",
    "ChainRef",
    "Claim",
    "ClaimType",
    "Classification",
    "CorporateAction",
    "CountryAllowRule",
    "CountryDenyRule",
    "CouponPayment",
    "DenyListRule",
    "Dividend",
    "Document",
    "Eligibility",
    "EquityTerms",
    "EvmChain",
    "EvmContractLocator",
    "FlowbackBlockRule",
    "FullTransferOnlyRule",
    "FundTerms",
    "Holding",
    "Identifier",
    "IdentitySource",
    "InstrumentTerms",
    "Investor",
    "InvestorClass",
    "IssuerApprovalRule",
    "Locator",
    "LockupRule",
    "MaxBalanceRule",
    "MaxHoldersRule",
    "MaxOwnershipRule",
    "MinHoldingRule",
    "Money",
    "OpaqueRule",
    "OtherTerms",
    "RealEstateTerms",
    "Redemption",
    "Refusal",
    "RequiredClaimsRule",
    "RoleAssignment",
    "Rule",
    "SanctionsScreeningRule",
    "Standard",
    "SupplyCapRule",
    "TransferCheck",
    "TransferFeeRule",
    "TransferIntent",
    "VolumeLimitRule",
]
