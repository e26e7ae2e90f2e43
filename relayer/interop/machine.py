"""The adversarial state machine: whole swaps across two real chains through the real relayer.

:class:`InteropMachine` is a hypothesis ``RuleBasedStateMachine``. Each example starts from
the chains of :mod:`relayer.interop.world` (reverted to their base snapshot), draws a
:class:`~relayer.interop.strategies.Scenario` (block times, confirmation depths, clock drift,
the relayer's budget) and wires the real :class:`~relayer.service.RelayerService` to both
chains as the daemon does (:func:`relayer.evm.evm_runtime`: HTLC, keys, approvals, every
token's own dry run, the escrow shortfall check), on a real store (a
:class:`~relayer.store.SqliteStore` file, or a fresh schema of a
:class:`~relayer.store.PostgresStore` with ``MachineConfig(store="postgres")``) with a real
sealing key. Then hypothesis interleaves the actors' rules:

==============  ============================================================================
actor           rules
==============  ============================================================================
chains          ``pass_time`` (both chains, blocks within their block times; the relayer
                running along or down),
                ``mine`` (one chain), ``approach`` (both chains to just before/after one of a
                swap's deadlines), ``skew`` (one clock jumps), ``host_clock_skew`` (the
                relayer host's clock off the chains' by up to 5 minutes), ``reorg``
                (snapshot/revert, below or above the confirmation depth)
relayer         ``tick``; ``relay`` (2-5 ticks with the chains moving at their block time
                between them: the relayer at work); ``crash_restart`` (drop the service,
                build a new one on the same store and sealing key); a second replica on
                the same store (its own
                connection, the same keys): ``replica_tick`` (B alone races A for free
                leases), ``lease_expires`` (every lease runs out: the holder stalled),
                ``takeover_mid_effect`` (A's lease runs out inside its lock and B takes
                the swap over before A goes on, as in ``test_replica_fencing``);
                ``drop_submissions`` (the next transactions are lost by the RPC and never
                mined, or mined with the node's answer lost)
counterparty    an external buyer (its key is not the relayer's): ``counterparty_lock``
                (early, late or never), ``counterparty_decoy`` (a lock of a worthless token
                with the leg's terms), ``counterparty_refund``
third party     ``look_alike`` (same terms, other sender, any asset), ``odd_call`` (every
                public HTLC function with odd arguments, ``token = 0`` included),
                ``claim_with_public_secret`` (front-running)
token agent     ``agent_freeze`` (freeze/unfreeze the buyer on the T-REX token),
                ``agent_freeze_after_locks`` (freeze the buyer the moment both locks of a
                swap are open, before the relayer's next tick),
                ``agent_force_out`` / ``agent_restore`` (forced transfer out of and back into
                the pooled EVM HTLC), ``agent_block_receiver`` (the cash issuer blocks the
                seller's cash wallet), ``agent_pause`` (pause/unpause the T-REX token),
                ``agent_revoke_kyc`` (delete the buyer's identity from the token's
                identity registry, or register it again), ``agent_freeze_after_reveal``
                (freeze the buyer once a secret is out: the owed claim is refused;
                :mod:`relayer.interop.records`)
operator        ``operator_drops_block_hashes`` (a store with no kept block hash for one
                chain; :mod:`relayer.interop.records`), and the API and daemon actors of
                :mod:`relayer.interop.api`
ERC-1400        with ``MachineConfig(security="erc1400")`` (:mod:`relayer.interop.erc1400`):
                ``partition_look_alike`` (third party), ``seller_other_partition`` (the
                seller's own lock of the other class with a leg's terms),
                ``agent_force_out_partition`` / ``agent_restore_partition`` (the token's
                controller); its orders are plain or of one partition
==============  ============================================================================

Invariants (``@invariant``, checked after every step; each method's docstring states it):
``honest_parties_keep_an_asset``, ``only_the_legs_own_lock_is_recorded``,
``a_replica_that_lost_its_lease_writes_nothing``,
``no_lock_claimed_and_refunded``,
``escrow_holds_its_open_locks``, ``secret_stays_private_until_revealed``,
``supply_is_conserved`` (every token's supply, across every holder and escrow),
``no_ineligible_holder_receives_the_security``, ``recorded_locks_are_on_the_chain`` and
``a_refused_claim_waits_out_its_back_off`` (:mod:`relayer.interop.records`); and at the end of
every example (:meth:`InteropMachine.teardown`) the liveness property
``every_swap_reaches_a_final_state``, after the chains keep moving past every deadline.

What lies outside the guarantees is drawn too and *recorded*, never silently excluded: a
reorg deeper than the chain's confirmation depth, or a clock jump beyond the configured
drift and block time, marks the swaps it touches ``outside`` (with the reason); a token
agent acting on a swap after its secret is public marks it ``agent`` (an agent may take an
asset by law). Those swaps are still checked for everything but the honest-party outcome
and liveness. At the example's end the agents undo what they did (not an action against
anyone: nothing is marked) before the chains run past every deadline.

Every example's final swap states are kept (:func:`finals`) for the SQLite/PostgreSQL
agreement test; secrets come from a per-example counter so that one seed replays the same
workload on either store.

:func:`machine_class` builds a machine for a :class:`MachineConfig` (which actors run,
which strategies feed them); the suite's CLI and the mutation tests use it.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import json
import logging
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from web3 import Web3

from adapters.evm.client import EvmClient, Refusal
from adapters.evm.erc20 import Erc20Adapter
from adapters.evm.erc3643 import Erc3643Adapter
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.errors import BridgeError, ChainTimeout, ChainUnavailable, NotFound
from bridge.model import AssetRef, Capability
from bridge.swap import LegPhase, Outcome, Role, SwapTerms, chain_key
from relayer.evm import approve_for_htlc, evm_runtime
from relayer.interop.api import EdgeActors, example_trade
from relayer.interop.erc1400 import (
    PartitionActors,
    order_partitions,
    partition_books,
    partition_fields,
    partition_held,
)
from relayer.interop.records import RecordActors
from relayer.interop.strategies import (
    ACTORS,
    ODD_CALLS,
    ChainSetup,
    Scenario,
    TradeSpec,
    scenarios,
    trades,
)
from relayer.interop.world import (
    CASH_FUNDS,
    CLASS_B_UNITS,
    EXAMPLE_EPOCH,
    SELLER_CLASS_B_UNITS,
    SELLER_UNITS,
    Backend,
    InteropWorld,
    build_world,
)
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, LegOrder, RelayerService, SwapOrder
from relayer.store import PostgresStore, SqliteStore, Store

__all__ = [
    "InteropMachine",
    "InvariantViolation",
    "MachineConfig",
    "SwapRecord",
    "close_worlds",
    "machine_class",
    "world_for",
]

log = logging.getLogger(__name__)

CHAINS = ("sec", "cash")
StoreKind = Literal["sqlite", "postgres"]
ChainPair = Literal["evm-evm", "evm-algorand"]
NATIVE_LABEL = "native"
"""How the native coin is named where a token address would be."""
RUN_TICKS = 4
"""Ticks of the relayer at most while time passes with the relayer running (``pass_time``)."""
MAX_DROPS = 3
"""Submissions armed to be dropped at most at once (``drop_submissions``)."""
MAX_MARKS = 6
"""Snapshots kept per chain for reorgs (one before every relayer tick)."""


class InvariantViolation(AssertionError):
    """An invariant of the interop suite does not hold (the message names it and the swap)."""


@dataclass(frozen=True)
class MachineConfig:
    """What one run of the machine explores.

    ``actors``: which of :data:`~relayer.interop.strategies.ACTORS` may act; ``scenario`` /
    ``trade``: the strategies for the chains' timing and the orders; ``max_swaps``: orders
    per example; ``sec_backend``: py-evm (default) or anvil for the security chain;
    ``drain_step_s``: how far time moves per step while the example's end lets every
    deadline pass.
    """

    name: str = "default"
    actors: frozenset[str] = frozenset(ACTORS)
    scenario: st.SearchStrategy[Scenario] = field(default_factory=scenarios)
    trade: st.SearchStrategy[TradeSpec] = field(default_factory=trades)
    max_swaps: int = 2
    sec_backend: Backend = "pyevm"
    drain_step_s: int = 60
    drain_ticks: int = 400
    rules: frozenset[str] | None = None
    boundaries: st.SearchStrategy[str] = field(
        default_factory=lambda: st.sampled_from(
            ["lock_by", "reveal_by", "participant", "initiator"]
        )
    )
    offsets: st.SearchStrategy[int] = field(default_factory=lambda: st.integers(-3, 12))
    """Only these rules run (None: every rule of the enabled actors): a targeted search."""
    odd_calls: st.SearchStrategy[str] = field(default_factory=lambda: st.sampled_from(ODD_CALLS))
    """The third party's odd HTLC calls (``odd_call``) to draw from."""
    host_skews: st.SearchStrategy[int] = field(default_factory=lambda: st.integers(-300, 300))
    """Seconds the relayer host's clock is off the chains' (``host_clock_skew``)."""
    agents_undo: bool = True
    """Whether the agent may lift a freeze of the buyer (during the example and at its end;
    False: a freeze stands for good, and the swaps run past their deadlines under it)."""
    store: StoreKind = "sqlite"
    """The relayer's store: a SQLite file per example, or a fresh schema of ``pg_dsn``."""
    pg_dsn: str | None = None
    examples_per_batch: int | None = None
    """Examples per search batch instead of the profile's (a target whose examples are slow
    keeps its batches short: the time budget is checked between batches)."""
    security: Literal["trex", "erc1400"] = "trex"
    """The security of the orders: the T-REX token (ERC-3643), or the ERC-1400 one
    (:mod:`relayer.interop.erc1400`: a plain token lock of its default partition, or a
    partition lock of class A or B, beside other parties' partition locks)."""
    partitions: st.SearchStrategy[bytes | None] = field(default_factory=order_partitions)
    """The ERC-1400 world's order partitions (None: a plain order of the default partition;
    drawn only when ``security`` is ``erc1400``)."""
    chains: ChainPair = "evm-evm"
    """Where the cash leg runs: a second EVM chain, or the embedded Algorand ledger
    (:class:`relayer.interop.algorand.AlgorandCashMachine`; give ``scenario`` a round chain
    for the cash, e.g. :func:`~relayer.interop.strategies.algorand_setups`)."""


@dataclass
class SwapRecord:
    """What the machine knows of one swap, from its own side (never from the relayer's
    matching code, which a mutation may have changed)."""

    swap_id: str
    terms: SwapTerms
    external: bool
    buyer: EvmSigner
    secret: bytes = field(repr=False)
    lock_ids: dict[Role, str]
    outside: list[str] = field(default_factory=list)
    agent: list[str] = field(default_factory=list)

    @property
    def hashlock(self) -> bytes:
        """The swap's hashlock (32 bytes)."""
        return bytes.fromhex(self.terms.hashlock[2:])

    @property
    def exempt(self) -> bool:
        """Outside the guarantees (a fault beyond the assumptions, or an agent's action
        after the reveal): the honest-party outcome and liveness are not owed."""
        return bool(self.outside or self.agent)


_WORLDS: dict[str, InteropWorld] = {}


def world_for(backend: Backend) -> InteropWorld:
    """The process-wide world for ``backend`` (built on first use; nodes stopped at exit)."""
    if backend not in _WORLDS:
        _WORLDS[backend] = build_world(sec_backend=backend)
    return _WORLDS[backend]


def close_worlds() -> None:
    """Stop every node the process-wide worlds started."""
    for world in _WORLDS.values():
        world.close()
    _WORLDS.clear()


atexit.register(close_worlds)


class _Capture(logging.Handler):
    """Keeps every formatted log line of the relayer, adapters and bridge during an example."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a bad format string is not ours to raise here
            self.lines.append(str(record.msg))


_LOGGERS = ("relayer", "adapters", "bridge")

_ERC20_ABI: list[dict[str, Any]] = [
    {
        "name": "totalSupply",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]
"""The two ERC-20 reads the conservation invariant needs (every token here is an ERC-20)."""


def _view(name: str, *inputs: str, output: str = "bool") -> dict[str, Any]:
    return {
        "name": name,
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": f"a{i}", "type": t} for i, t in enumerate(inputs)],
        "outputs": [{"name": "", "type": output}],
    }


_VIEW_ABI: list[dict[str, Any]] = [
    _view("paused"),
    _view("isFrozen", "address"),
    _view("isBlocked", "address"),
]
"""The agent-state reads used to resynchronise after a reorg (T-REX and the cash token)."""


def _allow(order: SwapOrder, at: object) -> ComplianceResult:
    """The law is not under test here: every trade is allowed; the tokens' own checks (dry
    runs through the escrow, wired as the daemon wires them) still run."""
    return ComplianceResult(True, (), {"rules": "interop"})


def _lock_state(htlc: EvmHtlc, lock_id: str) -> str:
    """``open``, ``claimed``, ``refunded`` or ``absent`` (no such lock on chain now)."""
    try:
        state = htlc.get(lock_id).state
    except NotFound:
        return "absent"
    return "absent" if state == "unknown" else state


def _schema_dsn(dsn: str | None) -> str:
    """A DSN of ``dsn`` whose search path is a fresh schema (one example's store)."""
    if not dsn:
        raise ValueError("MachineConfig.pg_dsn: required for store = 'postgres'")
    import psycopg

    name = "interop_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{name}"


def _drop_schema(dsn: str) -> None:
    import psycopg

    base, _, options = dsn.rpartition("options=-csearch_path%3D")
    with (
        contextlib.suppress(Exception),
        psycopg.connect(base.rstrip("?&"), autocommit=True) as conn,
    ):
        conn.execute(f"DROP SCHEMA IF EXISTS {options} CASCADE")


_SWAP_WRITES = (
    "apply",
    "put_document",
    "delete_document",
    "finish_effect",
    "record_sent",
    "reopen_effect",
    "renew_lease",
)
"""The store's writes of one swap (each takes the swap id first) that a lease fences."""

DROP_FAULTS = ("never_sent", "answer_lost")
"""How a relayer submission is dropped: the RPC loses it without forwarding it (never
mined), or forwards it and loses the node's answer (mined, the relayer hears an error)."""


class InteropMachine(EdgeActors, RecordActors, PartitionActors, RuleBasedStateMachine):
    """Whole swaps through the real relayer, with every actor of issue 16 (see the module
    docstring). Subclass through :func:`machine_class` to pick a :class:`MachineConfig`."""

    config: ClassVar[MachineConfig] = MachineConfig()

    def __init__(self) -> None:
        super().__init__()
        self.world = world_for(self.config.sec_backend)
        self.world.reset()
        self.ready = False
        self.swaps: list[SwapRecord] = []
        self.public: set[bytes] = set()
        self._setup_chains()
        self.scanned: dict[str, int] = {c: self._head(c) for c in CHAINS}
        self._seen_head: dict[str, int] = dict(self.scanned)
        """Per chain: the head when the machine last accounted for the time that passed."""
        self.marks: dict[str, list[tuple[Any, int]]] = {c: [] for c in CHAINS}
        self.forced_out = 0
        self.undoing = False
        self.frozen = False
        self.blocked = False
        self.ticks = 0
        self.steps = 0
        self.invariants_checked = 0
        # every replica's tick counts (A's and B's: ``ticks`` counts the ``tick`` rule's);
        # a gap seen after tick n is owed a gauge by a claim or refund in a later tick
        self.tick_seq = 0
        self.shortfall_seen: dict[tuple[str, str], int] = {}
        # per asset: the ``tick_seq`` of the last tick in which a replica began a claim or
        # refund of a leg of it (the moment it must look at its pooled escrow)
        self.acted_at: dict[AssetRef | None, int] = {}
        # per (replica, swap): its retry clock when it last began a claim or refund
        self.acted_clock: dict[tuple[str, str], float] = {}
        self.capture = _Capture()
        self._levels: dict[str, int] = {}
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(self.capture)
        self.log_seen = 0
        self.api_seen = 0
        self.trace: list[str] = []
        """Per step: :meth:`_trace_line` (kept in :func:`stats` at the example's end)."""
        self.workdir = Path(tempfile.mkdtemp(prefix="stbridge-interop-"))
        self.key = SealingKey.generate()
        self.service: RelayerService | None = None
        self.block_interval: dict[str, int] = dict.fromkeys(CHAINS, 1)
        self.idle: dict[str, tuple[int, int]] = dict.fromkeys(CHAINS, (0, 0))
        self.clock_ahead: dict[str, int] = dict.fromkeys(CHAINS, 0)
        """Per chain: how far its clock runs ahead of real time (the ``skew`` rule)."""
        self.counting = True
        """Whether blocks mined now count as time the relayer did not run."""
        self.paused = False
        self.revoked = False
        self.freeze_armed = False
        """Whether the agent freezes the buyer once both locks of a swap are open."""
        self.host_offset = 0
        """How far the relayer host's clock is off real time (``host_clock_skew``), in s."""
        self.lease_now = float(EXAMPLE_EPOCH)
        """The stores' clock for leases (moved only by the replica rules; it starts at the
        chains' epoch, not the host's clock, so that a seed replays the same example)."""
        self.replica: RelayerService | None = None
        self.takeover_armed = False
        self.takeovers = 0
        self.drops: list[str] = []
        """Faults armed for the relayer's next submissions (``never_sent``, ``answer_lost``)."""
        self.lost: set[str] = set()
        self.in_tick = False
        self.dropped = 0
        self.holdings: dict[tuple[str, str], int] = {}
        self.bugs: set[str] = set()
        """Swaps whose next observation raises (the ``swap_bug`` fault)."""
        self.stale_writes: list[str] = []
        """Writes a replica made after it lost the swap's lease (the fencing token's job)."""
        self.dsn = _schema_dsn(self.config.pg_dsn) if self.config.store == "postgres" else None
        self.secret_seq = 0
        self._runtimes: dict[str, float] = {}
        self._balances_at: tuple[str, ...] = ()
        self._balances_now: dict[tuple[str, str], int] = {}
        self._edges_init()
        self._records_init()
        self._partition_init()
        self._hook_clients()

    # ------------------------------------------------------------------ wiring
    def _open_store(self) -> Store:
        """A connection to the example's store (each replica and restart opens its own),
        whose writes of a swap are watched for the lease they were made under."""
        clock = self._lease_clock
        store: Store
        if self.dsn is not None:
            store = PostgresStore(self.dsn, clock=clock)
        else:
            store = SqliteStore(self.workdir / "relayer.sqlite3", clock=clock)
        self._watch_writes(store)
        return store

    def _watch_writes(self, store: Store) -> None:
        """Record every write of a swap that this store connection made under a lease epoch
        older than the swap's (another replica had taken it over) and that the store let
        through (see :meth:`a_replica_that_lost_its_lease_writes_nothing`)."""
        for name in _SWAP_WRITES:
            write = getattr(store, name)

            def watched(
                swap_id: str, *args: Any, _write: Any = write, _name: str = name, **kw: Any
            ) -> Any:
                held = store._held.get(swap_id)
                result = _write(swap_id, *args, **kw)
                if held is not None:
                    now = store.lease_epoch(swap_id)
                    if now != held[1]:
                        self.stale_writes.append(
                            f"{_name} of swap {swap_id} by {held[0]} under lease epoch "
                            f"{held[1]}, after the swap's lease moved to epoch {now}"
                        )
                return result

            setattr(store, name, watched)

    def _lease_clock(self) -> float:
        return self.lease_now

    def _build_service(self, replica_id: str = "relayer-a") -> RelayerService:
        world, scenario = self.world, self.scenario

        def runtime(name: str, setup: ChainSetup, signers: list[EvmSigner], op: EvmSigner) -> Any:
            client = world.client(name)
            return evm_runtime(
                name=name,
                client=client,
                htlc=world.htlc(name),
                timing=setup.timing,
                confirmations=setup.confirmations,
                signers=signers,
                operator=op,
            )

        def wall() -> float:
            # the relayer host's clock: real time (both chains' clocks) plus its skew
            return float(max(self._time("sec"), self._time("cash")) + self.host_offset)

        def randbytes(n: int) -> bytes:
            # deterministic per example (a seed replays the same secrets on either store)
            self.secret_seq += 1
            return hashlib.sha256(f"interop-secret:{self.secret_seq}".encode()).digest()[:n]

        store = self._open_store()
        service = RelayerService(
            store=store,
            replica_id=replica_id,
            randbytes=randbytes,
            chains={
                "sec": runtime("sec", scenario.sec, [world.seller], world.operator_sec),
                "cash": self._cash_runtime(
                    lambda: runtime(
                        "cash", scenario.cash, [world.buyers["custodied"]], world.operator_cash
                    ),
                    store,
                ),
            },
            compliance=_allow,
            sealing_key=self.key,
            budget=scenario.budget,
            wall_clock=wall,
        )
        if replica_id == "relayer-a":
            for rt in service.chains.values():
                rt.prepare_lock = self._takeover_hook(rt.prepare_lock)
        observe = service.observe

        def observe_with_bugs(swap_id: str) -> Any:
            if swap_id in self.bugs:  # a bug in the relayer's handling of this one swap
                self.bugs.discard(swap_id)
                raise RuntimeError(f"injected bug while observing swap {swap_id}")
            return observe(swap_id)

        setattr(service, "observe", observe_with_bugs)  # noqa: B010 (an instance override)
        for name in ("_claim", "_refund"):
            setattr(service, name, self._acting(getattr(service, name), service))
        return service

    def _acting(self, act: Any, service: RelayerService) -> Any:
        """A replica's claim or refund of a leg, recorded (its asset, this tick) before it
        runs: from then on the replica has had to look at the leg's pooled escrow. The
        replica's retry clock then is kept too: a refusal of it is dated by it (the clock
        can move later in the same tick)."""

        def recorded(state: Any, role: Role) -> Any:
            self.acted_at[state.terms.leg(role).asset] = self.tick_seq
            self.acted_clock[(service.replica_id, state.terms.swap_id)] = float(
                service.retry_clock()
            )
            return act(state, role)

        return recorded

    def _takeover_hook(self, prepare: Any) -> Any:
        """Replica A's lock preparation, inside which an armed takeover happens: A's lease
        runs out in the middle of its effect and replica B takes the swap over."""

        def hooked(leg: Any, signer: Any) -> None:
            if prepare is not None:  # an Algorand lock has nothing to prepare
                prepare(leg, signer)
            if self.takeover_armed:
                self.takeover_armed = False
                self.takeovers += 1
                self.lease_now += self.svc.lease_seconds + 1
                self._replica_tick()

        return hooked

    def _hook_clients(self) -> None:
        """Route the chains' ``submit`` and ``wait`` through the dropped-submission faults
        (armed by :meth:`drop_submissions`, active only while a relayer ticks)."""
        for chain in self.EVM_CHAINS:
            client = self.world.client(chain)
            submit, wait = client.submit, client.wait

            def hooked_submit(signed: bytes, _submit: Any = submit, _chain: str = chain) -> str:
                if not (self.in_tick and self.drops):
                    tx_hash = str(_submit(signed))
                    # mined before the relayer looks again, as py-evm does: what the relayer
                    # sees of its own transaction within a tick (an approval mined or not)
                    # must not depend on anvil's miner thread (a seed replays one trace)
                    self.world.settle(chains=(_chain,))
                    return tx_hash
                how = self.drops.pop(0)
                self.dropped += 1
                tx_hash = Web3.keccak(signed).to_0x_hex()
                if how == "never_sent":
                    self.lost.add(tx_hash)
                    return tx_hash
                _submit(signed)
                raise ChainUnavailable("send transaction: the node's answer was lost (fault)")

            def hooked_wait(tx_id: str, *, timeout: float | None = None, _wait: Any = wait) -> Any:
                if tx_id in self.lost:
                    self.lost.discard(tx_id)
                    raise ChainTimeout(f"wait for receipt: {tx_id} never mined (dropped)")
                return _wait(tx_id, timeout=timeout)

            send_batch = client._send_batch

            def hooked_batch(
                queued: Any, _send_batch: Any = send_batch, _chain: str = chain
            ) -> list[Refusal]:
                # a tick's held sends (EvmClient.flush_sends): the same faults, per transaction
                # in the batch's order, and the same settling after it
                forwarded, lost_answers = [], []
                for item in queued:
                    if not (self.in_tick and self.drops):
                        forwarded.append(item)
                        continue
                    how = self.drops.pop(0)
                    self.dropped += 1
                    if how == "never_sent":
                        self.lost.add(item.tx_id)
                        continue
                    forwarded.append(item)
                    lost_answers.append(item)
                refused: list[Refusal] = _send_batch(forwarded)
                self.world.settle(chains=(_chain,))
                lost = ChainUnavailable("send transaction: the node's answer was lost (fault)")
                return refused + [Refusal(i.tx_id, i.sender, lost) for i in lost_answers]

            setattr(client, "submit", hooked_submit)  # noqa: B010 (an instance override)
            setattr(client, "wait", hooked_wait)  # noqa: B010
            setattr(client, "_send_batch", hooked_batch)  # noqa: B010

    def _unhook_clients(self) -> None:
        for chain in self.EVM_CHAINS:
            client = self.world.client(chain)
            for name in ("submit", "wait", "_send_batch"):
                client.__dict__.pop(name, None)

    @property
    def svc(self) -> RelayerService:
        assert self.service is not None
        return self.service

    # ------------------------------------------------------------------ chain family hooks
    EVM_CHAINS: ClassVar[tuple[str, ...]] = CHAINS
    """The chains on EVM (snapshots and reorgs, skews, dropped submissions, call-data scans);
    :class:`relayer.interop.algorand.AlgorandCashMachine` puts the cash leg on Algorand."""

    def _setup_chains(self) -> None:
        """Prepare the chains that are not the world's two EVM chains (none here)."""

    def _head(self, chain: str) -> int:
        """The chain's latest block height (or round)."""
        return self.world.client(chain).head()

    def _now(self, chain: str) -> int:
        """The chain's time in its deadlines' unit (EVM: the latest block's timestamp)."""
        return int(self.world.client(chain).now().timestamp())

    def _time(self, chain: str) -> int:
        """The chain's clock in Unix seconds (the latest block's timestamp)."""
        return self._now(chain)

    def _seconds(self, chain: str, units: int) -> int:
        """``units`` of the chain's deadline unit in seconds (at its slowest block time for
        a round chain; seconds are seconds)."""
        return units

    def _htlc(self, chain: str) -> Any:
        """The HTLC port of ``chain`` the machine reads (and the parties use)."""
        return self.world.htlc(chain)

    def _asset(self, name: str) -> AssetRef | None:
        """The cash chain's ``cash`` coin, ``decoy`` token or ``native`` coin (None)."""
        return {"cash": self.world.cash_token, "decoy": self.world.decoy_token}.get(name)

    def _third(self, chain: str) -> Any:
        """The third party's signer on ``chain``."""
        return self.world.third

    def _cash_runtime(self, evm: Any, store: Store) -> Any:
        """The relayer's runtime of the cash chain (``evm()``: the EVM one, as the daemon
        wires it) for a service on ``store``."""
        return evm()

    def _cash_leg(self, external: bool, amount: int) -> tuple[Any, LegOrder]:
        """The buyer's signer and the cash leg of an order paying ``amount``."""
        buyer = self.world.buyers["external" if external else "custodied"]
        leg = LegOrder(
            chain="cash",
            asset=self.world.cash_token,
            amount=amount,
            sender=buyer.address,
            receiver=self.world.seller_on_cash.address,
        )
        return buyer, leg

    def _mine_on(self, chain: str, blocks: int, interval: int) -> None:
        """Produce ``blocks`` blocks on ``chain``, ``interval`` seconds apart."""
        self._mine_blocks(self.world.client(chain), chain, blocks, interval)

    def _lock_state_of(self, chain: str, lock_id: str) -> str:
        """``open``, ``claimed``, ``refunded`` or ``absent``, read from the chain."""
        return _lock_state(self._htlc(chain), lock_id)

    def _setup(self, chain: str) -> ChainSetup:
        return self.scenario.sec if chain == "sec" else self.scenario.cash

    def _act(self, actor: str) -> bool:
        return actor in self.config.actors

    def _on(self, rule_name: str) -> bool:
        return self.ready and (self.config.rules is None or rule_name in self.config.rules)

    # ------------------------------------------------------------------ set-up
    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        """Draw the example's chain timing and budget and start the relayer on both chains."""
        self.scenario = data.draw(self.config.scenario, label="scenario")
        for chain in CHAINS:
            low, high = self._setup(chain).block_seconds()
            self.block_interval[chain] = data.draw(st.integers(low, high), label=chain)
        self.begin()

    def begin(self) -> None:
        """Start the relayer on both chains (``scenario`` and ``block_interval`` are set).

        On an anvil chain every block from now on, including the one that includes a
        transaction the relayer sends, comes ``block_interval`` seconds after the previous
        one: a transaction is never mined at the instant it was sent.
        """
        for chain in self.EVM_CHAINS:
            client = self.world.client(chain)
            if client.backend != "pyevm":
                client._rpc("anvil_setBlockTimestampInterval", [self.block_interval[chain]])
        self.service = self._build_service()
        self.ready = True

    # ------------------------------------------------------------------ orders
    @precondition(lambda self: self._on("submit") and len(self.swaps) < self.config.max_swaps)
    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        """A platform submits an order: alice sells units of the T-REX security to bob for
        cash paid from the custodied buyer's or an external buyer's wallet."""
        spec = data.draw(self.config.trade, label="trade")
        self.submit_order(spec, partition=self.draw_partition(data))

    def submit_order(self, spec: TradeSpec, partition: bytes | None = None) -> SwapRecord:
        """Submit ``spec`` to the relayer and record what the machine knows of the swap
        (``partition``: the ERC-1400 world's order of one partition)."""
        external = spec.external_buyer and self._act("counterparty")
        buyer, cash_leg = self._cash_leg(external, spec.cash)
        world = self.world
        order = SwapOrder(
            order_id=f"interop-{len(self.swaps)}",
            security=LegOrder(
                chain="sec",
                asset=self.security_asset(),
                amount=spec.units,
                sender=world.seller.address,
                receiver=world.buyer_on_sec,
                **partition_fields(partition),
            ),
            cash=cash_leg,
            settlement_window_s=self.scenario.minimum_window() + spec.extra_window_s,
            trade=example_trade(),
        )
        state = self.svc.submit(order)
        terms = state.terms
        sealed = self.svc.store.sealed_secret(terms.swap_id)
        assert sealed is not None
        secret = self.key.unseal(sealed, swap_id=terms.swap_id)
        lock_ids = {
            role: self._htlc("sec" if role is Role.INITIATOR else "cash").lock_id_for(
                asset=terms.leg(role).asset,
                sender=terms.leg(role).sender,
                receiver=terms.leg(role).receiver,
                amount=terms.leg(role).amount,
                hashlock=bytes.fromhex(terms.hashlock[2:]),
                deadline=terms.deadline(role),
                partition=None if role is Role.PARTICIPANT else partition,
            )
            for role in Role
        }
        record = SwapRecord(terms.swap_id, terms, external, buyer, secret, lock_ids)
        self.swaps.append(record)
        return record

    # ------------------------------------------------------------------ relayer
    def _mark(self) -> None:
        for chain in self.EVM_CHAINS:
            client = self.world.client(chain)
            marks = self.marks[chain]
            marks.append((client.snapshot(), client.head()))
            del marks[:-MAX_MARKS]

    @precondition(lambda self: self._on("tick") and bool(self.swaps))
    @rule()
    def tick(self) -> None:
        """The relayer polls both chains and acts once on every open swap."""
        self._mark()
        self._tick()

    @precondition(lambda self: self._on("relay") and bool(self.swaps))
    @rule(ticks=st.integers(2, 5))
    def relay(self, ticks: int) -> None:
        """The relayer runs as deployed for a while: ``ticks`` ticks with the chains moving
        between two at their block time, within the relayer's budget (what moves the
        swaps forward between the other actors' moves; ``tick`` is a single one)."""
        for n in range(ticks):
            if n:
                slowest = min(self._setup(c).block_seconds()[1] for c in CHAINS)
                self._advance(max(1, min(slowest, self._allowance())))
            self.tick()

    def _tick(self) -> None:
        """The relayer runs: replica A ticks, then replica B if it exists (each acts on the
        swaps it holds or whose lease is free): the relayer is not idle. An armed agent
        (``agent_freeze_after_locks``) strikes first if both locks of a swap are open."""
        if self.freeze_armed and not self.frozen and self._both_locked():
            self.freeze_armed = False
            self.agent_freeze(True)
        self._run_tick(self.svc)
        if self.replica is not None:
            self._replica_tick()
        self.ticks += 1
        self.idle = dict.fromkeys(CHAINS, (0, 0))
        self._seen_head = {c: self._head(c) for c in CHAINS}

    def _replica_tick(self) -> None:
        """Replica B (its own store connection, the same key and chains) ticks once. Alone
        it does not make the relayer un-idle: the swaps replica A holds wait for A."""
        if self.replica is None:
            self.replica = self._build_service("relayer-b")
        self._run_tick(self.replica)

    def _run_tick(self, service: RelayerService) -> None:
        """One tick of ``service``. Invariant ``relayer_tick_survives_a_failing_swap``: a
        tick never raises (an error in one swap is that swap's, retried with back-off; an
        exception out of ``tick()`` would stop the daemon's loop and every other swap)."""
        self.in_tick = True
        self.tick_seq += 1
        try:
            with self._records_tick(service):
                service.tick()
        except Exception as exc:
            raise self._violation(
                "relayer_tick_survives_a_failing_swap",
                None,
                f"{service.replica_id}'s tick raised {type(exc).__name__}: {exc}",
            ) from exc
        finally:
            self.in_tick = False
            self.world.settle()  # what the tick sent is mined before anything else moves

    @precondition(
        lambda self: self._on("replica_tick") and self._act("relayer") and bool(self.swaps)
    )
    @rule()
    def replica_tick(self) -> None:
        """A second replica on the same store polls and acts on every swap whose lease is
        free or has run out (the swaps replica A holds are left to it)."""
        self._mark()
        self._replica_tick()

    @precondition(
        lambda self: self._on("lease_expires") and self._act("relayer") and bool(self.swaps)
    )
    @rule()
    def lease_expires(self) -> None:
        """Every lease runs out (the holder stalled longer than ``lease_seconds``): the next
        replica to tick takes the swaps over, and the fencing token must keep the old holder
        from writing."""
        self.lease_now += self.svc.lease_seconds + 1

    @precondition(
        lambda self: self._on("takeover_mid_effect") and self._act("relayer") and bool(self.swaps)
    )
    @rule()
    def takeover_mid_effect(self) -> None:
        """Arm a takeover inside replica A's next lock: its lease runs out while it prepares
        the lock, replica B takes the swap over and acts, then A goes on with its effect."""
        self.takeover_armed = True

    @precondition(
        lambda self: (
            self._on("drop_submissions")
            and self._act("relayer")
            and bool(self.swaps)
            and len(self.drops) < MAX_DROPS
        )
    )
    @rule(how=st.sampled_from(DROP_FAULTS), count=st.integers(1, 3))
    def drop_submissions(self, how: str, count: int) -> None:
        """The relayer's next ``count`` transactions are dropped: lost by the RPC before
        reaching the node (never mined; the receipt wait times out), or mined with the
        node's answer lost (the relayer hears an error for a transaction that happened)."""
        self.drops.extend([how] * count)

    @precondition(
        lambda self: self._on("crash_restart") and self._act("relayer") and bool(self.swaps)
    )
    @rule()
    def crash_restart(self) -> None:
        """The relayer process dies at this point and a new one starts on the same store
        file and sealing key (its in-memory caches, metrics and chain views are gone)."""
        self.svc.store.close()
        self.service = self._build_service()
        # the new process's shortfall gauge starts at 0: it owes one once it acts again
        self.acted_at.clear()

    @precondition(lambda self: self._on("swap_bug") and self._act("relayer") and bool(self.swaps))
    @rule(data=st.data())
    def swap_bug(self, data: st.DataObject) -> None:
        """A bug in the relayer's code hits one swap: its next observation raises an
        unexpected exception (a fault no chain can produce, so injected). That swap is
        outside the guarantees (it waits out its back-off); the others must go on."""
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        if self.svc.store.get(swap.swap_id).outcome is Outcome.OPEN:
            swap.outside.append("a bug in the relayer hit this swap")
            self.bugs.add(swap.swap_id)

    # ------------------------------------------------------------------ chains
    def _allowance(self) -> int:
        """Seconds the relayer may take to act on what it sees (its budget's poll, reaction
        and re-check): the claim window is planned with exactly that."""
        budget = self.scenario.budget
        return budget.poll_s + budget.reaction_s + budget.compliance_recheck_s

    def _claim_pending(self, swap: SwapRecord) -> bool:
        """The secret is out and the buyer's claim of the security has not landed yet."""
        state = self.svc.store.get(swap.swap_id)
        revealed = (
            state.secret_public
            or swap.hashlock in self.public
            or state.participant.phase is LegPhase.CLAIM_SENT
        )
        return (
            state.outcome is Outcome.OPEN
            and revealed
            and self._lock_state_of("sec", swap.lock_ids[Role.INITIATOR]) == "open"
        )

    def _mine(self, chain: str, blocks: int, interval: int) -> None:
        if blocks <= 0:
            return
        if self.counting:
            self._idle_for(chain, blocks, interval)
        self._mine_on(chain, blocks, interval)
        self._seen_head[chain] = self._head(chain)

    def _idle_for(self, chain: str, blocks: int, interval: int) -> None:
        """``blocks`` blocks ``interval`` seconds apart pass on ``chain`` without the relayer:
        beyond its budget while a claim is due, the swaps with a claim pending are marked
        outside (an idle relayer is a fault beyond the assumptions)."""
        self.idle[chain] = (self.idle[chain][0] + blocks * interval, self.idle[chain][1] + blocks)
        seconds, count = self.idle[chain]
        if count > 1 and seconds > self._allowance():
            for swap in self.swaps:
                if not swap.exempt and self._claim_pending(swap):
                    swap.outside.append(
                        f"the relayer did not run for {count} blocks / {seconds} s of {chain} "
                        f"while a claim was due (its budget: {self._allowance()} s)"
                    )

    def _count_actor_blocks(self) -> None:
        """Blocks the other actors' transactions mined since the machine last looked (each
        comes ``block_interval`` after the previous one: a third party's, a counterparty's
        or an agent's transaction moves the chain's time too) are time the relayer did not
        run, as blocks mined by :meth:`_mine` are."""
        for chain in CHAINS:
            head = self._head(chain)
            extra = head - self._seen_head[chain]
            if extra > 0 and self.counting:
                self._idle_for(chain, extra, self.block_interval[chain])
            self._seen_head[chain] = head

    def _mine_blocks(self, client: EvmClient, chain: str, blocks: int, interval: int) -> None:
        if client.backend == "pyevm":
            for _ in range(blocks):
                client.increase_time(interval)
        else:  # the automatic interval would override the one asked for here
            self.world.settle()
            client._rpc("anvil_removeBlockTimestampInterval", [])
            stamp = int(client.now().timestamp())
            for _ in range(blocks):  # anvil_mine's interval skips the first block
                stamp += interval
                client._rpc("evm_mine", [stamp])
            client._rpc("anvil_setBlockTimestampInterval", [self.block_interval[chain]])

    def _advance(self, seconds: int, *, slow: bool = True) -> None:
        """Both chains move ``seconds`` forward with blocks no further apart than their
        slowest block time (``slow``: at that time; else at the fastest)."""
        for chain in CHAINS:
            self._advance_chain(chain, seconds, slow=slow)

    def _advance_chain(self, chain: str, seconds: int, *, slow: bool = True) -> None:
        low, high = self._setup(chain).block_seconds()
        interval = high if slow else low
        blocks = -(-seconds // interval)
        self._mine(chain, blocks - 1, interval)
        self._mine(chain, 1, seconds - (blocks - 1) * interval)  # lands exactly

    def _sync(self) -> None:
        """Real time is one for both chains: a chain whose clock fell behind the other's
        (its blocks came slower, or the other included more transactions) catches up with
        blocks at its block time. A ``skew`` keeps its offset."""
        if not self.ready:
            return
        base = {c: self._time(c) - self.clock_ahead[c] for c in CHAINS}
        target = max(base.values())
        idle, self.counting = dict(self.idle), False  # the other chain moved: not idle
        for chain in CHAINS:
            if target > base[chain]:
                self._advance_chain(chain, target - base[chain])
        self.idle, self.counting = idle, True

    @precondition(lambda self: self._on("pass_time") and self._act("chains") and bool(self.swaps))
    @rule(seconds=st.integers(1, 240), slow=st.booleans(), relayer_runs=st.booleans())
    def pass_time(self, seconds: int, slow: bool, relayer_runs: bool) -> None:
        """Time passes on both chains; blocks come at the slowest or fastest block time.
        With ``relayer_runs`` the relayer ticks along at its pace (every ``min(budget,
        slowest block time)`` seconds, at most ``RUN_TICKS`` times; the rest of the time
        passes without it), otherwise it is down meanwhile."""
        if not relayer_runs:
            self._advance(seconds, slow=slow)
            return
        slowest = min(self._setup(c).block_seconds()[1] for c in CHAINS)
        pace = max(1, min(self._allowance(), slowest))
        left = seconds
        for _ in range(RUN_TICKS):
            if left <= 0:
                return
            step = min(pace, left)
            self._advance(step, slow=slow)
            left -= step
            self.tick()
        if left > 0:
            self._advance(left, slow=slow)

    @precondition(lambda self: self._on("mine") and self._act("chains") and bool(self.swaps))
    @rule(chain=st.sampled_from(CHAINS), blocks=st.integers(1, 4))
    def mine(self, chain: str, blocks: int) -> None:
        """One chain produces a few blocks at its fastest block time."""
        self._mine(chain, blocks, self._setup(chain).block_seconds()[0])

    @precondition(lambda self: self._on("approach") and self._act("chains") and bool(self.swaps))
    @rule(data=st.data())
    def approach(self, data: st.DataObject) -> None:
        """Time passes on both chains until one of a swap's deadlines is ``offset`` seconds
        away on its chain (a slow relayer or a slow counterparty meets the boundary)."""
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        boundary = data.draw(self.config.boundaries, label="boundary")
        offset = data.draw(self.config.offsets, label="offset")
        self.approach_to(swap, boundary, offset)

    def approach_to(self, swap: SwapRecord, boundary: str, offset: int) -> None:
        """Move both chains until ``boundary`` of ``swap`` is ``offset`` seconds away."""
        terms = swap.terms
        target, chain = {
            "lock_by": (terms.participant_lock_by, "cash"),
            "reveal_by": (terms.reveal_by, "cash"),
            "participant": (terms.participant_deadline, "cash"),
            "initiator": (terms.initiator_deadline, "sec"),
        }[boundary]
        gap = self._seconds(chain, target - offset - self._now(chain))
        if gap > 0:
            self._advance(gap)

    @precondition(lambda self: self._on("skew") and self._act("chains") and bool(self.swaps))
    @rule(chain=st.sampled_from(CHAINS), seconds=st.integers(1, 120))
    def skew(self, chain: str, seconds: int) -> None:
        """One chain's clock jumps ahead in one block. Within its drift and block time this
        is inside the assumptions; beyond, the open swaps with a lock on that chain are
        marked outside."""
        setup = self._setup(chain)
        allowed = max(setup.timing.timestamp_drift_s, setup.block_seconds()[1])
        if self.clock_ahead[chain] + seconds > allowed:
            self._outside(chain, f"{chain} clock ran {self.clock_ahead[chain] + seconds} s ahead")
        self.clock_ahead[chain] += seconds
        self._mine(chain, 1, seconds)

    @precondition(lambda self: self._on("host_clock_skew") and self._act("chains") and self.ready)
    @rule(data=st.data())
    def host_clock_skew(self, data: st.DataObject) -> None:
        """The relayer host's clock is off real time from now on by an offset drawn from
        ``MachineConfig.host_skews`` (behind or ahead of the chains; NTP gone, a VM
        resumed). Inside the assumptions: the relayer plans and acts on the chains' clocks,
        never on its host's."""
        self.host_offset = data.draw(self.config.host_skews, label="offset")

    @precondition(
        lambda self: (
            self._on("reorg") and self._act("chains") and any(self.marks[c] for c in CHAINS)
        )
    )
    @rule(chain=st.sampled_from(CHAINS), data=st.data())
    def reorg(self, chain: str, data: st.DataObject) -> None:
        """The chain reorganises back to a state before one of the relayer's last ticks and
        grows a longer branch without the removed blocks' transactions. Removing at most
        the confirmation depth is inside the assumptions; deeper marks the swaps outside."""
        marks = self.marks[chain]
        if not marks:
            return
        self.reorg_to(chain, data.draw(st.integers(0, len(marks) - 1), label="mark"))

    def reorg_to(self, chain: str, index: int) -> None:
        """Reorganise ``chain`` back to its ``index``-th kept mark (see :meth:`reorg`)."""
        marks = self.marks[chain]
        snapshot, height = marks[index]
        client = self.world.client(chain)
        removed = client.head() - height
        if removed <= 0:
            return
        depth = self._setup(chain).confirmations
        deep = removed > depth
        reason = f"reorg of {removed} blocks on {chain} (> {depth} confirmations)"
        if deep:
            self._outside(chain, reason)
        role = Role.INITIATOR if chain == "sec" else Role.PARTICIPANT
        before = {s.swap_id: self._lock_state_of(chain, s.lock_ids[role]) for s in self.swaps}
        client.revert(snapshot)
        self._resync_agents(chain)
        del marks[index:]
        if deep:  # a final swap whose lock the reorg changed (a claim undone) is outside too
            for swap in self.swaps:
                after = self._lock_state_of(chain, swap.lock_ids[role])
                if after != before[swap.swap_id] and reason not in swap.outside:
                    swap.outside.append(reason)
        self.world.htlc(chain)._locks.clear()
        self.unpolled.add(chain)
        self.scanned[chain] = min(self.scanned[chain], client.head())
        # the longer branch replaces the removed blocks as they came (the relayer had ticked
        # through them: not idle time), plus one block more
        counting, self.counting = self.counting, False
        self._seen_head[chain] = client.head()
        self._mine(chain, removed, self._setup(chain).block_seconds()[0])
        self.counting = counting
        self._mine(chain, 1, self._setup(chain).block_seconds()[0])

    def _resync_agents(self, chain: str) -> None:
        """After a reorg of ``chain``, what the agents did is what the chain now shows (a
        removed block takes a pause, freeze, KYC revocation, forced transfer or block with
        it): the machine's record of it is read back from the chain."""
        w = self.world
        bob = w.buyer_on_sec
        if chain == "sec":
            token = w.sec.contract(
                w.security.locator.address,  # type: ignore[union-attr]
                _VIEW_ABI,
            )
            adapter = Erc3643Adapter(w.sec)
            registry = adapter._registry(adapter.token(w.security))
            self.paused = bool(token.functions.paused().call())
            self.frozen = bool(token.functions.isFrozen(bob).call())
            self.revoked = not bool(registry.functions.contains(bob).call())
            gaps = self._escrow_gaps()
            self.forced_out = gaps.get(
                ("sec", w.security.locator.address.lower()),  # type: ignore[union-attr]
                0,
            )
            self._partition_resync(gaps)
        else:
            cash = w.cash.contract(
                w.cash_token.locator.address,  # type: ignore[union-attr]
                _VIEW_ABI,
            )
            self.blocked = bool(cash.functions.isBlocked(w.seller_on_cash.address).call())

    def _outside(self, chain: str, reason: str) -> None:
        for swap in self.swaps:
            if self.svc.store.get(swap.swap_id).outcome is Outcome.OPEN:
                swap.outside.append(reason)

    # ------------------------------------------------------------------ counterparty
    def _external(self) -> list[SwapRecord]:
        return [s for s in self.swaps if s.external]

    def _lock_as(
        self, signer: EvmSigner, swap: SwapRecord, asset: AssetRef | None, chain: str = "cash"
    ) -> None:
        leg = swap.terms.participant_leg
        htlc = self._htlc(chain)
        with contextlib.suppress(BridgeError):
            if asset is not None and chain in self.EVM_CHAINS:
                approve_for_htlc(
                    self.world.client(chain),
                    htlc.address,
                    leg.model_copy(update={"asset": asset, "sender": signer.address}),
                    signer,
                )
            htlc.lock(
                asset=asset,
                receiver=leg.receiver,
                amount=leg.amount,
                hashlock=swap.hashlock,
                deadline=swap.terms.participant_deadline,
                signer=signer,
            )

    @precondition(lambda self: self._on("counterparty_lock") and bool(self._external()))
    @rule(data=st.data())
    def counterparty_lock(self, data: st.DataObject) -> None:
        """The external buyer locks the cash leg itself, with the agreed terms, whenever it
        likes (early, late, after the relayer gave up on it, or never)."""
        swap = data.draw(st.sampled_from(self._external()), label="swap")
        if self._lock_state_of("cash", swap.lock_ids[Role.PARTICIPANT]) == "absent":
            self._lock_as(swap.buyer, swap, self._asset("cash"))

    @precondition(lambda self: self._on("counterparty_decoy") and bool(self._external()))
    @rule(data=st.data())
    def counterparty_decoy(self, data: st.DataObject) -> None:
        """The external buyer funds a decoy: a lock of a worthless token (or the native
        coin) with the cash leg's hashlock, receiver, amount and deadline."""
        swap = data.draw(st.sampled_from(self._external()), label="swap")
        asset = data.draw(st.sampled_from([self._asset("decoy"), None]), label="asset")
        self._lock_as(swap.buyer, swap, asset)

    @precondition(lambda self: self._on("counterparty_refund") and bool(self._external()))
    @rule(data=st.data())
    def counterparty_refund(self, data: st.DataObject) -> None:
        """The external buyer takes its own cash lock back once its deadline has passed."""
        swap = data.draw(st.sampled_from(self._external()), label="swap")
        with contextlib.suppress(BridgeError):
            self._htlc("cash").refund(swap.lock_ids[Role.PARTICIPANT], swap.buyer)

    # ------------------------------------------------------------------ third parties
    @precondition(
        lambda self: self._on("look_alike") and self._act("third_party") and bool(self.swaps)
    )
    @rule(data=st.data(), asset=st.sampled_from(["cash", "decoy", "native"]))
    def look_alike(self, data: st.DataObject, asset: str) -> None:
        """A third party who saw the hashlock locks the cash leg's receiver, amount and
        deadline from its own account (in the agreed coin, a decoy token or ether)."""
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        self._lock_as(self._third("cash"), swap, self._asset(asset))

    @precondition(
        lambda self: self._on("odd_call") and self._act("third_party") and bool(self.swaps)
    )
    @rule(data=st.data(), chain=st.sampled_from(CHAINS))
    def odd_call(self, data: st.DataObject, chain: str) -> None:
        """A third party calls a public HTLC function with odd arguments (a wrong secret,
        ``token = 0``, an early refund, another receiver, a zero amount, a past deadline,
        a native claim of a token lock), naming as the lock's sender the leg's sender or
        the third party itself (whose look-alike locks, native ones included, are on chain
        too), sent with explicit gas so that it is mined even when it reverts."""
        if chain not in self.EVM_CHAINS:
            chain = "sec"  # the odd calls are the EVM HTLC's public functions
        swap = data.draw(st.sampled_from(self.swaps), label="swap")
        call = data.draw(self.config.odd_calls, label="call")
        own = data.draw(st.booleans(), label="the third party's own lock")
        self.make_odd_call(swap, call, chain, own=own)

    def make_odd_call(self, swap: SwapRecord, call: str, chain: str, *, own: bool) -> None:
        """The third party's odd ``call`` (one of ``ODD_CALLS``) about ``swap``'s leg on
        ``chain`` (``own``: naming itself as the lock's sender); see :meth:`odd_call`."""
        role = Role.INITIATOR if chain == "sec" else Role.PARTICIPANT
        leg = swap.terms.leg(role)
        if own:
            leg = leg.model_copy(update={"sender": self.world.third.address})
        htlc = self.world.htlc(chain)
        fns = htlc.contract.functions
        secret = swap.secret if swap.hashlock in self.public else bytes(32)
        zero = "0x" + "00" * 20
        token = leg.asset.locator.address if leg.asset is not None else zero  # type: ignore[union-attr]
        deadline = swap.terms.deadline(role)
        fn = {
            "claim_wrong_secret": lambda: fns.claimToken(
                bytes(32), token, leg.sender, leg.receiver, leg.amount, deadline
            ),
            "claim_token_zero": lambda: fns.claimToken(
                secret, zero, leg.sender, leg.receiver, leg.amount, deadline
            ),
            "refund_token_zero": lambda: fns.refundToken(
                swap.hashlock, zero, leg.sender, leg.receiver, leg.amount, deadline
            ),
            "refund_early": lambda: fns.refundToken(
                swap.hashlock, token, leg.sender, leg.receiver, leg.amount, deadline
            ),
            "claim_other_receiver": lambda: fns.claimToken(
                secret, token, leg.sender, self.world.third.address, leg.amount, deadline
            ),
            "lock_zero_amount": lambda: fns.lockToken(
                token, 0, swap.hashlock, leg.receiver, deadline
            ),
            "lock_past_deadline": lambda: fns.lockToken(
                token, leg.amount, swap.hashlock, leg.receiver, self._now(chain) - 1
            ),
            "native_claim_of_token_lock": lambda: fns.claim(
                secret, leg.sender, leg.receiver, leg.amount, deadline
            ),
        }[call]()
        data_bytes = bytes.fromhex(str(fn._encode_transaction_data()).removeprefix("0x"))
        with contextlib.suppress(BridgeError):
            self.world.client(chain).transact(
                self.world.third, htlc.address, data_bytes, gas=300_000
            )

    @precondition(
        lambda self: (
            self._on("claim_with_public_secret") and self._act("third_party") and bool(self.public)
        )
    )
    @rule(data=st.data())
    def claim_with_public_secret(self, data: st.DataObject) -> None:
        """Once a swap's secret is public, a third party claims every open lock under its
        hashlock on both chains (the HTLC pays the fixed receiver: a front-run must not
        change who ends with what)."""
        public = [s for s in self.swaps if s.hashlock in self.public]
        if not public:
            return
        swap = data.draw(st.sampled_from(public), label="swap")
        for chain in CHAINS:
            htlc = self._htlc(chain)
            for lock in htlc.find(swap.hashlock):
                if lock.state == "open":
                    with contextlib.suppress(BridgeError):
                        htlc.claim(lock.lock_id, swap.secret, self._third(chain))

    # ------------------------------------------------------------------ token agents
    def _agent(self, what: str) -> None:
        """An agent's action: swaps whose secret is already public are marked ``agent``
        (undoing an action at the example's end takes nothing from anyone: not marked)."""
        if self.undoing:
            return
        for swap in self.swaps:
            state = self.svc.store.get(swap.swap_id)
            revealed = (
                state.secret_public
                or swap.hashlock in self.public
                or state.participant.phase is LegPhase.CLAIM_SENT
            )
            if state.outcome is Outcome.OPEN and revealed:
                swap.agent.append(what)

    @precondition(
        lambda self: self._on("agent_freeze") and self._act("token_agent") and bool(self.swaps)
    )
    @rule(frozen=st.booleans())
    def agent_freeze(self, frozen: bool) -> None:
        """The T-REX agent freezes (or unfreezes) the buyer's security wallet (with
        ``agents_undo=False`` a freeze is never lifted)."""
        if frozen == self.frozen or (not frozen and not self.config.agents_undo):
            return
        self._agent(f"buyer {'frozen' if frozen else 'unfrozen'}")
        Erc3643Adapter(self.world.sec).agent_operation(
            self.world.security,
            Capability.ADDRESS_FREEZE,
            self.world.trex.agent,
            address=self.world.buyer_on_sec,
            frozen=frozen,
        )
        self.frozen = frozen

    @precondition(
        lambda self: (
            self._on("agent_freeze_after_locks") and self._act("token_agent") and bool(self.swaps)
        )
    )
    @rule()
    def agent_freeze_after_locks(self) -> None:
        """The T-REX agent watches the chains and freezes the buyer's security wallet the
        moment both locks of a swap are open and its secret is still private (before the
        relayer's next tick): the worst moment for the buyer, whose cash is locked and whose
        claim of the security the token will now refuse (issue 13 item 3)."""
        self.freeze_armed = True

    def _both_locked(self) -> bool:
        """Some open swap has both its locks open on chain and its secret private."""
        for swap in self.swaps:
            if swap.hashlock in self.public:
                continue
            if self.svc.store.get(swap.swap_id).outcome is not Outcome.OPEN:
                continue
            if self._states(swap) == ("open", "open"):
                return True
        return False

    def _htlc_units(self) -> int:
        return (
            Erc3643Adapter(self.world.sec)
            .holding(self.world.security, self.world.sec_htlc.address)
            .balance
        )

    @precondition(
        lambda self: self._on("agent_force_out") and self._act("token_agent") and bool(self.swaps)
    )
    @rule(units=st.integers(1, 50))
    def agent_force_out(self, units: int) -> None:
        """The T-REX agent force-transfers units out of the pooled HTLC to the seller."""
        units = min(units, self._htlc_units())
        if units <= 0:
            return
        self._agent(f"{units} units forced out of the HTLC")
        Erc3643Adapter(self.world.sec).agent_operation(
            self.world.security,
            Capability.FORCED_TRANSFER,
            self.world.trex.agent,
            sender=self.world.sec_htlc.address,
            recipient=self.world.seller.address,
            amount=units,
        )
        self.forced_out += units

    @precondition(
        lambda self: self._on("agent_restore") and self._act("token_agent") and self.forced_out > 0
    )
    @rule()
    def agent_restore(self) -> None:
        """The T-REX agent puts the forced-out units back into the HTLC."""
        Erc3643Adapter(self.world.sec).agent_operation(
            self.world.security,
            Capability.FORCED_TRANSFER,
            self.world.trex.agent,
            sender=self.world.seller.address,
            recipient=self.world.sec_htlc.address,
            amount=self.forced_out,
        )
        self.forced_out = 0

    @precondition(
        lambda self: (
            self._on("agent_block_receiver") and self._act("token_agent") and bool(self.swaps)
        )
    )
    @rule(blocked=st.booleans())
    def agent_block_receiver(self, blocked: bool) -> None:
        """The cash issuer blocks (or unblocks) the seller's cash wallet."""
        if blocked == self.blocked or "cash" not in self.EVM_CHAINS:
            return
        self._agent(f"seller's cash wallet {'blocked' if blocked else 'unblocked'}")
        Erc20Adapter(self.world.cash).agent_operation(
            self.world.cash_token,
            Capability.BLOCKLIST,
            self.world.cash_issuer,
            account=self.world.seller_on_cash.address,
            blocked=blocked,
        )
        self.blocked = blocked

    @precondition(
        lambda self: self._on("agent_pause") and self._act("token_agent") and bool(self.swaps)
    )
    @rule(paused=st.booleans())
    def agent_pause(self, paused: bool) -> None:
        """The T-REX agent pauses (or unpauses) the security token mid-swap."""
        if paused == self.paused:
            return
        self._agent(f"token {'paused' if paused else 'unpaused'}")
        Erc3643Adapter(self.world.sec).agent_operation(
            self.world.security, Capability.PAUSE, self.world.trex.agent, paused=paused
        )
        self.paused = paused

    @precondition(
        lambda self: self._on("agent_revoke_kyc") and self._act("token_agent") and bool(self.swaps)
    )
    @rule(revoked=st.booleans())
    def agent_revoke_kyc(self, revoked: bool) -> None:
        """The T-REX agent revokes the buyer's KYC (deletes its identity from the token's
        identity registry) or restores it (registers the same identity again)."""
        if revoked == self.revoked:
            return
        self._agent(f"buyer's KYC {'revoked' if revoked else 'restored'}")
        bob = self.world.trex.investor("bob")
        adapter = Erc3643Adapter(self.world.sec)
        if revoked:
            registry = adapter._registry(adapter.token(self.world.security))
            call = registry.functions.deleteIdentity(bob.address)
            data = bytes.fromhex(str(call._encode_transaction_data()).removeprefix("0x"))
            self.world.sec.transact(self.world.trex.agent, registry.address, data)
        else:
            assert bob.identity is not None
            adapter.agent_operation(
                self.world.security,
                Capability.IDENTITY_REGISTRATION,
                self.world.trex.agent,
                wallet=bob.address,
                identity=bob.identity,
                country=bob.country,
            )
        self.revoked = revoked

    # ------------------------------------------------------------------ observation
    def _scan(self) -> None:
        """Mark every secret that appeared in any transaction's call data as public (a
        reverted claim publishes it as much as a successful one)."""
        wanted = {s.secret.hex(): s.hashlock for s in self.swaps if s.hashlock not in self.public}
        for chain in self.EVM_CHAINS:
            client = self.world.client(chain)
            head = client.head()
            for number in range(self.scanned[chain] + 1, head + 1):
                if not wanted:
                    break
                block = client.w3.eth.get_block(number, full_transactions=True)
                for tx in block["transactions"]:
                    payload = bytes(tx["input"]).hex()  # type: ignore[call-overload]
                    for hex_secret, lock in list(wanted.items()):
                        if hex_secret in payload:
                            self.public.add(lock)
                            del wanted[hex_secret]
            self.scanned[chain] = head

    def _states(self, swap: SwapRecord) -> tuple[str, str]:
        return (
            self._lock_state_of("sec", swap.lock_ids[Role.INITIATOR]),
            self._lock_state_of("cash", swap.lock_ids[Role.PARTICIPANT]),
        )

    @staticmethod
    def _violation(name: str, swap: SwapRecord | None, detail: str) -> InvariantViolation:
        where = "" if swap is None else f" swap {swap.swap_id}:"
        notes = "" if swap is None or not swap.exempt else f" (exempt: {swap.outside + swap.agent})"
        return InvariantViolation(f"{name}:{where} {detail}{notes}")

    # ------------------------------------------------------------------ invariants
    def check_invariants(self, *args: Any, **kwargs: Any) -> None:
        """Count the step, then run every invariant (hypothesis calls this after each)."""
        self.steps += 1
        runtimes = args[2] if len(args) > 2 else kwargs.get("runtimes")
        ran: list[str] = []
        if isinstance(runtimes, dict):  # hypothesis's per-rule timings: the one that moved ran
            for label, spent in runtimes.items():
                if label.startswith("execute:rule:") and spent != self._runtimes.get(label):
                    ran.append(label.removeprefix("execute:rule:"))
                    self._runtimes[label] = spent
        _STATS.rules.update(ran)
        self._count_actor_blocks()
        self._sync()
        self.trace.append(self._trace_line(",".join(ran) or "-"))
        super().check_invariants(*args, **kwargs)

    def _trace_line(self, ran: str) -> str:
        """One step of the example's trace: the rule that ran, each chain's clock and head,
        every swap's outcome and leg phases (what a replay must reproduce exactly)."""
        if not self.ready:
            return ran
        chains = " ".join(f"{c}={self._time(c)}@{self._head(c)}" for c in CHAINS)
        swaps = ";".join(
            "/".join(
                (
                    state.outcome.value,
                    state.initiator.phase.value,
                    state.participant.phase.value,
                    str(state.terms.initiator_deadline),
                    str(state.terms.participant_deadline),
                )
            )
            for state in (self.svc.store.get(s.swap_id) for s in self.swaps)
        )
        return f"{ran} {chains} {swaps}"

    def _counted(self) -> None:
        self.invariants_checked += 1

    @invariant()
    def honest_parties_keep_an_asset(self) -> None:
        """An honest party never ends with neither asset: once a swap is final (the relayer
        reports it so, or both its locks are settled on chain), the seller has the security
        back (its lock refunded or never made) or the cash (the buyer's real lock claimed),
        and the buyer has the cash back (its lock refunded, never made, or - an external
        buyer - still its own to refund while the secret is private) or the security (the
        seller's lock claimed). Lock states are read from the chains by the lock ids the
        machine computes from the agreed terms."""
        if not self.ready:
            return
        self._counted()
        self._scan()
        for swap in self.swaps:
            if swap.exempt:
                continue
            if self.svc.store.get(swap.swap_id).outcome is Outcome.OPEN and not self._settled(swap):
                continue
            self._assert_honest(swap)

    def _late(self, swap: SwapRecord) -> tuple[bool, bool]:
        """Whether each lock's deadline has passed on its chain: no claim of it can land any
        more (the HTLC claims before the deadline only), only its sender's refund."""
        return (
            self._now("sec") >= swap.terms.initiator_deadline,
            self._now("cash") >= swap.terms.participant_deadline,
        )

    def _settled(self, swap: SwapRecord) -> bool:
        """Final on chain whatever the relayer says: each lock is claimed or refunded, or
        past its deadline (absent: it can no longer be made; open: it can no longer be
        claimed, only refunded to its sender)."""
        i, p = self._states(swap)
        late_i, late_p = self._late(swap)
        return (i in ("claimed", "refunded") or (i in ("absent", "open") and late_i)) and (
            p in ("claimed", "refunded") or (p in ("absent", "open") and late_p)
        )

    def _assert_honest(self, swap: SwapRecord) -> None:
        i, p = self._states(swap)
        late_i, late_p = self._late(swap)
        outcome = self.svc.store.get(swap.swap_id).outcome.value
        # an open lock past its deadline is its sender's to refund
        seller_ok = i in ("absent", "refunded") or p == "claimed" or (i == "open" and late_i)
        buyer_ok = (
            p in ("absent", "refunded")
            or i == "claimed"
            or (p == "open" and late_p)
            or (swap.external and p == "open" and swap.hashlock not in self.public)
        )
        if not seller_ok:
            raise self._violation(
                "honest_parties_keep_an_asset",
                swap,
                f"relayer says {outcome}; the seller has neither asset (security lock {i}, "
                f"buyer's cash lock {p})",
            )
        if not buyer_ok:
            raise self._violation(
                "honest_parties_keep_an_asset",
                swap,
                f"relayer says {outcome}; the buyer has neither asset (security lock {i}, "
                f"buyer's cash lock {p}, secret public: {swap.hashlock in self.public})",
            )

    @invariant()
    def a_replica_that_lost_its_lease_writes_nothing(self) -> None:
        """Once another replica has taken a swap over (its lease epoch moved on), the
        replica that held it before writes nothing more of it: no input, effect, document
        or lease renewal of the swap is stored from its connection under the old epoch (the
        fencing token refuses them; issue 13 item 7). Checked from every write each store
        connection of the example made."""
        if not self.ready:
            return
        self._counted()
        if self.stale_writes:
            raise self._violation(
                "a_replica_that_lost_its_lease_writes_nothing", None, self.stale_writes[0]
            )

    @invariant()
    def deadlines_at_risk_are_counted(self) -> None:
        """The relayer's deadlines-at-risk count (``RelayerService.deadlines_at_risk``, the
        ``stbridge_deadlines_at_risk`` gauge) is at least the number of open swaps with a
        locked leg whose deadline can come within the relayer's reaction + margin, by the
        chain time the relayer last observed: a deadline in rounds can come at the chain's
        *fastest* block time (issue 13 item 13: converted at the slowest, it under-reports).
        The machine reads the store's states and applies that rule itself."""
        if not self.ready:
            return
        self._counted()
        budget = self.scenario.budget
        within = budget.reaction_s + budget.margin_s
        expected: list[str] = []
        for swap in self.swaps:
            state = self.svc.store.get(swap.swap_id)
            if state.outcome is not Outcome.OPEN:
                continue
            for role in Role:
                if state.leg_state(role).phase is not LegPhase.LOCKED:
                    continue
                chain = "sec" if role is Role.INITIATOR else "cash"
                # the chain time the relayer last observed for the swap (written, or held
                # back until it acts): the clock is not what is under test, the conversion is
                now = self.svc._chain_time(state, chain_key(state.terms.leg(role).chain))
                if now is None:
                    continue
                left = state.terms.deadline(role) - now
                timing = self._setup(chain).timing
                if timing.deadline_unit == "round":
                    left = left * timing.block_time_min_ms // 1000
                if left < within:
                    expected.append(f"{swap.swap_id} ({role.value} leg, {left} s left)")
                    break
        counted = self.svc.deadlines_at_risk(within)
        if counted < len(expected):
            raise self._violation(
                "deadlines_at_risk_are_counted",
                None,
                f"the relayer counts {counted} swaps with a deadline within {within} s; at risk: "
                f"{', '.join(expected)}",
            )

    @invariant()
    def only_the_legs_own_lock_is_recorded(self) -> None:
        """A lock counts for a leg only if it is provably that leg's lock: whatever lock id
        the relayer records for a leg is the one the machine recomputes from the agreed
        terms (the EVM HTLC's id of exactly those parameters, sender included; the
        Algorand escrow address of our template for the asset with every value written
        in). A look-alike, a decoy of another asset or another template is never
        recorded as the leg's lock (issue 13 item 1)."""
        if not self.ready:
            return
        self._counted()
        for swap in self.swaps:
            state = self.svc.store.get(swap.swap_id)
            for role in Role:
                recorded = state.leg_state(role).lock_id
                if recorded is not None and recorded.lower() != swap.lock_ids[role].lower():
                    raise self._violation(
                        "only_the_legs_own_lock_is_recorded",
                        swap,
                        f"the relayer records {recorded} as the {role.value} leg's lock; the "
                        f"leg's own lock (recomputed from the terms) is {swap.lock_ids[role]}",
                    )

    @invariant()
    def no_lock_claimed_and_refunded(self) -> None:
        """No lock is both claimed and refunded: on chain no lock id carries both a
        ``Claimed`` and a ``Refunded`` event, and the relayer never records a leg claimed
        whose lock the chain shows refunded, or the reverse."""
        if not self.ready:
            return
        self._counted()
        for chain in CHAINS:
            htlc = self._htlc(chain)
            closed: dict[str, str] = {}
            for event in htlc.events(0, self._head(chain)):
                if event.name not in ("Claimed", "Refunded"):
                    continue
                lock_id = str(event.args["lock_id"])
                if closed.setdefault(lock_id, event.name) != event.name:
                    raise self._violation(
                        "no_lock_claimed_and_refunded", None, f"lock {lock_id} on {chain}"
                    )
        for swap in self.swaps:
            if swap.outside:
                continue
            state = self.svc.store.get(swap.swap_id)
            for role, chain_state in zip(Role, self._states(swap), strict=True):
                phase = state.leg_state(role).phase
                if (phase is LegPhase.CLAIMED and chain_state == "refunded") or (
                    phase is LegPhase.REFUNDED and chain_state == "claimed"
                ):
                    raise self._violation(
                        "no_lock_claimed_and_refunded",
                        swap,
                        f"the relayer records the {role.value} leg {phase.value}; "
                        f"the chain shows its lock {chain_state}",
                    )

    @invariant()
    def escrow_holds_its_open_locks(self) -> None:
        """Every EVM HTLC holds at least the sum of its open locks of every asset (the
        security, the cash coin, the decoy token, ether), or the shortfall is surfaced:
        once a replica has begun a claim or refund of a leg of that asset in a tick after
        the gap appeared, the ``stbridge_escrow_shortfall`` gauge for the asset is positive
        (on either replica)."""
        if not self.ready:
            return
        self._counted()
        gaps = self._escrow_gaps()
        for chain, asset in self._pooled():
            label = "native" if asset is None else asset.locator.address  # type: ignore[union-attr]
            missing = gaps.get((chain, label.lower()), 0)
            key = (chain, label)
            if not missing:
                self.shortfall_seen.pop(key, None)
                continue
            since = self.shortfall_seen.setdefault(key, self.tick_seq)
            if self.acted_at.get(asset, -1) <= since:  # no claim or refund since it was seen
                continue
            gauge = max(
                service.metrics.registry.get_sample_value(
                    "stbridge_escrow_shortfall", {"chain": chain, "asset": label}
                )
                or 0
                for service in (self.svc, self.replica)
                if service is not None
            )
            if not gauge:
                raise self._violation(
                    "escrow_holds_its_open_locks",
                    None,
                    f"the {chain} HTLC holds {missing} units of {label} less than its open "
                    f"locks and the relayer's stbridge_escrow_shortfall gauge is {gauge}",
                )

    def _escrow_gaps(self) -> dict[tuple[str, str], int]:
        """Per (chain, token address in lower case or ``native``): how much the HTLC holds
        less than the sum of its open plain locks of it, from the machine's own reading of
        the lock events (one log scan per chain) and balances (not the adapter's check)."""
        return {
            key: owed - have for key, (owed, have) in self._escrow_books().items() if owed > have
        }

    @invariant()
    def no_asset_stranded_in_an_escrow(self) -> None:
        """Every EVM HTLC holds no more of any asset than the sum of its open locks of it
        (with ``escrow_holds_its_open_locks``: exactly that sum, unless an agent forced
        units out). A surplus is an asset that no open lock can ever pay out: a lock was
        closed without paying its asset (issue 13 item 2: ``claimToken`` / ``refundToken``
        with ``token = 0`` closing a native lock), stranded in the contract for ever. Read
        from the machine's own scan of the lock events and the HTLC's balances."""
        if not self.ready:
            return
        self._counted()
        for (chain, token), (owed, have) in self._escrow_books().items():
            if have > owed:
                raise self._violation(
                    "no_asset_stranded_in_an_escrow",
                    None,
                    f"the {chain} HTLC holds {have} of {token} but its open locks of it sum to "
                    f"{owed}: {have - owed} stranded (a lock closed without paying out)",
                )

    def _escrow_books(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (chain, token address in lower case or ``native``): the sum of the HTLC's
        open plain locks of it and its balance of it (every asset it holds or owes)."""
        w = self.world
        balances = self._balances()
        held = {
            ("sec", w.security.locator.address.lower()): balances[("security", "security HTLC")],  # type: ignore[union-attr]
            # an ERC-1400 token: its units by partition (class A pays a plain lock too)
            **partition_held(w),
        }
        if "cash" in self.EVM_CHAINS:
            held[("cash", w.cash_token.locator.address.lower())] = balances[("cash", "cash HTLC")]  # type: ignore[union-attr]
            held[("cash", w.decoy_token.locator.address.lower())] = balances[("decoy", "cash HTLC")]  # type: ignore[union-attr]
        books: dict[tuple[str, str], tuple[int, int]] = {}
        for chain in self.EVM_CHAINS:
            htlc = w.htlc(chain)
            client = w.client(chain)
            opened: dict[str, tuple[str, int]] = {}
            closed: set[str] = set()
            for event in htlc.events(0, client.head()):
                lock_id = str(event.args["lock_id"])
                if event.name == "Locked":
                    token = str(event.args.get("token") or NATIVE_LABEL).lower()
                    if event.args.get("partition") is not None:  # ERC-1400: by partition
                        token = partition_books(w, token, event.args["partition"])
                    opened[lock_id] = (token, int(str(event.args["amount"])))
                else:
                    closed.add(lock_id)
            owed: dict[str, int] = {}
            for lock_id, (token, amount) in opened.items():
                if lock_id not in closed:
                    owed[token] = owed.get(token, 0) + amount
            owed.setdefault(NATIVE_LABEL, 0)
            for chain_name, token in held:
                if chain_name == chain:
                    owed.setdefault(token, 0)
            for token, amount in owed.items():
                have = (
                    client.balance(htlc.address)
                    if token == NATIVE_LABEL
                    else held.get((chain, token), 0)
                )
                books[(chain, token)] = (amount, have)
        return books

    def _pooled(self) -> list[tuple[str, AssetRef | None]]:
        """The (chain, asset) pairs a pooled EVM HTLC holds (``None``: the chain's coin)."""
        world = self.world
        pooled: tuple[tuple[str, AssetRef | None], ...] = (
            ("sec", world.security),
            ("sec", world.st1400),
            ("cash", world.cash_token),
            ("cash", world.decoy_token),
            ("cash", None),
            ("sec", None),
        )
        return [(c, a) for c, a in pooled if c in self.EVM_CHAINS]

    def _due(self, asset: AssetRef | None) -> bool:
        """Whether an open swap that replica A acts on now (its lease is A's or free, and it
        is not waiting out a back-off) has a claim or refund of a leg of ``asset`` pending."""
        for swap in self.swaps:
            if self.svc.retries.deferred(swap.swap_id) or self.svc.store.lease_owner(
                swap.swap_id
            ) not in (None, self.svc.replica_id):
                continue
            effects = self.svc.store.pending_effects(swap.swap_id)
            for row in effects:
                role = getattr(row.effect, "role", None)
                due = row.effect.kind in ("submit_claim", "submit_refund")
                if due and role is not None and swap.terms.leg(Role(str(role))).asset == asset:
                    return True
        return False

    @invariant()
    def secret_stays_private_until_revealed(self) -> None:
        """A swap's secret never appears in the relayer's logs (every record of the relayer,
        adapters and bridge loggers, captured) nor in its API output (the audit record, and
        every answer of the HTTP API to the API-client actors) while it is not yet public on
        a chain."""
        if not self.ready:
            return
        self._counted()
        self._scan()
        lines = self.capture.lines[self.log_seen :]
        self.log_seen = len(self.capture.lines)
        answers = self.api_log[self.api_seen :]
        self.api_seen = len(self.api_log)
        for swap in self.swaps:
            if swap.hashlock in self.public:
                continue
            secret = swap.secret.hex()
            for line in lines:
                if secret in line.lower():
                    raise self._violation(
                        "secret_stays_private_until_revealed", swap, "the secret is in a log line"
                    )
            if secret in json.dumps(self.svc.audit(swap.swap_id)).lower():
                raise self._violation(
                    "secret_stays_private_until_revealed", swap, "the secret is in the audit"
                )
            for exchange in answers:
                if secret in exchange.body.lower():
                    raise self._violation(
                        "secret_stays_private_until_revealed",
                        swap,
                        f"the secret is in the API's answer to {exchange.method} {exchange.path}",
                    )

    def _holders(self) -> dict[str, list[tuple[str, str]]]:
        """Every account that may hold each asset in this world: (label, address)."""
        w = self.world
        cash_side = [
            ("custodied buyer", w.buyers["custodied"].address),
            ("external buyer", w.buyers["external"].address),
            ("third party", w.third.address),
            ("seller's cash wallet", w.seller_on_cash.address),
            ("cash HTLC", w.cash_htlc.address),
            ("cash issuer", w.cash_issuer.address),
        ]
        return {
            "security": [
                ("seller", w.seller.address),
                ("buyer", w.buyer_on_sec),
                ("security HTLC", w.sec_htlc.address),
                ("third party", w.third.address),
            ],
            "cash": cash_side,
            "decoy": cash_side,
            "st1400": [
                ("seller", w.seller.address),
                ("buyer", w.buyer_on_sec),
                ("security HTLC", w.sec_htlc.address),
                ("third party", w.third.address),
                ("controller", w.st1400_agent.address),
            ],
        }

    def _chain_state_key(self) -> tuple[str, ...]:
        """What identifies the chains' state now (their latest block hashes)."""
        return tuple(
            str(self.world.client(c).w3.eth.get_block("latest")["hash"]) for c in self.EVM_CHAINS
        )

    def _other_balances(
        self, name: str, holders: list[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """Balances of token ``name`` on a chain that is not EVM (none here: see
        :class:`relayer.interop.algorand.AlgorandCashMachine`)."""
        return {}

    def _expected_supply(self) -> dict[str, int]:
        """Each token's total supply as the world minted it."""
        return {
            "security": SELLER_UNITS,
            "cash": 3 * CASH_FUNDS,
            "decoy": 3 * CASH_FUNDS,
            "st1400": SELLER_UNITS + SELLER_CLASS_B_UNITS + CLASS_B_UNITS,
        }

    def _balances(self) -> dict[tuple[str, str], int]:
        """Every holder's balance of every token, read once per step (both invariants below
        use it), and each token's total supply under ``(name, "total supply")``."""
        w = self.world
        at = self._chain_state_key()
        if self._balances_at == at and self._balances_now:
            return self._balances_now
        refs = {
            "security": w.security,
            "cash": w.cash_token,
            "decoy": w.decoy_token,
            "st1400": w.st1400,
        }
        out: dict[tuple[str, str], int] = {}
        for name, holders in self._holders().items():
            on_sec = name in ("security", "st1400")
            if not on_sec and "cash" not in self.EVM_CHAINS:
                out.update(self._other_balances(name, holders))
                continue
            client = w.sec if on_sec else w.cash
            token = client.contract(
                refs[name].locator.address,  # type: ignore[union-attr]
                _ERC20_ABI,
            )
            out[(name, "total supply")] = int(token.functions.totalSupply().call())
            for label, address in holders:
                out[(name, label)] = int(token.functions.balanceOf(address).call())
        self._balances_at, self._balances_now = at, out
        return out

    @invariant()
    def supply_is_conserved(self) -> None:
        """Supply of every asset is conserved: each token's total supply is what the world
        minted (nothing is minted or burnt by a swap), and the balances of the accounts
        that may hold it (parties, third party, issuer, the HTLC escrow) add up to it: no
        unit is created, destroyed, or paid to anyone else (an operator, a contract)."""
        if not self.ready:
            return
        self._counted()
        expected = self._expected_supply()
        balances = self._balances()
        for name, holders in self._holders().items():
            supply = balances[(name, "total supply")]
            held = {label: balances[(name, label)] for label, _ in holders}
            if supply != expected[name] or sum(held.values()) != supply:
                raise self._violation(
                    "supply_is_conserved",
                    None,
                    f"{name}: total supply {supply} (minted {expected[name]}), held by the "
                    f"known accounts {sum(held.values())} ({held})",
                )

    @invariant()
    def no_ineligible_holder_receives_the_security(self) -> None:
        """No ineligible holder ever receives the security: every account whose balance of
        the T-REX token grew since the previous check is eligible under the token's
        identity registry now (a verified identity with the required claims)."""
        if not self.ready:
            return
        self._counted()
        w = self.world
        balances = self._balances()
        for label, address in self._holders()["security"]:
            balance = balances[("security", label)]
            before = self.holdings.get(("security", label), balance)
            self.holdings[("security", label)] = balance
            if (
                balance > before
                and not Erc3643Adapter(w.sec).eligibility(w.security, address).eligible
            ):
                raise self._violation(
                    "no_ineligible_holder_receives_the_security",
                    None,
                    f"{label} ({address}) received {balance - before} units while ineligible",
                )

    # ------------------------------------------------------------------ the end
    def _in_flight(self) -> bool:
        for swap in self.swaps:
            state = self.svc.store.get(swap.swap_id)
            if state.outcome is Outcome.OPEN and (
                state.secret_public
                or swap.hashlock in self.public
                or state.participant.phase is LegPhase.CLAIM_SENT
            ):
                return True
        return False

    def drain(self) -> None:
        """The example's end: the agents undo what they did, and the chains keep moving
        (blocks within their block times) while the relayer ticks, until every deadline has
        passed by its confirmations and a few ticks more."""
        self.undoing = True
        self.freeze_armed = False
        self.freeze_on_reveal = False
        if self.forced_out:
            self.agent_restore()
        self.restore_partition()
        if self.frozen and self.config.agents_undo:
            self.agent_freeze(False)
        if self.blocked:
            self.agent_block_receiver(False)
        if self.paused:
            self.agent_pause(False)
        if self.revoked:
            self.agent_revoke_kyc(False)
        self.takeover_armed = False
        self.undoing = False
        last = {
            "sec": max(s.terms.initiator_deadline for s in self.swaps),
            "cash": max(s.terms.participant_deadline for s in self.swaps),
        }
        settled_ticks = 0
        dropped = self.dropped
        for _ in range(self.config.drain_ticks):
            self._tick()
            if self.replica is not None:
                self._replica_tick()
            self._sync()
            for swap in self._external():  # an honest external buyer takes its cash back
                if self._now("cash") >= swap.terms.participant_deadline:
                    with contextlib.suppress(BridgeError):
                        self._htlc("cash").refund(swap.lock_ids[Role.PARTICIPANT], swap.buyer)
            past = all(self._now(c) > last[c] for c in CHAINS)
            if past:
                settled_ticks += 1
                # a submission lost on its way is asked about a tick after the next one and
                # sent again: each drop that hit the relayer here costs it two more ticks
                lost = self.dropped - dropped
                depth = max(self._setup(c).confirmations for c in CHAINS)
                if settled_ticks > 3 + depth + 2 * lost:
                    break
                for chain in CHAINS:
                    self._mine(chain, 1, self._setup(chain).block_seconds()[1])
                continue
            if self._in_flight():
                # a claim is due: the relayer runs at least once a block and within its budget
                step = min(
                    min(self._setup(c).block_seconds()[1] for c in CHAINS),
                    max(self._allowance(), 1),
                )
            else:
                # nothing in flight: jump to the next deadline (a quiet relayer, not a fault)
                step = max(
                    self.config.drain_step_s,
                    min(self._seconds(c, last[c] - self._now(c)) for c in CHAINS),
                )
            self.counting = False  # the drain keeps to the relayer's budget by its step
            self._advance(max(step, 1))
            self.counting = True

    def every_swap_reaches_a_final_state(self) -> None:
        """Liveness: when the chains keep moving, every swap is final once each chain is past
        the swap's deadline by its confirmation depth and the relayer has ticked a few more
        times (three, and two for each of its submissions lost on the way there); then the
        honest-party property holds for it, and none of its locks is still open (a swap the
        relayer calls final never strands a party's units in an HTLC)."""
        self._counted()
        for swap in self.swaps:
            if swap.exempt:
                continue
            state = self.svc.store.get(swap.swap_id)
            if state.outcome is not Outcome.OPEN and "open" in self._states(swap):
                raise self._violation(
                    "every_swap_reaches_a_final_state",
                    swap,
                    f"the relayer says {state.outcome.value} but a lock is still open on chain "
                    f"after every deadline (security lock, cash lock: {self._states(swap)}): "
                    "stranded",
                )
            if self._settled(swap):
                self._assert_honest(swap)
            if state.outcome is Outcome.OPEN:
                raise self._violation(
                    "every_swap_reaches_a_final_state",
                    swap,
                    f"still open after every deadline (initiator {state.initiator.phase}, "
                    f"participant {state.participant.phase})",
                )
            self._assert_honest(swap)

    def final_states(self) -> list[tuple[str, str, str]]:
        """Each swap's outcome and leg phases as the store records them (in submit order)."""
        out = []
        for swap in self.swaps:
            state = self.svc.store.get(swap.swap_id)
            out.append(
                (state.outcome.value, state.initiator.phase.value, state.participant.phase.value)
            )
        return out

    def restore_logging(self) -> None:
        """Give the loggers this machine listens to back their levels, without its handler
        (idempotent: also for an example that ended before :meth:`teardown`)."""
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self.capture)
            logger.setLevel(self._levels[name])

    def teardown(self) -> None:
        """Let every deadline pass, check liveness, and release the example's resources."""
        self.step_ticks = self.ticks
        try:
            if self.ready and self.swaps:
                self.drain()
                self._scan()
                self.every_swap_reaches_a_final_state()
                self.secret_stays_private_until_revealed()
                self.a_refused_claim_waits_out_its_back_off()
        finally:
            self.restore_logging()
            if self.ready and self.service is not None:
                _FINALS.append(self.final_states())
            self._unhook_clients()
            for service in (self.service, self.replica):
                if service is not None:
                    with contextlib.suppress(Exception):
                        service.store.close()
            if self.dsn is not None:
                _drop_schema(self.dsn)
            shutil.rmtree(self.workdir, ignore_errors=True)
            _STATS.examples += 1
            _STATS.relayer_ticks += self.step_ticks
            _STATS.steps += self.steps
            _STATS.invariants += self.invariants_checked
            _STATS.traces.append(self.trace)


@dataclass
class RunStats:
    """Counters across examples (the CLI's progress display reads them)."""

    examples: int = 0
    steps: int = 0
    invariants: int = 0
    started: float = field(default_factory=time.monotonic)
    rules: collections.Counter[str] = field(default_factory=collections.Counter)
    """How often each rule ran."""
    relayer_ticks: int = 0
    """Ticks of the relayer (replica A) during the examples' steps (not their ends)."""
    traces: list[list[str]] = field(default_factory=list)
    """Each example's step trace (rule, chain clocks and heads, swap states per step)."""


_STATS = RunStats()
_FINALS: list[list[tuple[str, str, str]]] = []


def finals() -> list[list[tuple[str, str, str]]]:
    """The final swap states of every example since :func:`reset_stats`, in run order (the
    SQLite/PostgreSQL agreement test compares them)."""
    return _FINALS


def stats() -> RunStats:
    """The process-wide counters."""
    return _STATS


def reset_stats() -> RunStats:
    """Start counting afresh; return the new counters."""
    global _STATS
    _STATS = RunStats()
    _FINALS.clear()
    return _STATS


def machine_class(config: MachineConfig) -> type[InteropMachine]:
    """An :class:`InteropMachine` subclass that runs under ``config`` (the Algorand cash
    machine for ``chains = "evm-algorand"``)."""
    name = "Interop_" + "".join(c if c.isalnum() else "_" for c in config.name)
    base: type[InteropMachine] = InteropMachine
    if config.chains == "evm-algorand":
        from relayer.interop.algorand import AlgorandCashMachine

        base = AlgorandCashMachine
    return type(name, (base,), {"config": config})
