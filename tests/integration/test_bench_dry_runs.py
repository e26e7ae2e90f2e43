"""The relayer's batched ERC-20 dry run agrees with the adapter's own check, on anvil.

:func:`relayer.dry_runs.erc20_check_batched` sends the reads of
``Erc20Adapter.check_transfer`` in one JSON-RPC batch (the relayer runs four such checks per
swap). Both are run on the same chain state for each case a CashToken can refuse (pause,
a blocked sender, recipient or spender, the zero receiver, a short balance or allowance,
several at once) and must give the same verdict and the same refusals in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import ZERO_ADDRESS, Erc20Adapter, deploy_cash_token
from adapters.evm.signer import EvmSigner
from bridge.model import AssetRef, Capability, EvmContractLocator, TransferIntent
from relayer.dry_runs import erc20_check_batched, evm_dry_run

pytestmark = [pytest.mark.anvil]


@pytest.fixture
def coin(anvil_url: str) -> Iterator[tuple[EvmClient, Erc20Adapter, AssetRef, EvmSigner]]:
    client = EvmClient.connect(anvil_url)
    snapshot = client.snapshot()
    issuer = EvmSigner.generate()
    client.fund(issuer.address, 10**20)
    token = deploy_cash_token(
        client, issuer, name="Test Yen", symbol="TJY", decimals=0, currency="JPY"
    )
    ref = AssetRef(chain=client.chain, locator=EvmContractLocator(address=token))
    adapter = Erc20Adapter(client)
    adapter.agent_operation(ref, Capability.MINT, issuer, to=issuer.address, amount=1_000)
    try:
        yield client, adapter, ref, issuer
    finally:
        client.revert(snapshot)


def _intent(
    ref: AssetRef, sender: str, recipient: str, amount: int, operator: str | None = None
) -> TransferIntent:
    return TransferIntent(
        asset=ref, sender=sender, recipient=recipient, amount=amount, operator=operator
    )


def test_the_batched_check_gives_the_adapters_refusals_in_its_order(
    coin: tuple[EvmClient, Erc20Adapter, AssetRef, EvmSigner],
) -> None:
    """Same verdict, same refusals (code, raw code, words), same order, in every state; and
    the batched check costs one round trip where the adapter's costs one per read."""
    client, adapter, ref, issuer = coin
    holder, buyer, spender = (EvmSigner.generate().address for _ in range(3))
    sender = issuer.address
    cases = [
        _intent(ref, sender, buyer, 10),
        _intent(ref, sender, buyer, 5_000),  # short balance
        _intent(ref, sender, ZERO_ADDRESS, 10),  # the zero receiver
        _intent(ref, sender, buyer, 10, operator=spender),  # no allowance
        _intent(ref, sender, buyer, 10, operator=sender),  # the sender itself
        _intent(ref, holder, buyer, 1),  # an empty holder
    ]

    def agree(label: str) -> int:
        refusing = 0
        for intent in cases:
            direct = adapter.check_transfer(intent)
            before = client.stats.requests
            batched = erc20_check_batched(adapter, intent)
            assert client.stats.requests - before == 1, label
            assert batched.allowed == direct.allowed, (label, intent)
            assert batched.refusals == direct.refusals, (label, intent)
            refusing += not direct.allowed
        return refusing

    assert agree("open") == 4
    adapter.agent_operation(ref, Capability.BLOCKLIST, issuer, account=buyer, blocked=True)
    adapter.agent_operation(ref, Capability.BLOCKLIST, issuer, account=spender, blocked=True)
    assert agree("recipient and spender blocked") == 6
    adapter.agent_operation(ref, Capability.PAUSE, issuer, paused=True)
    adapter.agent_operation(ref, Capability.BLOCKLIST, issuer, account=sender, blocked=True)
    assert agree("paused, every party blocked") == 6
    several = erc20_check_batched(adapter, _intent(ref, sender, buyer, 5_000, operator=spender))
    assert [r.raw_code for r in several.refusals] == [
        "AccountBlocked",
        "ERC20InsufficientAllowance",
        "EnforcedPause",
        "AccountBlocked",
        "AccountBlocked",
        "ERC20InsufficientBalance",
    ]


def test_the_relayers_dry_run_takes_the_batched_check_for_an_erc20(
    coin: tuple[EvmClient, Erc20Adapter, AssetRef, EvmSigner],
) -> None:
    """The chain runtime's dry run (standard detected once) answers an ERC-20 in one round
    trip per check once the token is known, and refuses what the adapter refuses."""
    client, adapter, ref, issuer = coin
    run = evm_dry_run(client)
    buyer = EvmSigner.generate().address
    assert run(_intent(ref, issuer.address, buyer, 10)).allowed  # detects the standard
    before = client.stats.requests
    check = run(_intent(ref, issuer.address, buyer, 10))
    assert check.allowed
    assert client.stats.requests - before == 1
    adapter.agent_operation(ref, Capability.BLOCKLIST, issuer, account=buyer, blocked=True)
    refused = run(_intent(ref, issuer.address, buyer, 10))
    assert not refused.allowed
    assert (
        refused.refusals == adapter.check_transfer(_intent(ref, issuer.address, buyer, 10)).refusals
    )
