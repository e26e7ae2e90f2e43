"""The compliance engine's verdict on a token's own rules, for the per-standard rule tests.

The canonical-rule property tests compare what the chain does with what the engine
concludes from the asset an adapter read: :func:`token_reasons` builds the trade the
engine would see (the parties' wallets, balances, claims and past outflows as read from
the chain) and returns the reasons the engine's token step gives -- the token's state
(paused, transferable) and each canonical rule, as :func:`bridge.compliance.engine.evaluate`
applies them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.signer import EvmSigner
from bridge.compliance.engine import _token_rules
from bridge.compliance.model import Instrument, Kyc, Outflow, Party, Reason, Trade
from bridge.model import Asset, AssetRef, Claim, ClaimType
from bridge.reasons import ReasonCode
from tests.fixtures.evm import EvmChains

__all__ = ["Side", "TokenWorld", "codes", "party_reasons", "token_reasons", "token_world_on"]

A = TypeVar("A")
W = TypeVar("W", bound="TokenWorld[Any]")


@dataclass
class TokenWorld(Generic[A]):
    """One of our EVM tokens (ERC-1400, ERC-1404) on one backend: its adapter and its named
    accounts, with the sends, reads and snapshots the rule and agent-operation tests use."""

    client: EvmClient
    adapter: A
    token: str
    ref: AssetRef
    signers: dict[str, EvmSigner]
    gas: int

    def addr(self, name: str) -> str:
        """The address of the account named ``name``."""
        return self.signers[name].address

    def send(self, signer: str, fn: str, *args: object) -> EvmReverted | None:
        """Send ``fn(*args)`` with explicit gas; the revert if the chain refused it."""
        contract = self.adapter.token(self.token)  # type: ignore[attr-defined]
        data = bytes.fromhex(contract.encode_abi(fn, args=list(args))[2:])
        try:
            self.client.transact(self.signers[signer], self.token, data, gas=self.gas)
        except EvmReverted as exc:
            return exc
        return None

    @contextmanager
    def example(self) -> Iterator[None]:
        """One hypothesis example: the chain is put back as it was afterwards."""
        snapshot = self.client.snapshot()
        try:
            yield
        finally:
            self.client.revert(snapshot)

    def read(self, fn: str, *args: object) -> int:
        """An integer view of the token, at the head."""
        contract = self.adapter.token(self.token)  # type: ignore[attr-defined]
        return int(getattr(contract.functions, fn)(*args).call())

    def ahead(self) -> None:
        """Block times ahead of the wall clock (py-evm), so landing times are exact."""
        if self.client.backend == "pyevm":
            self.client._tester.time_travel(int(self.client.now().timestamp()) + 86_400)


def token_world_on(
    evm_chains: EvmChains,
    backend: str,
    built: dict[int, W],
    build: Callable[[EvmClient], W],
) -> Iterator[W]:
    """The world ``build`` makes on ``backend``: built once per session (kept in ``built``),
    put back by snapshot after each test."""
    client = evm_chains.client(backend)
    if id(client) not in built:
        built[id(client)] = build(client)
    snapshot = client.snapshot()
    try:
        yield built[id(client)]
    finally:
        client.revert(snapshot)


@dataclass(frozen=True)
class Side:
    """One party as the chain shows it: wallet, balance, residence, KYC claim expiry."""

    wallet: str
    balance: int
    residence: str = "JP"
    kyc_until: datetime | None = None
    outflows: Sequence[tuple[datetime, int]] = field(default_factory=tuple)
    acquired_on: datetime | None = None


def _party(name: str, side: Side) -> Party:
    claims = (
        (Claim(type=ClaimType.KYC, valid_until=side.kyc_until),)
        if side.kyc_until is not None
        else ()
    )
    return Party(
        name=name,
        residence=side.residence,
        wallet=side.wallet,
        balance=side.balance,
        kyc=Kyc(status="verified") if side.kyc_until is None else Kyc(),
        claims=claims,
        outflows=tuple(Outflow(at=t, amount=a) for t, a in side.outflows),
    )


def token_reasons(
    asset: Asset,
    *,
    seller: Side,
    buyer: Side,
    quantity: int,
    at: datetime,
    holder_count: int = 0,
    holders_by_country: dict[str, int] | None = None,
    issuer_approved: bool = False,
    kind: Literal["primary", "resale"] = "resale",
) -> list[Reason]:
    """The engine's token reasons (deny or needs-information) on a trade of ``quantity``
    from ``seller`` to ``buyer`` at ``at`` (a resale, or with ``kind="primary"`` an
    issuance by ``seller``, the issuer); empty when the token's rules allow it."""
    inst = Instrument(
        kind="jp.ertr",
        exemption="jp.qii_only",
        home=asset.home_jurisdiction or "JP",
        holder_count=holder_count,
        holders_by_country=holders_by_country or {},
        asset=asset,
    )
    return party_reasons(
        asset,
        seller=_party("Seller", seller),
        buyer=_party("Buyer", buyer),
        quantity=quantity,
        at=at,
        instrument=inst,
        issuer_approved=issuer_approved,
        kind=kind,
    )


def party_reasons(
    asset: Asset,
    *,
    seller: Party,
    buyer: Party,
    quantity: int,
    at: datetime,
    instrument: Instrument | None = None,
    issuer_approved: bool = False,
    kind: Literal["primary", "resale"] = "resale",
) -> list[Reason]:
    """The engine's token reasons on a trade between two parties given whole (e.g. as an
    adapter's ``read_party`` filled them: identity, agent role, outflows)."""
    inst = instrument or Instrument(
        kind="jp.ertr",
        exemption="jp.qii_only",
        home=asset.home_jurisdiction or "JP",
        asset=asset,
    )
    trade = Trade(
        instrument=inst,
        seller=seller,
        buyer=buyer,
        quantity=quantity,
        issuer_approved=issuer_approved,
        kind=kind,
    )
    reasons, _ = _token_rules(trade, at, False, asset)
    return reasons


def codes(reasons: Sequence[Reason]) -> set[ReasonCode]:
    """The canonical codes of ``reasons``."""
    return {r.code for r in reasons}
