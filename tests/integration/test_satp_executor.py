"""The SATP executor on a real chain (py-evm, the real HTLC), cheaply: both legs on one chain.

Two relayers, each with its own store, SATP key and only its own party's chain key, run
their sessions' effects: locks, on-chain checks of the peer's lock, claims, refunds. The
settlement itself is ``thorough`` here (make test has it cheaply over HTTP in
``test_satp_http.py``); across two chains and two processes it is in ``test_satp_relayers.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.errors import ChainUnavailable
from bridge.htlc import Secret
from bridge.swap import Leg, SwapTerms
from relayer.satp.executor import ChainAccess, SatpExecutor
from relayer.satp.jws import Envelope, SigningKey
from relayer.satp.messages import ComplianceStatement, WireTerms, caip2
from relayer.satp.node import SatpNode
from relayer.satp.session import Phase, SubmitOwnLock
from relayer.satp.verify import Gateway, Side
from relayer.sealing import SealingKey
from relayer.store import SqliteStore


@dataclass
class Chain:
    client: EvmClient
    htlc: EvmHtlc


@pytest.fixture(scope="module")
def chain() -> Chain:
    client = EvmClient.embedded()
    deployer = EvmSigner.generate()
    client.fund(deployer.address, 10**20)
    return Chain(client, EvmHtlc.deploy(client, deployer))


@dataclass
class Platform:
    node: SatpNode
    executor: SatpExecutor
    up: bool = True


def platform(
    name: str,
    tmp: Path,
    chain: Chain,
    own: EvmSigner | None,
    fees: EvmSigner,
    peers: dict[str, Platform],
) -> Platform:
    key = SigningKey.generate()
    node = SatpNode(
        SqliteStore(tmp / f"{name}.sqlite3"),
        key,
        gateway_id=name,
        peers={},
        clock=lambda: datetime.now(UTC),
    )
    sealing = SealingKey.generate()

    def deliver(session_id: str, envelope: Envelope) -> bool:
        peer = next(p for n, p in peers.items() if n != name)
        if not peer.up:
            raise ChainUnavailable("peer relayer does not answer")
        try:
            peer.node.receive(session_id, envelope)
        except Exception as exc:  # a replay of what it has is delivery
            return "replayed" in str(getattr(exc, "title", ""))
        return True

    def decide(terms: SwapTerms, side: Side) -> ComplianceStatement:
        return ComplianceStatement(
            gateway_id=name,
            allowed=True,
            decided_at=datetime.now(UTC),
            terms_digest=WireTerms.of(terms).digest,
        )

    c = chain.client
    executor = SatpExecutor(
        node,
        {
            caip2(c.chain): ChainAccess(
                htlc=chain.htlc,
                htlc_id=chain.htlc.address,
                head=c.head,
                now=lambda: int(c.now().timestamp()),
                expires_at=lambda d: datetime.fromtimestamp(d, UTC),
                signers={} if own is None else {own.address: own},
                operator=fees,
            )
        },
        decide=decide,
        recheck=lambda terms, side, before: True,
        deliver=deliver,
        sealing_key=sealing,
    )
    side = Platform(node, executor)
    peers[name] = side
    return side


def setup(
    tmp: Path, chain: Chain, tag: str, *, jp_key: bool = True
) -> tuple[Platform, Platform, SwapTerms, Secret, dict[str, str]]:
    c = chain.client
    keys = {n: EvmSigner.generate() for n in ("seller", "buyer", "jp_fee", "sg_fee")}
    for k in keys.values():
        c.fund(k.address, 10**20)
    peers: dict[str, Platform] = {}
    jp = platform("jp-gw", tmp, chain, keys["seller"] if jp_key else None, keys["jp_fee"], peers)
    sg = platform("sg-gw", tmp, chain, keys["buyer"], keys["sg_fee"], peers)
    jp.node.peers["sg-gw"] = Gateway(gateway_id="sg-gw", key=sg.node.key.public)
    sg.node.peers["jp-gw"] = Gateway(gateway_id="jp-gw", key=jp.node.key.public)
    wallets = {
        "buyer_gets": EvmSigner.generate().address,
        "seller_gets": EvmSigner.generate().address,
        "seller": keys["seller"].address,
        "buyer": keys["buyer"].address,
    }
    secret = Secret.generate()
    now = int(c.now().timestamp())
    terms = SwapTerms(
        swap_id="0x" + hashlib.sha256(tag.encode()).hexdigest(),
        hashlock="0x" + secret.hashlock.hex(),
        initiator_leg=Leg(
            chain=c.chain, amount=10**18, sender=wallets["seller"], receiver=wallets["buyer_gets"]
        ),
        participant_leg=Leg(
            chain=c.chain,
            amount=2 * 10**18,
            sender=wallets["buyer"],
            receiver=wallets["seller_gets"],
        ),
        initiator_deadline=now + 7200,
        participant_deadline=now + 3600,
        participant_lock_by=now + 3000,
    )
    jp.node.start(
        terms,
        session_id=f"s-{tag}",
        peer_id="sg-gw",
        sealed_secret=jp.executor.sealing_key.seal(secret.reveal(), swap_id=terms.swap_id)
        if jp.executor.sealing_key
        else None,
    )
    return jp, sg, terms, secret, wallets


def tick(jp: Platform, sg: Platform, rounds: int = 30) -> None:
    for _ in range(rounds):
        ran = sg.executor.tick() + (jp.executor.tick() if jp.up else 0)
        if ran == 0:
            return


@pytest.mark.thorough
def test_two_executors_with_their_own_keys_settle_on_chain(tmp_path: Path, chain: Chain) -> None:
    jp, sg, terms, _, w = setup(tmp_path, chain, "settle")
    tick(jp, sg)
    assert jp.node.load(terms.swap_id).phase is Phase.COMPLETED
    assert sg.node.load(terms.swap_id).phase is Phase.COMPLETED
    assert chain.client.balance(w["buyer_gets"]) == 10**18
    assert chain.client.balance(w["seller_gets"]) == 2 * 10**18


def test_an_unreachable_peer_never_holds_back_our_refund(tmp_path: Path, chain: Chain) -> None:
    """The seller's relayer goes dark once the buyer has locked: the buyer's assertion of its
    lock cannot be delivered, and its refund at its own deadline must still go out."""
    jp, sg, terms, _, w = setup(tmp_path, chain, "unreachable")
    for _ in range(30):
        tick(jp, sg, rounds=1)
        if sg.node.sessions() and sg.node.load(terms.swap_id).own_lock == "locked":
            break
    jp.up = False
    tick(jp, sg)
    held = sg.node.load(terms.swap_id)
    assert held.outbox  # the lock assertion waits for JP
    buyer_before = chain.client.balance(w["buyer"])
    chain.client.increase_time(terms.participant_deadline - int(chain.client.now().timestamp()) + 1)
    chain.client.mine()
    tick(jp, sg)
    assert sg.node.load(terms.swap_id).phase is Phase.REFUNDED
    # the cash is back (the refund's gas is the fee payer's)
    assert chain.client.balance(w["buyer"]) == buyer_before + 2 * 10**18
    # JP, back after its own deadline, takes its security back
    jp.up = True
    chain.client.increase_time(terms.initiator_deadline - int(chain.client.now().timestamp()) + 1)
    chain.client.mine()
    tick(jp, sg)
    assert jp.node.load(terms.swap_id).phase is Phase.REFUNDED


def test_a_key_this_relayer_does_not_hold_stops_only_that_effect(
    tmp_path: Path, chain: Chain
) -> None:
    """JP is configured without the seller's key: its lock is refused (naming the address),
    the tick goes on (no exception escapes), and the lock stays pending, nothing sent."""
    jp, sg, terms, _, w = setup(tmp_path, chain, "no-key", jp_key=False)
    tick(jp, sg)
    assert any(isinstance(e, SubmitOwnLock) for e in jp.node.pending(terms.swap_id))
    assert jp.node.load(terms.swap_id).phase is Phase.LOCKING
    assert not any(
        lk.sender == w["seller"] for lk in chain.htlc.find(bytes.fromhex(terms.hashlock[2:]))
    )
