"""SATP protocol errors and their RFC 9457 problem details.

Each refusal of a received message is a :class:`SatpError` carrying the draft's error code
(``err_x.y.z``, the table of draft-ietf-satp-core-17 §"Protocol Errors Codes") and the HTTP
status the table gives it. They sit in the one exception tree under
:class:`~bridge.errors.SettlementError` (a protocol rule was broken; retrying the same
message gives the same answer)::

    SettlementError
    └── SatpError                  err_x.y.z + HTTP status + problem details
        ├── BadSignature           err_0.1.3 (422): not the peer gateway's ES256 signature
        ├── MalformedMessage       err_0.1.1 (400) or a claim's own code: schema, JCS, ids
        ├── OutOfOrder             err_0.1.1 (400): a message type not expected at this step
        ├── Replay                 hashPrevMessage mismatch of the stage (404): seen before
        ├── HashChainBroken        hashPrevMessage mismatch of the stage (404)
        ├── SessionMismatch        transferContextId / sessionId mismatch of the stage (404)
        └── LockAssertionExpired   err_2.2.9 (410): the lock expires too soon or has expired

``problem()`` turns any of them into the draft's error message body (an RFC 9457 problem
with the SATP members).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from bridge.errors import SettlementError

__all__ = [
    "ERROR_TYPE_PREFIX",
    "BadSignature",
    "HashChainBroken",
    "LockAssertionExpired",
    "MalformedMessage",
    "OutOfOrder",
    "Replay",
    "SatpError",
    "SessionMismatch",
]

ERROR_TYPE_PREFIX: Final = "urn:ietf:params:satp:core:error:"


class SatpError(SettlementError):
    """A received SATP message was refused. ``code`` is the draft's ``err_x.y.z``."""

    code: str = "err_0.1.1"
    status: int = 400
    title: str = "badly formed message"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    @property
    def type_uri(self) -> str:
        """The problem ``type``: ``urn:ietf:params:satp:core:error:err_x.y.z``."""
        return ERROR_TYPE_PREFIX + self.code

    def problem(
        self,
        *,
        session_id: str,
        transfer_context_id: str,
        prev_msg_type: str | None,
        hash_prev_message: str,
        timestamp: datetime,
    ) -> dict[str, object]:
        """The draft's error-msg body (RFC 9457 members plus the SATP ones)."""
        body: dict[str, object] = {
            "messageType": "urn:ietf:params:satp:core:msgtype:error-msg",
            "type": self.type_uri,
            "status": self.status,
            "title": self.title,
            "detail": self.detail,
            "version": "1.0",
            "sessionId": session_id,
            "transferContextId": transfer_context_id,
            "instance": f"urn:satp:transfer-context:{transfer_context_id}",
            "hashPrevMessage": hash_prev_message,
            "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
        }
        if prev_msg_type is not None:
            body["prevMsgType"] = prev_msg_type
        return body


class BadSignature(SatpError):
    """The JWS is not a valid ES256 signature by the peer gateway's registered key."""

    code = "err_0.1.3"
    status = 422
    title = "bad signature"


class MalformedMessage(SatpError):
    """The payload breaks the schema, the JCS rule or a claim rule (detail names the field)."""

    title = "badly formed message"


class OutOfOrder(SatpError):
    """A message type (or sender) that the session does not expect at this step."""

    title = "invalid message type"


class Replay(SatpError):
    """A message that this session already accepted, sent again."""

    status = 404
    title = "mismatch hashPrevMessage (replayed message)"


class HashChainBroken(SatpError):
    """``hashPrevMessage`` is not the hash of the session's previous message."""

    status = 404
    title = "mismatch hashPrevMessage"


class SessionMismatch(SatpError):
    """``sessionId`` or ``transferContextId`` is not this session's."""

    status = 404
    title = "mismatch sessionId or transferContextId"


class LockAssertionExpired(SatpError):
    """The asserted lock expires before the stage can finish (or has expired)."""

    code = "err_2.2.9"
    status = 410
    title = "asset lock expired"
