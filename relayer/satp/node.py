"""One relayer's SATP gateway: sessions persisted in the relayer store, envelopes in and out.

:class:`SatpNode` is the edge around the pure session machine (:mod:`relayer.satp.session`):

- it keeps each session as one JSON document (``satp.session``) of the swap in the
  relayer's own store (:class:`relayer.store.Store`), written whole after every input, so
  a crash loses at most an input that will be observed again (a re-sent message, a chain
  event seen again) and never half of one;
- it opens received envelopes: a proposal creates the swap row (inert: no engine input is
  applied to it) and the responder's session, bound to the peer gateway named in the
  proposal's first claim, which must be one of the configured peers (its key is the one
  the signature is checked against, never a key from the message);
- it seals outgoing messages with this gateway's ES256 key.

Delivery, the running of effects (locks, claims, compliance) and the chain watch belong to
the relayer's executor; :meth:`SatpNode.apply` is how their results come back in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from pydantic import TypeAdapter

from bridge.errors import NotFound
from bridge.swap import SwapTerms
from relayer.satp.errors import MalformedMessage, SatpError
from relayer.satp.jws import Envelope, SigningKey, b64url_decode, seal
from relayer.satp.messages import MsgType, WireTerms, msg_type_of
from relayer.satp.session import (
    Effect,
    MessageIn,
    SessionState,
    Start,
    new_session,
    transition,
)
from relayer.satp.verify import Gateway, Side
from relayer.store import Store

_EFFECTS: Final = TypeAdapter(list[Effect])

__all__ = ["DOCUMENT", "SatpNode"]

log = logging.getLogger(__name__)

DOCUMENT: Final = "satp.session"
"""The store document that holds a swap's SATP session (one per swap and relayer)."""


def _unverified(envelope: Envelope) -> dict[str, Any]:
    """The payload, parsed only to find the session it claims (verified later)."""
    try:
        value = json.loads(b64url_decode(envelope.payload, "payload"))
    except (ValueError, UnicodeDecodeError):
        raise MalformedMessage("payload: not JSON") from None
    if not isinstance(value, dict):
        raise MalformedMessage("payload: must be a JSON object")
    return value


class SatpNode:
    """This relayer's gateway: its key, its peers, its store."""

    def __init__(
        self,
        store: Store,
        key: SigningKey,
        *,
        gateway_id: str,
        peers: Mapping[str, Gateway],
        clock: Callable[[], datetime],
        lock_window_s: int = 0,
        lock_confirmations: int = 1,
    ) -> None:
        self.store = store
        self.key = key
        self.me = Gateway(gateway_id=gateway_id, key=key.public)
        self.peers = dict(peers)
        self.clock = clock
        self.lock_window_s = lock_window_s
        self.lock_confirmations = lock_confirmations

    # -- persistence ---------------------------------------------------------------
    def _read(self, swap_id: str) -> tuple[SessionState, list[Any]]:
        doc = json.loads(self.store.document(swap_id, DOCUMENT))
        state = SessionState.model_validate(doc["state"])
        return state, _EFFECTS.validate_python(doc["effects"])

    def load(self, swap_id: str) -> SessionState:
        """The session of ``swap_id``; ``NotFound`` when this relayer has none."""
        return self._read(swap_id)[0]

    def pending(self, swap_id: str) -> list[Any]:
        """The effects not yet done, in order (what the executor runs, again after a crash)."""
        return self._read(swap_id)[1]

    def save(self, swap_id: str, state: SessionState, new_effects: tuple[Any, ...] = ()) -> None:
        """Write the session and its pending effects (one document: atomic)."""
        try:
            effects = self.pending(swap_id)
        except NotFound:
            effects = []
        effects += list(new_effects)
        body = {
            "state": state.model_dump(mode="json"),
            "effects": _EFFECTS.dump_python(effects, mode="json"),
        }
        self.store.put_document(swap_id, DOCUMENT, json.dumps(body, sort_keys=True))

    def done(self, swap_id: str, seq: int) -> None:
        """Mark the effect ``seq`` done (it leaves the pending list)."""
        state, effects = self._read(swap_id)
        kept = [e for e in effects if e.seq != seq]
        body = {
            "state": state.model_dump(mode="json"),
            "effects": _EFFECTS.dump_python(kept, mode="json"),
        }
        self.store.put_document(swap_id, DOCUMENT, json.dumps(body, sort_keys=True))

    def has_session(self, swap_id: str) -> bool:
        """Whether ``swap_id`` has an SATP session here."""
        try:
            self.store.document(swap_id, DOCUMENT)
        except NotFound:
            return False
        return True

    def sessions(self) -> list[str]:
        """The swap ids that have a session here."""
        out = []
        for swap_id in self.store.list_ids(limit=100_000):
            try:
                self.store.document(swap_id, DOCUMENT)
            except NotFound:
                continue
            out.append(swap_id)
        return out

    def find(self, session_id: str) -> tuple[str, SessionState]:
        """The swap id and state of the session ``session_id``; ``NotFound`` otherwise."""
        for swap_id in self.store.list_ids(limit=100_000):
            try:
                state = self.load(swap_id)
            except NotFound:
                continue
            if state.transcript.session_id == session_id:
                return swap_id, state
        raise NotFound(f"no SATP session {session_id}")

    # -- inputs --------------------------------------------------------------------
    def apply(self, swap_id: str, change: Any) -> tuple[SessionState, tuple[Any, ...]]:
        """Run one input through the session machine and persist the result."""
        state, effects = transition(self.load(swap_id), change)
        self.save(swap_id, state, effects)
        return state, effects

    def start(
        self,
        terms: SwapTerms,
        *,
        session_id: str,
        peer_id: str,
        sealed_secret: str | None = None,
    ) -> tuple[SessionState, tuple[Any, ...]]:
        """Open a session as initiator (G1) with the configured peer ``peer_id``;
        ``sealed_secret`` (``SealingKey.seal``) is kept with the swap for our claim."""
        peer = self.peers.get(peer_id)
        if peer is None:
            raise NotFound(f"no configured SATP peer {peer_id!r}")
        self.store.create(terms, sealed_secret=sealed_secret)
        try:
            return self.load(terms.swap_id), ()
        except NotFound:
            pass
        state = new_session(
            Side.INITIATOR,
            session_id=session_id,
            me=self.me,
            peer=peer,
            started_at=self.clock(),
            lock_window_s=self.lock_window_s,
            lock_confirmations=self.lock_confirmations,
        )
        state, effects = transition(state, Start(terms=WireTerms.of(terms), now=self.clock()))
        self.save(terms.swap_id, state, effects)
        return state, effects

    def receive(
        self, session_id: str, envelope: Envelope
    ) -> tuple[str, SessionState, tuple[Any, ...]]:
        """Verify and apply a received envelope; return the swap id, state and effects.

        Raises the verifier's :class:`SatpError` (nothing is written) for a refused message,
        ``NotFound`` when no session matches.
        """
        now = self.clock()
        payload = _unverified(envelope)
        if payload.get("sessionId") != session_id:
            raise MalformedMessage("sessionId: not the session of the path")
        kind = msg_type_of(payload.get("messageType"))
        new_terms: SwapTerms | None = None
        if kind is MsgType.TRANSFER_PROPOSAL:
            swap_id, state, new_terms = self._responder_session(session_id, payload, now)
        else:
            swap_id = "0x" + str(payload.get("transferContextId", ""))
            try:
                state = self.load(swap_id)
            except NotFound:
                raise NotFound(f"no SATP session {session_id}") from None
            if state.transcript.session_id != session_id:
                raise NotFound(f"no SATP session {session_id}")
        state, effects = transition(state, MessageIn(envelope=envelope, now=now))
        if new_terms is not None:  # verified: now the (inert) swap row may be created
            self.store.create(new_terms)
        self.save(swap_id, state, effects)
        return swap_id, state, effects

    def _responder_session(
        self, session_id: str, payload: dict[str, Any], now: datetime
    ) -> tuple[str, SessionState, SwapTerms | None]:
        try:
            claims = payload["transferInitClaims"]
            peer_id = claims[0]["senderGatewayId"]
            terms = WireTerms.model_validate(payload["swapTerms"]).terms()
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise MalformedMessage(f"transferInitClaims/swapTerms: {exc}") from None
        peer = self.peers.get(str(peer_id))
        if peer is None:
            raise SatpError(
                f"senderGatewayId: {peer_id!r} is not a configured peer gateway",
                code="err_0.1.2",
                status=403,
            )
        try:
            existing = self.load(terms.swap_id)
        except NotFound:
            existing = None
        if existing is not None:
            if existing.transcript.session_id != session_id:
                raise SatpError(
                    "transferContextId: this swap already has another session",
                    code="err_1.1.1",
                    status=422,
                )
            return terms.swap_id, existing, None
        state = new_session(
            Side.RESPONDER,
            session_id=session_id,
            me=self.me,
            peer=peer,
            started_at=now,
            lock_window_s=self.lock_window_s,
            lock_confirmations=self.lock_confirmations,
        )
        return terms.swap_id, state, terms

    # -- output --------------------------------------------------------------------
    def seal(self, message: dict[str, Any]) -> Envelope:
        """Sign a message with this gateway's key."""
        return seal(message, self.key)

    def outbox(self, swap_id: str) -> list[Envelope]:
        """The undelivered messages of a session, sealed (re-sent after a restart)."""
        return [self.seal(m) for m in self.load(swap_id).outbox]
