"""The SATP wire profile: JCS, ES256 JWS, the messages, and the verifier's refusals.

Each refusal the verifier owes is tested as the hostile peer or the network would produce
it (bad signature, wrong hash chain, replay, out of order, expired lock assertion), next to
the honest session that it must not disturb.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.errors import InvalidInput
from bridge.model.chain import AlgorandChain, EvmChain
from bridge.swap import Leg, SwapTerms
from relayer.satp.errors import (
    BadSignature,
    HashChainBroken,
    LockAssertionExpired,
    MalformedMessage,
    OutOfOrder,
    Replay,
    SatpError,
    SessionMismatch,
)
from relayer.satp.jcs import canonicalize, parse_canonical
from relayer.satp.jws import Envelope, SigningKey, b64url, open_envelope, seal
from relayer.satp.messages import (
    AckCommence,
    AckCommitFinal,
    AssertionReceipt,
    Capabilities,
    CommitPrepare,
    ComplianceStatement,
    HtlcAssignmentClaim,
    HtlcLockClaim,
    LockAssert,
    ProposalReceipt,
    SatpMessage,
    TransferCommence,
    TransferComplete,
    TransferProposal,
    WireTerms,
    asset_caip19,
    caip2,
    parse_message,
)
from relayer.satp.verify import Gateway, Side, Transcript, accept, claims_for, record_sent

EVM = EvmChain(chain_id=31337, name="anvil")
ALGO = AlgorandChain(genesis_hash=base64.b64encode(bytes(range(32))).decode())
SELLER = "0x52908400098527886E0F7030069857D2E4169EE7"
BUYER_EVM = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"
SELLER_ALGO = "VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA"
BUYER_ALGO = "7ZUECA7HFLZTXENRV24SHLU4AVPUTMTTDUFUBNBD64C73F3UHRTHAIOF6Q"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SECRET = "0x" + "11" * 32

TERMS = SwapTerms(
    swap_id="0x" + "ab" * 32,
    hashlock="0x" + "cd" * 32,
    initiator_leg=Leg(chain=EVM, amount=10**24, sender=SELLER, receiver=BUYER_EVM),
    participant_leg=Leg(chain=ALGO, amount=5_000, sender=BUYER_ALGO, receiver=SELLER_ALGO),
    initiator_deadline=1_800_000_000,
    participant_deadline=40_000,
    participant_lock_by=39_000,
)

# -------------------------------------------------------------------------------- JCS


def test_jcs_sorts_members_by_utf16_code_units() -> None:
    """RFC 8785 §3.2.3: the emoji (a surrogate pair, D83D) sorts before U+FB33."""
    value = {
        "\u20ac": 1,
        "\r": 2,
        "\ufb33": 3,
        "1": 4,
        "\U0001f600": 5,
        "\u0080": 6,
        "\u00f6": 7,
    }
    order = list(json.loads(canonicalize(value)))
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_jcs_escapes_like_ecmascript() -> None:
    text = canonicalize({"s": 'a"b\\c\n\u000f\u007f\u00e9', "n": [1, -2, 0], "t": True, "z": None})
    assert text == '{"n":[1,-2,0],"s":"a\\"b\\\\c\\n\\u000f\u007f\u00e9","t":true,"z":null}'


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ({"a": 1.5}, "fractional"),
        ({"a": 2**53}, r"2\*\*53"),
        ({1: "x"}, "names must be strings"),
        ({"a": "\ud800"}, "surrogate"),
    ],
)
def test_jcs_refuses_values_outside_the_profile(value: object, rule: str) -> None:
    with pytest.raises(InvalidInput, match=rule):
        canonicalize(value)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a": 1}', "canonical"),
        (b'{"a":1,"a":1}', "duplicate"),
        (b'{"a":1.0}', "fractional"),
        (b"\xff", "UTF-8"),
        (b"{", "not JSON"),
    ],
)
def test_parse_canonical_refuses_non_canonical_payloads(raw: bytes, rule: str) -> None:
    with pytest.raises(InvalidInput, match=rule):
        parse_canonical(raw)


# -------------------------------------------------------------------------------- JWS


def test_jws_round_trip_and_jwk_reload() -> None:
    key = SigningKey.generate()
    env = seal({"b": 2, "a": "x"}, key)
    assert open_envelope(env, key.public) == {"a": "x", "b": 2}
    reloaded = SigningKey.from_private_jwk(key.private_jwk())
    assert reloaded.kid == key.kid
    assert open_envelope(seal({"a": 1}, reloaded), key.public) == {"a": 1}
    assert key.private_jwk()["d"] not in repr(key)


def test_jws_refuses_tampered_payload_other_key_and_alg_none() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    env = seal({"a": 1}, key)
    tampered = env.model_copy(update={"payload": b64url(b'{"a":2}')})
    with pytest.raises(Exception, match="not a valid ES256 signature"):
        open_envelope(tampered, key.public)
    with pytest.raises(Exception, match="kid: not the peer"):
        open_envelope(env, other.public)
    none_header = b64url(b'{"alg":"none","kid":"' + key.kid.encode() + b'"}')
    with pytest.raises(Exception, match="only ES256"):
        open_envelope(env.model_copy(update={"protected": none_header}), key.public)


# -------------------------------------------------------------------------------- a session


class Party:
    """One gateway: its key, its transcript, and the peer it talks to."""

    def __init__(self, me: Side, key: SigningKey, gw_id: str) -> None:
        self.key = key
        self.gateway = Gateway(gateway_id=gw_id, key=key.public)
        self.transcript = Transcript(me=me, session_id="sess-1")
        self.peer: Party | None = None

    def common(self) -> dict[str, Any]:
        out: dict[str, Any] = {"session_id": "sess-1", "transfer_context_id": "ctx-1"}
        if self.transcript.last_hash is not None:
            out["hash_prev_message"] = self.transcript.last_hash
        return out

    def send(self, message: SatpMessage) -> Envelope:
        self.transcript = record_sent(self.transcript, message)
        return seal(message.wire(), self.key)

    def receive(self, env: Envelope, now: datetime = NOW) -> SatpMessage:
        assert self.peer is not None
        self.transcript, msg = accept(
            self.transcript,
            env,
            peer=self.peer.key.public,
            me=self.key.public,
            now=now,
            lock_window=timedelta(minutes=5),
        )
        return msg


def statement(gw: str, wire: WireTerms) -> ComplianceStatement:
    return ComplianceStatement(
        gateway_id=gw, allowed=True, decided_at=NOW, terms_digest=wire.digest, jurisdictions=("JP",)
    )


def lock_claim(leg: Leg, deadline: int, tx: str) -> HtlcLockClaim:
    return HtlcLockClaim(
        network=caip2(leg.chain),
        htlc="0x" + "00" * 19 + "01",
        lock_id="0x" + "ee" * 32,
        tx_id=tx,
        block_number=12,
        log_index=0,
        hash_lock=TERMS.hashlock,
        sender=leg.sender,
        receiver=leg.receiver,
        amount=str(leg.amount),
        asset=asset_caip19(leg.chain, leg.asset),
        deadline=deadline,
        confirmations=2,
    )


def pair() -> tuple[Party, Party]:
    g1 = Party(Side.INITIATOR, SigningKey.generate(), "jp-gw")
    g2 = Party(Side.RESPONDER, SigningKey.generate(), "sg-gw")
    g1.peer, g2.peer = g2, g1
    return g1, g2


def proposal(g1: Party, g2: Party, terms: SwapTerms = TERMS) -> TransferProposal:
    wire = WireTerms.of(terms)
    return TransferProposal(
        **g1.common(),
        transfer_init_claims=claims_for(wire, initiator=g1.gateway, responder=g2.gateway),
        gateway_and_network_capabilities=Capabilities(network_lock_expiration_time=3600),
        swap_terms=wire,
        compliance_statement=statement("jp-gw", wire),
    )


def honest_steps(g1: Party, g2: Party) -> list[tuple[Party, Party, Any]]:
    """The eleven messages of one session, each built when its turn comes."""
    later = NOW + timedelta(hours=1)

    def p0() -> SatpMessage:
        return proposal(g1, g2)

    def p1() -> SatpMessage:
        return ProposalReceipt(
            **g2.common(),
            hash_transfer_init_claim=g2.transcript.hash_transfer_init_claim,
            timestamp=NOW,
            compliance_statement=statement("sg-gw", WireTerms.of(TERMS)),
        )

    return [
        (g1, g2, p0),
        (g2, g1, p1),
        (
            g1,
            g2,
            lambda: TransferCommence(
                **g1.common(), hash_transfer_init_claim=g1.transcript.hash_transfer_init_claim
            ),
        ),
        (g2, g1, lambda: AckCommence(**g2.common())),
        (
            g1,
            g2,
            lambda: LockAssert(
                **g1.common(),
                lock_assertion_claim=lock_claim(
                    TERMS.initiator_leg, TERMS.initiator_deadline, "0x1"
                ),
                lock_assertion_expiration=later,
            ),
        ),
        (g2, g1, lambda: AssertionReceipt(**g2.common())),
        (g1, g2, lambda: CommitPrepare(**g1.common())),
        (
            g2,
            g1,
            lambda: LockAssert(
                **g2.common(),
                lock_assertion_claim=lock_claim(
                    TERMS.participant_leg, TERMS.participant_deadline, "T2"
                ),
                lock_assertion_expiration=later,
            ),
        ),
        (
            g1,
            g2,
            lambda: AckCommitFinal(
                **g1.common(),
                assignment_assertion_claim=HtlcAssignmentClaim(
                    network=caip2(ALGO), lock_id="L2", tx_id="T3", block_number=20, secret=SECRET
                ),
            ),
        ),
        (
            g2,
            g1,
            lambda: AckCommitFinal(
                **g2.common(),
                assignment_assertion_claim=HtlcAssignmentClaim(
                    network=caip2(EVM), lock_id="L1", tx_id="0x4", block_number=30
                ),
            ),
        ),
        (
            g1,
            g2,
            lambda: TransferComplete(
                **g1.common(), hash_transfer_commence=g1.transcript.hash_transfer_commence
            ),
        ),
    ]


def run_until(g1: Party, g2: Party, n: int) -> list[Envelope]:
    sent = []
    for sender, receiver, build in honest_steps(g1, g2)[:n]:
        env = sender.send(build())
        receiver.receive(env)
        sent.append(env)
    return sent


def test_an_honest_session_runs_to_completion_and_both_transcripts_agree() -> None:
    g1, g2 = pair()
    run_until(g1, g2, 11)
    assert g1.transcript.closed
    assert g2.transcript.closed
    assert g1.transcript.last_hash == g2.transcript.last_hash
    assert g1.transcript.seen == g2.transcript.seen
    assert len(g1.transcript.seen) == 11


def test_terms_survive_the_wire_and_large_amounts_travel_as_strings() -> None:
    wire = WireTerms.of(TERMS)
    assert wire.wire()["initiatorLeg"]["amount"] == str(10**24)
    back = wire.terms()
    assert back.initiator_leg.amount == 10**24
    assert back.initiator_leg.chain == EvmChain(chain_id=31337)  # the local label is dropped
    assert caip2(ALGO) == "algorand:AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"


def test_saep_namespace_is_accepted_and_read_as_core() -> None:
    g1, g2 = pair()
    run_until(g1, g2, 7)
    msg = LockAssert(
        **g2.common(),
        lock_assertion_claim=lock_claim(TERMS.participant_leg, TERMS.participant_deadline, "T"),
        lock_assertion_expiration=NOW + timedelta(hours=1),
    )
    wire = {**msg.wire(), "messageType": "urn:ietf:satp:msgtype:lock-assert-msg"}
    assert parse_message(wire) == msg


def _refused(
    g_recv: Party, env: Envelope, exc: type[SatpError], match: str, **kw: Any
) -> SatpError:
    before = g_recv.transcript
    with pytest.raises(exc, match=match) as info:
        g_recv.receive(env, **kw)
    assert g_recv.transcript == before  # a refused message changes nothing
    return info.value


def test_bad_signature_is_refused_with_err_0_1_3() -> None:
    g1, g2 = pair()
    forger = SigningKey.generate()
    env = seal(proposal(g1, g2).wire(), forger)
    err = _refused(g2, env, BadSignature, "kid: not the peer")
    assert err.type_uri == "urn:ietf:params:satp:core:error:err_0.1.3"
    assert err.status == 422
    # the right kid but a signature over other bytes
    good = seal(proposal(g1, g2).wire(), g1.key)
    flipped = good.model_copy(update={"signature": b64url(bytes(64))})
    _refused(g2, flipped, BadSignature, "not a valid ES256 signature")
    g2.receive(good)  # the genuine message still goes through


def test_wrong_hash_chain_is_refused() -> None:
    g1, g2 = pair()
    run_until(g1, g2, 4)
    msg = LockAssert(
        **{**g1.common(), "hash_prev_message": "00" * 32},
        lock_assertion_claim=lock_claim(TERMS.initiator_leg, TERMS.initiator_deadline, "0x1"),
        lock_assertion_expiration=NOW + timedelta(hours=1),
    )
    err = _refused(g2, seal(msg.wire(), g1.key), HashChainBroken, "hashPrevMessage")
    assert err.code == "err_2.2.5"
    assert err.status == 404


def test_replay_is_refused() -> None:
    g1, g2 = pair()
    sent = run_until(g1, g2, 5)
    err = _refused(g2, sent[2], Replay, "already accepted")  # the transfer-commence again
    assert err.status == 404
    # and the very message just accepted, sent twice
    _refused(g2, sent[4], Replay, "already accepted")


def test_out_of_order_is_refused() -> None:
    g1, g2 = pair()
    run_until(g1, g2, 2)
    # G1 skips transfer-commence and sends commit-prepare, with a correct hash chain
    skip = CommitPrepare(**g1.common())
    err = _refused(g2, seal(skip.wire(), g1.key), OutOfOrder, "expected transfer-commence-msg")
    assert err.code == "err_0.1.1"
    # G1 sends a message that is G2's to send at this step
    g3, g4 = pair()
    run_until(g3, g4, 3)
    theirs = AckCommence(**g3.common())
    with pytest.raises(OutOfOrder):
        record_sent(g3.transcript, theirs)
    _refused(g4, seal(theirs.wire(), g3.key), OutOfOrder, "ours to send")


def test_expired_lock_assertion_is_refused_with_err_2_2_9() -> None:
    g1, g2 = pair()
    run_until(g1, g2, 4)
    common = g1.common()

    def lock(expires: datetime) -> Envelope:
        msg = LockAssert(
            **common,
            lock_assertion_claim=lock_claim(TERMS.initiator_leg, TERMS.initiator_deadline, "0x1"),
            lock_assertion_expiration=expires,
        )
        return seal(msg.wire(), g1.key)

    err = _refused(g2, lock(NOW - timedelta(seconds=1)), LockAssertionExpired, "has passed")
    assert err.type_uri.endswith("err_2.2.9")
    assert err.status == 410
    _refused(g2, lock(NOW + timedelta(minutes=4)), LockAssertionExpired, "leaves less than")
    g2.receive(lock(NOW + timedelta(minutes=6)))


def test_session_and_context_mismatch_are_refused() -> None:
    g1, g2 = pair()
    run_until(g1, g2, 2)
    other = TransferCommence(
        **{**g1.common(), "session_id": "sess-2"},
        hash_transfer_init_claim=g1.transcript.hash_transfer_init_claim,
    )
    err = _refused(g2, seal(other.wire(), g1.key), SessionMismatch, "sessionId")
    assert err.code == "err_1.3.2"
    ctx = TransferCommence(
        **{**g1.common(), "transfer_context_id": "ctx-9"},
        hash_transfer_init_claim=g1.transcript.hash_transfer_init_claim,
    )
    assert _refused(g2, seal(ctx.wire(), g1.key), SessionMismatch, "transferContextId").code == (
        "err_1.3.1"
    )


def test_a_proposal_whose_claims_lie_about_the_terms_is_refused() -> None:
    g1, g2 = pair()
    honest = proposal(g1, g2)
    c0, c1 = honest.transfer_init_claims
    lying = honest.model_copy(
        update={"transfer_init_claims": (c0.model_copy(update={"amount": "1"}), c1)}
    )
    _refused(g2, seal(lying.wire(), g1.key), MalformedMessage, r"\[0\]\.amount")
    other_terms = WireTerms.of(TERMS.model_copy(update={"participant_lock_by": 38_000}))
    stale = honest.model_copy(update={"compliance_statement": statement("jp-gw", other_terms)})
    _refused(g2, seal(stale.wire(), g1.key), MalformedMessage, "termsDigest")


def test_schema_errors_name_the_field() -> None:
    g1, g2 = pair()
    body = proposal(g1, g2).wire()
    body["gatewayAndNetworkCapabilities"]["networkLockType"] = "TIME_LOCK"
    err = _refused(g2, seal(body, g1.key), MalformedMessage, "networkLockType")
    assert err.code == "err_0.1.1"
    body = {**proposal(g1, g2).wire(), "messageType": "urn:ietf:params:satp:core:msgtype:nope"}
    _refused(g2, seal(body, g1.key), MalformedMessage, "messageType")


def test_problem_details_carry_the_draft_members() -> None:
    err = LockAssertionExpired("lockAssertionExpiration: has passed")
    body = err.problem(
        session_id="sess-1",
        transfer_context_id="ctx-1",
        prev_msg_type="urn:ietf:params:satp:core:msgtype:lock-assert-msg",
        hash_prev_message="ab" * 32,
        timestamp=NOW,
    )
    assert body["type"] == "urn:ietf:params:satp:core:error:err_2.2.9"
    assert body["status"] == 410
    assert body["title"] == "asset lock expired"
    assert "ctx-1" in str(body["instance"])
    assert body["timestamp"] == "2026-12-03T12:00:00Z"
    parse_message(body)  # the problem is itself a valid error-msg of the profile
