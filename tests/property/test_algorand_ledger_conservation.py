"""Hypothesis: the embedded ledger conserves value across random payments, transfers and
freezes, and a refused group changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.algorand.ledger import EmbeddedLedger, EvaluationRejected
from tests.fixtures.algorand import FUNDED_MICROALGOS, AlgoTestAccount
from tests.integration.algorand.programs import axfer, create_asa, freeze, opt_in, pay

pytestmark = pytest.mark.timeout(600)

ASA_TOTAL = 1_000
# Each step is a real evaluator run (~0.1 s): a third of the profile's examples.
EXAMPLES = max(8, settings().max_examples // 3)

Op = tuple[str, int, int, int]

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("pay"),
            st.integers(0, 2),
            st.integers(0, 2),
            st.integers(0, 2 * FUNDED_MICROALGOS),
        ),
        st.tuples(st.just("axfer"), st.integers(0, 2), st.integers(0, 2), st.integers(0, 1_200)),
        st.tuples(st.just("freeze"), st.just(0), st.integers(1, 2), st.integers(0, 1)),
    ),
    min_size=1,
    max_size=4,
)


@pytest.fixture(scope="module")
def asa_setup(
    embedded_ledger: EmbeddedLedger, embedded_accounts: tuple[AlgoTestAccount, ...]
) -> Iterator[int]:
    """An ASA issued by account 0, accounts 1 and 2 opted in; undone after the module."""
    before = embedded_ledger.snapshot()
    issuer, one, two = embedded_accounts[:3]
    asset = create_asa(embedded_ledger, issuer, total=ASA_TOTAL)
    opt_in(embedded_ledger, one, asset)
    opt_in(embedded_ledger, two, asset)
    yield asset
    embedded_ledger.restore(before)


def _algo_total(ledger: EmbeddedLedger) -> int:
    return sum(ledger.balance(address) for address in ledger.addresses())


def _units(ledger: EmbeddedLedger, accounts: tuple[AlgoTestAccount, ...], asset: int) -> list[int]:
    return [int((ledger.asset_holding(a.address, asset) or {}).get("a", 0)) for a in accounts]


@settings(max_examples=EXAMPLES)
@given(ops=operations)
def test_value_is_conserved_and_refusals_change_nothing(
    embedded_ledger: EmbeddedLedger,
    embedded_accounts: tuple[AlgoTestAccount, ...],
    asa_setup: int,
    ops: list[Op],
) -> None:
    """Invariant: after any sequence of payments, asset transfers and freezes (some of
    which the evaluator refuses), the microalgos over every account (fee sink included)
    equal the total before the sequence, the asset's units over its holders equal its
    total, and a refused group leaves every balance and holding exactly as it was.
    """
    ledger = embedded_ledger
    accounts = embedded_accounts[:3]
    asset = asa_setup
    start = ledger.snapshot()
    try:
        algo_total = _algo_total(ledger)
        for kind, i, j, amount in ops:
            if kind == "pay":
                signed = pay(ledger, accounts[i], accounts[j].address, amount)
            elif kind == "axfer":
                signed = axfer(ledger, accounts[i], accounts[j].address, amount, asset)
            else:
                signed = freeze(ledger, accounts[i], accounts[j].address, asset, bool(amount))
            balances = [ledger.balance(a.address) for a in accounts]
            units = _units(ledger, accounts, asset)
            round_before = ledger.last_round
            try:
                ledger.submit([signed])
            except EvaluationRejected:
                assert [ledger.balance(a.address) for a in accounts] == balances
                assert _units(ledger, accounts, asset) == units
                assert ledger.last_round == round_before
            else:
                assert ledger.last_round == round_before + 1
            assert _algo_total(ledger) == algo_total
            assert sum(_units(ledger, accounts, asset)) == ASA_TOTAL
    finally:
        ledger.restore(start)
