"""Mutation tests: the interop suite must catch each safety bug of issue 13 re-introduced.

Each test drives the suite's state machine (:mod:`relayer.interop.machine`, the real relayer
on two anvil chains, or with the cash leg on the embedded Algorand ledger:
:mod:`relayer.interop.algorand`) through the program that is the minimal counterexample for
one mutation (:mod:`relayer.interop.mutations`), once on the real code (every invariant
holds) and once with the mutation applied in memory (an invariant fails). The programs are
what the targeted searches of ``relayer.interop.mutations.TARGETS`` found or their directed
equivalent, kept as plain regression tests: fixed scenarios, no randomness but the swap
secrets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from bridge.htlc import ChainTiming, RelayerBudget
from relayer.interop.algorand import AlgorandCashMachine
from relayer.interop.machine import InteropMachine, InvariantViolation, machine_class, world_for
from relayer.interop.mutations import MUTATIONS, TARGETS
from relayer.interop.strategies import ChainSetup, Scenario, TradeSpec

pytestmark = pytest.mark.anvil


def _chain(block_s: tuple[int, int], confirmations: int, unit: str = "timestamp") -> ChainSetup:
    timing = ChainTiming(
        deadline_unit=unit,  # type: ignore[arg-type]
        block_time_min_ms=block_s[0] * 1000,
        block_time_max_ms=block_s[1] * 1000,
        finality_depth=confirmations,
    )
    return ChainSetup(timing=timing, confirmations=confirmations)


BUDGET = RelayerBudget(reaction_s=2, compliance_recheck_s=2, margin_s=5, poll_s=0)


def _check(m: InteropMachine) -> None:
    """What hypothesis does after every step: sync the chains' clocks, run the invariants."""
    m._sync()
    m.honest_parties_keep_an_asset()
    m.no_lock_claimed_and_refunded()
    m.escrow_holds_its_open_locks()
    m.secret_stays_private_until_revealed()
    m.only_the_legs_own_lock_is_recorded()
    m.a_replica_that_lost_its_lease_writes_nothing()
    m.supply_is_conserved()


@contextlib.contextmanager
def machine(name: str, scenario: Scenario, intervals: dict[str, int]) -> Iterator[InteropMachine]:
    """The machine of mutation ``name``'s target (its chains and actors) on ``scenario``."""
    world_for("anvil")
    m = machine_class(TARGETS[name])()
    m.scenario = scenario
    m.block_interval = intervals
    m.begin()
    try:
        yield m
    finally:
        m.restore_logging()  # a caught mutation ends before teardown
        if m.service is not None:
            m.service.store.close()


def _play(m: InteropMachine, program: list[Callable[[InteropMachine], object]]) -> None:
    _check(m)
    for step in program:
        step(m)
        _check(m)
    m.teardown()


def _reveal_late(m: InteropMachine) -> None:
    swap = m.swaps[0]
    m.approach_to(swap, "participant", 1)


def _reveal_at_reveal_by(m: InteropMachine) -> None:
    m.approach_to(m.swaps[0], "reveal_by", 0)


def _decoy(m: InteropMachine) -> None:
    swap = m.swaps[0]
    m._lock_as(swap.buyer, swap, m.world.decoy_token)


def _front_run(m: InteropMachine) -> None:
    """A third party claims every open lock under a hashlock whose secret is public."""
    for swap in m.swaps:
        if swap.hashlock in m.public:
            for chain in ("sec", "cash"):
                htlc = m.world.htlc(chain)
                for lock in htlc.find(swap.hashlock):
                    if lock.state == "open":
                        htlc.claim(lock.lock_id, swap.secret, m.world.third)


def _claim_security_with_public_secret(m: InteropMachine) -> None:
    """A third party claims the open security locks (for their receiver, the buyer) under a
    hashlock whose secret is public; the cash locks are left to the relayer."""
    for swap in m.swaps:
        if swap.hashlock in m.public:
            htlc = m.world.htlc("sec")
            for lock in htlc.find(swap.hashlock):
                if lock.state == "open":
                    htlc.claim(lock.lock_id, swap.secret, m.world.third)


def _look_alike(m: InteropMachine) -> None:
    """A third party locks the agreed coin with the cash leg's terms from its own account."""
    m._lock_as(m.world.third, m.swaps[0], m.world.cash_token)


def _submit(external: bool, extra_window_s: int = 0) -> Callable[[InteropMachine], object]:
    return lambda m: m.submit_order(TradeSpec(5, 100, extra_window_s, external))


def _tick(m: InteropMachine) -> None:
    m.tick()


def _reorg_to_second_mark(m: InteropMachine) -> None:
    """The cash chain reorganises back to the mark taken before the relayer's second tick
    (removing its participant lock and what followed: fewer blocks than the depth)."""
    m.reorg_to("cash", 1)


def _freeze_buyer(m: InteropMachine) -> None:
    m.agent_freeze(True)


def _force_out(m: InteropMachine) -> None:
    m.agent_force_out(3)


def _tick_past_the_security_deadline(m: InteropMachine) -> None:
    """The relayer keeps running within its budget (a tick at least every ``allowance``
    seconds) until the security's deadline has passed."""
    while m._now("sec") <= m.swaps[0].terms.initiator_deadline:
        m._advance(max(m._allowance(), 1))
        _check(m)
        m.tick()
        _check(m)


def _bug_in_first_swap(m: InteropMachine) -> None:
    m.swaps[0].outside.append("a bug in the relayer hit this swap")
    m.bugs.add(m.swaps[0].swap_id)


def _takeover_in_next_lock(m: InteropMachine) -> None:
    m.takeover_mid_effect()


def _algo(m: InteropMachine) -> AlgorandCashMachine:
    assert isinstance(m, AlgorandCashMachine)
    return m


def _decoy_escrow(kind: str) -> Callable[[InteropMachine], object]:
    """The buyer funds a decoy of the cash leg's escrow (another template, or our plain-ASA
    template with another fee cap): the leg's hashlock, receiver, amount, deadline, asset."""
    return lambda m: _algo(m).fund_decoy_escrow(m.swaps[0], kind)


def _claw_back_a_third(m: InteropMachine) -> None:
    assert _algo(m).claw_back(m.swaps[0], "some") > 0


def _outlive_the_look_back(m: InteropMachine) -> None:
    """The cash chain runs 50 rounds more than the daemon's look-back, the relayer ticking
    along; then it restarts on the same store."""
    _algo(m).outlive_the_look_back(50)


@dataclass(frozen=True)
class Case:
    """One mutation's directed program: the chains, their block intervals, the steps."""

    mutation: str
    scenario: Scenario
    intervals: dict[str, int]
    program: list[Callable[[InteropMachine], object]]


QUICK = Scenario(_chain((2, 3), 0), _chain((2, 3), 0), BUDGET)
ALGO = Scenario(_chain((2, 3), 0), _chain((1, 2), 0, "round"), BUDGET)
"""The security on anvil, the cash on the embedded Algorand ledger (1-2 s rounds)."""
SLOW_EVM_FAST_ROUNDS = Scenario(_chain((12, 15), 0), _chain((1, 1), 0, "round"), BUDGET)
"""12-15 s EVM blocks, 1 s rounds: 1,050 rounds are about 80 EVM blocks."""

CASES: dict[str, Case] = {
    # the reveal sent one second before the cash deadline is mined after it, reverts, and
    # leaves the secret public: the buyer takes the security and gets its cash back (a third
    # party claims with the public secret: a relayer that learns of the failed reveal from
    # its receipt refunds the security itself, so the leak shows only when someone uses it)
    "reveal_without_margin": Case(
        "reveal_without_margin",
        QUICK,
        {"sec": 2, "cash": 3},
        [
            _submit(False),
            _tick,
            _tick,
            _reveal_late,
            _tick,
            _claim_security_with_public_secret,
            _tick,
        ],
    ),
    # the reveal, mined just before the cash deadline, is 9 blocks of 15 s deep before the
    # relayer acts on it: by then the security's deadline has passed and it is refunded
    "claim_window_without_confirmations": Case(
        "claim_window_without_confirmations",
        Scenario(_chain((2, 3), 0), _chain((12, 15), 9), BUDGET),
        {"sec": 2, "cash": 15},
        [_submit(False), _tick, _tick, _reveal_at_reveal_by, _tick],
    ),
    # a third party who saw the hashlock locks the agreed coin with the cash leg's receiver,
    # amount and deadline before the relayer locks the buyer's: the mutated matcher takes it
    # for the leg, never locks the buyer's cash, reveals against the look-alike and lets the
    # buyer claim the security: the leg's own lock (recomputed from the terms) never exists
    "matcher_ignores_sender": Case(
        "matcher_ignores_sender",
        QUICK,
        {"sec": 2, "cash": 3},
        [_submit(False, 60), _tick, _look_alike, _tick, _tick, _tick],
    ),
    # the relayer reveals against its participant lock as soon as it is mined; a reorg of
    # fewer blocks than the cash chain's depth (4) removes the lock and the reveal, the secret
    # is public, and a third party claims the seller's security with it for the buyer
    "claim_before_lock_confirmed": Case(
        "claim_before_lock_confirmed",
        Scenario(_chain((2, 3), 0), _chain((2, 3), 4), BUDGET),
        {"sec": 2, "cash": 3},
        [_submit(False, 60), _tick, _tick, _tick, _reorg_to_second_mark, _front_run, _tick],
    ),
    # the T-REX agent freezes the buyer after both locks: without the token's own dry run
    # the re-check passes, the secret is revealed, the buyer's claim of the security is
    # refused until its deadline passes: the buyer has paid and cannot get the security
    "no_token_recheck": Case(
        "no_token_recheck",
        QUICK,
        {"sec": 2, "cash": 3},
        [_submit(False), _tick, _tick, _freeze_buyer, _tick, _tick_past_the_security_deadline],
    ),
    # two swaps lock 5 units each in the pooled HTLC; the agent forces 3 out: the first
    # claim takes 5 of the remaining 7 and leaves the second lock short, with no gauge
    "shortfall_unchecked": Case(
        "shortfall_unchecked",
        QUICK,
        {"sec": 2, "cash": 3},
        [_submit(False, 60), _submit(False, 60), _tick, _tick, _force_out, _tick, _tick, _tick],
    ),
    # a bug raises while the relayer observes the first of two swaps: without the per-swap
    # try the tick raises (the daemon's loop would stop, the second swap with it)
    "no_swap_isolation": Case(
        "no_swap_isolation",
        QUICK,
        {"sec": 2, "cash": 3},
        [_submit(False, 60), _submit(False, 60), _tick, _bug_in_first_swap, _tick, _tick],
    ),
    # replica A's lease runs out inside its security lock; replica B takes the swap over and
    # locks; A goes on, its duplicate lock is refused: without fencing A records a lock
    # failure, the swap is aborted and the seller's units stay locked in the HTLC
    "lease_without_fencing": Case(
        "lease_without_fencing",
        QUICK,
        {"sec": 2, "cash": 3},
        [_submit(False, 60), _takeover_in_next_lock, _tick, _tick, _tick, _tick],
    ),
    # the same takeover with only the fencing token reverted: the second defence keeps the
    # swap (A's refused lock is no failure), but A, whose lease moved on, still writes the
    # swap (it marks the lock effect done after B took it over)
    "fencing_only": Case(
        "fencing_only",
        QUICK,
        {"sec": 2, "cash": 3},
        [_submit(False, 60), _takeover_in_next_lock, _tick, _tick, _tick, _tick],
    ),
    # issue 13 item 1 on Algorand: the buyer funds an escrow of our *regulated* template
    # (its own app, itself as creator) with the cash leg's terms before the relayer locks;
    # matched on hashlock, receiver, amount, deadline and asset id, it is taken for the leg
    # (the real lock is never made; its claim cannot land, the swap never ends)
    "matcher_ignores_escrow": Case(
        "matcher_ignores_escrow",
        ALGO,
        {"sec": 2, "cash": 2},
        [_submit(False, 60), _decoy_escrow("regulated_template"), _tick, _tick, _tick, _tick],
    ),
    # the same with our plain-ASA template and another fee cap: recorded as the leg's lock
    "matcher_ignores_escrow[fee_cap]": Case(
        "matcher_ignores_escrow",
        ALGO,
        {"sec": 2, "cash": 2},
        [_submit(False, 60), _decoy_escrow("fee_cap"), _tick, _tick, _tick, _tick],
    ),
    # issue 13 item 8: both locks, the agent freezes the buyer (the re-check refuses the
    # reveal), the issuer claws a third of the cash escrow back: what is left must be
    # refunded at the deadline; the mutated relayer takes the escrow for settled
    "refund_skips_clawed_back": Case(
        "refund_skips_clawed_back",
        ALGO,
        {"sec": 2, "cash": 2},
        [_submit(False, 60), _tick, _tick, _freeze_buyer, _tick, _claw_back_a_third, _tick],
    ),
    # issue 13 item 6: both locks, the reveal refused (buyer frozen), then the cash chain
    # outlives the daemon's look-back and the relayer restarts: its new HTLC port must scan
    # from the store's lock rounds, or the buyer's escrow is never found and refunded
    "restart_forgets_old_locks": Case(
        "restart_forgets_old_locks",
        SLOW_EVM_FAST_ROUNDS,
        {"sec": 12, "cash": 1},
        [_submit(False, 1500), _tick, _tick, _freeze_buyer, _tick, _outlive_the_look_back, _tick],
    ),
}
"""Each mutation's minimal program (kept as a plain regression test)."""


CONTROLS_IN_MAKE_TEST = {"reveal_without_margin", "claim_window_without_confirmations"}
"""The controls ``make test`` runs; the others (a full drain each, ~10 s) run in
``make test-thorough`` (``@pytest.mark.thorough``)."""

MUTANTS_ONLY_THOROUGH = {"matcher_ignores_escrow[fee_cap]"}
"""Mutated programs ``make test`` leaves to ``make test-thorough`` (a second decoy of the same
fix; the first one stays in ``make test``)."""


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=() if n in CONTROLS_IN_MAKE_TEST else pytest.mark.thorough)
        for n in sorted(CASES)
    ],
)
def test_the_real_relayer_passes_the_program(name: str) -> None:
    """Every invariant of the suite holds on the real code for each mutation's program
    (so the counterexample below is the mutation's, not the program's)."""
    case = CASES[name]
    with machine(case.mutation, case.scenario, case.intervals) as m:
        _play(m, case.program)
        assert m.ticks >= 3


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.thorough if n in MUTANTS_ONLY_THOROUGH else ())
        for n in sorted(CASES)
    ],
)
def test_the_suite_catches_the_mutation(name: str) -> None:
    """With the mutation applied, an invariant of the suite fails on the same program."""
    case = CASES[name]
    with (
        MUTATIONS[case.mutation](),
        machine(case.mutation, case.scenario, case.intervals) as m,
        pytest.raises(InvariantViolation) as found,
    ):
        _play(m, case.program)
    print(f"{name}: {found.value}")


SEARCHES = {
    "matcher_ignores_escrow": 0,
    "restart_forgets_old_locks": 1,
    "refund_skips_clawed_back": 0,
    "fencing_only": 0,
}
"""The batch seed at which the targeted random search found each newer mutation's
counterexample (the evidence table of ``specs/protocol/protocol.md``)."""


@pytest.mark.thorough
@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_the_random_search_finds_the_mutation(name: str) -> None:
    """With the mutation applied, one batch of the mutation's targeted random search (the
    ``thorough`` profile, no shrinking: what ``stbridge interop-test --mutation NAME
    --profile thorough --no-shrink --seed S`` runs first) reports a violated invariant."""
    from relayer.interop.report import run

    report = run(
        profile="thorough",
        seed_value=SEARCHES[name],
        minutes=0.01,  # one batch: the budget is checked between batches
        mutation=name,
        shrink=False,
    )
    assert report.batches == 1
    assert not report.passed, f"{name}: {report.examples} examples, no counterexample"
    print(f"{name}: {report.failures[0]['message']} ({report.elapsed_s:.0f} s)")
