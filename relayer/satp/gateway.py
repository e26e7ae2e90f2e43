"""The daemon's SATP gateway: built from ``[satp]`` and the relayer's own chains and store.

:func:`build_gateway` is the SATP half of the composition root (``relayer.daemon.run``):

- the gateway key from its encrypted keystore (:mod:`relayer.satp.keys`);
- a :class:`~relayer.satp.node.SatpNode` on the relayer's own store (each session one
  document, written before any of its effects runs: the store's crash safety);
- a :class:`~relayer.satp.executor.SatpExecutor` over the relayer's chain runtimes, signing
  only for the wallets ``[satp] wallets`` names (a custody key the file does not name is
  not used by SATP), fees paid by the relayer's own account on each chain;
- this platform's compliance engine deciding on the order its own client submitted
  (:func:`relayer.satp.compliance.engine_decider`), re-run before our claim;
- delivery to the peer over HTTP: ``https`` with TLS 1.3 at least, or ``http`` on loopback.

The daemon ticks :meth:`SatpGateway.tick` after the engine's tick. The single-relayer engine
never runs an SATP swap (:func:`keep_engine_off`): the session machine is its only driver.

:func:`satp_findings` is what ``stbridge relayer run --check`` adds for ``[satp]``.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from bridge.errors import (
    BridgeError,
    ChainUnavailable,
    InvalidInput,
    NotFound,
    TransientError,
)
from bridge.htlc import ChainHead, Secret, plan_deadlines
from bridge.swap import SwapTerms
from relayer.satp.compliance import engine_decider
from relayer.satp.config import SatpSettings
from relayer.satp.executor import ChainAccess, SatpExecutor
from relayer.satp.jws import Envelope
from relayer.satp.keys import load_satp_key
from relayer.satp.messages import caip2
from relayer.satp.node import SatpNode
from relayer.satp.verify import Gateway, Side
from relayer.sealing import SealingKey
from relayer.service import ChainRuntime, ComplianceCheck, RelayerService, SwapOrder
from relayer.store import Store

__all__ = [
    "ALGORAND_HTLC_ID",
    "ORDER",
    "SatpGateway",
    "WaitingForOrder",
    "build_gateway",
    "early_order_note",
    "keep_engine_off",
    "order_for_swap",
    "satp_findings",
    "session_id_of",
    "swap_id_of",
]

log = logging.getLogger(__name__)

ORDER = "order"
"""The store document holding the order our own client submitted for the trade."""

ALGORAND_HTLC_ID = "algorand-htlc-escrow-v1"
"""The ``htlc`` member of an Algorand lock assertion (a per-lock escrow, no one address)."""


class WaitingForOrder(TransientError):
    """The peer proposed a trade our own client has not submitted (yet): no decision."""


def session_id_of(swap_id: str) -> str:
    """The session id of a swap's SATP session (a UUID derived from the swap id: the same
    trade submitted again is the same session)."""
    return str(uuid.UUID(bytes=hashlib.sha256(b"stbridge-satp:" + swap_id.encode()).digest()[:16]))


def swap_id_of(order_id: str) -> str:
    """A swap id from its order id (the rule of ``RelayerService.submit``: both platforms'
    clients name the trade by the same ``order_id``)."""
    return "0x" + hashlib.sha256(b"stbridge-order:" + order_id.encode()).hexdigest()


def keep_engine_off(store: Store, node: SatpNode) -> None:
    """Keep the single-relayer engine away from SATP swaps: their rows are inert records
    of the session (the session machine drives them), so the engine's lease loop skips them."""
    claim = store.claim_swaps

    def claim_swaps(owner: str, *, lease_seconds: float, limit: int = 10) -> list[str]:
        ids = claim(owner, lease_seconds=lease_seconds, limit=limit)
        return [i for i in ids if not node.has_session(i)]

    setattr(store, "claim_swaps", claim_swaps)  # noqa: B010 (an instance-level override)


def _tls_context(settings: SatpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=None if settings.tls_ca is None else str(settings.tls_ca)
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context


def http_deliver(
    settings: SatpSettings, peer_of: Callable[[str], str] | None = None
) -> Callable[[str, Envelope], bool]:
    """Deliver an envelope to the peer's session over HTTP(S); True once the peer has it.

    ``peer_of(session_id)`` names the session's peer gateway (None: the only peer); the
    envelope goes to that peer's configured URL, never to one named in a message."""
    import httpx

    context: ssl.SSLContext | None = None

    def deliver(session_id: str, envelope: Envelope) -> bool:
        nonlocal context
        peer = settings.peer_named(None if peer_of is None else peer_of(session_id))
        verify: Any = True
        if peer.url.startswith("https:"):
            context = context or _tls_context(settings)
            verify = context
        try:
            answer = httpx.post(
                f"{peer.url}/satp/v1/sessions/{session_id}/messages",
                content=envelope.model_dump_json(),
                headers={"content-type": "application/jose+json"},
                timeout=10,
                verify=verify,
            )
        except httpx.HTTPError as exc:
            raise ChainUnavailable(f"peer {peer.gateway_id} unreachable: {exc}") from exc
        if answer.status_code == 202:
            return True
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if isinstance(body, dict) and "replayOf" in body:
            return True  # the peer already has it
        log.warning(
            "satp: peer %s refused a message of session %s: %s %s",
            peer.gateway_id,
            session_id,
            answer.status_code,
            body.get("title") if isinstance(body, dict) else answer.text[:200],
        )
        return False

    return deliver


def _access(rt: ChainRuntime, htlc_id: str, wallets: frozenset[str]) -> ChainAccess:
    if rt.timing.deadline_unit == "timestamp":

        def expires_at(deadline: int) -> datetime:
            return datetime.fromtimestamp(deadline, UTC)
    else:
        block_ms = rt.timing.block_time_max_ms

        def expires_at(deadline: int) -> datetime:
            return datetime.now(UTC) + timedelta(milliseconds=block_ms * (deadline - rt.now()))

    return ChainAccess(
        htlc=rt.htlc,
        htlc_id=htlc_id,
        head=rt.head,
        now=rt.now,
        expires_at=expires_at,
        confirmations=rt.confirmations,
        signers={a: s for a, s in rt.signers.items() if a in wallets},
        operator=rt.operator,
        prepare_lock=rt.prepare_lock,
        timing=rt.timing,
    )


@dataclass
class SatpGateway:
    """This relayer's SATP side: the node (sessions, routes) and the executor (effects)."""

    settings: SatpSettings
    node: SatpNode
    executor: SatpExecutor
    service: RelayerService
    sealing: SealingKey

    def tick(self) -> int:
        """Run every session's due effects once (the daemon calls it every poll)."""
        return self.executor.tick()

    def submit(
        self,
        order: SwapOrder,
        side: Literal["initiator", "responder"],
        *,
        peer: str | None = None,
    ) -> str:
        """Our own client's order for a cross-platform trade; return the swap id.

        ``initiator``: the seller's platform plans the deadlines, seals a fresh secret,
        records the order and opens the session with the peer (``peer``: its gateway id,
        needed when several are configured; idempotent by ``order_id``).
        ``responder``: the buyer's platform records the order its compliance will judge
        when the peer's proposal for the same ``order_id`` arrives (or has arrived). An order
        that comes first is kept in the store (a note, ``early_order_note``) and matched to
        the proposal when it arrives; the same order again is idempotent, other terms under
        the same ``order_id`` are refused.
        """
        swap_id = swap_id_of(order.order_id)
        store = self.service.store
        try:
            peer_id = self.settings.peer_named(peer).gateway_id if side == "initiator" else ""
        except ValueError as exc:
            raise InvalidInput("peer", str(exc).removeprefix("peer: "), value=peer) from None
        if side == "responder":
            if not self.node.has_session(swap_id):
                _keep_early_order(store, swap_id, order)  # matched when the proposal comes
                return swap_id
            self._record_order(swap_id, order)
            return swap_id
        if self.node.has_session(swap_id):
            self._record_order(swap_id, order)
            return swap_id
        sec = self.service.runtime(order.security.chain, "security.chain")
        cash = self.service.runtime(order.cash.chain, "cash.chain")
        now_s = int(self.service.wall_clock())
        plan = plan_deadlines(
            initiator_chain=sec.timing,
            participant_chain=cash.timing,
            budget=self.service.budget,
            settlement_window_s=order.settlement_window_s,
            now_s=now_s,
            initiator_head=_head(sec),
            participant_head=_head(cash),
        )
        secret = Secret.generate()
        terms = SwapTerms(
            swap_id=swap_id,
            hashlock="0x" + secret.hashlock.hex(),
            initiator_leg=RelayerService._leg(order.security, sec, "security"),
            participant_leg=RelayerService._leg(order.cash, cash, "cash"),
            initiator_deadline=plan.initiator.native,
            participant_deadline=plan.participant.native,
            participant_lock_by=plan.participant_lock_by,
            participant_reveal_by=plan.participant_reveal_by,
        )
        store.create(terms, sealed_secret=self.sealing.seal(secret.reveal(), swap_id=swap_id))
        store.put_document(swap_id, ORDER, order.model_dump_json())
        self.node.start(
            terms,
            session_id=session_id_of(swap_id),
            peer_id=peer_id,
            sealed_secret=store.sealed_secret(swap_id),
        )
        return swap_id

    def _record_order(self, swap_id: str, order: SwapOrder) -> None:
        store = self.service.store
        try:
            known = order_for_swap(store, swap_id)
        except NotFound:
            store.put_document(swap_id, ORDER, order.model_dump_json())
            return
        if known != order:
            raise InvalidInput(
                "order_id", f"order {order.order_id} was submitted with other terms", value=None
            )


def early_order_note(swap_id: str) -> str:
    """The store note holding a responder's order that arrived before the peer's proposal."""
    return f"satp.early-order:{swap_id}"


def _keep_early_order(store: Store, swap_id: str, order: SwapOrder) -> None:
    name = early_order_note(swap_id)
    try:
        known = SwapOrder.model_validate_json(store.note(name))
    except NotFound:
        store.put_note(name, order.model_dump_json())
        return
    if known != order:
        raise InvalidInput(
            "order_id", f"order {order.order_id} was submitted with other terms", value=None
        )


def order_for_swap(store: Store, swap_id: str) -> SwapOrder:
    """Our own client's order for ``swap_id``: its ``order`` document, or an early order
    (kept before the proposal came) now moved into that document; ``NotFound`` otherwise."""
    try:
        return SwapOrder.model_validate_json(store.document(swap_id, ORDER))
    except NotFound:
        body = store.note(early_order_note(swap_id))  # NotFound: no order yet
    store.put_document(swap_id, ORDER, body)
    store.delete_note(early_order_note(swap_id))
    return SwapOrder.model_validate_json(body)


def _head(rt: ChainRuntime) -> ChainHead:
    if rt.timing.deadline_unit == "timestamp":
        return ChainHead(height=rt.head(), time=rt.now())
    return ChainHead(height=rt.head())


def build_gateway(
    settings: SatpSettings,
    service: RelayerService,
    *,
    htlc_ids: dict[str, str],
    sealing: SealingKey,
    compliance: ComplianceCheck,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SatpGateway:
    """The gateway over ``service``'s store and chains; ``htlc_ids`` by chain name."""
    from relayer.keystore import password_from_env

    key = load_satp_key(settings.keystore, password_from_env(settings.password_env))
    node = SatpNode(
        service.store,
        key,
        gateway_id=settings.gateway_id,
        peers={
            p.gateway_id: Gateway(gateway_id=p.gateway_id, key=p.public_key)
            for p in settings.all_peers
        },
        clock=clock,
        lock_window_s=settings.lock_window_s,
        lock_confirmations=settings.lock_confirmations,
    )
    wallets = frozenset(settings.wallets)
    chains = {
        caip2(rt.chain): _access(rt, htlc_ids.get(name, ALGORAND_HTLC_ID), wallets)
        for name, rt in service.chains.items()
    }

    def order_for(terms: SwapTerms) -> SwapOrder:
        try:
            return order_for_swap(service.store, terms.swap_id)
        except NotFound:
            raise WaitingForOrder(
                f"swap {terms.swap_id}: the peer proposed it; our client has not submitted "
                "its order (POST /satp/v1/trades)"
            ) from None

    decide = engine_decider(
        compliance,
        order_for,
        gateway_id=settings.gateway_id,
        jurisdictions=settings.jurisdictions,
        clock=clock,
    )

    def recheck(terms: SwapTerms, side: Side, before: str) -> bool:
        return decide(terms, side).allowed

    peer_by_session: dict[str, str] = {}

    def peer_of(session_id: str) -> str:
        """The gateway a session is with (a session never changes peers: cached)."""
        if session_id not in peer_by_session:
            peer_by_session[session_id] = node.find(session_id)[1].peer.gateway_id
        return peer_by_session[session_id]

    executor = SatpExecutor(
        node,
        chains,
        decide=decide,
        recheck=recheck,
        deliver=http_deliver(settings, peer_of=peer_of),
        sealing_key=sealing,
        budget=service.budget,
    )
    keep_engine_off(service.store, node)
    return SatpGateway(settings, node, executor, service, sealing)


def satp_findings(
    settings: SatpSettings, signers: dict[str, set[str]] | None
) -> Iterator[tuple[str, bool, str]]:
    """``--check`` for ``[satp]``: (subject, ok, detail) per check. ``signers`` are the
    addresses the chains' keystores unlock, by chain name (None: keys not checked)."""
    from relayer.keystore import password_from_env

    for peer in settings.all_peers:
        yield "satp.peer.url", True, f"{peer.url} (peer {peer.gateway_id})"
    try:
        key = load_satp_key(settings.keystore, password_from_env(settings.password_env))
    except BridgeError as exc:
        yield "satp.keystore", False, str(exc)
    else:
        yield "satp.keystore", True, f"gateway key {key.kid} unlocked"
        for peer in settings.all_peers:
            if key.public == peer.public_key:
                yield (
                    "satp.peer.public_key",
                    False,
                    f"{peer.gateway_id}'s is our own key: the peer must have its own",
                )
    if settings.tls_ca is not None and not Path(settings.tls_ca).is_file():
        yield "satp.tls_ca", False, f"{settings.tls_ca}: no such file"
    if signers is not None:
        held = set().union(*signers.values()) if signers else set()
        for wallet in settings.wallets:
            if wallet in held:
                yield "satp.wallets", True, f"{wallet} unlocked"
            else:
                yield (
                    "satp.wallets",
                    False,
                    f"{wallet}: no chain's keystore or custody holds its key",
                )
