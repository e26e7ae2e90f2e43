"""The daemon's ibet routing (:mod:`relayer.ibet`) on one anvil chain, without the daemon.

The cheap companion of ``test_ibet_daemon.py`` (thorough): an ibet share lock goes to
IbetHTLC and an ERC-20 lock to HTLC.sol through one :class:`RoutedHtlc`; events of both come
in chain order; claims find the contract holding each lock; the dry run answers the ibet
escrow hops as ibet settles them; no ERC-20 approval is sent for the ibet leg.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.ibet import IbetShareAdapter, deploy_ibet_share, deploy_personal_info
from adapters.evm.ibet_htlc import IbetHtlc
from adapters.evm.signer import EvmSigner
from bridge.errors import ApprovalPending
from bridge.htlc import ChainTiming
from bridge.model import AssetRef, Capability, EvmContractLocator, TransferIntent
from bridge.reasons import ReasonCode
from bridge.swap import Leg
from relayer.daemon import _check_ibet_htlc
from relayer.evm import evm_runtime
from relayer.ibet import RoutedHtlc, with_ibet

ETHER = 10**18


def _prepare_as_a_tick_would(prepare, client: EvmClient, leg: Leg, signer: EvmSigner) -> None:
    """Prepare a lock (an approval for the ERC-20 only) as the relayer's tick does: the
    pipelined port sends the approval without waiting, and anvil mines it a moment after
    answering; :class:`ApprovalPending` then defers the lock to a later tick, here once the
    signer has nothing pending. The second look finds the allowance and sends nothing."""
    try:
        prepare(leg, signer)
        return
    except ApprovalPending:
        pass
    deadline = time.monotonic() + 30
    while client._rpc("eth_getTransactionCount", [signer.address, "pending"]) != client._rpc(
        "eth_getTransactionCount", [signer.address, "latest"]
    ):
        assert time.monotonic() < deadline, "anvil kept the approval pending for 30 s"
        time.sleep(0.01)
    sent = client._rpc("eth_getTransactionCount", [signer.address, "latest"])
    prepare(leg, signer)
    assert client._rpc("eth_getTransactionCount", [signer.address, "pending"]) == sent


@pytest.mark.anvil
def test_one_port_routes_ibet_and_erc20_locks(anvil_url: str) -> None:
    """Invariant: each lock lands on the contract its token needs and is claimed there;
    the merged event stream is in chain order."""
    client = EvmClient.from_target(anvil_url)
    issuer, seller, buyer, operator = (EvmSigner.generate() for _ in range(4))
    for signer in (issuer, seller, buyer, operator):
        client.fund(signer.address, 10 * ETHER)
    registry = deploy_personal_info(client, issuer)
    share_address = deploy_ibet_share(
        client, issuer, name="Kyoto Holdings Share", symbol="KHS", total_supply=1_000,
        personal_info=registry,
    )  # fmt: skip
    share = AssetRef(chain=client.chain, locator=EvmContractLocator(address=share_address))
    ibet = IbetShareAdapter(client)
    ibet.agent_operation(share, Capability.IDENTITY_REGISTRATION, issuer, wallet=buyer.address)
    ibet.agent_operation(share, Capability.IDENTITY_REGISTRATION, issuer, wallet=seller.address)
    ibet.transfer(
        TransferIntent(asset=share, sender=issuer.address, recipient=seller.address, amount=50),
        issuer,
    )
    jpy_address = deploy_cash_token(
        client, issuer, name="JPY Coin", symbol="JPYX", decimals=0, currency="JPY"
    )
    jpy = AssetRef(chain=client.chain, locator=EvmContractLocator(address=jpy_address))
    Erc20Adapter(client).agent_operation(jpy, Capability.MINT, issuer, to=buyer.address, amount=9)
    plain, ibet_htlc = EvmHtlc.deploy(client, operator), IbetHtlc.deploy(client, operator)
    runtime = with_ibet(
        evm_runtime(
            name="evm",
            client=client,
            htlc=plain,
            timing=ChainTiming(
                deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000
            ),
            confirmations=0,
            signers=[seller, buyer],
            operator=operator,
        ),
        client,
        ibet_htlc,
    )
    routed = runtime.htlc
    assert isinstance(routed, RoutedHtlc)
    # `relayer run --check` knows IbetHTLC's code from any other contract's
    assert _check_ibet_htlc(client, ibet_htlc.address, "chains.evm.ibet_htlc").ok
    wrong = _check_ibet_htlc(client, plain.address, "chains.evm.ibet_htlc")
    assert (wrong.ok, wrong.detail) == (False, f"{plain.address} is not stbridge's IbetHTLC.sol")
    assert runtime.dry_run is not None
    assert runtime.prepare_lock is not None
    # the dry run: the ibet "into the escrow" hop is the seller's lock book
    into = runtime.dry_run(
        TransferIntent(asset=share, sender=seller.address, recipient=plain.address, amount=51)
    )
    assert into.reason is ReasonCode.INSUFFICIENT_BALANCE
    secret = b"\x07" * 32
    hashlock = hashlib.sha256(secret).digest()
    deadline = int(client.now().timestamp()) + 3600
    for leg, signer in (
        (Leg(chain=client.chain, asset=share, amount=10, sender=seller.address,
             receiver=buyer.address), seller),
        (Leg(chain=client.chain, asset=jpy, amount=9, sender=buyer.address,
             receiver=seller.address), buyer),
    ):  # fmt: skip
        _prepare_as_a_tick_would(runtime.prepare_lock, client, leg, signer)
        routed.lock(
            asset=leg.asset, receiver=leg.receiver, amount=leg.amount, hashlock=hashlock,
            deadline=deadline, signer=signer,
        )  # fmt: skip
    assert [lock.asset for lock in ibet_htlc.find(hashlock)] == [share]
    assert [lock.asset for lock in plain.find(hashlock)] == [jpy]
    found = routed.find(hashlock)
    assert len(found) == 2
    # the "out of the escrow" hop of the ibet leg is ibet's unlock to the buyer, judged for
    # the leg's own lock (its id recomputed from the terms), never from the hop alone
    hop = TransferIntent(asset=share, sender=plain.address, recipient=buyer.address, amount=10)
    assert not runtime.dry_run(hop).allowed
    assert runtime.release_check is not None
    own = routed.lock_id_for(
        asset=share, sender=seller.address, receiver=buyer.address, amount=10,
        hashlock=hashlock, deadline=deadline,
    )  # fmt: skip
    out = runtime.release_check(own, hop)
    assert out is not None
    assert out.allowed, out.refusals
    assert runtime.release_check(own, hop.model_copy(update={"asset": jpy})) is None
    for lock in found:
        routed.claim(lock.lock_id, secret, operator)
    assert ibet.holding(share, buyer.address).balance == 10
    assert Erc20Adapter(client).holding(jpy, seller.address).balance == 9
    events = list(routed.events(0, client.head()))
    names = [e.name for e in events]
    assert names.count("Locked") == 2
    assert names.count("Claimed") == 2
    assert [(e.height, e.index) for e in events] == sorted((e.height, e.index) for e in events)
