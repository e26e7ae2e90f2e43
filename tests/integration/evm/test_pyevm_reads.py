"""eth_call answers kept per block on py-evm (adapters.evm.pyevm_reads): reused only for
the same call at the same block hash, never across a transaction, a mined block, a time
travel or a snapshot revert, and never while a caller is credited for its call."""

from __future__ import annotations

import pytest
from web3.exceptions import TransactionNotFound

from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.contracts import load_artifact
from adapters.evm.erc20 import deploy_cash_token
from adapters.evm.erc3643 import _caller_can_pay
from adapters.evm.signer import EvmSigner
from bridge.errors import BridgeError


@pytest.fixture(scope="module")
def coin() -> tuple[EvmClient, EvmSigner, str]:
    client = EvmClient.embedded()
    issuer = EvmSigner.from_seed("pyevm-reads:issuer")
    client.fund(issuer.address, 10**19)
    token = deploy_cash_token(
        client, issuer, name="Kept Coin", symbol="KPT", decimals=0, currency="JPY"
    )
    return client, issuer, token


def _balance(client: EvmClient, token: str, who: str) -> int:
    contract = client.contract(token, load_artifact("CashToken").abi)
    return int(client.read(contract.functions.balanceOf(who)))


def _mint(client: EvmClient, issuer: EvmSigner, token: str, who: str, amount: int) -> None:
    contract = client.contract(token, load_artifact("CashToken").abi)
    client.transact(issuer, token, client.encode_call(contract.functions.mint(who, amount)))


def test_the_same_read_at_the_same_block_runs_once(
    coin: tuple[EvmClient, EvmSigner, str],
) -> None:
    client, issuer, token = coin
    who = EvmSigner.from_seed("pyevm-reads:a").address
    _mint(client, issuer, token, who, 7)
    misses, hits = client.answers.misses, client.answers.hits
    calls = client.stats.by_method.get("eth_call", 0)
    assert [_balance(client, token, who) for _ in range(3)] == [7, 7, 7]
    assert client.answers.misses == misses + 1
    assert client.answers.hits == hits + 2
    assert client.stats.by_method["eth_call"] == calls + 1  # one eth_call reached py-evm


def test_a_transaction_moves_the_block_and_the_new_answer_is_read(
    coin: tuple[EvmClient, EvmSigner, str],
) -> None:
    client, issuer, token = coin
    who = EvmSigner.from_seed("pyevm-reads:b").address
    assert _balance(client, token, who) == 0
    _mint(client, issuer, token, who, 5)
    assert _balance(client, token, who) == 5
    client.mine()
    misses = client.answers.misses
    assert _balance(client, token, who) == 5
    assert client.answers.misses == misses + 1  # an empty block is a new block: read again


def test_a_snapshot_revert_reads_the_state_it_returns_to(
    coin: tuple[EvmClient, EvmSigner, str],
) -> None:
    client, issuer, token = coin
    who = EvmSigner.from_seed("pyevm-reads:c").address
    _mint(client, issuer, token, who, 3)
    snapshot = client.snapshot()
    assert _balance(client, token, who) == 3
    _mint(client, issuer, token, who, 4)
    assert _balance(client, token, who) == 7
    client.revert(snapshot)
    assert _balance(client, token, who) == 3
    _mint(client, issuer, token, who, 10)  # the same height as the reverted block, another one
    assert _balance(client, token, who) == 13


def test_a_revert_is_kept_and_raised_again(coin: tuple[EvmClient, EvmSigner, str]) -> None:
    client, issuer, token = coin
    contract = client.contract(token, load_artifact("CashToken").abi)
    who = EvmSigner.from_seed("pyevm-reads:d").address
    data = "0x" + client.encode_call(contract.functions.transfer(who, 1)).hex()
    broke = EvmSigner.from_seed("pyevm-reads:broke").address
    client.fund(broke, 10**18)  # can pay for the call's gas, holds no coin
    messages = []
    for _ in range(2):
        with pytest.raises(EvmReverted) as info:
            client.call({"from": broke, "to": token, "data": data})
        messages.append(info.value.revert.error_name)
    assert messages == ["ERC20InsufficientBalance"] * 2
    _mint(client, issuer, token, broke, 1)
    assert client.call({"from": broke, "to": token, "data": data})  # now it passes


def test_calls_of_a_credited_caller_are_not_kept(
    coin: tuple[EvmClient, EvmSigner, str],
) -> None:
    client, _issuer, token = coin
    contract = client.contract(token, load_artifact("CashToken").abi)
    poor = EvmSigner.from_seed("pyevm-reads:poor").address  # no coin to pay for a call
    tx = {
        "from": poor,
        "to": token,
        "data": "0x" + client.encode_call(contract.functions.totalSupply()).hex(),
    }
    with _caller_can_pay(client):
        assert len(client.call(tx)) == 32
    with pytest.raises(BridgeError) as info:
        client.call(tx)  # the credited answer was not kept for the chain as it is
    assert "cannot afford" in str(info.value)


def test_calls_on_the_blocks_one_vm_see_nothing_of_each_other(
    coin: tuple[EvmClient, EvmSigner, str],
) -> None:
    """Invariant: the calls run on a block's one VM answer as on a fresh VM: what a
    state-changing call did inside its ``eth_call`` (a transfer) is rolled back before the
    next call, and a call that failed leaves nothing behind either."""
    client, issuer, token = coin
    contract = client.contract(token, load_artifact("CashToken").abi)
    alice = EvmSigner.from_seed("pyevm-reads:alice").address
    bob = EvmSigner.from_seed("pyevm-reads:bob").address
    client.fund(alice, 10**18)
    _mint(client, issuer, token, alice, 50)
    head = client.head()

    def data(fn: object) -> str:
        return "0x" + client.encode_call(fn).hex()

    sent = client.call(
        {"from": alice, "to": token, "data": data(contract.functions.transfer(bob, 20))}
    )
    assert int.from_bytes(sent[-32:], "big") == 1  # the transfer ran, inside the call
    assert _balance(client, token, bob) == 0
    assert _balance(client, token, alice) == 50
    poor = EvmSigner.from_seed("pyevm-reads:poorer").address
    with pytest.raises(BridgeError):
        client.call({"from": poor, "to": token, "data": data(contract.functions.totalSupply())})
    again = client.call(
        {"from": alice, "to": token, "data": data(contract.functions.transfer(bob, 50))}
    )
    assert int.from_bytes(again[-32:], "big") == 1  # all 50 still there to send
    assert _balance(client, token, bob) == 0
    assert client.head() == head  # all at one block


def test_a_receipt_is_found_by_py_evms_index_not_by_reading_every_block(
    coin: tuple[EvmClient, EvmSigner, str],
) -> None:
    """Invariant: the receipt of a transaction mined deep below the head is found reading
    its one block (py-evm's index of canonical transactions), the same receipt as before;
    a transaction undone by a snapshot revert is not found, and the one mined in its place
    is. eth-tester read every block from the head down for each receipt (and for each log
    of a log query): a relayer's watcher at a few thousand blocks spent an eighth of its
    time there."""
    client, issuer, token = coin
    who = EvmSigner.from_seed("pyevm-reads:deep").address
    contract = client.contract(token, load_artifact("CashToken").abi)
    mint = client.encode_call(contract.functions.mint(who, 1))
    deep = client.transact(issuer, token, mint).tx_id
    client.mine(300)
    chain = client._tester.backend.chain
    reads = 0
    original = chain.get_canonical_block_by_number

    def counted(number: int) -> object:
        nonlocal reads
        reads += 1
        return original(number)

    chain.get_canonical_block_by_number = counted
    try:
        receipt = client.w3.eth.get_transaction_receipt(deep)
    finally:
        del chain.get_canonical_block_by_number
    assert receipt["status"] == 1
    assert receipt["blockNumber"] == client.head() - 300
    assert reads <= 2, reads  # before: 301 blocks read
    snapshot = client.snapshot()
    undone = client.transact(issuer, token, mint).tx_id
    client.revert(snapshot)
    with pytest.raises(TransactionNotFound):
        client.w3.eth.get_transaction_receipt(undone)
    again = client.transact(issuer, token, client.encode_call(contract.functions.mint(who, 2)))
    assert client.w3.eth.get_transaction_receipt(again.tx_id)["blockNumber"] == again.height
