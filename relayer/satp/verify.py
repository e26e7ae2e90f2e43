"""The session transcript and the verifier of received SATP messages (pure: no I/O, no clock).

One SAEP session in this profile is a fixed sequence of eleven messages, alternating between
the initiator (G1, the seller's gateway, holder of the secret) and the responder (G2, the
buyer's gateway)::

    #   type                       sender  draft step
    0   transfer-proposal-msg      G1      1.1  (two transfer-initialization claims: SAEP)
    1   proposal-receipt-msg       G2      1.2  (+ G2's signed compliance statement)
    2   transfer-commence-msg      G1      1.3
    3   ack-commence-msg           G2      1.4
    4   lock-assert-msg            G1      2.2  (G1's HTLC lock: the security)
    5   assertion-receipt-msg      G2      2.4  (G2 checked that lock on its chain)
    6   commit-prepare-msg         G1      3.1
    7   lock-assert-msg            G2      3.3  (SAEP: in place of commit-ready; the cash)
    8   ack-commit-final-msg       G1      3.5  (SAEP: in place of commit-final; G1 claimed)
    9   ack-commit-final-msg       G2      3.7  (G2 claimed with the revealed secret)
    10  commit-transfer-complete   G1      3.9

``error-msg`` and ``session-abort-msg`` may come at any step and close the session.

:func:`accept` checks one received envelope, in this order, and raises the first failure:
signature (``BadSignature``), canonical payload and schema (``MalformedMessage``), replay of a
message already in the transcript (``Replay``), session ids (``SessionMismatch``), the
message type and sender expected at this step (``OutOfOrder``), ``hashPrevMessage`` against
the transcript (``HashChainBroken``), the message's own bindings (claim hashes, the claims
against the terms), and for a lock assertion its expiration against ``now`` plus the time
the rest of the session needs (``LockAssertionExpired``). A refused message leaves the
transcript unchanged: a forged or replayed message cannot end or advance a session.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from pydantic import Field

from bridge.errors import InvalidInput
from bridge.model.base import CanonicalModel
from relayer.satp.errors import (
    BadSignature,
    HashChainBroken,
    LockAssertionExpired,
    MalformedMessage,
    OutOfOrder,
    Replay,
    SessionMismatch,
)
from relayer.satp.jcs import canonical_bytes
from relayer.satp.jws import Envelope, PublicJwk, SignatureMismatch, open_envelope
from relayer.satp.messages import (
    AckCommitFinal,
    ErrorMessage,
    LockAssert,
    MsgType,
    ProposalReceipt,
    SatpMessage,
    SessionAbort,
    TransferCommence,
    TransferComplete,
    TransferInitClaim,
    TransferProposal,
    WireTerms,
    asset_caip19,
    caip2,
    parse_message,
    sha256_hex,
)

__all__ = [
    "STEPS",
    "Gateway",
    "Side",
    "Transcript",
    "accept",
    "claims_for",
    "record_sent",
]


class Side(StrEnum):
    """Which gateway of the session: the initiator G1 (client) or the responder G2 (server)."""

    INITIATOR = "initiator"
    RESPONDER = "responder"

    @property
    def other(self) -> Side:
        """The peer's side."""
        return Side.RESPONDER if self is Side.INITIATOR else Side.INITIATOR


_I, _R = Side.INITIATOR, Side.RESPONDER

STEPS: Final[tuple[tuple[MsgType, Side, str], ...]] = (
    (MsgType.TRANSFER_PROPOSAL, _I, "1.1"),
    (MsgType.PROPOSAL_RECEIPT, _R, "1.2"),
    (MsgType.TRANSFER_COMMENCE, _I, "1.3"),
    (MsgType.ACK_COMMENCE, _R, "1.4"),
    (MsgType.LOCK_ASSERT, _I, "2.2"),
    (MsgType.ASSERTION_RECEIPT, _R, "2.4"),
    (MsgType.COMMIT_PREPARE, _I, "3.1"),
    (MsgType.LOCK_ASSERT, _R, "3.3"),
    (MsgType.ACK_COMMIT_FINAL, _I, "3.5"),
    (MsgType.ACK_COMMIT_FINAL, _R, "3.7"),
    (MsgType.TRANSFER_COMPLETE, _I, "3.9"),
)
"""The message sequence of one session: (type, sender, draft step)."""

# the draft's mismatch codes per step: transferContextId, sessionId, hashPrevMessage
_HASH_CODE: Final = {
    "1.2": "err_1.2.3",
    "1.3": "err_1.3.4",
    "1.4": "err_1.4.3",
    "2.2": "err_2.2.5",
    "2.4": "err_2.4.3",
    "3.1": "err_3.1.3",
    "3.3": "err_3.3.3",
    "3.5": "err_3.5.3",
    "3.7": "err_3.7.3",
    "3.9": "err_3.9.3",
}


def _ids_code(step: str, which: int) -> str:
    if step == "1.1":
        return f"err_1.1.{which}"  # invalid transferContextId / sessionId
    return f"err_{step}.{which}"


class Gateway(CanonicalModel):
    """A gateway as the other side knows it: its id, network and ES256 public key."""

    gateway_id: str = Field(min_length=1, max_length=128)
    key: PublicJwk


class Transcript(CanonicalModel):
    """What one side has sent and accepted in a session, as hashes (pure data)."""

    me: Side
    session_id: str
    transfer_context_id: str | None = None
    step: int = Field(default=0, ge=0)
    last_hash: str | None = None
    last_type: str | None = None
    seen: tuple[str, ...] = ()
    hash_transfer_init_claim: str | None = None
    hash_transfer_commence: str | None = None
    closed: bool = False

    @property
    def next_step(self) -> tuple[MsgType, Side, str] | None:
        """The message expected next, or None once the sequence is complete."""
        return STEPS[self.step] if self.step < len(STEPS) else None

    def _advance(self, message: SatpMessage, digest: str) -> Transcript:
        update: dict[str, object] = {
            "step": self.step + 1,
            "last_hash": digest,
            "last_type": message.message_type,
            "seen": (*self.seen, digest),
        }
        if isinstance(message, TransferProposal):
            update["transfer_context_id"] = message.transfer_context_id
            update["hash_transfer_init_claim"] = message.hash_transfer_init_claim
        if isinstance(message, TransferCommence):
            update["hash_transfer_commence"] = digest
        if self.step + 1 == len(STEPS):
            update["closed"] = True
        return self.model_copy(update=update)


def claims_for(
    terms: WireTerms,
    *,
    initiator: Gateway,
    responder: Gateway,
    asset_profiles: tuple[str, str] = ("security", "cash"),
) -> tuple[TransferInitClaim, TransferInitClaim]:
    """The two transfer-initialization claims of an exchange on ``terms``.

    Claim 0 is the initiator's asset (sent by G1 to the beneficiary on its own chain),
    claim 1 the responder's. Entity ids are the parties' wallet addresses.
    """
    out = []
    for leg, deadline, (g_from, g_to), profile in (
        (terms.initiator_leg, terms.initiator_deadline, (initiator, responder), asset_profiles[0]),
        (
            terms.participant_leg,
            terms.participant_deadline,
            (responder, initiator),
            asset_profiles[1],
        ),
    ):
        own = leg.chain
        other = (
            terms.participant_leg.chain if leg is terms.initiator_leg else terms.initiator_leg.chain
        )
        out.append(
            TransferInitClaim(
                digital_asset_id=asset_caip19(leg.chain, leg.asset),
                asset_profile_id=profile,
                asset_lock_expiration_time=deadline,
                verified_originator_entity_id=leg.sender,
                verified_beneficiary_entity_id=leg.receiver,
                originator_public_key=leg.sender,
                beneficiary_public_key=leg.receiver,
                sender_gateway_signature_public_key=g_from.key,
                receiver_gateway_signature_public_key=g_to.key,
                sender_gateway_id=g_from.gateway_id,
                recipient_gateway_id=g_to.gateway_id,
                sender_gateway_network_id=caip2(own),
                recipient_gateway_network_id=caip2(other),
                amount=leg.amount,
                hash_lock=terms.hash_lock,
            )
        )
    return out[0], out[1]


def _check_proposal(
    p: TransferProposal, initiator_key: PublicJwk, responder_key: PublicJwk
) -> None:
    """The claims must be exactly the ones the terms and the two gateways' keys give."""
    try:
        p.swap_terms.terms()
    except (ValueError, InvalidInput) as exc:
        raise MalformedMessage(f"swapTerms: {exc}", code="err_1.1.11", status=422) from None
    c0, c1 = p.transfer_init_claims
    if c0.sender_gateway_signature_public_key != initiator_key:
        raise MalformedMessage(
            "transferInitClaims[0].senderGatewaySignaturePublicKey: not the key that signed",
            code="err_1.1.17",
            status=422,
        )
    if c0.receiver_gateway_signature_public_key != responder_key:
        raise MalformedMessage(
            "transferInitClaims[0].receiverGatewaySignaturePublicKey: not our key",
            code="err_1.1.18",
            status=422,
        )
    expected = claims_for(
        p.swap_terms,
        initiator=Gateway(gateway_id=c0.sender_gateway_id, key=initiator_key),
        responder=Gateway(gateway_id=c0.recipient_gateway_id, key=responder_key),
        asset_profiles=(c0.asset_profile_id, c1.asset_profile_id),
    )
    for i, (got, want) in enumerate(zip((c0, c1), expected, strict=True)):
        entity = {
            "verified_originator_entity_id": got.verified_originator_entity_id,
            "verified_beneficiary_entity_id": got.verified_beneficiary_entity_id,
        }
        want_d = want.model_copy(update=entity).wire()
        for key, value in got.wire().items():
            if want_d.get(key) != value:
                raise MalformedMessage(
                    f"transferInitClaims[{i}].{key}: does not match swapTerms",
                    code="err_1.1.11" if key == "digitalAssetId" else "err_1.1.3",
                    status=422,
                )
    st = p.compliance_statement
    if st.terms_digest != p.swap_terms.digest:
        raise MalformedMessage(
            "complianceStatement.termsDigest: not the digest of swapTerms",
            code="err_1.1.3",
            status=422,
        )
    if st.gateway_id != c0.sender_gateway_id:
        raise MalformedMessage(
            "complianceStatement.gatewayId: not the sender gateway's", code="err_1.1.19", status=422
        )


def accept(
    transcript: Transcript,
    envelope: Envelope,
    *,
    peer: PublicJwk,
    me: PublicJwk,
    now: datetime,
    lock_window: timedelta = timedelta(0),
) -> tuple[Transcript, SatpMessage]:
    """Verify one received envelope against the session; return the advanced transcript.

    ``peer`` is the key the peer gateway registered (never one taken from the message),
    ``me`` our own public key (the proposal must name it), ``lock_window`` the time the
    rest of the session needs after a lock assertion: a lock that expires sooner is
    refused, since the exchange could not finish before it.
    """
    try:
        payload = open_envelope(envelope, peer)
    except SignatureMismatch as exc:
        raise BadSignature(str(exc)) from None
    except InvalidInput as exc:
        raise MalformedMessage(str(exc)) from None
    digest = sha256_hex(envelope.payload_bytes)
    nxt = transcript.next_step
    step = nxt[2] if nxt is not None else "3.9"
    if digest in transcript.seen:
        raise Replay(
            f"message {digest[:16]}... was already accepted in this session (replayed at step "
            f"{step})",
            code=_HASH_CODE.get(step, "err_1.2.3"),
        )
    message = parse_message(payload)
    if message.session_id != transcript.session_id:
        raise SessionMismatch(
            f"sessionId: {message.session_id!r} is not this session's", code=_ids_code(step, 2)
        )
    if (
        transcript.transfer_context_id is not None
        and message.transfer_context_id != transcript.transfer_context_id
    ):
        raise SessionMismatch(
            f"transferContextId: {message.transfer_context_id!r} is not this session's",
            code=_ids_code(step, 1),
        )
    if isinstance(message, ErrorMessage | SessionAbort):
        if transcript.closed:
            raise OutOfOrder("messageType: the session is already closed")
        closed = transcript.model_copy(update={"closed": True, "seen": (*transcript.seen, digest)})
        return closed, message
    if transcript.closed or nxt is None:
        raise OutOfOrder(f"messageType: the session is closed; got {message.message_type}")
    want_type, want_sender, _ = nxt
    if want_sender is transcript.me:
        raise OutOfOrder(
            f"messageType: the next message ({want_type.value}, step {step}) is ours to send; "
            f"got {message.message_type}"
        )
    if message.message_type != want_type.urn:
        raise OutOfOrder(
            f"messageType: expected {want_type.value} at step {step}, got {message.message_type}"
        )
    prev = getattr(message, "hash_prev_message", None)
    if transcript.last_hash is not None and prev != transcript.last_hash:
        raise HashChainBroken(
            "hashPrevMessage: not the SHA-256 of the session's previous message",
            code=_HASH_CODE[step],
        )
    _check_bindings(transcript, message, peer=peer, me=me, now=now, lock_window=lock_window)
    return transcript._advance(message, digest), message


def _check_bindings(
    transcript: Transcript,
    message: SatpMessage,
    *,
    peer: PublicJwk,
    me: PublicJwk,
    now: datetime,
    lock_window: timedelta,
) -> None:
    if isinstance(message, TransferProposal):
        _check_proposal(message, initiator_key=peer, responder_key=me)
    elif isinstance(message, ProposalReceipt | TransferCommence):
        if message.hash_transfer_init_claim != transcript.hash_transfer_init_claim:
            code = "err_1.2.3" if isinstance(message, ProposalReceipt) else "err_1.3.3"
            raise MalformedMessage(
                "hashTransferInitClaim: not the hash of the proposal's claims",
                code=code,
                status=404,
            )
    elif isinstance(message, TransferComplete):
        if message.hash_transfer_commence != transcript.hash_transfer_commence:
            raise MalformedMessage(
                "hashTransferCommence: not the hash of the transfer-commence message",
                code="err_3.9.4",
                status=404,
            )
    elif isinstance(message, LockAssert):
        expires = message.lock_assertion_expiration
        if expires <= now:
            raise LockAssertionExpired(
                f"lockAssertionExpiration: {expires.isoformat()} has passed (now {now.isoformat()})"
            )
        if expires < now + lock_window:
            raise LockAssertionExpired(
                f"lockAssertionExpiration: {expires.isoformat()} leaves less than the "
                f"{int(lock_window.total_seconds())} s the exchange needs"
            )
    elif isinstance(message, AckCommitFinal):
        claim = message.assignment_assertion_claim
        if transcript.me is Side.RESPONDER and claim.secret is None:
            raise MalformedMessage(
                "assignmentAssertionClaim.secret: the initiator's assignment claim must carry "
                "the revealed secret",
                code="err_3.5.3",
                status=404,
            )


def record_sent(transcript: Transcript, message: SatpMessage) -> Transcript:
    """Add one of our own messages to the transcript (it must be ours to send now)."""
    digest = sha256_hex(canonical_bytes(message.wire()))
    if isinstance(message, ErrorMessage | SessionAbort):
        return transcript.model_copy(update={"closed": True, "seen": (*transcript.seen, digest)})
    nxt = transcript.next_step
    if transcript.closed or nxt is None:
        raise OutOfOrder("messageType: the session is closed; nothing more to send")
    want_type, want_sender, step = nxt
    if want_sender is not transcript.me or message.message_type != want_type.urn:
        raise OutOfOrder(
            f"messageType: step {step} is {want_sender.value}'s {want_type.value}, "
            f"not our {message.message_type}"
        )
    if (
        transcript.last_hash is not None
        and getattr(message, "hash_prev_message", None) != transcript.last_hash
    ):
        raise HashChainBroken(
            "hashPrevMessage: not the hash of the previous message", code=_HASH_CODE[step]
        )
    return transcript._advance(message, digest)
