"""The researchers' adversarial interop suite (issue 16): real chains, the real relayer.

- :mod:`relayer.interop.strategies`: hypothesis strategies for chain timing, trades, faults;
- :mod:`relayer.interop.world`: the two EVM chains (T-REX security, ERC-20 cash, a decoy);
- :mod:`relayer.interop.algorand`: the cash leg on the embedded Algorand ledger instead
  (``--chains evm-algorand``), with its own actors (decoy escrows, clawback, the look-back);
- :mod:`relayer.interop.machine`: the ``RuleBasedStateMachine`` with every actor's rules and
  the invariants;
- :mod:`relayer.interop.mutations`: the safety bugs of issue 13 re-introduced in memory;
- :mod:`relayer.interop.report` and :mod:`relayer.interop.cli`: ``stbridge interop-test``.
"""
