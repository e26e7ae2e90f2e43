"""Hash-time-lock primitives and the timelock calculator (pure: no I/O, no clock, no global RNG).

Secrets and hashlocks
    A secret is exactly 32 bytes; its hashlock is ``sha256(secret)``. Both the EVM HTLC and
    the Algorand HTLC hash exactly 32 bytes, so a secret that opens one leg opens the other
    (a size mismatch between chains is how decred/atomicswap#58 lost funds). :class:`Secret`
    wraps the value so that ``repr``/``str``/``format`` and pickling never reveal it; the
    bytes come out only through :meth:`Secret.reveal`. Randomness is injected.

Swap ids
    :func:`swap_id` derives a stable 32-byte id for a swap from its hashlock and the two
    legs' chains and parties (SHA-256 over a length-prefixed encoding, domain separated).

Timelock calculator
    :func:`plan_deadlines` turns "this trade may take at most ``settlement_window_s``" into
    the two legs' deadlines in each chain's own terms (block timestamp or round), with every
    delay a party can suffer accounted for. Each deadline is known only within an interval
    of real time: a block timestamp may be off the wall clock by ``timestamp_drift_s``, and
    a round deadline arrives between ``n * block_time_min`` and ``n * block_time_max`` from
    now. The plan guarantees, in the worst case of every interval::

        participant deadline (latest)  + claim window  <=  initiator deadline (earliest)
        now + setup                                    <=  participant deadline (earliest)
        initiator deadline (latest)                    <=  now + settlement_window_s

    where the claim window is what the participant needs after the secret may first appear
    (its reaction, the compliance re-check, and its claim included and final on the
    initiator's chain, plus the margin), and the setup is what must happen before the
    participant's deadline (the initiator's lock final, the participant's check and lock
    final, the initiator's check and claim final). Inputs that cannot meet all three are
    refused with :class:`~bridge.errors.InvalidInput` naming the field, the rule and the
    numbers that failed ("timeouts too tight", as COMIT RFC-003 calls it).

Times are integers: wall-clock instants are unix seconds, block intervals milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, NoReturn

from bridge.errors import InvalidInput

__all__ = [
    "MAX_SETTLEMENT_WINDOW_S",
    "SECRET_BYTES",
    "ChainHead",
    "ChainTiming",
    "DeadlineBounds",
    "DeadlinePlan",
    "RelayerBudget",
    "Secret",
    "claim_needed_s",
    "hashlock",
    "minimum_settlement_window",
    "new_secret",
    "plan_deadlines",
    "reveal_margin",
    "setup_needed_s",
    "swap_id",
    "verify_secret",
]

SECRET_BYTES: Final = 32
"""Length of every secret, on every chain."""

MAX_SETTLEMENT_WINDOW_S: Final = 366 * 24 * 3600
"""Longest lock the EVM HTLC accepts (its ``MAX_LOCK_SECONDS``); longer is refused here too."""

_SWAP_ID_DOMAIN: Final = b"stbridge/swap-id/v1"


def _require_32(field: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidInput(field, "must be bytes", value=type(value).__name__)
    raw = bytes(value)
    if len(raw) != SECRET_BYTES:
        # never echo the bytes: they may be a secret
        raise InvalidInput(field, f"must be exactly {SECRET_BYTES} bytes, got {len(raw)}")
    return raw


class Secret:
    """A 32-byte swap secret that never shows itself.

    ``repr``/``str``/``format`` show only the (public) hashlock; pickling is refused so a
    secret is not written anywhere by accident. Persist it deliberately with :meth:`reveal`.
    Equality is constant-time.
    """

    __slots__ = ("__value", "_hashlock")

    def __init__(self, value: bytes) -> None:
        raw = _require_32("secret", value)
        self.__value = raw
        self._hashlock = hashlib.sha256(raw).digest()

    @classmethod
    def generate(cls, randbytes: Callable[[int], bytes] = _secrets.token_bytes) -> Secret:
        """A fresh secret from ``randbytes(32)`` (inject a seeded source in tests)."""
        return cls(randbytes(SECRET_BYTES))

    @property
    def hashlock(self) -> bytes:
        """``sha256(secret)``: safe to publish."""
        return self._hashlock

    def reveal(self) -> bytes:
        """The 32 secret bytes. Only for claiming or for an encrypted store."""
        return self.__value

    def __repr__(self) -> str:
        return f"Secret(hashlock=0x{self._hashlock.hex()})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.__value, other.__value)

    def __hash__(self) -> int:
        return hash(self._hashlock)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; store Secret.reveal() deliberately")


def new_secret(randbytes: Callable[[int], bytes] = _secrets.token_bytes) -> Secret:
    """A fresh :class:`Secret` from the injected randomness source."""
    return Secret.generate(randbytes)


def hashlock(secret: Secret | bytes) -> bytes:
    """``sha256(secret)``; the secret must be exactly 32 bytes (``InvalidInput`` otherwise)."""
    if isinstance(secret, Secret):
        return secret.hashlock
    return hashlib.sha256(_require_32("secret", secret)).digest()


def verify_secret(secret: Secret | bytes, expected_hashlock: bytes) -> bool:
    """Whether ``secret`` opens ``expected_hashlock`` (constant-time comparison)."""
    expected = _require_32("hashlock", expected_hashlock)
    return hmac.compare_digest(hashlock(secret), expected)


def _field(part: str | bytes | int) -> bytes:
    if isinstance(part, bool):
        raise InvalidInput("swap_id", "parts are strings, bytes or integers, not booleans")
    if isinstance(part, int):
        if part < 0:
            raise InvalidInput("swap_id", "integer parts must be >= 0", value=part)
        raw = b"i" + part.to_bytes(32, "big")
    elif isinstance(part, str):
        raw = b"s" + part.encode("utf-8")
    else:
        raw = b"b" + bytes(part)
    return len(raw).to_bytes(4, "big") + raw


def swap_id(
    hashlock_: bytes,
    *,
    initiator_chain: str,
    participant_chain: str,
    initiator: str,
    participant: str,
    nonce: int = 0,
) -> bytes:
    """The 32-byte id of a swap: SHA-256 over its hashlock, chains, parties and a nonce.

    Chains are stable keys such as ``evm:31337`` or ``algorand:<genesis hash>``. The same
    inputs always give the same id; changing any of them changes it.
    """
    lock = _require_32("hashlock", hashlock_)
    for name, value in (
        ("initiator_chain", initiator_chain),
        ("participant_chain", participant_chain),
        ("initiator", initiator),
        ("participant", participant),
    ):
        if not isinstance(value, str) or not value:
            raise InvalidInput(name, "must be a non-empty string")
    parts: tuple[str | bytes | int, ...] = (
        _SWAP_ID_DOMAIN,
        lock,
        initiator_chain,
        participant_chain,
        initiator,
        participant,
        nonce,
    )
    return hashlib.sha256(b"".join(_field(p) for p in parts)).digest()


# ------------------------------------------------------------------ timelock calculator


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainTiming:
    """How one chain keeps time, as far as deadlines are concerned.

    - ``deadline_unit``: ``"timestamp"`` (EVM: unix seconds compared with the block
      timestamp) or ``"round"`` (Algorand: a round number);
    - ``block_time_min_ms`` / ``block_time_max_ms``: the fastest and slowest interval between
      blocks to plan for (the variance);
    - ``finality_depth``: blocks on top of a transaction's block before it counts as final;
    - ``inclusion_blocks``: blocks a submitted transaction may wait before it is included;
    - ``timestamp_drift_s``: how far a block timestamp may be from the wall clock (0 for
      round chains, whose deadlines are not timestamps).
    """

    deadline_unit: Literal["timestamp", "round"]
    block_time_min_ms: int
    block_time_max_ms: int
    finality_depth: int = 0
    inclusion_blocks: int = 1
    timestamp_drift_s: int = 0

    def validate(self, field: str) -> None:
        """Refuse impossible values with ``InvalidInput`` naming ``field.<name>``."""
        if self.deadline_unit not in ("timestamp", "round"):
            raise InvalidInput(f"{field}.deadline_unit", "must be 'timestamp' or 'round'")
        _int_at_least(f"{field}.block_time_min_ms", self.block_time_min_ms, 1)
        _int_at_least(f"{field}.block_time_max_ms", self.block_time_max_ms, 1)
        if self.block_time_max_ms < self.block_time_min_ms:
            raise InvalidInput(
                f"{field}.block_time_max_ms",
                f"must be >= block_time_min_ms ({self.block_time_min_ms})",
                value=self.block_time_max_ms,
            )
        _int_at_least(f"{field}.finality_depth", self.finality_depth, 0)
        _int_at_least(f"{field}.inclusion_blocks", self.inclusion_blocks, 1)
        _int_at_least(f"{field}.timestamp_drift_s", self.timestamp_drift_s, 0)

    def confirm_s(self) -> int:
        """Worst-case seconds from submitting a transaction until it is included and final."""
        return _ceil_div(
            (self.inclusion_blocks + self.finality_depth) * self.block_time_max_ms, 1000
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class RelayerBudget:
    """Time a party needs besides the chains' own delays (all seconds).

    ``reaction_s``: from an event becoming visible to a transaction being submitted;
    ``compliance_recheck_s``: the compliance re-check before a lock or a claim;
    ``margin_s``: an extra safety margin added to every window;
    ``poll_s``: the relayer's poll interval (an event may wait this long to be seen).
    """

    reaction_s: int
    compliance_recheck_s: int
    margin_s: int
    poll_s: int = 0

    def validate(self) -> None:
        """Refuse negative values with ``InvalidInput``."""
        _int_at_least("budget.poll_s", self.poll_s, 0)
        _int_at_least("budget.reaction_s", self.reaction_s, 0)
        _int_at_least("budget.compliance_recheck_s", self.compliance_recheck_s, 0)
        _int_at_least("budget.margin_s", self.margin_s, 0)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainHead:
    """Where a chain is now: its latest height (block number or round) and, for timestamp
    chains, its latest block's timestamp (``time``; None: unknown, the wall clock stands
    for it)."""

    height: int
    time: int | None = None


@dataclass(frozen=True, slots=True)
class DeadlineBounds:
    """One deadline: its chain-native value and the real-time interval in which it falls."""

    native: int
    earliest_s: int
    latest_s: int


@dataclass(frozen=True, slots=True)
class DeadlinePlan:
    """The two deadlines, the participant's last moment to lock, and the windows behind them.

    ``initiator`` is the initiator leg's deadline (on the initiator's chain, the later one);
    ``participant`` the participant leg's (on the participant's chain). ``participant_lock_by``
    is chain-native on the participant's chain, as is ``participant_reveal_by``, the last
    chain time at which the secret may be revealed (:func:`reveal_margin` before the
    deadline). ``claim_window_s`` is the time the participant
    is guaranteed between its own deadline and the initiator's, ``setup_s`` the time needed
    before the participant's deadline.
    """

    now_s: int
    initiator: DeadlineBounds
    participant: DeadlineBounds
    participant_lock_by: int
    claim_window_s: int
    claim_needed_s: int
    setup_s: int
    participant_reveal_by: int = 0


def _int_at_least(field: str, value: object, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, "must be an integer", value=value)
    if value < low:
        raise InvalidInput(field, f"must be >= {low}", value=value)
    return value


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def claim_needed_s(
    initiator_chain: ChainTiming,
    budget: RelayerBudget,
    participant_chain: ChainTiming | None = None,
) -> int:
    """What the participant needs after the secret may appear, every wait the relayer adds
    included: the reveal (mined as late as the participant's deadline) confirmed on the
    participant's chain (the relayer acts only on confirmed events), a poll to see it,
    reaction, re-check, and the claim included and final on the initiator's chain."""
    observe = 0
    if participant_chain is not None:
        observe = _ceil_div(
            participant_chain.finality_depth * participant_chain.block_time_max_ms, 1000
        )
    return (
        observe
        + budget.poll_s
        + budget.reaction_s
        + budget.compliance_recheck_s
        + initiator_chain.confirm_s()
        + budget.margin_s
    )


def reveal_margin(chain: ChainTiming) -> int:
    """How far before its deadline (chain-native units) the participant leg's claim, which
    reveals the secret, must be sent so that it is mined in time: its inclusion time, and
    for timestamp chains the clock drift. A reveal later than that is never sent."""
    if chain.deadline_unit == "round":
        return chain.inclusion_blocks + 1
    # the head's timestamp may be ``drift`` behind real time and the including block's
    # ``drift`` ahead of it: twice the drift (found by the spin model, specs/protocol)
    return _ceil_div(chain.inclusion_blocks * chain.block_time_max_ms, 1000) + (
        2 * chain.timestamp_drift_s + 1
    )


def setup_needed_s(
    initiator_chain: ChainTiming, participant_chain: ChainTiming, budget: RelayerBudget
) -> int:
    """What must fit before the participant's deadline, from the initiator's lock on."""
    per_step = budget.reaction_s + budget.compliance_recheck_s
    return (
        initiator_chain.confirm_s()  # initiator's lock final
        + per_step
        + participant_chain.confirm_s()  # participant's lock final
        + per_step
        + participant_chain.confirm_s()  # initiator's claim final
        + budget.margin_s
    )


def _bounds_not_after(
    chain: ChainTiming, head: ChainHead, now_s: int, latest: int
) -> DeadlineBounds:
    """The latest deadline on ``chain`` whose real time is never after ``latest``.

    Timestamp chains: the block that first reaches timestamp ``native`` may be produced up
    to ``drift`` before or after ``native`` in real time. Round chains: the head round may
    be just about to be followed, so round ``head + n`` arrives between ``(n - 1) * min``
    and ``n * max`` from now.
    """
    if chain.deadline_unit == "timestamp":
        # Deadlines are the chain's timestamps, so they are planned on the chain's clock: a
        # chain ahead of the wall clock reaches a timestamp sooner. A chain behind it (an
        # idle dev chain) stamps its next block with about the wall clock, so the later of
        # the two is the chain's "now".
        ahead = 0 if head.time is None else max(head.time - now_s, 0)
        native = latest - chain.timestamp_drift_s + ahead
        return DeadlineBounds(native, native - ahead - chain.timestamp_drift_s, latest)
    rounds = max(0, ((latest - now_s) * 1000) // chain.block_time_max_ms)
    return DeadlineBounds(
        head.height + rounds,
        now_s + (max(0, rounds - 1) * chain.block_time_min_ms) // 1000,
        now_s + _ceil_div(rounds * chain.block_time_max_ms, 1000),
    )


@dataclass(frozen=True, slots=True)
class _Core:
    initiator: DeadlineBounds
    participant: DeadlineBounds
    claim_needed: int
    setup: int

    def fits(self, now_s: int) -> bool:
        return (
            self.participant.earliest_s >= now_s + self.setup and self.participant.latest_s > now_s
        )


def _core(
    initiator_chain: ChainTiming,
    participant_chain: ChainTiming,
    budget: RelayerBudget,
    window: int,
    now_s: int,
    initiator_head: ChainHead,
    participant_head: ChainHead,
) -> _Core:
    claim_needed = claim_needed_s(initiator_chain, budget, participant_chain)
    initiator = _bounds_not_after(initiator_chain, initiator_head, now_s, now_s + window)
    participant = _bounds_not_after(
        participant_chain, participant_head, now_s, initiator.earliest_s - claim_needed
    )
    setup = setup_needed_s(initiator_chain, participant_chain, budget)
    return _Core(initiator, participant, claim_needed, setup)


def _validate(
    initiator_chain: ChainTiming, participant_chain: ChainTiming, budget: RelayerBudget
) -> None:
    initiator_chain.validate("initiator_chain")
    participant_chain.validate("participant_chain")
    budget.validate()


def plan_deadlines(
    *,
    initiator_chain: ChainTiming,
    participant_chain: ChainTiming,
    budget: RelayerBudget,
    settlement_window_s: int,
    now_s: int,
    initiator_head: ChainHead,
    participant_head: ChainHead,
) -> DeadlinePlan:
    """Both legs' deadlines for a swap that starts now and must end within the window.

    Raises ``InvalidInput`` for impossible parameters, and for a window too short to hold
    the setup and the claim window with every margin ("timeouts too tight", with numbers).
    """
    _validate(initiator_chain, participant_chain, budget)
    _int_at_least("now_s", now_s, 0)
    _int_at_least("initiator_head.height", initiator_head.height, 0)
    _int_at_least("participant_head.height", participant_head.height, 0)
    _int_at_least("settlement_window_s", settlement_window_s, 1)
    if settlement_window_s > MAX_SETTLEMENT_WINDOW_S:
        raise InvalidInput(
            "settlement_window_s",
            f"must be <= {MAX_SETTLEMENT_WINDOW_S} s (366 days, the HTLC's longest lock)",
            value=settlement_window_s,
        )
    core = _core(
        initiator_chain,
        participant_chain,
        budget,
        settlement_window_s,
        now_s,
        initiator_head,
        participant_head,
    )
    if not core.fits(now_s):
        need = _minimum(initiator_chain, participant_chain, budget)
        shown = "more than the longest lock" if need is None else f"at least {need} s"
        raise InvalidInput(
            "settlement_window_s",
            f"timeouts too tight: needs {shown} (setup {core.setup} s before the "
            f"participant's deadline, then a claim window of {core.claim_needed} s, plus "
            f"clock and block-time uncertainty), got {settlement_window_s} s",
        )
    participant = core.participant
    # The participant may still lock while its lock, the initiator's re-check and the
    # initiator's claim all fit before the participant's deadline can first arrive.
    step = budget.reaction_s + budget.compliance_recheck_s
    lock_by_latest = participant.earliest_s - (
        2 * participant_chain.confirm_s() + step + budget.margin_s
    )
    lock_by = _bounds_not_after(participant_chain, participant_head, now_s, lock_by_latest)
    reveal_by = participant.native - reveal_margin(participant_chain)
    participant_lock_by = min(lock_by.native, participant.native - 1)
    if reveal_by <= participant_lock_by:
        raise InvalidInput(
            "settlement_window_s",
            f"timeouts too tight: the reveal must be sent by {reveal_by} on the participant's "
            f"chain, not after the participant's last lock time {participant_lock_by}",
        )
    return DeadlinePlan(
        now_s=now_s,
        initiator=core.initiator,
        participant=participant,
        participant_lock_by=participant_lock_by,
        claim_window_s=core.initiator.earliest_s - participant.latest_s,
        claim_needed_s=core.claim_needed,
        setup_s=core.setup,
        participant_reveal_by=reveal_by,
    )


def _minimum(
    initiator_chain: ChainTiming, participant_chain: ChainTiming, budget: RelayerBudget
) -> int | None:
    head = ChainHead(height=0)

    def fits(window: int) -> bool:
        return _core(initiator_chain, participant_chain, budget, window, 0, head, head).fits(0)

    if not fits(MAX_SETTLEMENT_WINDOW_S):
        return None
    low, high = 0, MAX_SETTLEMENT_WINDOW_S  # fits(high) and not fits(low)
    while high - low > 1:
        mid = (low + high) // 2
        if fits(mid):
            high = mid
        else:
            low = mid
    return high


def minimum_settlement_window(
    *,
    initiator_chain: ChainTiming,
    participant_chain: ChainTiming,
    budget: RelayerBudget,
) -> int:
    """The shortest ``settlement_window_s`` that :func:`plan_deadlines` accepts for these chains.

    Acceptance is monotonic in the window and independent of ``now`` and the heads, so this
    is found by bisection. Raises ``InvalidInput`` when even the longest window
    (:data:`MAX_SETTLEMENT_WINDOW_S`) is too short.
    """
    _validate(initiator_chain, participant_chain, budget)
    need = _minimum(initiator_chain, participant_chain, budget)
    if need is None:
        raise InvalidInput(
            "settlement_window_s",
            f"timeouts too tight: no window up to {MAX_SETTLEMENT_WINDOW_S} s fits these chains",
        )
    return need
