"""The swap protocol's Promela model: its constants, generated from the timelock calculator.

``specs/protocol/swap.pml`` models one two-leg HTLC swap (both chains, the relayer, a
hostile counterparty, a crash and restart) for the model checker ``spin``. Its numbers are
not written by hand: this module runs the real calculator (:func:`bridge.htlc.plan_deadlines`
over :class:`~bridge.htlc.ChainTiming` and :class:`~bridge.htlc.RelayerBudget`) on small
chain profiles and writes the deadlines, confirmation depths, inclusion delays, block
times, reaction budget and poll interval as a header of ``#define`` lines, so the model
cannot drift from the code: ``--check`` fails when the checked-in headers differ from what
the calculator produces now.

For each profile (:data:`PROFILES`: the security on timestamps and the cash on rounds, and
the other way round) one header is written per variant of the rules::

    real               the calculator's plan and the engine's reveal_by, as the code makes them
    no_margin          the participant's deadline planned at the initiator's (no window)
    no_confirmations   a plan made as if neither chain had a confirmation depth
    late_reveal        the real plan, but the reveal may be sent until the deadline's last
                       block (terms without ``participant_reveal_by``)

``spin`` must verify the first, find a counterexample in each of the others, and reach
each probe of the model (``python -m bridge.protocol_model verify``; ``make model``).

The model counts time in whole seconds: every block time of the profile is a multiple of
1000 ms. The profile is small (block times of a few seconds, confirmation depths of a
few blocks) so that the model checker can explore every schedule; the rules it checks are
the calculator's, whatever the numbers.

:func:`required_claim_window_s` writes the claim-window rule down independently of the
calculator (every wait the relayer adds between a reveal and its claim: the cash chain's
confirmations, the poll interval, reaction and re-check, the claim's inclusion);
:func:`uncounted_wait_s` is what :func:`bridge.htlc.claim_needed_s` lacks of it (0 since
the calculator counts every wait; a positive value is added to the plan's margin and
fails the tests).

Generation is pure; :func:`main` alone touches files and runs ``spin`` and ``gcc``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from bridge.errors import InvalidInput
from bridge.htlc import (
    ChainHead,
    ChainTiming,
    DeadlinePlan,
    RelayerBudget,
    _bounds_not_after,
    claim_needed_s,
    minimum_settlement_window,
    plan_deadlines,
    reveal_margin,
)

__all__ = [
    "DEFAULT_PROFILE",
    "EVM_CASH_PROFILE",
    "MODEL_PATH",
    "MODEL_PROFILE",
    "PROBES",
    "PROFILES",
    "SPECS_DIR",
    "ModelConstants",
    "ModelProfile",
    "Variant",
    "Verdict",
    "check",
    "expected_verified",
    "header_path",
    "main",
    "model_constants",
    "probe",
    "render_header",
    "required_claim_window_s",
    "uncounted_wait_s",
    "verify",
    "verify_constants",
    "write",
]

SPECS_DIR: Final = Path(__file__).resolve().parent.parent / "specs" / "protocol"
"""Where the model and its generated headers live (this checkout's ``specs/protocol``)."""

MODEL_PATH: Final = SPECS_DIR / "swap.pml"
"""The Promela model; it expects a header's ``#define`` lines before it."""

MODEL_NOW_S: Final = 10
"""The instant the swap is planned at, in model seconds (> every drift, so times stay >= 0)."""


class Variant(StrEnum):
    """Which rules a header encodes (the timelock calculator's, the reveal guard)."""

    REAL = "real"
    NO_MARGIN = "no_margin"
    NO_CONFIRMATIONS = "no_confirmations"
    LATE_REVEAL = "late_reveal"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelProfile:
    """The chains and the budget the model is instantiated with.

    ``security`` is the initiator's chain (the seller locks the security there first, with
    the later deadline); ``cash`` the participant's. ``finality_depth`` is the relayer's
    confirmation depth on that chain (the daemon sets one from the other); the budget's
    ``poll_s`` is the relayer's poll interval.
    """

    security: ChainTiming
    cash: ChainTiming
    budget: RelayerBudget


MODEL_PROFILE: Final = ModelProfile(
    # an EVM-like chain: deadlines are block timestamps, which may be 1 s off real time;
    # a sent transaction may wait a block before it is included
    security=ChainTiming(
        deadline_unit="timestamp",
        block_time_min_ms=1000,
        block_time_max_ms=2000,
        finality_depth=1,
        inclusion_blocks=2,
        timestamp_drift_s=1,
    ),
    # an Algorand-like chain: deadlines are rounds, blocks every 3 s, and a confirmation
    # depth (3 blocks, 9 s) deeper than the calculator's margins
    cash=ChainTiming(
        deadline_unit="round",
        block_time_min_ms=3000,
        block_time_max_ms=3000,
        finality_depth=3,
        inclusion_blocks=1,
    ),
    budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1, poll_s=2),
)
"""The first profile (``evm_security``): the security on timestamps, the cash on rounds."""

EVM_CASH_PROFILE: Final = ModelProfile(
    # the other way round: the security on an Algorand-like chain (rounds every 3 s) ...
    security=ChainTiming(
        deadline_unit="round",
        block_time_min_ms=3000,
        block_time_max_ms=3000,
        finality_depth=1,
        inclusion_blocks=1,
    ),
    # ... the cash on an EVM-like chain, whose timestamps may be 1 s off real time: the
    # reveal's deadline is a timestamp
    cash=ChainTiming(
        deadline_unit="timestamp",
        block_time_min_ms=1000,
        block_time_max_ms=2000,
        finality_depth=2,
        inclusion_blocks=1,
        timestamp_drift_s=1,
    ),
    budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1, poll_s=2),
)
"""The second profile (``evm_cash``): the security on rounds, the cash on timestamps."""

PROFILES: Final = {"evm_security": MODEL_PROFILE, "evm_cash": EVM_CASH_PROFILE}
"""Every profile the model is generated for and checked with, by name."""

DEFAULT_PROFILE: Final = "evm_security"


@dataclass(frozen=True, slots=True)
class ModelConstants:
    """Every number the model reads, in model seconds or chain-native units."""

    variant: Variant
    now_s: int
    settlement_window_s: int
    security: ChainTiming
    cash: ChainTiming
    reaction_s: int
    poll_s: int
    security_deadline: int
    cash_deadline: int
    cash_lock_by: int
    claim_window_s: int
    claim_needed_s: int
    final_s: int
    cash_reveal_by: int

    def defines(self) -> list[tuple[str, int, str]]:
        """``(name, value, meaning)`` for each ``#define`` of the header, in order."""
        sec, cash = self.security, self.cash
        rows: list[tuple[str, int, str]] = [
            ("T0", self.now_s, "the instant the deadlines are planned at (model seconds)"),
            ("T_FINAL", self.final_s, "every swap must have ended by now (last deadline + waits)"),
            ("POLL", self.poll_s, "the relayer polls each chain this often (seconds)"),
            ("REACT", self.reaction_s, "from a poll to a sent transaction: reaction + re-check"),
        ]
        for prefix, chain in (("SEC", sec), ("CASH", cash)):
            rows += [
                (
                    f"{prefix}_ROUND",
                    int(chain.deadline_unit == "round"),
                    "1: deadlines are rounds; 0: block timestamps",
                ),
                (f"{prefix}_BMIN", chain.block_time_min_ms // 1000, "fastest block interval (s)"),
                (f"{prefix}_BMAX", chain.block_time_max_ms // 1000, "slowest block interval (s)"),
                (f"{prefix}_CONF", chain.finality_depth, "blocks on top before the relayer acts"),
                (
                    f"{prefix}_INCL",
                    chain.inclusion_blocks,
                    "a sent transaction is included within this many blocks",
                ),
                (f"{prefix}_DRIFT", chain.timestamp_drift_s, "block timestamp vs real time (s)"),
            ]
        rows += [
            ("D_SEC", self.security_deadline, "the security leg's deadline (security chain)"),
            ("D_CASH", self.cash_deadline, "the cash leg's deadline (cash chain)"),
            ("LOCK_BY", self.cash_lock_by, "the buyer locks only while the cash chain <= this"),
            ("CLAIM_WINDOW", self.claim_window_s, "planned: cash deadline (latest) to security's"),
            ("CLAIM_NEEDED", self.claim_needed_s, "what the variant's rule says is needed"),
            (
                "REVEAL_BY",
                self.cash_reveal_by,
                "the seller reveals only while the cash chain <= this (decided and sent)",
            ),
        ]
        return rows


def required_claim_window_s(profile: ModelProfile, *, confirmations: bool = True) -> int:
    """The claim window the relayer needs: every wait it adds between a reveal and its claim.

    After the reveal lands on the cash chain the relayer acts on it only once it is
    ``cash.finality_depth`` blocks deep (each up to ``block_time_max``), at its next poll,
    after its reaction and re-check; its claim of the security is then included and
    confirmed (``confirm_s`` of the security chain), and the margin comes on top.
    ``confirmations=False`` leaves the cash chain's confirmations out (the broken rule).
    """
    sec, cash, budget = profile.security, profile.cash, profile.budget
    wait = (
        budget.poll_s
        + budget.reaction_s
        + budget.compliance_recheck_s
        + sec.confirm_s()
        + budget.margin_s
    )
    if confirmations:
        wait += _ceil_div(cash.finality_depth * cash.block_time_max_ms, 1000)
    return wait


def uncounted_wait_s(profile: ModelProfile, *, confirmations: bool = True) -> int:
    """What :func:`bridge.htlc.claim_needed_s` lacks of :func:`required_claim_window_s`.

    0 while the calculator counts every wait of the rule (it does since issue 13, item 4).
    The generator passes a positive value to the calculator as extra margin, so the model
    still checks the rule, and the tests fail on it.
    """
    counted = claim_needed_s(profile.security, profile.budget, profile.cash)
    return max(0, required_claim_window_s(profile, confirmations=confirmations) - counted)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _validate(profile: ModelProfile) -> None:
    for name, chain in (("security", profile.security), ("cash", profile.cash)):
        chain.validate(name)
        for field in ("block_time_min_ms", "block_time_max_ms"):
            value = getattr(chain, field)
            if value % 1000:
                raise InvalidInput(
                    f"{name}.{field}", "must be a whole number of seconds in the model", value=value
                )
        if chain.timestamp_drift_s >= MODEL_NOW_S:
            raise InvalidInput(f"{name}.timestamp_drift_s", f"must be < {MODEL_NOW_S} in the model")
    profile.budget.validate()
    if profile.budget.poll_s < 1:
        raise InvalidInput(
            "budget.poll_s", "must be >= 1 in the model", value=profile.budget.poll_s
        )


def _with_margin(budget: RelayerBudget, extra_s: int) -> RelayerBudget:
    return dataclasses.replace(budget, margin_s=budget.margin_s + extra_s)


def _plan(sec: ChainTiming, cash: ChainTiming, budget: RelayerBudget, window: int) -> DeadlinePlan:
    head = ChainHead(height=0)
    return plan_deadlines(
        initiator_chain=sec,
        participant_chain=cash,
        budget=budget,
        settlement_window_s=window,
        now_s=MODEL_NOW_S,
        initiator_head=head,
        participant_head=head,
    )


def _settle_s(chain: ChainTiming, profile: ModelProfile) -> int:
    """From a deadline's latest instant until its refund is final and seen by the relayer."""
    block = chain.block_time_max_ms // 1000
    react = profile.budget.reaction_s + profile.budget.compliance_recheck_s
    return (
        block  # the first block at or past the deadline
        + profile.budget.poll_s
        + react
        + (chain.inclusion_blocks + chain.finality_depth) * block
        + profile.budget.poll_s
    )


def model_constants(profile: ModelProfile, variant: Variant) -> ModelConstants:
    """The model's numbers for ``variant``, from the calculator run on ``profile``.

    The settlement window is the shortest the calculator accepts for the real rule (the
    tightest plan); every variant uses that same window.
    """
    _validate(profile)
    sec, cash, budget = profile.security, profile.cash, profile.budget
    real_budget = _with_margin(budget, uncounted_wait_s(profile))
    window = minimum_settlement_window(
        initiator_chain=sec, participant_chain=cash, budget=real_budget
    )
    real = _plan(sec, cash, real_budget, window)
    initiator, participant, lock_by = real.initiator, real.participant, real.participant_lock_by
    needed, reveal_by = real.claim_needed_s, real.participant_reveal_by
    if variant is Variant.NO_CONFIRMATIONS:
        # planned as if no chain had a confirmation depth; the relayer still waits for them
        blind_sec = dataclasses.replace(sec, finality_depth=0)
        blind_cash = dataclasses.replace(cash, finality_depth=0)
        blind_budget = _with_margin(budget, uncounted_wait_s(profile, confirmations=False))
        blind = _plan(blind_sec, blind_cash, blind_budget, window)
        initiator, participant = blind.initiator, blind.participant
        lock_by, needed = blind.participant_lock_by, blind.claim_needed_s
        reveal_by = blind.participant_reveal_by
    elif variant is Variant.NO_MARGIN:
        # the participant's deadline as late as the initiator's: no claim window at all
        participant = _bounds_not_after(
            cash, ChainHead(height=0), MODEL_NOW_S, initiator.earliest_s
        )
        needed, reveal_by = 0, participant.native - reveal_margin(cash)
    elif variant is Variant.LATE_REVEAL:
        # terms without participant_reveal_by: SwapTerms.reveal_by is the deadline's last block
        reveal_by = participant.native - 1
    final = max(
        initiator.latest_s + _settle_s(sec, profile),
        participant.latest_s + _settle_s(cash, profile),
    )
    return ModelConstants(
        variant=variant,
        now_s=MODEL_NOW_S,
        settlement_window_s=window,
        security=sec,
        cash=cash,
        reaction_s=budget.reaction_s + budget.compliance_recheck_s,
        poll_s=budget.poll_s,
        security_deadline=initiator.native,
        cash_deadline=participant.native,
        cash_lock_by=min(lock_by, participant.native - 1),
        claim_window_s=initiator.earliest_s - participant.latest_s,
        claim_needed_s=needed,
        final_s=final,
        cash_reveal_by=reveal_by,
    )


def render_header(constants: ModelConstants) -> str:
    """The Promela header (``#define`` lines) for ``constants``."""
    lines = [
        f"/* Generated by `python -m bridge.protocol_model` (variant: {constants.variant}).",
        " * Do not edit: change bridge/htlc.py or the profile in bridge/protocol_model.py,",
        " * regenerate, and check the model again (`make model`).",
        f" * Settlement window {constants.settlement_window_s} s;"
        " the claim window of this variant's rule:"
        f" {constants.claim_needed_s} s.",
        " */",
    ]
    width = max(len(name) for name, _, _ in constants.defines())
    for name, value, meaning in constants.defines():
        lines.append(f"#define {name.ljust(width)} {value:>4}  /* {meaning} */")
    return "\n".join(lines) + "\n"


def header_path(
    variant: Variant, directory: Path = SPECS_DIR, profile: str = DEFAULT_PROFILE
) -> Path:
    """Where ``profile``'s header for ``variant`` is checked in."""
    return directory / f"params_{profile}_{variant.value}.pml"


def _profile(name: str) -> ModelProfile:
    if name not in PROFILES:
        raise InvalidInput("profile", f"must be one of {', '.join(PROFILES)}", value=name)
    return PROFILES[name]


def write(directory: Path = SPECS_DIR) -> list[Path]:
    """(Re)write every profile's header for every variant into ``directory``."""
    written = []
    for name, profile in PROFILES.items():
        for variant in Variant:
            path = header_path(variant, directory, name)
            path.write_text(render_header(model_constants(profile, variant)), encoding="utf-8")
            written.append(path)
    return written


def check(directory: Path = SPECS_DIR) -> list[str]:
    """Headers in ``directory`` that are missing or differ from what the calculator gives now."""
    drift = []
    generated = set()
    for name, profile in PROFILES.items():
        for variant in Variant:
            path = header_path(variant, directory, name)
            generated.add(path.name)
            expected = render_header(model_constants(profile, variant))
            if not path.is_file() or path.read_text(encoding="utf-8") != expected:
                drift.append(path.name)
    drift += sorted(
        f"{p.name} (not generated)"
        for p in directory.glob("params_*.pml")
        if p.name not in generated
    )
    return drift


# ---------------------------------------------------------------- running spin


def expected_verified(variant: Variant) -> bool:
    """Whether ``variant`` must verify (True) or produce a counterexample (False)."""
    return variant is Variant.REAL


PROBES: Final = (
    "completed_after_crash",
    "reveal_in_last_round",
    "front_run_claim",
    "reveal_abandoned",
)
"""The model's reachability probes (its ``ltl`` blocks): situations spin must find."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``spin`` found for one variant (or one probe of the real variant).

    ``violated`` names the invariant of the first counterexample (the tag after the
    assertion in ``swap.pml``); ``story`` is the counterexample replayed, one event a line.
    """

    name: str
    errors: int
    violated: str | None
    states: int
    depth: int
    seconds: float
    story: tuple[str, ...]

    @property
    def verified(self) -> bool:
        """Whether the search was exhaustive and found nothing."""
        return self.errors == 0


def _run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    out = done.stdout + done.stderr
    if done.returncode != 0 or re.search(r"\berror\b", done.stderr, re.IGNORECASE):
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{out}")
    return out


def _search(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text)
    return found.group(1) if found else None


def _require_tools() -> None:
    for tool in ("spin", "gcc"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (Debian: apt-get install -y {tool})")


def _compile(work: Path, model: Path, *, claims: bool) -> None:
    """``spin -a`` and ``gcc`` the verifier for ``model`` in ``work`` (claims: the probes)."""
    _run(["spin", "-a", model.name], work)
    flags = ["-DSAFETY", "-DNOREDUCE", "-DMEMLIM=2048"] + ([] if claims else ["-DNOCLAIM"])
    # -O0: the search is short; optimising pan.c would cost more than it saves
    _run(["gcc", "-O0", *flags, "-o", "pan", "pan.c"], work)


def _search_model(work: Path, model: Path, *, claim: str | None, started: float) -> Verdict:
    """Run the compiled verifier (with the never claim ``claim``) and read its verdict."""
    out = _run(["./pan", "-m50000", *(["-N", claim] if claim else [])], work)
    errors = int(_search(r"errors: (\d+)", out) or "-1")
    if errors < 0:
        raise RuntimeError(f"pan printed no verdict:\n{out}")
    if "max search depth too small" in out:
        raise RuntimeError(f"the search was cut short (raise -m):\n{out}")
    violated, story = None, ()
    if errors and claim:
        violated = claim  # a probe's witness: spin 6.5 replays only the first claim's trail
    elif errors:
        replay = _run(["spin", "-t", model.name], work)
        line = _search(rf"{re.escape(model.name)}:(\d+), Error: assertion violated", replay)
        if line is not None:
            text = model.read_text(encoding="utf-8").splitlines()[int(line) - 1]
            violated = _search(r"/\* invariant: (\w+) \*/", text)
        story = tuple(m.strip() for m in re.findall(r"^\s*(t=\d+ .*)$", replay, re.MULTILINE))
    return Verdict(
        name=claim or model.stem.removeprefix("swap_"),
        errors=errors,
        violated=violated,
        states=int(_search(r"(\d+) states, stored", out) or "0"),
        depth=int(_search(r"depth reached (\d+)", out) or "0"),
        seconds=round(time.monotonic() - started, 2),
        story=story,
    )


def _model_text(variant: Variant, profile: str) -> str:
    header = header_path(variant, profile=profile).read_text(encoding="utf-8")
    return header + MODEL_PATH.read_text(encoding="utf-8")


def verify(variant: Variant, profile: str = DEFAULT_PROFILE) -> Verdict:
    """Check ``variant``'s invariants for ``profile`` exhaustively (spin, gcc, pan).

    Uses the checked-in header (see :func:`check`). A counterexample is replayed
    (``spin -t``) and returned as the verdict's story.
    """
    _profile(profile)
    return _verify_text(_model_text(variant, profile), f"{profile}/{variant.value}")


def verify_constants(constants: ModelConstants, name: str) -> Verdict:
    """Check the model with ``constants`` (not a checked-in header): for what-if questions,
    such as whether a changed margin would verify."""
    header = render_header(constants)
    return _verify_text(header + MODEL_PATH.read_text(encoding="utf-8"), name)


def _verify_text(text: str, name: str) -> Verdict:
    _require_tools()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stbridge-model-") as tmp:
        work = Path(tmp)
        model = work / "swap.pml"
        model.write_text(text, encoding="utf-8")
        _compile(work, model, claims=False)
        verdict = _search_model(work, model, claim=None, started=started)
        return dataclasses.replace(verdict, name=name)


def probe(names: tuple[str, ...] = PROBES) -> list[Verdict]:
    """Search the real variant (first profile) for each situation a probe says never happens.

    A counterexample (``errors > 0``) means the situation is reachable: the model really
    explores it, so the invariants' verification is not vacuous there.
    """
    for name in names:
        if name not in PROBES:
            raise InvalidInput("probe", f"must be one of {', '.join(PROBES)}", value=name)
    _require_tools()
    with tempfile.TemporaryDirectory(prefix="stbridge-model-") as tmp:
        work = Path(tmp)
        model = work / "swap_real.pml"
        model.write_text(_model_text(Variant.REAL, DEFAULT_PROFILE), encoding="utf-8")
        started = time.monotonic()
        _compile(work, model, claims=True)
        verdicts = []
        for name in names:
            verdicts.append(_search_model(work, model, claim=name, started=started))
            started = time.monotonic()
        return verdicts


def _report(verdict: Verdict, expected: bool, *, story: bool) -> tuple[bool, str]:
    ok = verdict.verified is expected
    found = "verified" if verdict.verified else f"counterexample: {verdict.violated}"
    want = "verify" if expected else "a counterexample"
    line = (
        f"{verdict.name:<30} {found} ({verdict.states} states, depth {verdict.depth}, "
        f"{verdict.seconds} s; expected {want}) {'ok' if ok else 'UNEXPECTED'}\n"
    )
    if story and verdict.story:
        line += "".join(f"    {step}\n" for step in verdict.story)
    return ok, line


def main(argv: list[str] | None = None) -> int:
    """Command line entry: write the headers, ``--check`` them for drift, or ``verify``."""
    parser = argparse.ArgumentParser(
        prog="python -m bridge.protocol_model",
        description=(
            "Generate the swap model's constants from the timelock calculator "
            "(specs/protocol/params_*.pml), check them for drift, or verify the model "
            "with spin (the real rule must verify, each broken rule must fail, each "
            "probe must be reachable)."
        ),
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=("write", "verify"),
        default="write",
        help="write: (re)generate the headers (default); verify: run spin",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a header drifted")
    parser.add_argument(
        "--variant",
        action="append",
        choices=[v.value for v in Variant],
        help="verify only this variant (repeatable; default: every variant and probe)",
    )
    parser.add_argument(
        "--profile",
        action="append",
        choices=list(PROFILES),
        help="verify only this profile (repeatable; default: every profile)",
    )
    parser.add_argument("--story", action="store_true", help="print each counterexample")
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    args = parser.parse_args(argv)
    if args.check or args.command == "verify":
        drift = check()
        if drift:
            sys.stderr.write(
                "model constants drifted from bridge/htlc.py: "
                + ", ".join(drift)
                + " (regenerate: python -m bridge.protocol_model)\n"
            )
            return 1
        if args.check:
            count = len(Variant) * len(PROFILES)
            sys.stdout.write(f"{count} model headers match the timelock calculator\n")
            return 0
    if args.command == "write":
        written = write()
        sys.stdout.write(f"wrote {len(written)} headers to {SPECS_DIR}\n")
        return 0
    variants = [Variant(v) for v in args.variant] if args.variant else list(Variant)
    profiles = args.profile or list(PROFILES)
    runs = [(verify(v, p), expected_verified(v)) for p in profiles for v in variants]
    if not args.variant and DEFAULT_PROFILE in profiles:
        runs += [(verdict, False) for verdict in probe()]
    results = [_report(v, expected, story=args.story) for v, expected in runs]
    ok = all(good for good, _ in results)
    if args.json:
        rows = [
            dataclasses.asdict(v) | {"expected_verified": expected, "verified": v.verified}
            for v, expected in runs
        ]
        sys.stdout.write(json.dumps({"ok": ok, "verdicts": rows}, indent=2) + "\n")
    else:
        sys.stdout.write("".join(line for _, line in results))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
