"""The token-standard translator: re-express a security in another standard, with an exact
account of what cannot be carried.

- :mod:`~bridge.translate.features`: the canonical features and an asset's reading of them;
- :mod:`~bridge.translate.matrix`: the capability matrix, per standard and feature;
- :mod:`~bridge.translate.plan`: deployment plans, one model per target standard;
- :mod:`~bridge.translate.translator`: :func:`translate` (asset -> plan + loss report);
- :mod:`~bridge.translate.move`: lock-and-mint moves between a home chain and a mirror.

Everything here is pure; deploying a plan is the target adapter's job
(``adapters.translate``).
"""

from bridge.translate.features import Difference, Feature, LossKind, Profile, differences, profile
from bridge.translate.matrix import MATRIX, SECURITY_STANDARDS, Support, support, unexpressed
from bridge.translate.move import MoveBook, MoveEffect, MoveEvent, MoveRefused, MoveRequest
from bridge.translate.plan import (
    Erc1400Plan,
    Erc1404Plan,
    Erc3643Plan,
    IbetBondPlan,
    IbetSharePlan,
    Lockup,
    ModuleCall,
    ModulePlan,
    Plan,
    RegulatedAsaPlan,
)
from bridge.translate.translator import (
    AllowLoss,
    LossEntry,
    LossReport,
    LossyTranslation,
    Translation,
    expected_asset,
    translate,
)

__all__ = [
    "MATRIX",
    "SECURITY_STANDARDS",
    "AllowLoss",
    "Difference",
    "Erc1400Plan",
    "Erc1404Plan",
    "Erc3643Plan",
    "Feature",
    "IbetBondPlan",
    "IbetSharePlan",
    "Lockup",
    "LossEntry",
    "LossKind",
    "LossReport",
    "LossyTranslation",
    "ModuleCall",
    "ModulePlan",
    "MoveBook",
    "MoveEffect",
    "MoveEvent",
    "MoveRefused",
    "MoveRequest",
    "Plan",
    "Profile",
    "RegulatedAsaPlan",
    "Support",
    "Translation",
    "differences",
    "expected_asset",
    "profile",
    "support",
    "translate",
    "unexpressed",
]
