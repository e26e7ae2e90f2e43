"""Unit tests of bridge.htlc: secrets, hashlocks, swap ids and the timelock calculator."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable

import pytest

from bridge.errors import InvalidInput
from bridge.htlc import (
    MAX_SETTLEMENT_WINDOW_S,
    ChainHead,
    ChainTiming,
    DeadlinePlan,
    RelayerBudget,
    Secret,
    hashlock,
    minimum_settlement_window,
    new_secret,
    plan_deadlines,
    swap_id,
    verify_secret,
)

KNOWN = bytes(range(32))


def _fixed(value: bytes) -> Callable[[int], bytes]:
    def source(n: int) -> bytes:
        assert n == 32
        return value

    return source


# ------------------------------------------------------------------ secrets and hashlocks


def test_hashlock_is_sha256_of_the_32_bytes() -> None:
    assert hashlock(KNOWN) == hashlib.sha256(KNOWN).digest()
    # a fixed vector, so the function cannot silently change algorithm
    assert hashlock(b"\x00" * 32).hex() == (
        "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
    )


@pytest.mark.parametrize("size", [0, 1, 16, 31, 33, 64])
def test_secret_of_any_other_length_refused(size: int) -> None:
    with pytest.raises(InvalidInput) as info:
        hashlock(b"\x01" * size)
    assert info.value.field == "secret"
    assert f"got {size}" in info.value.rule
    with pytest.raises(InvalidInput):
        Secret(b"\x01" * size)


def test_secret_wrong_type_refused() -> None:
    with pytest.raises(InvalidInput, match="bytes"):
        Secret("00" * 32)  # type: ignore[arg-type]


def test_secret_generation_uses_injected_randomness() -> None:
    secret = new_secret(_fixed(KNOWN))
    assert secret.reveal() == KNOWN
    assert secret.hashlock == hashlib.sha256(KNOWN).digest()
    assert Secret.generate(_fixed(KNOWN)) == secret
    assert new_secret() != new_secret()  # the default source is the OS CSPRNG


def test_secret_never_shows_itself() -> None:
    value = bytes.fromhex("ab" * 32)
    secret = Secret(value)
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        format(secret, ""),
        str([secret]),
    ]
    for text in shown:
        assert "ab" * 4 not in text
        assert value.hex() not in text
        assert "hashlock=0x" + secret.hashlock.hex() in text
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(secret)
    # the error for a bad secret does not echo its bytes either
    with pytest.raises(InvalidInput) as info:
        Secret(value + b"\xab")
    assert value.hex() not in str(info.value)


def test_verify_secret() -> None:
    secret = Secret(KNOWN)
    assert verify_secret(secret, secret.hashlock)
    assert verify_secret(KNOWN, secret.hashlock)
    assert not verify_secret(bytes(32), secret.hashlock)
    with pytest.raises(InvalidInput, match="hashlock"):
        verify_secret(secret, secret.hashlock[:31])


def test_swap_id_is_stable_and_sensitive_to_every_part() -> None:
    lock = hashlock(KNOWN)
    base = {
        "initiator_chain": "evm:31337",
        "participant_chain": "algorand:abc",
        "initiator": "0xA",
        "participant": "ALGO",
        "nonce": 0,
    }
    first = swap_id(lock, **base)  # type: ignore[arg-type]
    assert len(first) == 32
    assert swap_id(lock, **base) == first  # type: ignore[arg-type]
    for key, other in [
        ("initiator_chain", "evm:1"),
        ("participant_chain", "algorand:abd"),
        ("initiator", "0xB"),
        ("participant", "ALGP"),
        ("nonce", 1),
    ]:
        assert swap_id(lock, **{**base, key: other}) != first  # type: ignore[arg-type]
    assert swap_id(hashlock(bytes(32)), **base) != first  # type: ignore[arg-type]
    # length prefixes: moving a character between parts changes the id
    moved = {**base, "initiator": "0xAA", "participant": "LGO"}
    assert swap_id(lock, **moved) != swap_id(lock, **{**base, "participant": "ALGO"})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="initiator"):
        swap_id(lock, **{**base, "initiator": ""})  # type: ignore[arg-type]


# ------------------------------------------------------------------ timelock calculator

EVM = ChainTiming(
    deadline_unit="timestamp",
    block_time_min_ms=12_000,
    block_time_max_ms=24_000,
    finality_depth=64,
    inclusion_blocks=3,
    timestamp_drift_s=15,
)
ALGORAND = ChainTiming(
    deadline_unit="round",
    block_time_min_ms=2_500,
    block_time_max_ms=4_500,
    finality_depth=0,
    inclusion_blocks=2,
)
BUDGET = RelayerBudget(reaction_s=60, compliance_recheck_s=30, margin_s=300)
NOW = 1_800_000_000


def _plan(
    window: int, *, initiator: ChainTiming = EVM, participant: ChainTiming = ALGORAND
) -> DeadlinePlan:
    return plan_deadlines(
        initiator_chain=initiator,
        participant_chain=participant,
        budget=BUDGET,
        settlement_window_s=window,
        now_s=NOW,
        initiator_head=ChainHead(height=100),
        participant_head=ChainHead(height=5_000),
    )


def test_plan_evm_initiator_algorand_participant_worked_example() -> None:
    plan = _plan(4 * 3600)
    # initiator: a timestamp no later than now + window - drift
    assert plan.initiator.native == NOW + 4 * 3600 - 15
    assert plan.initiator.latest_s == NOW + 4 * 3600
    assert plan.initiator.earliest_s == NOW + 4 * 3600 - 30
    # claim window: 60 + 30 + ceil((3 + 64) * 24 s) + 300 = 1998 s
    assert plan.claim_needed_s == 1998
    assert plan.participant.latest_s <= plan.initiator.earliest_s - 1998
    # participant: a round, counted from the head with the slowest block time
    rounds = plan.participant.native - 5_000
    assert rounds == ((4 * 3600 - 30 - 1998) * 1000) // 4_500
    assert plan.participant.latest_s == NOW + -(-rounds * 4_500 // 1000)
    assert plan.participant.earliest_s == NOW + (rounds - 1) * 2_500 // 1000
    assert plan.participant.earliest_s >= NOW + plan.setup_s
    assert 5_000 < plan.participant_lock_by < plan.participant.native
    assert plan.claim_window_s == plan.initiator.earliest_s - plan.participant.latest_s


def test_too_tight_names_field_and_numbers() -> None:
    need = minimum_settlement_window(initiator_chain=EVM, participant_chain=ALGORAND, budget=BUDGET)
    _plan(need)
    with pytest.raises(InvalidInput) as info:
        _plan(need - 1)
    assert info.value.field == "settlement_window_s"
    assert "timeouts too tight" in info.value.rule
    assert f"at least {need} s" in info.value.rule
    assert f"got {need - 1} s" in info.value.rule


@pytest.mark.parametrize(
    ("timing", "field"),
    [
        (
            ChainTiming(deadline_unit="timestamp", block_time_min_ms=0, block_time_max_ms=1),
            "block_time_min_ms",
        ),
        (
            ChainTiming(deadline_unit="timestamp", block_time_min_ms=5, block_time_max_ms=4),
            "block_time_max_ms",
        ),
        (
            ChainTiming(
                deadline_unit="round", block_time_min_ms=1, block_time_max_ms=1, finality_depth=-1
            ),
            "finality_depth",
        ),
        (
            ChainTiming(
                deadline_unit="round", block_time_min_ms=1, block_time_max_ms=1, inclusion_blocks=0
            ),
            "inclusion_blocks",
        ),
        (
            ChainTiming(
                deadline_unit="blocks",  # type: ignore[arg-type]
                block_time_min_ms=1,
                block_time_max_ms=1,
            ),
            "deadline_unit",
        ),
    ],
)
def test_bad_chain_timing_refused(timing: ChainTiming, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(3600, participant=timing)
    assert info.value.field == f"participant_chain.{field}"


def test_bad_window_and_budget_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(0)
    assert info.value.field == "settlement_window_s"
    with pytest.raises(InvalidInput, match="366 days"):
        _plan(MAX_SETTLEMENT_WINDOW_S + 1)
    with pytest.raises(InvalidInput) as info:
        plan_deadlines(
            initiator_chain=EVM,
            participant_chain=ALGORAND,
            budget=RelayerBudget(reaction_s=-1, compliance_recheck_s=0, margin_s=0),
            settlement_window_s=3600,
            now_s=NOW,
            initiator_head=ChainHead(height=0),
            participant_head=ChainHead(height=0),
        )
    assert info.value.field == "budget.reaction_s"


def test_no_window_fits_absurd_chains() -> None:
    glacial = ChainTiming(
        deadline_unit="timestamp",
        block_time_min_ms=1,
        block_time_max_ms=10**9,
        finality_depth=10**3,
    )
    with pytest.raises(InvalidInput, match="no window"):
        minimum_settlement_window(initiator_chain=glacial, participant_chain=EVM, budget=BUDGET)
    with pytest.raises(InvalidInput, match="longest lock"):
        _plan(MAX_SETTLEMENT_WINDOW_S, initiator=glacial, participant=EVM)
