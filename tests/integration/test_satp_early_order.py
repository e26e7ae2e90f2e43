"""The responder's client may order before the peer's proposal arrives (issue 18).

The buyer's platform (SG) gets its client alice's order for a trade the seller's platform
(JP) has not proposed yet: the order is kept in SG's store and, when JP's proposal for the
same ``order_id`` arrives, SG's own compliance decides on it. Built as ``relayer run`` builds
the gateway, on a real py-evm chain.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import InvalidInput
from bridge.swap import Leg, SwapTerms
from relayer.satp.gateway import (
    ORDER,
    SatpGateway,
    early_order_note,
    swap_id_of,
)
from relayer.satp.jws import SigningKey
from relayer.service import SwapOrder
from tests.integration.test_satp_config import _order, _platform, propose_as_jp, sg_gateway


def _propose(tmp_path: Path, gateway: SatpGateway, jp_key: SigningKey, order: SwapOrder) -> str:
    """JP's proposal of the trade ``order`` names, delivered to SG's gateway."""
    service = gateway.service
    chain = service.chains["evm"].chain
    now = int(service.chains["evm"].now())
    swap_id = swap_id_of(order.order_id)
    terms = SwapTerms(
        swap_id=swap_id,
        hashlock="0x" + "cd" * 32,
        initiator_leg=Leg(
            chain=chain,
            amount=order.security.amount,
            sender=order.security.sender,
            receiver=order.security.receiver,
        ),
        participant_leg=Leg(
            chain=chain,
            amount=order.cash.amount,
            sender=order.cash.sender,
            receiver=order.cash.receiver,
        ),
        initiator_deadline=now + 7200,
        participant_deadline=now + 3600,
        participant_lock_by=now + 1800,
        participant_reveal_by=now + 3000,
    )
    propose_as_jp(gateway, tmp_path / "jp.sqlite3", jp_key, gateway.node.key.public, terms)
    return swap_id


def test_an_order_before_the_proposal_is_kept_and_decided_when_the_proposal_comes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alice (SG's client, the buyer) orders first: the order is stored, re-submitting it is
    idempotent and other legs under the same order id are refused; JP's proposal then gets
    SG's own decision on alice's order (allowed, bound to the terms), with no re-submit."""
    service, alice, _, bob = _platform(tmp_path)
    gateway, jp_key = sg_gateway(tmp_path, monkeypatch, service, alice.address)
    order = _order("early-1", bob.address, alice.address)
    swap_id = gateway.submit(order, "responder")
    assert swap_id == swap_id_of("early-1")
    assert not gateway.node.has_session(swap_id)
    assert SwapOrder.model_validate_json(service.store.note(early_order_note(swap_id))) == order
    assert gateway.submit(order, "responder") == swap_id  # the same order again: idempotent
    other = order.model_copy(update={"cash": order.cash.model_copy(update={"amount": 4})})
    with pytest.raises(InvalidInput, match="order_id"):
        gateway.submit(other, "responder")

    assert _propose(tmp_path, gateway, jp_key, order) == swap_id
    for _ in range(3):
        gateway.tick()
    state = gateway.node.load(swap_id)
    assert state.own_statement is not None, "SG never decided on alice's early order"
    assert state.own_statement.allowed
    assert state.own_statement.terms_digest == state.peer_statement.terms_digest  # type: ignore[union-attr]
    assert state.outbox  # the receipt, carrying SG's decision, waits for JP
    # the early order is now the swap's order document (and no longer a loose note)
    assert SwapOrder.model_validate_json(service.store.document(swap_id, ORDER)) == order
    with pytest.raises(Exception, match="no note"):
        service.store.note(early_order_note(swap_id))
    # other legs under the same order id are still refused once the session exists
    with pytest.raises(InvalidInput, match="order_id"):
        gateway.submit(other, "responder")


def test_an_early_order_with_other_legs_than_the_proposal_is_refused_by_our_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matching by order id is not trusting the proposal: alice's early order for 5 units
    against a proposal spending 9 of her cash is refused by SG's decision; nothing is locked."""
    service, alice, _, bob = _platform(tmp_path)
    gateway, jp_key = sg_gateway(tmp_path, monkeypatch, service, alice.address)
    order = _order("early-2", bob.address, alice.address)
    gateway.submit(order, "responder")
    bigger = order.model_copy(update={"cash": order.cash.model_copy(update={"amount": 9})})
    swap_id = _propose(tmp_path, gateway, jp_key, bigger)
    for _ in range(3):
        gateway.tick()
    state = gateway.node.load(swap_id)
    assert state.own_statement is not None
    assert not state.own_statement.allowed
    assert "TERMS_MISMATCH:cash.amount" in state.own_statement.reasons
    assert state.own_lock == "none"
