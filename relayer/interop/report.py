"""Running the interop suite, and its JSON report.

:func:`run` searches in *batches*: batch ``i`` is one hypothesis run of the state machine
with seed ``seed + i`` (so a seed names a batch exactly), until the time budget is spent,
the profile's batches are done, or a failure is found. A failure is shrunk to a minimal
example by hypothesis and kept with its seed, the invariant it broke, the steps of the
minimal example and hypothesis's ``reproduce_failure`` blob. :func:`replay` runs a report's
failures again from their seeds (and blobs).

Report (``--report out.json``)::

    {"tool": "stbridge interop-test", "version": ..., "profile": "ci", "seed": 7,
     "actors": [...], "sec_backend": "anvil", "elapsed_s": 93.2, "batches": 3,
     "examples": 61, "steps": 480, "invariants_checked": 1900, "passed": false,
     "failures": [{"seed": 9, "invariant": "honest_parties_keep_an_asset",
                   "message": "...", "example": ["state = ...", "state.tick()", ...],
                   "reproduce_failure": {"version": "6.170.17", "blob": "AXic..."}}]}
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import hypothesis
from hypothesis import HealthCheck, Phase, reproduce_failure, seed, settings
from hypothesis.errors import DidNotReproduce, Flaky
from hypothesis.stateful import get_state_machine_test

from bridge import __version__
from bridge.errors import InvalidInput
from relayer.interop.machine import MachineConfig, machine_class, reset_stats, stats
from relayer.interop.mutations import MUTATIONS, TARGETS
from relayer.interop.strategies import ACTORS, CHAIN_PAIRS, algorand_setups, scenarios

__all__ = ["PROFILES", "Profile", "RunReport", "replay", "run"]

Profile = Literal["ci", "thorough"]


@dataclass(frozen=True)
class _ProfileSpec:
    examples_per_batch: int
    steps: int
    batches: int
    minutes: float


PROFILES: dict[str, _ProfileSpec] = {
    "ci": _ProfileSpec(examples_per_batch=8, steps=12, batches=1, minutes=2.0),
    "thorough": _ProfileSpec(examples_per_batch=25, steps=30, batches=10**6, minutes=30.0),
}
"""``ci``: one small batch (what ``make test`` can afford); ``thorough``: batches until the
time budget (30 minutes unless ``--minutes``) is spent."""

_BLOB = re.compile(r"@reproduce_failure\('([^']+)', b'([^']+)'\)")


@dataclass
class RunReport:
    """What a run found (serialised as the JSON report)."""

    profile: str
    seed: int
    actors: list[str]
    sec_backend: str
    batches: int = 0
    examples: int = 0
    steps: int = 0
    invariants_checked: int = 0
    elapsed_s: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    rules: dict[str, int] = field(default_factory=dict)
    relayer_ticks: int = 0
    mutation: str | None = None
    store: str = "sqlite"
    chains: str = "evm-evm"
    security: str = "trex"
    batch_seed: int = 0
    """The seed of the batch run last (a replay runs its failures' seeds)."""

    @property
    def passed(self) -> bool:
        """No invariant failed."""
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        """The report as written to ``--report``."""
        return {
            "tool": "stbridge interop-test",
            "version": __version__,
            "hypothesis": hypothesis.__version__,
            "profile": self.profile,
            "seed": self.seed,
            "actors": self.actors,
            "sec_backend": self.sec_backend,
            "elapsed_s": round(self.elapsed_s, 1),
            "batches": self.batches,
            "examples": self.examples,
            "steps": self.steps,
            "invariants_checked": self.invariants_checked,
            "rules": self.rules,
            "relayer_ticks": self.relayer_ticks,
            "mutation": self.mutation,
            "store": self.store,
            "chains": self.chains,
            "security": self.security,
            "passed": self.passed,
            "failures": self.failures,
        }


def config_for(
    actors: list[str],
    sec_backend: str,
    *,
    store: str = "sqlite",
    pg_dsn: str | None = None,
    chains: str = "evm-evm",
    security: str = "trex",
) -> MachineConfig:
    """The machine configuration for the chosen actors, chains and security (``InvalidInput``
    for an unknown one). ``security``: the orders' security, the T-REX token or the ERC-1400
    one (:mod:`relayer.interop.erc1400`: plain and partition orders, its actors), which
    needs the security chain on anvil (py-evm's ``eth_call`` makes the caller pay gas, and
    the relayer asks the token's check as the HTLC, which holds no coin)."""
    unknown = sorted(set(actors) - set(ACTORS))
    if unknown:
        raise InvalidInput(
            "actors", f"unknown actor(s) {', '.join(unknown)}; known: {', '.join(ACTORS)}"
        )
    if sec_backend not in ("pyevm", "anvil"):
        raise InvalidInput("sec_backend", "must be pyevm or anvil", value=sec_backend)
    if chains not in CHAIN_PAIRS:
        raise InvalidInput("chains", f"must be one of {', '.join(CHAIN_PAIRS)}", value=chains)
    if store not in ("sqlite", "postgres"):
        raise InvalidInput("store", "must be sqlite or postgres", value=store)
    if security not in ("trex", "erc1400"):
        raise InvalidInput("security", "must be trex or erc1400", value=security)
    if security == "erc1400" and sec_backend != "anvil":
        raise InvalidInput(
            "security", "erc1400 needs the security chain on anvil (--sec-backend anvil)"
        )
    if store == "postgres" and not pg_dsn:
        raise InvalidInput("pg_dsn", "a PostgreSQL DSN is required for store postgres")
    scenario = scenarios(cash=algorand_setups()) if chains == "evm-algorand" else scenarios()
    return MachineConfig(
        name="cli",
        chains=chains,  # type: ignore[arg-type]
        scenario=scenario,
        actors=frozenset(actors),
        sec_backend=sec_backend,  # type: ignore[arg-type]
        store=store,  # type: ignore[arg-type]
        pg_dsn=pg_dsn,
        security=security,  # type: ignore[arg-type]
    )


def mutation_config(name: str) -> MachineConfig:
    """The targeted search for mutation ``name`` (``InvalidInput`` for an unknown one)."""
    if name not in TARGETS:
        raise InvalidInput(
            "mutation", f"unknown mutation {name!r}; known: {', '.join(sorted(TARGETS))}"
        )
    return TARGETS[name]


def _settings(spec: _ProfileSpec, *, shrink: bool = True) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(
        max_examples=spec.examples_per_batch,
        stateful_step_count=spec.steps,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=True,
        phases=phases,
        suppress_health_check=list(HealthCheck),
    )


def _failure(batch_seed: int, exc: BaseException) -> dict[str, Any]:
    """The report's entry for a batch's failure. A failure hypothesis could not reproduce
    when it ran the example again (its ``Flaky`` group) is marked ``flaky``: its steps (the
    group's notes) are kept, and a replay from the seed may pass."""
    flaky = isinstance(exc, Flaky)
    notes = list(getattr(exc, "__notes__", []))
    if isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
        notes += list(getattr(exc, "__notes__", []))
    message = str(exc)
    invariant = message.split(":", 1)[0] if ":" in message else type(exc).__name__
    entry: dict[str, Any] = {
        "seed": batch_seed,
        "invariant": invariant,
        "error": type(exc).__name__,
        "message": message,
        "example": [line for note in notes for line in note.splitlines() if line.strip()],
    }
    if flaky:
        entry["flaky"] = True
    for note in notes:
        found = _BLOB.search(note)
        if found:
            entry["reproduce_failure"] = {"version": found.group(1), "blob": found.group(2)}
    return entry


def _run_batch(
    config: MachineConfig,
    spec: _ProfileSpec,
    batch_seed: int,
    blob: dict[str, str] | None,
    *,
    shrink: bool = True,
) -> BaseException | None:
    if config.examples_per_batch is not None:
        spec = replace(spec, examples_per_batch=config.examples_per_batch)
    test = get_state_machine_test(machine_class(config), settings=_settings(spec, shrink=shrink))
    test = seed(batch_seed)(test)
    if blob is not None:
        test = reproduce_failure(blob["version"], blob["blob"].encode())(test)
    try:
        test()
    except DidNotReproduce:  # a recorded failure that no longer happens: it is fixed
        return None
    except Exception as exc:  # a failure hypothesis found (and shrank)
        return exc
    return None


def run(
    *,
    profile: Profile = "ci",
    seed_value: int = 0,
    minutes: float | None = None,
    actors: list[str] | None = None,
    sec_backend: str = "anvil",
    progress: Callable[[RunReport], None] | None = None,
    config: MachineConfig | None = None,
    mutation: str | None = None,
    store: str = "sqlite",
    pg_dsn: str | None = None,
    shrink: bool = True,
    chains: str = "evm-evm",
    security: str = "trex",
) -> RunReport:
    """Search batch by batch until a failure, the profile's batches, or the time budget.

    With ``mutation`` (a name of :data:`relayer.interop.mutations.MUTATIONS`) the relayer
    runs with that bug re-introduced in memory and the machine runs the mutation's targeted
    search (:data:`~relayer.interop.mutations.TARGETS`): a failure is the suite catching it.
    """
    if mutation is not None:
        config = config or mutation_config(mutation)
        with MUTATIONS[mutation]():
            report = run(
                profile=profile,
                seed_value=seed_value,
                minutes=minutes,
                actors=sorted(config.actors),
                progress=progress,
                config=config,
                shrink=shrink,
            )
        report.mutation = mutation
        return report
    spec = PROFILES[profile]
    chosen = list(actors or ACTORS)
    config = config or config_for(
        chosen, sec_backend, store=store, pg_dsn=pg_dsn, chains=chains, security=security
    )
    budget_s = 60 * (spec.minutes if minutes is None else minutes)
    report = RunReport(profile, seed_value, sorted(chosen), config.sec_backend)
    report.store = config.store
    report.chains = config.chains
    report.security = config.security
    counters = reset_stats()
    started = time.monotonic()
    batch = 0
    while batch < spec.batches and (batch == 0 or time.monotonic() - started < budget_s):
        failure = _run_batch(config, spec, seed_value + batch, None, shrink=shrink)
        batch += 1
        counters = stats()
        report.batches, report.batch_seed = batch, seed_value + batch - 1
        report.examples, report.steps = counters.examples, counters.steps
        report.invariants_checked = counters.invariants
        report.rules = dict(sorted(counters.rules.items()))
        report.relayer_ticks = counters.relayer_ticks
        report.elapsed_s = time.monotonic() - started
        if failure is not None:
            entry = _failure(seed_value + batch - 1, failure)
            entry["found_after_s"] = round(report.elapsed_s, 1)
            report.failures.append(entry)
        if progress is not None:
            progress(report)
        if failure is not None:
            break
    return report


def replay(path: Path, *, progress: Callable[[RunReport], None] | None = None) -> RunReport:
    """Run every failure of the report at ``path`` again from its seed (and its blob)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    spec = PROFILES[data.get("profile", "ci")]
    mutation = data.get("mutation")
    if mutation is not None:
        config = mutation_config(str(mutation))
        with MUTATIONS[str(mutation)]():
            report = _replay(data, spec, config, progress)
        report.mutation = str(mutation)
        return report
    config = config_for(
        list(data.get("actors", ACTORS)),
        data.get("sec_backend", "anvil"),
        chains=data.get("chains", "evm-evm"),
        security=data.get("security", "trex"),
    )
    return _replay(data, spec, config, progress)


def _replay(
    data: dict[str, Any],
    spec: _ProfileSpec,
    config: MachineConfig,
    progress: Callable[[RunReport], None] | None,
) -> RunReport:
    report = RunReport(
        data.get("profile", "ci"),
        int(data.get("seed", 0)),
        sorted(config.actors),
        config.sec_backend,
    )
    reset_stats()
    started = time.monotonic()
    for failure in data.get("failures", []):
        exc = _run_batch(
            config, replace(spec), int(failure["seed"]), failure.get("reproduce_failure")
        )
        report.batches += 1
        report.batch_seed = int(failure["seed"])
        if exc is not None:
            report.failures.append(_failure(int(failure["seed"]), exc))
        counters = stats()
        report.examples, report.steps = counters.examples, counters.steps
        report.invariants_checked = counters.invariants
        report.rules = dict(sorted(counters.rules.items()))
        report.relayer_ticks = counters.relayer_ticks
        report.elapsed_s = time.monotonic() - started
        if progress is not None:
            progress(report)
    return report
