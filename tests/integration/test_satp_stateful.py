"""Two sovereign relayers under a hostile schedule, on real embedded chains (stateful).

A hypothesis ``RuleBasedStateMachine`` drives two relayers, the seller's platform (JP, the
initiator: it holds the secret and locks the security on py-evm with the real HTLC) and the
buyer's platform (SG, the responder: it locks the cash on the embedded go-algorand ledger).
Each relayer is its own :class:`~relayer.satp.node.SatpNode` and
:class:`~relayer.satp.executor.SatpExecutor` over its own SQLite store, SATP key, sealing key
and only its own party's chain key (plus a fee payer on the other chain).

Rules: either relayer ticks; either relayer crashes and restarts (its in-memory objects are
dropped, its store kept), between ticks or in the middle of one (after any store write or
chain transaction); either relayer's API becomes unreachable or reachable again; each chain
advances; and at most one of the two is a hostile peer relayer: it lies in its lock assertion
(amount, receiver, hashlock, deadline, chain, transaction, expiration, or a look-alike lock
it really made), proposes deadlines that leave the buyer no time to claim (JP), replays any
message ever accepted, sends messages out of order, goes silent for good, and as JP takes the
cash outside the protocol and refunds its security as soon as the chain lets it.

Fairness (what any hash-time lock assumes): an honest relayer reacts before a chain moves on,
so before a chain advances every honest relayer ticks until it has nothing left to run. Its
API may still be unreachable: only messages wait, never its own locks, claims or refunds.

Invariants, checked after every step:

1. no honest side is ever without both assets: once its own lock is claimed, the peer's lock
   is claimed for it, or is still open on its chain before its deadline with the secret
   public (so it can still claim); at the end (every deadline passed) strictly the first;
2. an honest side never locks anything its own compliance decision did not allow: every lock
   from its wallet was made while its own latest decision (and, as responder, its re-check
   before the lock) allowed the trade;
3. neither side's store nor chain configuration holds the other side's keys (chain keys,
   SATP private key, sealing key);
4. every honest session reaches a final outcome by its deadlines: once both chains are past
   both deadlines and the honest relayers have reacted, its outcome is no longer ``open``.

``make test`` runs the ``ci`` profile below (a few examples); ``make test-thorough`` the deep
one. Both chains are shared by the examples of one test (each example has fresh wallets, a
fresh trade and deadlines from the chains' current times).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from algosdk import account
from eth_tester.exceptions import ValidationError
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.chain import AlgodChain
from adapters.algorand.htlc import AlgorandHtlc
from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner
from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.errors import ChainUnavailable, NotFound
from bridge.htlc import ChainTiming, RelayerBudget, Secret
from bridge.ports import HtlcPort
from bridge.swap import Leg, Outcome, Role, SwapTerms
from relayer.satp.chain import expected_lock_id
from relayer.satp.errors import Replay, SatpError
from relayer.satp.executor import ChainAccess, SatpExecutor
from relayer.satp.jws import Envelope, SigningKey, b64url_decode, seal
from relayer.satp.messages import (
    AssertionReceipt,
    CommitPrepare,
    ComplianceStatement,
    TransferComplete,
    WireTerms,
    caip2,
)
from relayer.satp.node import DOCUMENT, SatpNode
from relayer.satp.verify import Gateway, Side
from relayer.sealing import SealingKey
from relayer.store import SqliteStore

SEC_AMOUNT = 10**15
CASH_AMOUNT = 300_000
ROUND_S = 4  # the wall-clock estimate of one Algorand round (lock-assertion expirations)
EVM_TIMING = ChainTiming(
    deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000, timestamp_drift_s=5
)
ALGO_TIMING = ChainTiming(
    deadline_unit="round", block_time_min_ms=2500, block_time_max_ms=ROUND_S * 1000
)
BUDGET = RelayerBudget(reaction_s=5, compliance_recheck_s=5, margin_s=10)
LIES = ("amount", "receiver", "hashLock", "deadline", "network", "txId", "expired", "lookalike")


class Crash(BaseException):
    """The relayer process dies here (a BaseException: nothing in the relayer catches it)."""


@dataclass
class Chains:
    """Both chains, shared by the examples of one test."""

    evm: EvmClient
    evm_htlc: EvmHtlc
    ledger: EmbeddedLedger
    algo_htlc: AlgorandHtlc
    algo_chain: AlgodChain

    def evm_now(self) -> int:
        return int(self.evm.now().timestamp())

    def advance_evm(self, seconds: int) -> None:
        """Move the security chain's time on by at least ``seconds`` (py-evm's next block
        is never earlier than the wall clock, so a short jump is a block at that time)."""
        if seconds <= 0:
            return
        try:
            self.evm.increase_time(seconds)
        except ValidationError:  # the pending block is already later than the jump
            self.evm.mine()

    def clock(self) -> datetime:
        """The relayers' wall clock: the security chain's time (a deterministic clock)."""
        return datetime.fromtimestamp(self.evm_now(), UTC)


def make_chains() -> Chains:
    evm = EvmClient.embedded()
    deployer = EvmSigner.generate()
    evm.fund(deployer.address, 10**20)
    ledger = EmbeddedLedger()
    algod = EmbeddedAlgodClient(ledger, wait_timeout=0.0)
    return Chains(
        evm=evm,
        evm_htlc=EvmHtlc.deploy(evm, deployer),
        ledger=ledger,
        algo_htlc=AlgorandHtlc(algod, from_round=ledger.last_round),
        algo_chain=AlgodChain(algod),
    )


class Tripwire:
    """Counts a relayer's durable writes (store documents, chain transactions) and dies
    after the armed one: a crash in the middle of a tick, after anything it persisted."""

    def __init__(self) -> None:
        self.armed: int | None = None

    def hit(self) -> None:
        if self.armed is None:
            return
        self.armed -= 1
        if self.armed <= 0:
            self.armed = None
            raise Crash


class WatchedHtlc:
    """An HTLC port as one relayer uses it: transactions trip its crash wire; locks are
    checked against its own compliance state (``on_lock``); a look-alike liar locks other
    parameters and reports that lock's id for its own leg."""

    def __init__(
        self,
        inner: HtlcPort,
        wire: Tripwire,
        on_lock: Callable[[str], None],
        lookalike: bool = False,
    ) -> None:
        self.inner = inner
        self.wire = wire
        self.on_lock = on_lock
        self.lookalike = lookalike

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def lock_id_for(self, **kw: Any) -> str:
        if self.lookalike:
            kw = {**kw, "amount": kw["amount"] - 1}
        return self.inner.lock_id_for(**kw)

    def lock(self, **kw: Any) -> Any:
        self.on_lock(kw["signer"].address)
        if self.lookalike:
            kw = {**kw, "amount": kw["amount"] - 1}
        out = self.inner.lock(**kw)
        self.wire.hit()
        return out

    def claim(self, lock_id: str, secret: bytes, signer: Any) -> Any:
        out = self.inner.claim(lock_id, secret, signer)
        self.wire.hit()
        return out

    def refund(self, lock_id: str, signer: Any) -> Any:
        out = self.inner.refund(lock_id, signer)
        self.wire.hit()
        return out


class Relayer:
    """One platform's relayer; ``restart`` drops every in-memory object but the store file."""

    def __init__(
        self,
        name: str,
        side: Side,
        workdir: Path,
        chains: Chains,
        keys: dict[str, Any],
        fee_payers: dict[str, Any],
        allow: bool,
    ) -> None:
        self.name = name
        self.side = side
        self.path = workdir / f"{name}.sqlite3"
        self.chains = chains
        self.keys = keys
        self.fee_payers = fee_payers
        self.satp_key = SigningKey.generate()
        self.sealing = SealingKey.generate()
        self.allow = allow  # this platform's own compliance verdict (may be revoked)
        self.decided: bool | None = None  # what its latest decision said
        self.rechecked: bool | None = None  # what its latest re-check said
        self.violations: list[str] = []
        self.wire = Tripwire()
        self.up = True  # its API answers
        self.hostile: str | None = None  # a lie, when this is the hostile peer
        self.silent = False
        self.accepted: list[Envelope] = []  # every envelope it accepted (for replays)
        self.peer: Relayer | None = None
        self.node: SatpNode
        self.executor: SatpExecutor

    # -- building (again after a crash) --------------------------------------------------
    def start(self) -> None:
        assert self.peer is not None
        store = SqliteStore(self.path)
        put = store.put_document

        def put_document(swap_id: str, name: str, body: str) -> None:
            put(swap_id, name, body)
            self.wire.hit()

        setattr(store, "put_document", put_document)  # noqa: B010
        self.node = SatpNode(
            store,
            self.satp_key,
            gateway_id=self.name,
            peers={
                self.peer.name: Gateway(gateway_id=self.peer.name, key=self.peer.satp_key.public)
            },
            clock=self.chains.clock,
        )
        c = self.chains
        lookalike = self.hostile == "lookalike"

        def htlc(inner: HtlcPort) -> Any:
            return WatchedHtlc(inner, self.wire, self.on_lock, lookalike)

        self.executor = SatpExecutor(
            self.node,
            {
                caip2(c.evm.chain): ChainAccess(
                    htlc=htlc(c.evm_htlc),
                    htlc_id=c.evm_htlc.address,
                    head=c.evm.head,
                    now=c.evm_now,
                    expires_at=lambda d: datetime.fromtimestamp(d, UTC),
                    signers={a: s for a, s in self.keys.items() if a.startswith("0x")},
                    operator=self.fee_payers.get("evm"),
                    timing=EVM_TIMING,
                ),
                caip2(c.algo_chain.chain): ChainAccess(
                    htlc=htlc(c.algo_htlc),
                    htlc_id="algorand-htlc-escrow-v1",
                    head=lambda: c.ledger.last_round,
                    now=lambda: c.ledger.last_round,
                    expires_at=lambda r: (
                        c.clock() + timedelta(seconds=ROUND_S * (r - c.ledger.last_round))
                    ),
                    signers={a: s for a, s in self.keys.items() if not a.startswith("0x")},
                    operator=self.fee_payers.get("algorand"),
                    timing=ALGO_TIMING,
                ),
            },
            decide=self.decide,
            recheck=self.recheck,
            deliver=self.deliver,
            sealing_key=self.sealing,
            budget=BUDGET,
        )

    def restart(self) -> None:
        self.wire.armed = None
        self.node.store.close()
        self.start()

    # -- its own compliance --------------------------------------------------------------
    def decide(self, terms: SwapTerms, side: Side) -> ComplianceStatement:
        self.decided = self.allow
        return ComplianceStatement(
            gateway_id=self.name,
            allowed=self.allow,
            decided_at=self.chains.clock(),
            terms_digest=WireTerms.of(terms).digest,
            jurisdictions=("JP",) if side is Side.INITIATOR else ("SG",),
        )

    def recheck(self, terms: SwapTerms, side: Side, before: str) -> bool:
        self.rechecked = self.allow
        return self.allow

    def on_lock(self, sender: str) -> None:
        if self.hostile is not None:
            return
        if self.decided is not True:
            self.violations.append(f"{self.name} locked from {sender} without an allow")
        if self.side is Side.RESPONDER and self.rechecked is not True:
            self.violations.append(f"{self.name} locked without a passing re-check")

    # -- the wire ------------------------------------------------------------------------
    def deliver(self, session_id: str, envelope: Envelope) -> bool:
        assert self.peer is not None
        if self.silent:
            raise ChainUnavailable("a silent relayer sends nothing")
        envelope = self.tamper(envelope)
        return self.peer.receive(session_id, envelope)

    def receive(self, session_id: str, envelope: Envelope) -> bool:
        """This relayer's API: False (or unreachable) unless it accepted or already had it."""
        if not self.up or self.silent:
            raise ChainUnavailable(f"{self.name} does not answer")
        try:
            self.node.receive(session_id, envelope)
        except Replay:
            return True
        except (SatpError, NotFound):
            return False
        self.accepted.append(envelope)
        return True

    def tamper(self, envelope: Envelope) -> Envelope:
        """A liar rewrites its lock assertion (and signs the lie with its own key)."""
        if self.hostile is None or self.hostile in ("lookalike", "short_deadline"):
            return envelope
        payload = json.loads(b64url_decode(envelope.payload, "payload"))
        if not payload["messageType"].endswith("lock-assert-msg"):
            return envelope
        claim = payload["lockAssertionClaim"]
        lie = self.hostile
        if lie == "amount":
            claim["amount"] = str(int(claim["amount"]) + 1)
        elif lie == "receiver":
            claim["receiver"] = claim["sender"]
        elif lie == "hashLock":
            claim["hashLock"] = "0x" + "77" * 32
        elif lie == "deadline":
            claim["deadline"] = claim["deadline"] + 1
        elif lie == "network":
            claim["network"] = "eip155:999"
        elif lie == "txId":
            claim["txId"] = ("0x" if claim["txId"].startswith("0x") else "") + "ab" * 32
        elif lie == "expired":
            payload["lockAssertionExpiration"] = "2001-01-01T00:00:00Z"
        return seal(payload, self.satp_key)

    def tick(self) -> int:
        if self.silent:
            return 0
        try:
            return self.executor.tick()
        except Crash:
            self.restart()
            return 1


def store_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


class TwoRelayers(RuleBasedStateMachine):
    """Two relayers, one trade, a hostile schedule (see the module docstring)."""

    chains: Chains

    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="satp-stateful-"))
        self.jp: Relayer
        self.sg: Relayer
        self.terms: SwapTerms
        self.secret: bytes
        self.steps = 0

    # -- the example's world --------------------------------------------------------------
    @initialize(
        hostile=st.sampled_from(["none", "jp", "sg"]),
        lie=st.sampled_from((*LIES, "silent_only", "short_deadline")),
        allow_jp=st.booleans() | st.just(True),
        allow_sg=st.booleans() | st.just(True),
    )
    def setup(self, hostile: str, lie: str, allow_jp: bool, allow_sg: bool) -> None:
        c = self.chains
        seller_key = EvmSigner.generate()
        sg_evm_fee = EvmSigner.generate()
        buyer_priv, _ = account.generate_account()
        jp_algo_priv, _ = account.generate_account()
        buyer_algo, jp_algo_fee = AlgorandSigner(buyer_priv), AlgorandSigner(jp_algo_priv)
        for s in (seller_key, sg_evm_fee):
            c.evm.fund(s.address, 10**18)
        for a in (buyer_algo, jp_algo_fee):
            c.ledger.fund(a.address, 2_000_000)
        self.buyer_gets = EvmSigner.generate().address
        self.seller_gets = AlgorandSigner.generate().address
        c.ledger.fund(self.seller_gets, 200_000)  # an account exists before it receives
        self.private = {
            "jp": [seller_key._EvmSigner__key.hex().encode(), jp_algo_priv.encode()],  # type: ignore[attr-defined]
            "sg": [sg_evm_fee._EvmSigner__key.hex().encode(), buyer_priv.encode()],  # type: ignore[attr-defined]
        }
        self.jp = Relayer(
            "jp-gw",
            Side.INITIATOR,
            self.workdir,
            c,
            {seller_key.address: seller_key},
            {"algorand": jp_algo_fee},
            allow_jp,
        )
        self.sg = Relayer(
            "sg-gw",
            Side.RESPONDER,
            self.workdir,
            c,
            {buyer_algo.address: buyer_algo},
            {"evm": sg_evm_fee},
            allow_sg,
        )
        self.jp.peer, self.sg.peer = self.sg, self.jp
        self.hostile_side: Relayer | None = None
        if hostile != "none":
            self.hostile_side = self.jp if hostile == "jp" else self.sg
            self.hostile_side.allow = True
            self.hostile_side.hostile = lie
        if lie == "short_deadline" and hostile != "jp" and self.hostile_side is not None:
            self.hostile_side.hostile = "silent_only"
        for r in (self.jp, self.sg):
            r.start()
        secret = Secret.generate()
        self.secret = secret.reveal()
        now, rnd = c.evm_now(), c.ledger.last_round
        short = self.jp.hostile == "short_deadline"
        self.terms = SwapTerms(
            swap_id="0x" + hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            hashlock="0x" + secret.hashlock.hex(),
            initiator_leg=Leg(
                chain=c.evm.chain,
                amount=SEC_AMOUNT,
                sender=seller_key.address,
                receiver=self.buyer_gets,
            ),
            participant_leg=Leg(
                chain=c.algo_chain.chain,
                amount=CASH_AMOUNT,
                sender=buyer_algo.address,
                receiver=self.seller_gets,
            ),
            # the honest plan: the security's deadline well after the cash's (24 rounds of
            # at most 4 s); the hostile seller's: the security refundable before the cash
            initiator_deadline=now + (60 if short else 1200),
            participant_deadline=rnd + 24,
            participant_lock_by=rnd + 12,
            participant_reveal_by=rnd + 18,
        )
        self.seller, self.buyer = seller_key.address, buyer_algo.address
        self.jp.node.start(
            self.terms,
            session_id="s-" + self.terms.swap_id[2:18],
            peer_id="sg-gw",
            sealed_secret=self.jp.sealing.seal(self.secret, swap_id=self.terms.swap_id),
        )

    def teardown(self) -> None:
        try:
            if hasattr(self, "terms"):
                self._settle_everything()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------
    def honest(self) -> list[Relayer]:
        return [r for r in (self.jp, self.sg) if r is not self.hostile_side]

    def sec_now(self) -> int:
        return self.chains.evm_now()

    def cash_now(self) -> int:
        return self.chains.ledger.last_round

    def lock_on_chain(self, role: Role) -> Any:
        c = self.chains
        htlc: HtlcPort = c.evm_htlc if role is Role.INITIATOR else c.algo_htlc
        want = expected_lock_id(self.terms, role, htlc)
        for lk in htlc.find(bytes.fromhex(self.terms.hashlock[2:])):
            if lk.lock_id == want:
                return lk
        return None

    def state_of(self, role: Role) -> str:
        lk = self.lock_on_chain(role)
        return "none" if lk is None else str(lk.state)

    def settle_honest(self) -> None:
        """Fairness: each honest relayer runs until it has nothing left to do."""
        for _ in range(60):
            ran = sum(r.tick() for r in self.honest())
            if ran == 0:
                return
        raise AssertionError("an honest relayer never stops running effects")

    def secret_public(self) -> bool:
        return self.state_of(Role.PARTICIPANT) == "claimed"

    def _settle_everything(self) -> None:
        """The end: the honest sides react, each chain passes its deadline, they react."""
        self.settle_honest()
        c = self.chains
        self._hostile_seller_moves()
        c.ledger.advance(max(0, self.terms.participant_deadline + 1 - self.cash_now()))
        self.settle_honest()
        self._hostile_seller_moves()
        c.advance_evm(self.terms.initiator_deadline + 1 - self.sec_now())
        self.settle_honest()
        self._hostile_seller_moves()
        self.settle_honest()
        self.check_no_loss(final=True)
        self.check_final()

    def _hostile_seller_moves(self) -> None:
        """A hostile seller takes what the chains let it: its security back as soon as it
        may, and the cash with the secret while it may (outside the protocol)."""
        jp = self.jp
        if jp is not self.hostile_side:
            return
        c = self.chains
        lk = self.lock_on_chain(Role.INITIATOR)
        if (
            lk is not None
            and lk.state == "open"
            and self.sec_now() >= self.terms.initiator_deadline
        ):
            c.evm_htlc.refund(lk.lock_id, jp.keys[self.seller])
        cash = self.lock_on_chain(Role.PARTICIPANT)
        if (
            cash is not None
            and cash.state == "open"
            and self.cash_now() < self.terms.participant_deadline - 1
        ):
            c.algo_htlc.claim(cash.lock_id, self.secret, jp.fee_payers["algorand"])

    # -- invariants ------------------------------------------------------------------------
    def check_no_loss(self, *, final: bool) -> None:
        sec, cash = self.state_of(Role.INITIATOR), self.state_of(Role.PARTICIPANT)
        t = self.terms
        for r in self.honest():
            if r.side is Side.INITIATOR and sec == "claimed":
                assert cash == "claimed", f"the seller's security is gone and the cash is {cash}"
            if r.side is Side.RESPONDER and cash == "claimed":
                can_still = not final and sec == "open" and self.sec_now() < t.initiator_deadline
                assert sec == "claimed" or can_still, (
                    f"the buyer's cash is gone and the security is {sec}"
                )

    def check_final(self) -> None:
        for r in self.honest():
            state = (
                r.node.load(self.terms.swap_id) if r.node.has_session(self.terms.swap_id) else None
            )
            if state is None:
                continue  # it never heard of the trade: nothing of it to settle
            assert state.outcome is not Outcome.OPEN, (
                f"{r.name}'s session is still {state.phase} after every deadline"
            )
            assert not r.node.pending(self.terms.swap_id) or state.outcome is not Outcome.OPEN

    @invariant()
    def no_honest_side_without_both_assets(self) -> None:
        """Once an honest side's lock is claimed, the peer's lock is claimed for it, or
        still open before its deadline with the secret public."""
        if hasattr(self, "terms"):
            self.check_no_loss(final=False)

    @invariant()
    def never_locks_what_its_own_decision_did_not_allow(self) -> None:
        """Every lock from an honest wallet was made under its own allowing decision."""
        if not hasattr(self, "terms"):
            return
        for r in self.honest():
            assert not r.violations, r.violations
            wallet = self.seller if r.side is Side.INITIATOR else self.buyer
            role = Role.INITIATOR if r.side is Side.INITIATOR else Role.PARTICIPANT
            if r.decided is not True:
                lk = self.lock_on_chain(role)
                assert lk is None or lk.sender != wallet, f"{r.name} locked without deciding"

    @invariant()
    def neither_side_holds_the_others_keys(self) -> None:
        """No store holds the other side's chain keys, SATP key or sealing key, and no
        relayer's chain access signs for the other side's wallets."""
        if not hasattr(self, "terms"):
            return
        for me, other, name in ((self.jp, self.sg, "sg"), (self.sg, self.jp, "jp")):
            data = store_bytes(me.path)
            for secret in self.private[name]:
                assert secret not in data
            assert other.satp_key.private_jwk()["d"].encode() not in data
            sealing: bytes = other.sealing._key
            assert sealing not in data
            assert sealing.hex().encode() not in data
            assert base64.b64encode(sealing) not in data
            mine = set(me.keys)
            for access in me.executor.chains.values():
                assert set(access.signers) <= mine

    @invariant()
    def sessions_are_final_once_every_deadline_has_passed(self) -> None:
        """Once both chains are past both deadlines (and the honest sides reacted, which
        ``advance_*`` does), every honest session's outcome is final."""
        if not hasattr(self, "terms") or not self.after_deadlines_settled:
            return
        self.check_final()

    after_deadlines_settled = False

    # -- rules -----------------------------------------------------------------------------
    @rule(who=st.sampled_from(["jp", "sg"]))
    def tick(self, who: str) -> None:
        getattr(self, who).tick()

    @rule(who=st.sampled_from(["jp", "sg"]), after=st.integers(0, 6))
    def crash(self, who: str, after: int) -> None:
        """Crash now (``after`` 0) or after the next ``after`` durable writes of a tick."""
        r: Relayer = getattr(self, who)
        if after == 0:
            r.restart()
        else:
            r.wire.armed = after
            r.tick()

    @rule(who=st.sampled_from(["jp", "sg"]))
    def toggle_reachable(self, who: str) -> None:
        r: Relayer = getattr(self, who)
        r.up = not r.up

    @rule(rounds=st.integers(1, 8))
    def advance_cash_chain(self, rounds: int) -> None:
        self.settle_honest()
        self._hostile_seller_moves()
        self.chains.ledger.advance(rounds)
        self.settle_honest()
        self._note_deadlines()

    @rule(seconds=st.sampled_from([30, 120, 400]))
    def advance_security_chain(self, seconds: int) -> None:
        self.settle_honest()
        self._hostile_seller_moves()
        self.chains.advance_evm(seconds)
        self.settle_honest()
        self._note_deadlines()

    def _note_deadlines(self) -> None:
        t = self.terms
        self.after_deadlines_settled = (
            self.cash_now() > t.participant_deadline and self.sec_now() > t.initiator_deadline
        )

    @precondition(lambda self: self.hostile_side is not None)
    @rule()
    def hostile_goes_silent(self) -> None:
        assert self.hostile_side is not None
        self.hostile_side.silent = True

    @precondition(lambda self: getattr(self, "hostile_side", None) is getattr(self, "jp", 0))
    @rule()
    def hostile_seller_takes_what_it_can(self) -> None:
        self._hostile_seller_moves()

    @precondition(lambda self: getattr(self, "hostile_side", None) is not None)
    @rule(data=st.data())
    def hostile_replays(self, data: st.DataObject) -> None:
        """The hostile peer sends again any message either side ever accepted."""
        assert self.hostile_side is not None
        victim = self.sg if self.hostile_side is self.jp else self.jp
        pool = self.jp.accepted + self.sg.accepted
        if not pool:
            return
        envelope = data.draw(st.sampled_from(pool))
        self._refused_unchanged(victim, envelope)

    @precondition(lambda self: getattr(self, "hostile_side", None) is not None)
    @rule(kind=st.sampled_from(["assertion_receipt", "commit_prepare", "complete"]))
    def hostile_sends_out_of_order(self, kind: str) -> None:
        """The hostile peer signs a message the session does not expect now."""
        assert self.hostile_side is not None
        victim = self.sg if self.hostile_side is self.jp else self.jp
        if not victim.node.has_session(self.terms.swap_id):
            return
        state = victim.node.load(self.terms.swap_id)
        nxt = state.transcript.next_step
        common = {
            "session_id": state.transcript.session_id,
            "transfer_context_id": self.terms.swap_id[2:],
            "hash_prev_message": state.transcript.last_hash or "0" * 64,
        }
        message: Any
        if kind == "assertion_receipt":
            message = AssertionReceipt(**common)
        elif kind == "commit_prepare":
            message = CommitPrepare(**common)
        else:
            message = TransferComplete(**common, hash_transfer_commence="0" * 64)
        if nxt is not None and nxt[0].urn == message.message_type and nxt[1] is not victim.side:
            return  # that one is in order now: not this rule's case
        self._refused_unchanged(victim, seal(message.wire(), self.hostile_side.satp_key))

    def _refused_unchanged(self, victim: Relayer, envelope: Envelope) -> None:
        swap = self.terms.swap_id
        before = (
            victim.node.store.document(swap, DOCUMENT) if victim.node.has_session(swap) else None
        )
        session = json.loads(b64url_decode(envelope.payload, "payload"))["sessionId"]
        with pytest.raises((SatpError, NotFound)):
            victim.node.receive(session, envelope)
        after = (
            victim.node.store.document(swap, DOCUMENT) if victim.node.has_session(swap) else None
        )
        assert before == after, "a refused message changed the session"

    @rule(who=st.sampled_from(["jp", "sg"]))
    def compliance_revoked(self, who: str) -> None:
        """The platform's own rules now refuse the trade (decisions and re-checks)."""
        r: Relayer = getattr(self, who)
        if r is not self.hostile_side:
            r.allow = False


@pytest.fixture(scope="module")
def chains() -> Chains:
    return make_chains()


def run(chains: Chains, profile: settings) -> None:
    class Machine(TwoRelayers):
        pass

    Machine.chains = chains
    run_state_machine_as_test(Machine, settings=profile)


CI = settings(
    max_examples=int(os.environ.get("SATP_STATEFUL_EXAMPLES", "5")),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure prints its blob
    stateful_step_count=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)
DEEP = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)


def test_two_relayers_under_a_hostile_schedule(chains: Chains) -> None:
    """The four invariants of the module docstring, a few examples (make test)."""
    run(chains, CI)


@pytest.mark.thorough
def test_two_relayers_under_a_hostile_schedule_deeply(chains: Chains) -> None:
    """The same machine, many more and longer examples (make test-thorough)."""
    run(chains, DEEP)


def test_a_seller_proposing_a_security_deadline_before_the_cash_one_gets_no_cash_locked(
    chains: Chains,
) -> None:
    """Regression, written as a hostile seller's relayer: it proposes terms whose security
    deadline comes before the buyer could claim after the cash deadline (here 60 s on the
    security chain against up to 96 s of cash rounds), and would refund its security at its
    deadline and take the cash with the secret afterwards. The buyer's relayer must never
    lock the cash on such terms: its own decision refuses them, saying why."""
    machine = TwoRelayers.__new__(TwoRelayers)
    TwoRelayers.__init__(machine)
    machine.chains = chains
    try:
        machine.setup(hostile="jp", lie="short_deadline", allow_jp=True, allow_sg=True)
        for _ in range(30):
            if machine.jp.tick() + machine.sg.tick() == 0:
                break
        sg = machine.sg.node.load(machine.terms.swap_id)
        assert machine.state_of(Role.PARTICIPANT) == "none", "SG locked the cash"
        assert sg.own_lock == "none"
        assert sg.outcome is Outcome.REFUSED  # SG's own decision refuses such terms
        assert sg.own_statement is not None
        assert sg.own_statement.reasons[-1].startswith("CLAIM_WINDOW_TOO_SHORT: ")
        assert machine.state_of(Role.INITIATOR) == "none"  # JP never got to lock either
    finally:
        shutil.rmtree(machine.workdir, ignore_errors=True)
