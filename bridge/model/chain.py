"""Where an asset lives: the chain and the locator on that chain."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bridge.model.base import CanonicalModel
from bridge.types import UINT64_MAX, EvmAddress

__all__ = [
    "AlgorandAsaLocator",
    "AlgorandChain",
    "AssetRef",
    "ChainRef",
    "EvmChain",
    "EvmContractLocator",
    "Locator",
]


class EvmChain(CanonicalModel):
    """An EVM chain, identified by its EIP-155 chain id."""

    kind: Literal["evm"] = "evm"
    chain_id: int = Field(strict=True, ge=1, description="EIP-155 chain id.")
    name: str | None = Field(default=None, max_length=64, description="Human label, e.g. 'anvil'.")


class AlgorandChain(CanonicalModel):
    """An Algorand network, identified by its genesis hash (base64 of 32 bytes)."""

    kind: Literal["algorand"] = "algorand"
    genesis_hash: str = Field(description="Base64 of the 32-byte genesis hash.")
    network: str | None = Field(default=None, max_length=64, description="e.g. mainnet, embedded.")

    @field_validator("genesis_hash")
    @classmethod
    def _genesis_is_32_bytes(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise ValueError("genesis_hash must be base64") from None
        if len(raw) != 32:
            raise ValueError("genesis_hash must decode to exactly 32 bytes")
        return value


ChainRef = Annotated[EvmChain | AlgorandChain, Field(discriminator="kind")]
"""Either chain family; the ``kind`` field says which."""


class EvmContractLocator(CanonicalModel):
    """A token contract on an EVM chain."""

    kind: Literal["evm_contract"] = "evm_contract"
    address: EvmAddress


class AlgorandAsaLocator(CanonicalModel):
    """An Algorand Standard Asset, with the compliance application that governs it if any."""

    kind: Literal["algorand_asa"] = "algorand_asa"
    asset_id: int = Field(strict=True, ge=1, le=UINT64_MAX)
    app_id: int | None = Field(default=None, strict=True, ge=1, le=UINT64_MAX)


Locator = Annotated[EvmContractLocator | AlgorandAsaLocator, Field(discriminator="kind")]
"""Where on its chain an asset is."""


class AssetRef(CanonicalModel):
    """A pointer to an asset: its chain and its locator on that chain."""

    chain: ChainRef
    locator: Locator

    @model_validator(mode="after")
    def _locator_matches_chain(self) -> AssetRef:
        if (self.chain.kind == "evm") != (self.locator.kind == "evm_contract"):
            raise ValueError(
                f"locator: a {self.locator.kind} locator cannot be on a {self.chain.kind} chain"
            )
        return self
