"""A relayer service refuses two configured chains that are one chain (issue 14).

``relayer run`` refuses them in its pre-flight; a service built as a library
(``build_service``, ``RelayerService``) kept only one of the two runtimes under the chain's
key, so swaps named for the other chain were watched and signed through the wrong entry.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.errors import ConfigError
from bridge.htlc import ChainTiming, RelayerBudget
from relayer.evm import evm_runtime
from relayer.sealing import SealingKey
from relayer.service import ChainRuntime, ComplianceResult, RelayerService
from relayer.store import SqliteStore

TIMING = ChainTiming(deadline_unit="timestamp", block_time_min_ms=1000, block_time_max_ms=2000)


def test_two_entries_on_one_chain_are_refused(tmp_path: Path) -> None:
    """Invariant: each configured chain is a different chain; the refusal names both."""
    client = EvmClient.embedded()
    operator = EvmSigner.generate()
    client.fund(operator.address, 10**18)
    htlc = EvmHtlc.deploy(client, operator)

    def runtime(name: str) -> ChainRuntime:
        return evm_runtime(
            name=name, client=client, htlc=htlc, timing=TIMING, confirmations=0,
            signers=[], operator=operator,
        )  # fmt: skip

    def service(*names: str) -> RelayerService:
        return RelayerService(
            store=SqliteStore(tmp_path / f"{'-'.join(names)}.sqlite3"),
            chains={name: runtime(name) for name in names},
            compliance=lambda order, at: ComplianceResult(True),
            sealing_key=SealingKey.generate(),
            budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
            wall_clock=time.time,
        )

    assert list(service("evm").chains) == ["evm"]
    with pytest.raises(ConfigError, match=r"chains evm and evm-again are one chain"):
        service("evm", "evm-again")
