"""The SATP messages of the stbridge profile, as frozen pydantic models.

Field names on the wire are the drafts' (camelCase); in Python they are snake_case, with
the camelCase alias generated. ``wire()`` gives the JSON object that is canonicalised
(:mod:`relayer.satp.jcs`), hashed and signed.

The exchange (SAEP) proposal carries **two** transfer-initialization claims: index 0 is the
initiator's asset (the security, locked first), index 1 the responder's (the cash). Both
are derived from ``swapTerms``, the legs, hashlock and deadlines both sides settle by; a
proposal whose claims do not match its terms is refused.

The claims of the lock, mint, burn and assignment evidence are left open by the drafts;
this profile's claims are :class:`HtlcLockClaim` (format ``HTLC_LOCK_CLAIM_FORMAT_1``) and
:class:`HtlcAssignmentClaim` (format ``HTLC_ASSIGNMENT_CLAIM_FORMAT_1``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from bridge.model.chain import AlgorandChain, AssetRef, ChainRef, EvmChain
from bridge.model.enums import Standard
from bridge.swap import Leg, SwapTerms
from bridge.types import Address, HexBytes32
from relayer.satp.errors import MalformedMessage
from relayer.satp.jcs import MAX_SAFE_INTEGER, canonical_bytes
from relayer.satp.jws import PublicJwk

__all__ = [
    "ASSIGNMENT_CLAIM_FORMAT",
    "CORE_MSGTYPE",
    "LOCK_CLAIM_FORMAT",
    "SAEP_MSGTYPE",
    "AckCommence",
    "AckCommitFinal",
    "AssertionReceipt",
    "Capabilities",
    "CommitPrepare",
    "ComplianceStatement",
    "ErrorMessage",
    "HtlcAssignmentClaim",
    "HtlcLockClaim",
    "LockAssert",
    "MsgType",
    "ProposalReceipt",
    "SatpMessage",
    "SessionAbort",
    "TransferCommence",
    "TransferComplete",
    "TransferInitClaim",
    "TransferProposal",
    "WireLeg",
    "WireTerms",
    "asset_caip19",
    "caip2",
    "message_hash",
    "msg_type_of",
    "parse_message",
    "sha256_hex",
    "utc",
]

CORE_MSGTYPE: Final = "urn:ietf:params:satp:core:msgtype:"
"""The msgtype namespace of draft-ietf-satp-core (what this profile sends)."""

SAEP_MSGTYPE: Final = "urn:ietf:satp:msgtype:"
"""The namespace draft-marstein-satp-asset-exchange writes (accepted on input)."""

LOCK_CLAIM_FORMAT: Final = "HTLC_LOCK_CLAIM_FORMAT_1"
ASSIGNMENT_CLAIM_FORMAT: Final = "HTLC_ASSIGNMENT_CLAIM_FORMAT_1"
VERSION: Final = "1.0"

_HEX64 = r"^[0-9a-f]{64}$"
_DECIMAL = r"^(0|[1-9][0-9]{0,77})$"


class MsgType(StrEnum):
    """The message types this profile uses (the name after the namespace)."""

    TRANSFER_PROPOSAL = "transfer-proposal-msg"
    PROPOSAL_RECEIPT = "proposal-receipt-msg"
    TRANSFER_COMMENCE = "transfer-commence-msg"
    ACK_COMMENCE = "ack-commence-msg"
    LOCK_ASSERT = "lock-assert-msg"
    ASSERTION_RECEIPT = "assertion-receipt-msg"
    COMMIT_PREPARE = "commit-prepare-msg"
    ACK_COMMIT_FINAL = "ack-commit-final-msg"
    TRANSFER_COMPLETE = "commit-transfer-complete-msg"
    ERROR = "error-msg"
    SESSION_ABORT = "session-abort-msg"

    @property
    def urn(self) -> str:
        """The core URN, e.g. ``urn:ietf:params:satp:core:msgtype:lock-assert-msg``."""
        return CORE_MSGTYPE + self.value


def sha256_hex(raw: bytes) -> str:
    """Lower-case hex SHA-256 (the drafts' default hash)."""
    return hashlib.sha256(raw).hexdigest()


def caip2(chain: ChainRef) -> str:
    """The CAIP-2 id of a chain: ``eip155:<id>``, or ``algorand:`` + the first 32 characters
    of the base64url genesis hash."""
    if isinstance(chain, EvmChain):
        return f"eip155:{chain.chain_id}"
    url = chain.genesis_hash.replace("+", "-").replace("/", "_")
    return f"algorand:{url[:32]}"


def asset_caip19(chain: ChainRef, asset: AssetRef | None) -> str:
    """The CAIP-19 id of a leg's asset (the chain's native coin when ``asset`` is None)."""
    net = caip2(chain)
    if asset is None:
        return f"{net}/slip44:{60 if isinstance(chain, EvmChain) else 283}"
    loc = asset.locator
    if loc.kind == "evm_contract":
        return f"{net}/erc20:{loc.address}"
    return f"{net}/asa:{loc.asset_id}"


class _Wire(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )

    def wire(self) -> dict[str, Any]:
        """The JSON object on the wire (camelCase, absent optionals left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _bare(chain: ChainRef) -> ChainRef:
    """The chain without its local label (two platforms may name a chain differently)."""
    if isinstance(chain, EvmChain):
        return EvmChain(chain_id=chain.chain_id)
    return AlgorandChain(genesis_hash=chain.genesis_hash)


class WireLeg(_Wire):
    """A leg on the wire: the amount as a decimal string (it may exceed 2**53)."""

    chain: ChainRef
    asset: AssetRef | None = None
    standard: Standard | None = None
    amount: str = Field(pattern=_DECIMAL)
    sender: Address
    receiver: Address
    partition: str | None = None

    @classmethod
    def of(cls, leg: Leg) -> WireLeg:
        """The wire form of a leg (chain labels dropped)."""
        asset = None
        if leg.asset is not None:
            asset = AssetRef(chain=_bare(leg.asset.chain), locator=leg.asset.locator)
        return cls(
            chain=_bare(leg.chain),
            asset=asset,
            standard=leg.standard,
            amount=str(leg.amount),
            sender=leg.sender,
            receiver=leg.receiver,
            partition=leg.partition,
        )

    def leg(self) -> Leg:
        """Back to the canonical leg."""
        return Leg(
            chain=self.chain,
            asset=self.asset,
            standard=self.standard,
            amount=int(self.amount),
            sender=self.sender,
            receiver=self.receiver,
            partition=self.partition,
        )


_Deadline = Annotated[int, Field(strict=True, ge=0, le=MAX_SAFE_INTEGER)]


class WireTerms(_Wire):
    """The swap terms both gateways settle by (``bridge.swap.SwapTerms`` on the wire)."""

    swap_id: HexBytes32
    hash_lock: HexBytes32
    initiator_leg: WireLeg
    participant_leg: WireLeg
    initiator_deadline: _Deadline
    participant_deadline: _Deadline
    participant_lock_by: _Deadline
    participant_reveal_by: _Deadline | None = None

    @classmethod
    def of(cls, terms: SwapTerms) -> WireTerms:
        """The wire form of the terms."""
        return cls(
            swap_id=terms.swap_id,
            hash_lock=terms.hashlock,
            initiator_leg=WireLeg.of(terms.initiator_leg),
            participant_leg=WireLeg.of(terms.participant_leg),
            initiator_deadline=terms.initiator_deadline,
            participant_deadline=terms.participant_deadline,
            participant_lock_by=terms.participant_lock_by,
            participant_reveal_by=terms.participant_reveal_by,
        )

    def terms(self) -> SwapTerms:
        """Back to the canonical terms (their own validators apply)."""
        return SwapTerms(
            swap_id=self.swap_id,
            hashlock=self.hash_lock,
            initiator_leg=self.initiator_leg.leg(),
            participant_leg=self.participant_leg.leg(),
            initiator_deadline=self.initiator_deadline,
            participant_deadline=self.participant_deadline,
            participant_lock_by=self.participant_lock_by,
            participant_reveal_by=self.participant_reveal_by,
        )

    @property
    def digest(self) -> str:
        """SHA-256 of the JCS form: what a compliance statement is bound to."""
        return sha256_hex(canonical_bytes(self.wire()))


class TransferInitClaim(_Wire):
    """A transfer-initialization claim (core §1.1), one per asset of the exchange.

    In this profile the originator and beneficiary public keys are the parties' wallet
    addresses on the asset's chain, and ``amount`` / ``hashLock`` / ``lockDeadline`` are
    profile members binding the claim to the HTLC leg.
    """

    digital_asset_id: str = Field(min_length=1, max_length=256)
    asset_profile_id: str = Field(min_length=1, max_length=64)
    network_lock_type: Literal["HASH_TIME_LOCK"] = "HASH_TIME_LOCK"
    asset_lock_expiration_time: _Deadline
    verified_originator_entity_id: str = Field(min_length=1, max_length=256)
    verified_beneficiary_entity_id: str = Field(min_length=1, max_length=256)
    originator_public_key: Address
    beneficiary_public_key: Address
    sender_gateway_signature_public_key: PublicJwk
    receiver_gateway_signature_public_key: PublicJwk
    sender_gateway_id: str = Field(min_length=1, max_length=128)
    recipient_gateway_id: str = Field(min_length=1, max_length=128)
    sender_gateway_network_id: str = Field(min_length=1, max_length=128)
    recipient_gateway_network_id: str = Field(min_length=1, max_length=128)
    amount: str = Field(pattern=_DECIMAL)
    hash_lock: HexBytes32


class Capabilities(_Wire):
    """``gatewayAndNetworkCapabilities`` (core §"Gateway and network capabilities")."""

    gateway_default_signature_algorithm: Literal["ES256"] = "ES256"
    gateway_supported_signature_algorithms: tuple[str, ...] = ("ES256",)
    network_lock_type: Literal["HASH_TIME_LOCK"] = "HASH_TIME_LOCK"
    network_lock_expiration_time: int = Field(strict=True, ge=1, le=MAX_SAFE_INTEGER)
    gateway_tls_scheme: str = "TLS_AES_128_GCM_SHA256"


class ComplianceStatement(_Wire):
    """One gateway's own compliance decision, signed inside its message.

    Bound to the legs by ``termsDigest`` (SHA-256 of the JCS wire terms): a statement for
    one trade cannot be presented for another. The receiving side records it in its audit;
    it never stands in for the receiver's own decision.
    """

    gateway_id: str = Field(min_length=1, max_length=128)
    allowed: bool
    decided_at: AwareDatetime
    terms_digest: str = Field(pattern=_HEX64)
    jurisdictions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    decision_digest: str | None = Field(default=None, pattern=_HEX64)


class HtlcLockClaim(_Wire):
    """Lock-assertion claim: one confirmed HTLC lock, checkable against its chain."""

    network: str = Field(min_length=3, max_length=128)
    htlc: str = Field(min_length=1, max_length=128)
    lock_id: str = Field(min_length=1, max_length=128)
    tx_id: str = Field(min_length=1, max_length=128)
    block_number: int = Field(strict=True, ge=0, le=MAX_SAFE_INTEGER)
    log_index: int = Field(strict=True, ge=0, le=MAX_SAFE_INTEGER)
    hash_lock: HexBytes32
    sender: Address
    receiver: Address
    amount: str = Field(pattern=_DECIMAL)
    asset: str = Field(min_length=1, max_length=256)
    deadline: _Deadline
    confirmations: int = Field(strict=True, ge=0, le=MAX_SAFE_INTEGER)


class HtlcAssignmentClaim(_Wire):
    """Assignment claim: the HTLC claim that assigned a leg to its beneficiary.

    ``secret`` (hex of the 32-byte preimage) is present on the initiator's claim: it is
    already public on the chain by then; the receiver checks it against the hashlock.
    """

    network: str = Field(min_length=3, max_length=128)
    lock_id: str = Field(min_length=1, max_length=128)
    tx_id: str = Field(min_length=1, max_length=128)
    block_number: int = Field(strict=True, ge=0, le=MAX_SAFE_INTEGER)
    secret: HexBytes32 | None = None


class _Common(_Wire):
    session_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    transfer_context_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")


class _Chained(_Common):
    hash_prev_message: str = Field(pattern=_HEX64)


def _mt(name: MsgType) -> Any:
    return Field(default=name.urn, json_schema_extra={"const": name.urn})


class TransferProposal(_Common):
    """1.1, initiator: two transfer-initialization claims (SAEP), the terms, its decision."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:transfer-proposal-msg"] = _mt(
        MsgType.TRANSFER_PROPOSAL
    )
    version: Literal["1.0"] = "1.0"
    transfer_init_claim_format: Literal["TRANSFER_INIT_CLAIM_FORMAT_1"] = (
        "TRANSFER_INIT_CLAIM_FORMAT_1"
    )
    transfer_init_claims: tuple[TransferInitClaim, TransferInitClaim]
    gateway_and_network_capabilities: Capabilities
    swap_terms: WireTerms
    compliance_statement: ComplianceStatement

    @property
    def hash_transfer_init_claim(self) -> str:
        """SHA-256 of the JCS form of both claims (the array, in order)."""
        return sha256_hex(canonical_bytes([c.wire() for c in self.transfer_init_claims]))


class ProposalReceipt(_Chained):
    """1.2, responder: accepts the claims; carries its own signed compliance decision."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:proposal-receipt-msg"] = _mt(
        MsgType.PROPOSAL_RECEIPT
    )
    version: Literal["1.0"] = "1.0"
    hash_transfer_init_claim: str = Field(pattern=_HEX64)
    timestamp: AwareDatetime
    compliance_statement: ComplianceStatement


class TransferCommence(_Chained):
    """1.3, initiator."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:transfer-commence-msg"] = _mt(
        MsgType.TRANSFER_COMMENCE
    )
    hash_transfer_init_claim: str = Field(pattern=_HEX64)


class AckCommence(_Chained):
    """1.4, responder."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:ack-commence-msg"] = _mt(
        MsgType.ACK_COMMENCE
    )


class LockAssert(_Chained):
    """2.2 (initiator's lock) and, in SAEP, 3.3 (the responder's lock, for commit-ready)."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:lock-assert-msg"] = _mt(
        MsgType.LOCK_ASSERT
    )
    lock_assertion_claim_format: Literal["HTLC_LOCK_CLAIM_FORMAT_1"] = LOCK_CLAIM_FORMAT
    lock_assertion_claim: HtlcLockClaim
    lock_assertion_expiration: AwareDatetime


class AssertionReceipt(_Chained):
    """2.4, responder: the initiator's lock was checked on its chain."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:assertion-receipt-msg"] = _mt(
        MsgType.ASSERTION_RECEIPT
    )


class CommitPrepare(_Chained):
    """3.1, initiator: the responder may lock its asset."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:commit-prepare-msg"] = _mt(
        MsgType.COMMIT_PREPARE
    )


class AckCommitFinal(_Chained):
    """3.5 (SAEP: in place of commit-final) and 3.7: an assignment claim."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:ack-commit-final-msg"] = _mt(
        MsgType.ACK_COMMIT_FINAL
    )
    assignment_assertion_claim_format: Literal["HTLC_ASSIGNMENT_CLAIM_FORMAT_1"] = (
        ASSIGNMENT_CLAIM_FORMAT
    )
    assignment_assertion_claim: HtlcAssignmentClaim


class TransferComplete(_Chained):
    """3.9, initiator: closes the session."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:commit-transfer-complete-msg"] = _mt(
        MsgType.TRANSFER_COMPLETE
    )
    hash_transfer_commence: str = Field(pattern=_HEX64)


class ErrorMessage(_Chained):
    """error-msg: an RFC 9457 problem with the SATP members (also the draft's reject)."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:error-msg"] = _mt(MsgType.ERROR)
    type: str = Field(pattern=r"^urn:ietf:params:satp:core:error:err_[0-9]+\.[0-9]+\.[0-9]+$")
    status: int = Field(strict=True, ge=400, le=599)
    title: str = Field(min_length=1, max_length=256)
    detail: str | None = Field(default=None, max_length=2048)
    version: Literal["1.0"] = "1.0"
    instance: str | None = Field(default=None, max_length=512)
    prev_msg_type: str | None = Field(default=None, max_length=128)
    timestamp: AwareDatetime


class SessionAbort(_Common):
    """session-abort-msg: either side ends the session; assets are safe by the deadlines."""

    message_type: Literal["urn:ietf:params:satp:core:msgtype:session-abort-msg"] = _mt(
        MsgType.SESSION_ABORT
    )
    hash_prev_message: str | None = Field(default=None, pattern=_HEX64)


SatpMessage = (
    TransferProposal
    | ProposalReceipt
    | TransferCommence
    | AckCommence
    | LockAssert
    | AssertionReceipt
    | CommitPrepare
    | AckCommitFinal
    | TransferComplete
    | ErrorMessage
    | SessionAbort
)

_BY_TYPE: Final[dict[MsgType, type[_Common]]] = {
    MsgType.TRANSFER_PROPOSAL: TransferProposal,
    MsgType.PROPOSAL_RECEIPT: ProposalReceipt,
    MsgType.TRANSFER_COMMENCE: TransferCommence,
    MsgType.ACK_COMMENCE: AckCommence,
    MsgType.LOCK_ASSERT: LockAssert,
    MsgType.ASSERTION_RECEIPT: AssertionReceipt,
    MsgType.COMMIT_PREPARE: CommitPrepare,
    MsgType.ACK_COMMIT_FINAL: AckCommitFinal,
    MsgType.TRANSFER_COMPLETE: TransferComplete,
    MsgType.ERROR: ErrorMessage,
    MsgType.SESSION_ABORT: SessionAbort,
}


def msg_type_of(urn: object) -> MsgType:
    """The message type named by a ``messageType`` URN, in core's or SAEP's namespace."""
    if isinstance(urn, str):
        for ns in (CORE_MSGTYPE, SAEP_MSGTYPE):
            if urn.startswith(ns):
                try:
                    return MsgType(urn[len(ns) :])
                except ValueError:
                    break
    raise MalformedMessage(f"messageType: not a message type of this profile (got {urn!r})")


def parse_message(payload: dict[str, Any]) -> SatpMessage:
    """Validate a payload as the message its ``messageType`` names.

    SAEP's namespace (``urn:ietf:satp:msgtype:``) is accepted and read as core's. A payload
    that breaks the schema is refused with :class:`MalformedMessage` naming the field.
    """
    kind = msg_type_of(payload.get("messageType"))
    data = {**payload, "messageType": kind.urn}
    try:
        return _BY_TYPE[kind].model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise MalformedMessage(f"{where}: {first['msg']}") from None


def message_hash(message: _Wire) -> str:
    """``hashPrevMessage`` of the next message: SHA-256 hex of this message's JCS form."""
    return sha256_hex(canonical_bytes(message.wire()))


def utc(ts: datetime) -> str:
    """An aware datetime as RFC 3339 with ``Z``."""
    return ts.isoformat().replace("+00:00", "Z")
