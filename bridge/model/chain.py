"""Where an asset lives: the chain and the locator on that chain."""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any, Literal

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
    "algorand_caip2",
    "caip10",
    "evm_caip2",
    "parse_caip10",
]


_CAIP2 = re.compile(r"^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$")
_CAIP10_ACCOUNT = re.compile(r"^[-.%a-zA-Z0-9]{1,128}$")
_CAIP2_DESCRIPTION = (
    "CAIP-2 chain id (derived; given on input, it must match): eip155:<chain_id>, or "
    "algorand:<first 32 characters of the URL-safe base64 genesis hash>."
)


def _with_caip2(data: Any, derive: Any) -> Any:
    """Fill ``caip2`` from the other fields, or check a given one matches them."""
    if not isinstance(data, dict):
        return data
    try:
        derived = derive(data)
    except (KeyError, TypeError, ValueError):
        return data  # the field validators name what is wrong with the fields themselves
    given = data.get("caip2")
    if given is not None and given != derived:
        raise ValueError(f"caip2: {given!r} does not match the chain ({derived!r})")
    return {**data, "caip2": derived}


def evm_caip2(chain_id: int) -> str:
    """The CAIP-2 id of an EVM chain: ``eip155:<chain id>``."""
    return f"eip155:{int(chain_id)}"


def algorand_caip2(genesis_hash: str) -> str:
    """The CAIP-2 id of an Algorand network (ChainAgnostic namespaces, algorand/caip2):
    the genesis hash in URL-safe base64, cut to its first 32 characters."""
    raw = base64.b64decode(genesis_hash, validate=True)
    return "algorand:" + base64.urlsafe_b64encode(raw).decode("ascii")[:32]


class EvmChain(CanonicalModel):
    """An EVM chain, identified by its EIP-155 chain id (and its CAIP-2 id beside it)."""

    kind: Literal["evm"] = "evm"
    chain_id: int = Field(strict=True, ge=1, description="EIP-155 chain id.")
    name: str | None = Field(default=None, max_length=64, description="Human label, e.g. 'anvil'.")
    caip2: str | None = Field(default=None, description=_CAIP2_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _caip2(cls, data: Any) -> Any:
        return _with_caip2(data, lambda d: evm_caip2(d["chain_id"]))

    def caip10(self, address: str) -> str:
        """The CAIP-10 account id of ``address`` on this chain."""
        return caip10(self, address)


class AlgorandChain(CanonicalModel):
    """An Algorand network, identified by its genesis hash (base64 of 32 bytes)."""

    kind: Literal["algorand"] = "algorand"
    genesis_hash: str = Field(description="Base64 of the 32-byte genesis hash.")
    network: str | None = Field(default=None, max_length=64, description="e.g. mainnet, embedded.")
    caip2: str | None = Field(default=None, description=_CAIP2_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _caip2(cls, data: Any) -> Any:
        return _with_caip2(data, lambda d: algorand_caip2(d["genesis_hash"]))

    def caip10(self, address: str) -> str:
        """The CAIP-10 account id of ``address`` on this network."""
        return caip10(self, address)

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


def caip10(chain: EvmChain | AlgorandChain, address: str) -> str:
    """The CAIP-10 account id ``<caip2>:<address>`` of ``address`` on ``chain`` (an EVM
    address in its EIP-55 form, an Algorand address as is); the address is validated."""
    from bridge.types import validate_algorand_address, validate_evm_address

    account = (
        validate_evm_address(address) if chain.kind == "evm" else validate_algorand_address(address)
    )
    return f"{chain.caip2}:{account}"


def parse_caip10(value: str) -> tuple[str, str]:
    """Split a CAIP-10 account id into its CAIP-2 chain id and its address (syntax checked)."""
    namespace, sep, rest = value.partition(":")
    reference, sep2, account = rest.partition(":")
    chain_id = f"{namespace}:{reference}"
    if not sep or not sep2 or not _CAIP2.match(chain_id) or not _CAIP10_ACCOUNT.match(account):
        raise ValueError(f"not a CAIP-10 account id: {value!r}")
    return chain_id, account


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
