"""A peer's SATP lock assertion checked on a real chain (py-evm, the real HTLC contract).

Written as the hostile peer gateway: it asserts a look-alike lock it made itself under the
swap's hashlock, misplaces the creating log, inflates the amount, asserts a lock that is not
there or no longer open, or one too shallow. Only the lock whose id the agreed terms give,
created where the claim says, open and deep enough, passes.
"""

from __future__ import annotations

import base64
import hashlib

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.model.chain import AlgorandChain
from bridge.swap import Leg, Role, SwapTerms
from relayer.satp.chain import check_lock_claim, expected_lock_id, own_lock_claim

SECRET = b"\x07" * 32
ALGO = AlgorandChain(genesis_hash=base64.b64encode(bytes(range(32))).decode())


def test_only_the_lock_the_terms_give_passes_a_lock_assertion_check() -> None:
    client = EvmClient.embedded()
    seller, attacker = EvmSigner.generate(), EvmSigner.generate()
    buyer = EvmSigner.from_seed("satp-buyer").address
    for who in (seller, attacker):
        client.fund(who.address, 10**20)
    htlc = EvmHtlc.deploy(client, seller)
    deadline = int(client.now().timestamp()) + 3600
    hashlock = hashlib.sha256(SECRET).digest()
    terms = SwapTerms(
        swap_id="0x" + "ab" * 32,
        hashlock="0x" + hashlock.hex(),
        initiator_leg=Leg(chain=client.chain, amount=10**18, sender=seller.address, receiver=buyer),
        participant_leg=Leg(
            chain=ALGO,
            amount=5_000,
            sender="7ZUECA7HFLZTXENRV24SHLU4AVPUTMTTDUFUBNBD64C73F3UHRTHAIOF6Q",
            receiver="VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA",
        ),
        initiator_deadline=deadline,
        participant_deadline=40_000,
        participant_lock_by=39_000,
    )

    def check(claim: object, confirmations: int = 1) -> str:
        verdict = check_lock_claim(
            claim,  # type: ignore[arg-type]
            terms,
            Role.INITIATOR,
            htlc,
            head=client.head(),
            confirmations=confirmations,
        )
        return "ok" if verdict.ok else verdict.reason

    # nothing locked yet: a fabricated claim with the right id is not on the chain
    assert own_lock_claim(terms, Role.INITIATOR, htlc, htlc_id=htlc.address, head=0) is None
    # the attacker locks a look-alike: same hashlock, amount, receiver and deadline
    fake_id, _ = htlc.lock(
        asset=None,
        receiver=buyer,
        amount=10**18,
        hashlock=hashlock,
        deadline=deadline,
        signer=attacker,
    )
    real_id, _ = htlc.lock(
        asset=None,
        receiver=buyer,
        amount=10**18,
        hashlock=hashlock,
        deadline=deadline,
        signer=seller,
    )
    assert real_id == expected_lock_id(terms, Role.INITIATOR, htlc) != fake_id
    honest = own_lock_claim(terms, Role.INITIATOR, htlc, htlc_id=htlc.address, head=client.head())
    assert honest is not None
    assert check(honest) == "ok"
    # too shallow, until the chain grows
    assert "2 needed" in check(honest, confirmations=2)
    client.mine()
    assert check(honest, confirmations=2) == "ok"
    # the look-alike, asserted as the leg (its own tx, its own id)
    fake_events = [e for e in htlc.events(0, client.head()) if e.args.get("lock_id") == fake_id]
    lie = honest.model_copy(update={"lock_id": fake_id, "tx_id": fake_events[0].tx_id})
    assert "lockId: the terms give" in check(lie)
    # the right lock, but the creation misplaced
    assert "do not locate" in check(honest.model_copy(update={"log_index": honest.log_index + 1}))
    assert "do not locate" in check(honest.model_copy(update={"tx_id": fake_events[0].tx_id}))
    # a claim that inflates the amount or names another receiver
    assert "amount" in check(honest.model_copy(update={"amount": str(10**19)}))
    assert "receiver" in check(honest.model_copy(update={"receiver": seller.address}))
    # once claimed, the lock is no longer open: a stale assertion fails
    htlc.claim(real_id, SECRET, attacker)  # anyone may claim for the fixed receiver
    assert "not open" in check(honest)
