"""USD and JPY stablecoin ASAs (the cash leg) on the embedded go-algorand ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.algorand import arc3
from adapters.algorand.ledger import EmbeddedLedger
from bridge.errors import InvalidInput, NotFound, TransactionReverted, UnsupportedCapability
from bridge.model import Capability, CashTerms, SupplyCapRule, TransferIntent
from bridge.reasons import ReasonCode
from tests.fixtures.algorand_assets import StablecoinWorld, build_stablecoin_world, restored

pytestmark = pytest.mark.timeout(300)
R = ReasonCode


@pytest.fixture(scope="module")
def module_world(
    embedded_ledger: EmbeddedLedger, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StablecoinWorld]:
    """Deployed once per module; the session ledger is restored when the module ends."""
    with restored(embedded_ledger):
        yield build_stablecoin_world(embedded_ledger, Path(tmp_path_factory.mktemp("arc3")))


@pytest.fixture
def world(module_world: StablecoinWorld) -> Iterator[StablecoinWorld]:
    """The module's world, restored after each test."""
    with restored(module_world.ledger):
        yield module_world


def _intent(world: StablecoinWorld, sender: str, receiver: str, amount: int) -> TransferIntent:
    return TransferIntent(
        asset=world.usd_ref,
        sender=world[sender].address,
        recipient=world[receiver].address,
        amount=amount,
    )


def test_stablecoins_read_as_cash_with_verified_terms(world: StablecoinWorld) -> None:
    usd = world.adapter.read_asset(world.usd_ref)
    jpy = world.adapter.read_asset(world.jpy_ref)
    assert usd.asset_class == jpy.asset_class == "cash"
    assert isinstance(usd.terms, CashTerms)
    assert isinstance(jpy.terms, CashTerms)
    assert (usd.terms.currency, jpy.terms.currency) == ("USD", "JPY")
    assert (usd.decimals, jpy.decimals) == (2, 0)
    assert usd.total_supply == 105_000  # minted to alice and bob
    assert jpy.total_supply == 0
    assert next(r for r in usd.rules if isinstance(r, SupplyCapRule)).limit == 10**15
    roles = {r.role for r in usd.roles}
    assert roles == {"creator", "manager", "reserve", "freeze", "clawback"}
    for deployed in (world.usd, world.jpy):
        info = world.adapter.info(deployed.asset_id)
        assert info.metadata_hash is not None
        assert arc3.verify(deployed.metadata, info.metadata_hash)


def test_holders_come_from_the_chain_and_add_up(world: StablecoinWorld) -> None:
    holders = {h.holder: h.balance for h in world.adapter.holders(world.usd_ref)}
    assert holders == {world["alice"].address: 100_000, world["bob"].address: 5_000}
    assert sum(holders.values()) == world.adapter.read_asset(world.usd_ref).total_supply


@pytest.mark.parametrize(
    ("frozen", "sender", "receiver", "amount", "expected"),
    [
        ((), "alice", "bob", 10, R.OK),
        ((), "alice", "dave", 10, R.RECIPIENT_NOT_OPTED_IN),
        ((), "dave", "alice", 10, R.INSUFFICIENT_BALANCE),
        ((), "bob", "alice", 5_001, R.INSUFFICIENT_BALANCE),
        (("alice",), "alice", "bob", 10, R.SENDER_FROZEN),
        (("bob",), "alice", "bob", 10, R.RECIPIENT_FROZEN),
        (("alice", "bob"), "alice", "bob", 0, R.OK),
        ((), "alice", "dave", 0, R.OK),
    ],
)
def test_dry_run_reason_is_the_evaluator_reason(
    world: StablecoinWorld,
    frozen: tuple[str, ...],
    sender: str,
    receiver: str,
    amount: int,
    expected: ReasonCode,
) -> None:
    for name in frozen:
        world.adapter.agent_operation(
            world.usd_ref, Capability.ADDRESS_FREEZE, world.issuer, holder=world[name].address
        )
    intent = _intent(world, sender, receiver, amount)
    head = world.ledger.last_round
    assert world.adapter.check_transfer(intent).reason is expected
    assert world.ledger.last_round == head
    if expected is R.OK:
        world.adapter.transfer(intent, world[sender])
        return
    with pytest.raises(TransactionReverted) as refused:
        world.adapter.transfer(intent, world[sender])
    assert refused.value.reason is expected


def test_clawback_ignores_freeze_but_not_opt_in(world: StablecoinWorld) -> None:
    adapter, ref, issuer = world.adapter, world.usd_ref, world.issuer
    adapter.agent_operation(ref, Capability.ADDRESS_FREEZE, issuer, holder=world["alice"].address)
    assert adapter.holding(ref, world["alice"].address).frozen == 100_000
    clawback = TransferIntent(
        asset=ref,
        sender=world["alice"].address,
        recipient=world["carol"].address,
        amount=700,
        operator=issuer.address,
    )
    assert adapter.check_transfer(clawback).allowed
    adapter.transfer(clawback, issuer)
    assert adapter.holding(ref, world["carol"].address).balance == 700
    with pytest.raises(TransactionReverted) as refused:
        adapter.agent_operation(
            ref,
            Capability.FORCED_TRANSFER,
            issuer,
            sender=world["alice"].address,
            recipient=world["dave"].address,
            amount=1,
        )
    assert refused.value.reason is R.RECIPIENT_NOT_OPTED_IN


def test_mint_burn_and_roles(world: StablecoinWorld) -> None:
    adapter, ref, issuer = world.adapter, world.usd_ref, world.issuer
    adapter.agent_operation(
        ref, Capability.MINT, issuer, to=world["carol"].address, amount=9
    )  # the EVM adapters' parameter names (to, address) are accepted as aliases
    adapter.agent_operation(ref, Capability.BURN, issuer, address=world["alice"].address, amount=4)
    assert adapter.read_asset(ref).total_supply == 105_005
    with pytest.raises(TransactionReverted) as refused:
        adapter.agent_operation(
            ref, Capability.ADDRESS_FREEZE, world["alice"], holder=world["bob"].address
        )
    assert refused.value.reason is R.OPERATOR_NOT_AUTHORIZED
    with pytest.raises(UnsupportedCapability):
        adapter.agent_operation(ref, Capability.PAUSE, issuer)


def test_opt_in_makes_a_wallet_eligible(world: StablecoinWorld) -> None:
    adapter, ref = world.adapter, world.usd_ref
    assert adapter.eligibility(ref, world["dave"].address).missing == ("opt_in",)
    adapter.agent_operation(ref, Capability.OPT_IN, world["dave"])
    assert adapter.eligibility(ref, world["dave"].address).eligible
    assert adapter.check_transfer(_intent(world, "alice", "dave", 1)).allowed


def test_bad_input(world: StablecoinWorld) -> None:
    adapter, ref = world.adapter, world.usd_ref
    head = world.ledger.last_round
    bob = world["bob"].address
    bad = bob[:56] + ("A" if bob[56] != "A" else "B") + bob[57]
    with pytest.raises(InvalidInput) as error:
        adapter.eligibility(ref, bad)
    assert "checksum" in str(error.value)
    with pytest.raises(InvalidInput) as error:
        adapter.transfer(_intent(world, "alice", "bob", 2**64), world["alice"])
    assert error.value.field == "amount"
    with pytest.raises(NotFound):
        adapter.holding(adapter.ref(987_654), bob)
    with pytest.raises(InvalidInput) as error:
        adapter.transfer(_intent(world, "alice", "bob", 1), world["bob"])
    assert error.value.field == "signer"
    assert world.ledger.last_round == head
