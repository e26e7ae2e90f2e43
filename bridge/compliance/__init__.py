"""Jurisdictional compliance: rules as data, an engine that explains every decision.

``evaluate(trade, at)`` judges a :class:`Trade` under the rules of the instrument's home
jurisdiction, the buyer's and the seller's jurisdictions, the cash leg's service
providers, a sanctions list, and the token's own canonical rules, and returns a
:class:`Decision` whose every reason carries a canonical code, the rule id, the
jurisdiction, the legal citation and a one-line explanation.

The rules live in ``specs/jurisdictions/*.json`` (see :mod:`bridge.compliance.loader`);
``SCHEMA_MODELS`` names the models exported as JSON Schema to ``specs/schemas/``.
"""

from __future__ import annotations

from pydantic import BaseModel

from bridge.compliance.engine import Engine, default_engine, evaluate
from bridge.compliance.loader import RuleBook, default_rules_dir, load_rules
from bridge.compliance.model import Decision, JurisdictionRules, Reason, Trade
from bridge.compliance.sanctions import SanctionsList, load_sanctions

__all__ = [
    "SCHEMA_MODELS",
    "Decision",
    "Engine",
    "JurisdictionRules",
    "Reason",
    "RuleBook",
    "SanctionsList",
    "Trade",
    "default_engine",
    "default_rules_dir",
    "evaluate",
    "load_rules",
    "load_sanctions",
]

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "trade": Trade,
    "decision": Decision,
    "jurisdiction-rules": JurisdictionRules,
}
"""Public models whose JSON Schemas ``stbridge schema export`` writes to specs/schemas/."""
