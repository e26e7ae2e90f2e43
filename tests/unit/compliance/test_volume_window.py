"""The engine applies a token's volume limit exactly as :meth:`VolumeLimitRule.allows` does.

The rule's own verdict (fixed windows per identity started by the first transfer, agents
exempt, exchange limits counting only transfers into the exchange) is what the token
enforces; the engine must reach the same verdict, not a sliding-window approximation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.compliance.engine import _token_rules
from bridge.compliance.model import Outflow, Trade
from bridge.model import EvmChain, EvmContractLocator, Standard, VolumeLimitRule
from bridge.model.asset import Asset
from bridge.reasons import ReasonCode
from tests.strategies_compliance import buyer, instrument, seller

T0 = datetime(2026, 3, 1, tzinfo=UTC)
EXCHANGE = "0x" + "e1" * 20
OTHER = "0x" + "0b" * 20


def _asset(rule: VolumeLimitRule) -> Asset:
    return Asset(
        chain=EvmChain(chain_id=1),
        locator=EvmContractLocator(address="0x" + "7a" * 20),
        home_jurisdiction="JP",
        standard=Standard.ERC3643,
        name="Volume",
        symbol="VOL",
        decimals=0,
        total_supply=10_000,
        rules=(rule,),
    )


def _volume_refused(
    rule: VolumeLimitRule,
    outflows: list[tuple[datetime, int, str | None]],
    qty: int,
    at: datetime,
    *,
    agent: bool = False,
    to: str | None = None,
) -> bool:
    inst = instrument("jp.ertr", "jp.qii_only", "JP", asset=_asset(rule))
    s = seller(
        "JP",
        balance=10_000,
        token_agent=agent,
        outflows=tuple(Outflow(at=t, amount=a, to=w) for t, a, w in outflows),
    )
    b = buyer("JP", wallet=to or OTHER, identity=to)
    trade = Trade(instrument=inst, seller=s, buyer=b, quantity=qty)
    reasons, _ = _token_rules(trade, at, False, _asset(rule))
    return any(r.code is ReasonCode.VOLUME_LIMIT_EXCEEDED for r in reasons)


def test_fixed_window_resets_at_its_end() -> None:
    """60 moved at t=0 and 40 at t=30 fill a 100 / 60 s fixed window; at t=60 the window
    has ended, so 100 more pass (a sliding window would still count the 40 from t=30)."""
    rule = VolumeLimitRule(window_seconds=60, amount=100, window="fixed", per="identity")
    past = [(T0, 60, None), (T0 + timedelta(seconds=30), 40, None)]
    assert _volume_refused(rule, past, 1, T0 + timedelta(seconds=59))
    assert not _volume_refused(rule, past, 100, T0 + timedelta(seconds=60))


def test_agents_are_exempt() -> None:
    """A token agent's transfers are not limited when the rule exempts agents."""
    rule = VolumeLimitRule(window_seconds=60, amount=100, window="fixed", agents_exempt=True)
    assert _volume_refused(rule, [(T0, 100, None)], 50, T0 + timedelta(seconds=1))
    assert not _volume_refused(rule, [(T0, 100, None)], 50, T0 + timedelta(seconds=1), agent=True)


def test_exchange_limit_counts_only_transfers_into_the_exchange() -> None:
    """An exchange's limit applies to transfers into it, counting only earlier ones into it."""
    rule = VolumeLimitRule(window_seconds=600, amount=100, window="fixed", into=EXCHANGE)
    past = [(T0, 90, OTHER), (T0 + timedelta(seconds=1), 20, EXCHANGE)]
    later = T0 + timedelta(seconds=2)
    assert not _volume_refused(rule, past, 80, later, to=EXCHANGE)
    assert _volume_refused(rule, past, 81, later, to=EXCHANGE)
    assert not _volume_refused(rule, past, 100, later)  # not into the exchange


@settings(max_examples=40, deadline=None)
@given(
    window=st.sampled_from(["fixed", "sliding"]),
    seconds=st.sampled_from([1, 30, 60, 600]),
    limit=st.integers(min_value=1, max_value=200),
    gaps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=700), st.integers(1, 120)), max_size=6
    ),
    qty=st.integers(min_value=1, max_value=250),
    after=st.integers(min_value=0, max_value=700),
    agent=st.booleans(),
    exempt=st.booleans(),
)
def test_engine_equals_the_rule(
    window: str,
    seconds: int,
    limit: int,
    gaps: list[tuple[int, int]],
    qty: int,
    after: int,
    agent: bool,
    exempt: bool,
) -> None:
    """Invariant: for any history of outflows, amount, time and sender role, the engine
    refuses on the volume rule exactly when ``VolumeLimitRule.allows`` says no."""
    rule = VolumeLimitRule(
        window_seconds=seconds,
        amount=limit,
        window=window,  # type: ignore[arg-type]
        agents_exempt=exempt,
    )
    t = T0
    past: list[tuple[datetime, int, str | None]] = []
    for gap, amount in gaps:
        t += timedelta(seconds=gap)
        past.append((t, amount, None))
    at = t + timedelta(seconds=after)
    expected = rule.allows(qty, [(w, a) for w, a, _ in past], at, sender_is_agent=agent)
    assert _volume_refused(rule, past, qty, at, agent=agent) == (not expected)
