"""Objects that property tests receive as fixtures repr compactly.

Hypothesis reprs a test's arguments (fixtures included) when it replays a failing example;
a ledger snapshot used to repr every block it holds (57 kB in
``test_regulated_dry_run_equals_chain``), which raised Hypothesis's "overly large repr"
warning, an error under ``filterwarnings = error``, in place of the real failure report.
"""

from __future__ import annotations

from adapters.algorand.ledger import EmbeddedLedger
from adapters.algorand.signer import AlgorandSigner


def test_a_snapshot_reprs_in_one_short_line(embedded_ledger: EmbeddedLedger) -> None:
    """Invariant: a snapshot's repr stays short however much history the ledger holds."""
    before = embedded_ledger.snapshot()
    try:
        for _ in range(20):
            embedded_ledger.fund(AlgorandSigner.generate().address, 1_000_000)
        text = repr(embedded_ledger.snapshot())
        assert len(text) < 200, len(text)
        assert text.startswith("Snapshot(blocks=")
        assert "\n" not in text
    finally:
        embedded_ledger.restore(before)
