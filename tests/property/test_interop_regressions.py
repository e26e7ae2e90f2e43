"""Failures the interop suite's random search found in the suite itself, kept as plain
programs on the real relayer (each failed before its fix)."""

from __future__ import annotations

import pytest

from bridge.htlc import ChainTiming, RelayerBudget
from bridge.swap import LegPhase, Role
from relayer.interop.strategies import ChainSetup, Scenario, TradeSpec
from tests.property.test_interop_mutations import (
    QUICK,
    _chain,
    _check,
    _freeze_buyer_after_reveal,
    _submit,
    machine,
)

pytestmark = pytest.mark.anvil


def test_an_agent_striking_at_a_tick_is_not_hit_by_the_relayers_dropped_submission() -> None:
    """The 30-minute run (seed 302) failed with "relayer-b's tick raised ChainTimeout": the
    agent armed to freeze the buyer once the secret is out strikes at the start of a tick,
    and its own transaction was taken for the relayer's, dropped by the fault armed for the
    relayer's next submission, and waited for in vain. The agent's transaction is its own:
    it is mined (the buyer is frozen on chain) and the tick survives."""
    with machine("refused_claim_without_back_off", QUICK, {"sec": 2, "cash": 3}) as m:
        _submit(False, 60)(m)
        _freeze_buyer_after_reveal(m)
        # the moment the agent waits for (a secret out, the security still locked), and a
        # relayer submission armed to be lost
        m._revealed_with_security_open = lambda: True  # type: ignore[method-assign]
        m.drop_submissions("never_sent", 1)
        m.tick()
        assert m.frozen
        assert m.drops == ["never_sent"]  # left for the relayer's own next submission


def test_refunds_dropped_at_the_end_are_given_the_ticks_a_drop_costs() -> None:
    """The 30-minute run on fc7ee76 (seed 411, 1,103 s) failed with "still open after every
    deadline (initiator refund_sent, participant refunded)": three submissions armed to be
    lost met the two refunds the relayer sends once both deadlines have passed (the
    initiator's twice). The relayer learns of a lost transaction a tick after the next one
    (it asks the node about it then) and sends it again, so each drop costs two ticks; the
    suite's end gave it three ticks past the deadlines whatever was dropped. The liveness
    bound now counts the drops that hit the relayer at the end, and the swap is refunded
    on both legs within it."""
    quiet = RelayerBudget(reaction_s=0, compliance_recheck_s=0, margin_s=0, poll_s=0)
    scenario = Scenario(_chain((2, 2), 0), _chain((2, 2), 0), quiet)
    with machine("refused_claim_without_back_off", scenario, {"sec": 2, "cash": 2}) as m:
        m.submit_order(TradeSpec(1, 1, 0, False))
        m.agent_freeze_after_locks()
        _check(m)
        m.relay(2)
        _check(m)
        m.drop_submissions("never_sent", 3)
        m.drain()  # the end of an example, as teardown runs it
        m.every_swap_reaches_a_final_state()
        assert m.dropped == 3
        assert m.final_states() == [("refunded", "refunded", "refunded")]


def test_a_replica_that_claimed_before_a_forced_transfer_owes_no_gauge_for_it() -> None:
    """The 30-minute run on 9baf6fb (seed 914, 947 s) failed with "the sec HTLC holds 65
    units less than its open locks and the relayer's stbridge_escrow_shortfall gauge is 0":
    replica B had claimed a security leg in its tick, and only then did a gap appear (a
    reorg took back the agent's restore of forced-out units). The suite asks for the gauge
    once a replica has begun a claim or refund of that asset in a tick *after* the gap was
    seen, but it dated the ticks by the ``tick`` rule alone, so B's tick, before the gap,
    carried the same date as the gap. Here: B claims swap X's security, then the agent
    forces a unit of swap Y's open lock out of the HTLC; no replica has acted since, so no
    gauge is owed yet (and the real relayer keeps every invariant as it goes on)."""
    with machine("refused_claim_without_back_off", QUICK, {"sec": 2, "cash": 2}) as m:
        m.submit_order(TradeSpec(5, 100, 600, False))  # swap X
        _check(m)
        m.relay(2)  # X: both locks out
        _check(m)
        m.submit_order(TradeSpec(7, 100, 600, False))  # swap Y
        _check(m)
        m.tick()  # X reveals on the cash chain; Y's security lock goes out
        _check(m)
        m.lease_expires()
        m.replica_tick()  # B takes the swaps over and claims X's security
        _check(m)
        x = m.svc.store.get(m.swaps[0].swap_id).leg_state(Role.INITIATOR).phase
        assert x in (LegPhase.CLAIM_SENT, LegPhase.CLAIMED)  # B claimed X's security
        m.agent_force_out(1)  # out of Y's open lock: a gap, after B's tick
        assert m._escrow_gaps()
        _check(m)
        m.relay(2)
        _check(m)


def test_a_refusal_is_dated_when_its_claim_began_not_when_the_tick_ended() -> None:
    """The thorough agreement run (PostgreSQL, after the batched sends) failed with "relayer-b
    sent the initiator leg's claim again 0 s after the chain refused it": the chains'
    clocks moved inside that replica's tick after its claim was refused (its takeover, a
    lost submission), the suite dated the refusal by the retry clock at the tick's end, and
    the next tick's refusal, rightly after the back-off, carried the same date. The
    relayer's own back-off was kept (its refusals were 10 s apart on its retry clock). A
    refusal is now dated by the clock when its claim began. Here: the buyer frozen, the
    relayer's claim of the security is refused; the chains move 20 s before that tick
    ends; the next tick, past the back-off, is refused again: no violation."""
    with machine("refused_claim_without_back_off", QUICK, {"sec": 2, "cash": 2}) as m:
        m.submit_order(TradeSpec(5, 100, 600, False))
        _check(m)
        m.relay(3)  # both locks, the reveal
        _check(m)
        m.agent_freeze(True)  # the buyer's claim of the security is refused from now on
        _check(m)
        service = m.svc
        tick = service.tick

        def tick_then_the_chains_move() -> list[str]:
            ids = tick()
            service.tick = tick  # type: ignore[method-assign]  (once)
            m._mine_on("sec", 4, 5)
            m._mine_on("cash", 4, 5)
            return ids

        service.tick = tick_then_the_chains_move  # type: ignore[method-assign]
        m.tick()
        _check(m)
        m.tick()
        _check(m)
        assert len(m.refusals) == 2
        assert m.refusals[1].at - m.refusals[0].at >= 20


def test_a_dropped_lock_refused_on_its_rerun_leaves_no_nonce_gap() -> None:
    """The 30-minute run on 459e07d (seed 1103, 435 s) failed with "still open after every
    deadline (initiator lock_sent, participant none)": one tick sent two security locks of
    one seller; the first never reached the node, the second did, behind the missing nonce.
    The relayer found the first dropped and ran its effect again, but by then the lock was
    refused before signing (its deadline behind the chain's clock), so nothing took the
    missing nonce and the second lock (with every later transaction of that key) waited
    behind the gap for ever. A dropped transaction's kept bytes are sent again (they take
    their nonce, even if they revert), and both swaps end."""
    timing = Scenario(
        ChainSetup(
            timing=ChainTiming(
                deadline_unit="timestamp",
                block_time_min_ms=6000,
                block_time_max_ms=9000,
                finality_depth=3,
                timestamp_drift_s=6,
            ),
            confirmations=3,
        ),
        ChainSetup(
            timing=ChainTiming(
                deadline_unit="timestamp",
                block_time_min_ms=12000,
                block_time_max_ms=14000,
                timestamp_drift_s=8,
            ),
            confirmations=0,
        ),
        RelayerBudget(reaction_s=16, compliance_recheck_s=0, margin_s=26, poll_s=8),
    )
    with machine("refused_claim_without_back_off", timing, {"sec": 6, "cash": 12}) as m:
        m.submit_order(TradeSpec(403, 737, 197, True))
        _check(m)
        m.drop_submissions("answer_lost", 1)
        m.submit_order(TradeSpec(98, 241, 258, False))
        _check(m)
        m.drop_submissions("never_sent", 1)
        m.drain()  # the end of an example, as teardown runs it
        m.every_swap_reaches_a_final_state()
        assert m.dropped == 2


def test_a_dropped_approval_sent_with_its_lock_is_sent_again() -> None:
    """The 30-minute run on b8101a4 (seed 1302, 600 s) failed with "still open after every
    deadline (initiator lock_sent, participant none)", and so did the code before this
    session (fa83883). Once the first swap has settled, the relayer keeps the approval's and
    the lock's gas limits, so the second swap's approval and lock go out in one tick's batch
    (nonces n and n+1 of the seller). The approval never reached the node; the lock did and
    waited behind the missing nonce for ever. The relayer asked the node about the lock
    only ("pending", every tick): nobody asked about the approval, which is no effect of
    its own. A transaction pending for a while now has the swap's other kept transactions
    asked about too, and one the node never got is sent again as it was (the same bytes:
    the same nonce), so the lock behind it is mined and the swap ends."""
    scenario = Scenario(
        ChainSetup(
            timing=ChainTiming(
                deadline_unit="timestamp", block_time_min_ms=4000, block_time_max_ms=7000
            ),
            confirmations=0,
        ),
        ChainSetup(
            timing=ChainTiming(
                deadline_unit="timestamp", block_time_min_ms=4000, block_time_max_ms=5000
            ),
            confirmations=0,
        ),
        RelayerBudget(reaction_s=0, compliance_recheck_s=10, margin_s=0, poll_s=3),
    )
    with machine("refused_claim_without_back_off", scenario, {"sec": 4, "cash": 4}) as m:
        m.submit_order(TradeSpec(18, 368, 228, False))
        _check(m)
        m.pass_time(relayer_runs=True, seconds=240, slow=True)
        _check(m)
        m.pass_time(relayer_runs=True, seconds=240, slow=True)
        _check(m)
        first = m.svc.store.get(m.swaps[0].swap_id)
        assert first.initiator.phase is LegPhase.CLAIMED  # settled: the limits are kept
        m.submit_order(TradeSpec(82, 45578715, 547, False))
        _check(m)
        m.drop_submissions("never_sent", 1)  # the next tick's first send: the approval
        m.drain()  # the end of an example, as teardown runs it
        m.every_swap_reaches_a_final_state()
        assert m.dropped == 1
        (lost,) = m.lost
        sec = m.world.client("sec")
        assert sec.outcomes([lost])[lost].status != "dropped"  # sent again: its nonce taken
        second = m.svc.store.get(m.swaps[1].swap_id)
        assert second.initiator.phase is not LegPhase.LOCK_SENT
