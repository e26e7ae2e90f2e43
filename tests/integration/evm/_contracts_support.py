"""Helpers shared by the tests of our own EVM contracts (cash, ERC-1404, ERC-1400).

Our contracts are deployed on the session chains of ``tests/fixtures/evm.py`` (py-evm and
anvil) once per backend, outside any test's snapshot, and every test then runs between a
snapshot and a revert: :func:`deployed_once` does both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from adapters.evm.client import EvmClient, EvmReverted, RevertInfo
from adapters.evm.signer import EvmSigner
from bridge.model import AssetRef, Capability
from bridge.ports import TxReceipt
from tests.fixtures.evm import EvmChains

FUNDING_WEI = 10**19
RAW_GAS = 500_000
TEN_DAYS = 10 * 24 * 3600

T = TypeVar("T")


def funded_signers(client: EvmClient, prefix: str, *names: str) -> dict[str, EvmSigner]:
    """Deterministic test signers (seeded by ``prefix`` and name), each funded."""
    signers = {name: EvmSigner.from_seed(f"{prefix}:{name}") for name in names}
    for signer in signers.values():
        client.fund(signer.address, FUNDING_WEI)
    return signers


class TokenEnv:
    """What the ERC-1400 and ERC-1404 test environments share: on ``client``, the named
    funded signers ``s``, the adapter and the token's ``ref``; the issuer runs agent
    operations."""

    client: EvmClient
    s: dict[str, EvmSigner]
    adapter: Any
    ref: AssetRef

    def addr(self, name: str) -> str:
        """The address of the signer ``name``; any other string is taken as an address."""
        return self.s[name].address if name in self.s else name

    def op(self, cap: Capability, signer: str = "issuer", **params: Any) -> TxReceipt:
        """The agent operation ``cap`` on the token, signed by ``signer``."""
        receipt: TxReceipt = self.adapter.agent_operation(self.ref, cap, self.s[signer], **params)
        return receipt

    def chain_time(self) -> int:
        """The chain's clock, in seconds."""
        return int(self.client.now().timestamp())


@contextmanager
def reset(client: EvmClient) -> Iterator[None]:
    """Run the body, then put the chain back as it was."""
    snap = client.snapshot()
    try:
        yield
    finally:
        client.revert(snap)


@pytest.fixture(scope="session")
def contracts_cache() -> dict[tuple[str, str], Any]:
    """Environments built on the session chains, by (kind, backend)."""
    return {}


def deployed_once(
    evm_chains: EvmChains,
    backend: str,
    cache: dict[tuple[str, str], Any],
    kind: str,
    build: Callable[[EvmClient], T],
) -> Iterator[T]:
    """Yield the ``kind`` environment on ``backend`` (built once), reverted after the test."""
    client = evm_chains.client(backend)
    if (kind, backend) not in cache:
        cache[(kind, backend)] = build(client)
    env: T = cache[(kind, backend)]
    with reset(client):
        yield env


def send_raw(
    client: EvmClient, signer: EvmSigner, contract: Any, fn: str, *args: Any
) -> RevertInfo | None:
    """Send ``fn(*args)`` with fixed gas (no estimate); None if it succeeded, else the revert.

    This is "reality" for the prediction tests: the chain, not the adapter, decides.
    """
    data = bytes.fromhex(contract.encode_abi(fn, args=list(args))[2:])
    try:
        client.transact(signer, str(contract.address), data, gas=RAW_GAS)
    except EvmReverted as exc:
        return exc.revert
    return None
