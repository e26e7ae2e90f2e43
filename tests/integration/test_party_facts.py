"""The relayer judges a trade with the parties' chain facts (identity, agent role, outflows).

A T-REX token with TimeTransfersLimitsModule bound (at most 300 units per identity per
hour). alice's identity holds a second wallet; 200 units went from alice to it and 50
from it to bob, so alice's identity has 250 of its 300 counted. The order's trade carries
the token's asset (its rules as the adapter reads them): the engine applies them on the
identity, agent role and outflows the relayer reads from the chain before every check
(``relayer.party_facts``).

In ``make test``: the relayer's own hooks (the EVM runtime's party reader and the
daemon's compliance check) on the session's py-evm T-REX suite. Under ``thorough``: the
same through the relayer service on the cross-border world (a world of its own: ~50 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest

from adapters.algorand.signer import AlgorandSigner
from adapters.evm.client import EvmClient
from adapters.evm.erc3643 import Erc3643Adapter
from adapters.evm.signer import EvmSigner
from adapters.evm.trex_deploy import ModuleConfig, TrexDeployer, TrexSuite
from bridge.compliance.model import Party
from bridge.model import Asset, AssetRef, EvmContractLocator, TransferIntent, VolumeLimitRule
from bridge.swap import LegPhase, Outcome
from bridge.types import alpha2_to_numeric
from relayer.daemon import compliance_from_engine
from relayer.embedded import World, build_world, cross_chain_order, demo_order
from relayer.party_facts import evm_party_reader, with_chain_facts
from relayer.service import LegOrder, SwapOrder
from tests.fixtures.evm import EvmChains

LIMIT = 300


def _two_wallets(evm: EvmClient, deployer: TrexDeployer, trex: TrexSuite, ref: AssetRef) -> None:
    """Bind the limit; register a second wallet for alice's identity; alice sends it 200,
    it sends bob 50."""
    deployer.add_module(
        trex,
        ModuleConfig("TimeTransfersLimitsModule", (("setTimeTransferLimit", ((3600, LIMIT),)),)),
    )
    alice = trex.investor("alice")
    second = EvmSigner.generate()
    evm.fund(second.address, 10**18)
    registry = deployer.contract("IdentityRegistry", trex.identity_registry)
    deployer.send(
        registry.functions.registerIdentity(
            second.address, alice.identity, alpha2_to_numeric(alice.country)
        ),
        trex.agent,
    )
    adapter = Erc3643Adapter(evm)
    for sender, recipient, amount in (
        (alice.signer, second.address, 200),
        (second, trex.investor("bob").address, 50),
    ):
        intent = TransferIntent(
            asset=ref, sender=sender.address, recipient=recipient, amount=amount
        )
        adapter.transfer(intent, sender)


def _limit_asset(evm: EvmClient, trex: TrexSuite, ref: AssetRef) -> Asset:
    """The token's asset with the limit module's rules (as ``read_asset`` reads them)."""
    adapter = Erc3643Adapter(evm)
    asset = adapter.read_asset(ref)
    assert [r.amount for r in asset.rules if isinstance(r, VolumeLimitRule)] == [LIMIT]
    return asset


@pytest.fixture(scope="module")
def _limited_once(
    evm_chains: EvmChains,
) -> Iterator[tuple[EvmClient, TrexDeployer, TrexSuite, AssetRef, Asset]]:
    """The session's py-evm T-REX suite with the limit and alice's two wallets, and the
    asset read once (the module's tests revert to it; the suite is put back after)."""
    chain = evm_chains.get("pyevm")
    trex = chain.suite
    ref = AssetRef(chain=chain.client.chain, locator=EvmContractLocator(address=trex.token))
    snapshot = chain.client.snapshot()
    investors, modules = dict(trex.investors), dict(trex.modules)
    try:
        _two_wallets(chain.client, chain.deployer, trex, ref)
        yield chain.client, chain.deployer, trex, ref, _limit_asset(chain.client, trex, ref)
    finally:
        chain.client.revert(snapshot)
        trex.investors, trex.modules = investors, modules


@pytest.fixture
def limited(
    _limited_once: tuple[EvmClient, TrexDeployer, TrexSuite, AssetRef, Asset],
) -> Iterator[tuple[EvmClient, TrexDeployer, TrexSuite, AssetRef, Asset]]:
    """The limited world, put back after the test."""
    client = _limited_once[0]
    snapshot = client.snapshot()
    try:
        yield _limited_once
    finally:
        client.revert(snapshot)


def _hook_order(trex: TrexSuite, ref: AssetRef, asset: Asset) -> SwapOrder:
    """alice sells 100 to bob; the trade carries the token's asset."""
    order = cross_chain_order(
        "pf-hooks",
        security=LegOrder(
            chain="evm",
            asset=ref,
            amount=100,
            sender=trex.investor("alice").address,
            receiver=trex.investor("bob").address,
        ),
        cash=LegOrder(
            chain="algorand",
            amount=10_000,
            sender=AlgorandSigner.generate().address,
            receiver=AlgorandSigner.generate().address,
        ),
        buyer_residence="SG",
    )
    assert order.trade is not None
    instrument = order.trade.instrument.model_copy(update={"asset": asset})
    return order.model_copy(
        update={"trade": order.trade.model_copy(update={"instrument": instrument})}
    )


def _volume_codes(refusals: object) -> list[str]:
    return [
        r.raw_code
        for r in refusals  # type: ignore[attr-defined]
        if r.raw_code is not None and r.raw_code.startswith("token.volume_limit")
    ]


def test_the_relayers_hooks_count_both_wallets_and_exempt_an_agent(
    limited: tuple[EvmClient, TrexDeployer, TrexSuite, AssetRef, Asset],
) -> None:
    """Through the relayer's hooks: the order as the platform sent it (no identities, no
    outflows) passes the engine's limit; filled by the EVM runtime's party reader it is
    refused (250 + 100 > 300 over both of alice's wallets); once alice's wallet is an
    agent of the token it passes again (agents are exempt), as on chain."""
    evm, deployer, trex, ref, asset = limited
    check = compliance_from_engine()
    order = _hook_order(trex, ref, asset)
    at = evm.now() + timedelta(seconds=1)
    reader = evm_party_reader(evm)
    assert _volume_codes(check(order, at).refusals) == []
    filled = with_chain_facts(order, reader)
    assert filled.trade is not None
    assert filled.trade.seller.identity == trex.investor("alice").identity
    assert _volume_codes(check(filled, at).refusals) != []
    token = deployer.contract("Token", trex.token)
    deployer.send(token.functions.addAgent(trex.investor("alice").address))
    filled = with_chain_facts(order, reader)
    assert filled.trade is not None
    assert filled.trade.seller.token_agent
    assert _volume_codes(check(filled, at).refusals) == []


def test_the_adapter_reads_identity_agent_role_and_outflows(
    limited: tuple[EvmClient, TrexDeployer, TrexSuite, AssetRef, Asset],
) -> None:
    """``read_party``: alice's ONCHAINID, not an agent, and both wallets' transfers out
    (mints excluded), each to its recipient's identity, dated by their blocks."""
    evm, _, trex, ref, _ = limited
    alice, bob = trex.investor("alice"), trex.investor("bob")
    party = Party(name="alice", residence="JP")
    read = Erc3643Adapter(evm).read_party(ref, alice.address, party)
    assert read.identity == alice.identity
    assert read.wallet == alice.address
    assert not read.token_agent
    assert [(o.amount, o.to) for o in read.outflows] == [(200, alice.identity), (50, bob.identity)]
    assert all(o.at <= evm.now() for o in read.outflows)
    assert read.outflows[0].at.tzinfo is UTC


# -- through the relayer service (thorough) -------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("party-facts"))
    _two_wallets(built.evm, TrexDeployer(built.evm, built.trex.owner), built.trex, built.token_ref)
    yield built
    built.service.store.close()


def _order(world: World, order_id: str) -> SwapOrder:
    """alice sells 100 units to bob; the trade carries the token's asset."""
    order = demo_order(world, order_id, units=100, usd_cents=10_000)
    asset = _limit_asset(world.evm, world.trex, world.token_ref)
    assert order.trade is not None
    instrument = order.trade.instrument.model_copy(update={"asset": asset})
    trade = order.trade.model_copy(update={"instrument": instrument})
    return order.model_copy(update={"trade": trade})


def _drive(world: World, swap_id: str, ticks: int = 4) -> None:
    for _ in range(ticks):
        world.service.tick()
        state = world.service.store.get(swap_id)
        if state.outcome is not Outcome.OPEN or state.initiator.phase is LegPhase.LOCKED:
            return


def _engine_volume_refusals(world: World, swap_id: str) -> list[str]:
    """The engine's refusals naming a token volume limit (its rule id is the raw code)."""
    state = world.service.store.get(swap_id)
    return [
        r.raw_code
        for r in state.refusals
        if r.raw_code is not None and r.raw_code.startswith("token.volume_limit")
    ]


@pytest.mark.thorough
def test_the_volume_limit_counts_every_wallet_of_the_identity(world: World) -> None:
    """250 of alice's identity's 300 moved within the hour, 50 of it from her second
    wallet: 100 more from her first wallet is refused by the engine's VolumeLimitRule (it
    counts both wallets' outflows, as the module counts the identity), not only by the
    token's own dry run."""
    order = _order(world, "pf-two-wallets")
    swap_id = world.service.submit(order).terms.swap_id
    _drive(world, swap_id)
    assert world.service.store.get(swap_id).outcome is Outcome.REFUSED
    assert _engine_volume_refusals(world, swap_id), world.service.store.get(swap_id).refusals


@pytest.mark.thorough
def test_an_agent_of_the_token_is_exempt_through_the_relayer(world: World) -> None:
    """alice's wallet becomes an agent of the token: the module exempts her transfers, and
    so does the engine on the relayer's path (``token_agent`` read from the chain): the
    same 100 units pass the limit and the seller's lock goes ahead."""
    deployer = TrexDeployer(world.evm, world.trex.owner)
    token = deployer.contract("Token", world.trex.token)
    alice = world.trex.investor("alice").address
    snapshot = world.evm.snapshot()
    try:
        deployer.send(token.functions.addAgent(alice))
        order = _order(world, "pf-agent")
        swap_id = world.service.submit(order).terms.swap_id
        _drive(world, swap_id)
        state = world.service.store.get(swap_id)
        assert _engine_volume_refusals(world, swap_id) == [], state.refusals
        assert state.outcome is Outcome.OPEN, state.refusals
        assert state.initiator.phase is LegPhase.LOCKED
    finally:
        world.evm.revert(snapshot)
