"""The canonical asset: identity, location, supply, state, terms, documents, rules, controls."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, field_validator, model_validator

from bridge.model.base import CanonicalModel
from bridge.model.chain import AssetRef, ChainRef, Locator
from bridge.model.enums import Capability, Standard
from bridge.model.rules import Rule
from bridge.model.terms import InstrumentTerms
from bridge.types import UINT64_MAX, Address, Amount, JurisdictionCode

__all__ = ["Asset", "Document", "Identifier", "RoleAssignment", "isin_is_valid", "lei_is_valid"]

ASA_MAX_DECIMALS = 19
EVM_MAX_DECIMALS = 255


def isin_is_valid(isin: str) -> bool:
    """ISO 6166 check: 2 letters, 9 alphanumerics, 1 check digit (Luhn over digit expansion)."""
    if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{9}[0-9]", isin):
        return False
    digits = "".join(str(int(c, 36)) for c in isin)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return total % 10 == 0


def lei_is_valid(lei: str) -> bool:
    """ISO 17442 check: 20 alphanumerics, ISO 7064 mod 97-10 equals 1."""
    if not re.fullmatch(r"[A-Z0-9]{18}[0-9]{2}", lei):
        return False
    return int("".join(str(int(c, 36)) for c in lei)) % 97 == 1


class Identifier(CanonicalModel):
    """A market identifier of the instrument or issuer; ISIN and LEI check digits are verified."""

    kind: Literal["isin", "lei", "cusip", "figi", "local"]
    value: str = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _check_digit(self) -> Identifier:
        if self.kind == "isin" and not isin_is_valid(self.value):
            raise ValueError("value: not a valid ISIN (format or check digit)")
        if self.kind == "lei" and not lei_is_valid(self.value):
            raise ValueError("value: not a valid LEI (format or ISO 7064 check digits)")
        return self


def _hex_digest(value: str) -> str:
    if not re.fullmatch(r"(0x)?[0-9a-fA-F]{2,128}", value):
        raise ValueError("a document hash is hex (optionally 0x-prefixed)")
    return value.lower().removeprefix("0x")


class Document(CanonicalModel):
    """A document attached to the asset (prospectus, terms, ARC-3 metadata...)."""

    name: str = Field(min_length=1, max_length=200)
    uri: str = Field(max_length=2048)
    hash: Annotated[str, AfterValidator(_hex_digest)] | None = None
    hash_alg: Literal["sha256", "keccak256", "sha512_256"] | None = None
    last_modified: AwareDatetime | None = None

    @model_validator(mode="after")
    def _alg_with_hash(self) -> Document:
        if (self.hash is None) != (self.hash_alg is None):
            raise ValueError("hash and hash_alg are given together or not at all")
        return self


class RoleAssignment(CanonicalModel):
    """Who holds a controller role (owner, agent, freeze, clawback, controller, ...)."""

    role: str = Field(min_length=1, max_length=64)
    holder: Address


class Asset(CanonicalModel):
    """A security or cash token, exactly as read from its chain.

    ``decimals`` is bounded by the chain: an EVM ``uint8`` (255) or an ASA's 19; ibet has none
    (0). ``total_supply`` fits ``uint64`` on Algorand. ``controls`` is the declared capability
    set; ``rules`` the restriction rules the token enforces itself.
    """

    chain: ChainRef
    locator: Locator
    standard: Standard
    asset_class: Literal["security", "cash"] = "security"
    name: str = Field(max_length=200)
    symbol: str = Field(max_length=32)
    decimals: int = Field(strict=True, ge=0)
    total_supply: Amount
    paused: bool = False
    active: bool = True
    transferable: bool = True
    home_jurisdiction: JurisdictionCode | None = None
    identifiers: tuple[Identifier, ...] = ()
    issuer: Address | None = None
    terms: InstrumentTerms | None = None
    documents: tuple[Document, ...] = ()
    rules: tuple[Rule, ...] = ()
    controls: tuple[Capability, ...] = ()
    roles: tuple[RoleAssignment, ...] = ()
    read_at_height: int | None = Field(default=None, strict=True, ge=0)

    @field_validator("controls")
    @classmethod
    def _controls_as_set(cls, value: tuple[Capability, ...]) -> tuple[Capability, ...]:
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _chain_limits(self) -> Asset:
        if (self.chain.kind == "evm") != (self.locator.kind == "evm_contract"):
            raise ValueError(
                f"locator: a {self.locator.kind} locator cannot be on a {self.chain.kind} chain"
            )
        if self.chain.kind == "algorand":
            if self.decimals > ASA_MAX_DECIMALS:
                raise ValueError(f"decimals: an ASA allows at most {ASA_MAX_DECIMALS}")
            if self.total_supply > UINT64_MAX:
                raise ValueError("total_supply: an ASA's total must fit a uint64")
        elif self.decimals > EVM_MAX_DECIMALS:
            raise ValueError("decimals: an EVM token's decimals is a uint8 (at most 255)")
        if self.standard in (Standard.IBET_SHARE, Standard.IBET_BOND) and self.decimals != 0:
            raise ValueError("decimals: ibet tokens have no decimals (must be 0)")
        return self

    @property
    def ref(self) -> AssetRef:
        """This asset's chain and locator."""
        return AssetRef(chain=self.chain, locator=self.locator)

    def has(self, capability: Capability) -> bool:
        """True when the asset declares ``capability``."""
        return capability in self.controls
