"""Regressions found by the two-relayer stateful suite (tests/integration/test_satp_stateful.py):
a session in which nothing of ours was locked must still end once the trade can no longer
happen, so no honest session stays open after every deadline."""

from __future__ import annotations

from relayer.satp.session import ChainTime, Outcome, Phase, status
from relayer.satp.verify import Side
from tests.unit.test_satp_session import CASH_NET, SEC_NET, TERMS, kinds, start, world


def test_an_initiator_whose_peer_never_answers_ends_once_the_lock_by_has_passed() -> None:
    """The responder never receives the proposal (unreachable, then silent for good): once
    the cash chain is past ``participant_lock_by`` no cash can be locked any more, so the
    initiator, which locked nothing, ends its session (aborted) and never locks."""
    w = world()
    w.silent.add(Side.INITIATOR)
    start(w)
    assert w.g1.state.phase is Phase.PROPOSED
    w.run(w.g1, w.g1.apply(ChainTime(network=CASH_NET, time=TERMS.participant_lock_by)))
    assert w.g1.state.outcome is Outcome.OPEN  # at lock_by the cash may still be locked
    w.run(w.g1, w.g1.apply(ChainTime(network=CASH_NET, time=TERMS.participant_lock_by + 1)))
    assert w.g1.state.outcome is Outcome.ABORTED
    assert status(w.g1.state)["status"] == "FAILED"
    assert "submit_own_lock" not in kinds(w.g1)


def test_an_initiator_that_never_locked_ends_at_its_own_deadline() -> None:
    """Only the security chain is known to have moved: its deadline ends the session too."""
    w = world()
    w.silent.add(Side.INITIATOR)
    start(w)
    w.run(w.g1, w.g1.apply(ChainTime(network=SEC_NET, time=TERMS.initiator_deadline)))
    assert w.g1.state.outcome is Outcome.ABORTED
    assert "submit_own_lock" not in kinds(w.g1)


def test_a_responder_waiting_for_the_initiators_lock_ends_once_the_lock_by_has_passed() -> None:
    """The initiator goes silent after its proposal (the responder's receipt never reaches
    it): the responder, which locked nothing, ends its session once it could no longer lock
    the cash anyway."""
    w = world()
    w.silent.add(Side.RESPONDER)
    start(w)
    assert w.g2.state.own_lock == "none"
    assert w.g2.state.outcome is Outcome.OPEN
    w.run(w.g2, w.g2.apply(ChainTime(network=CASH_NET, time=TERMS.participant_lock_by + 1)))
    assert w.g2.state.outcome is Outcome.ABORTED
    assert "submit_own_lock" not in kinds(w.g2)
