"""The EVM client layer on both real backends: errors, receipts, cursors, snapshots, time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from web3 import Web3

from adapters.evm.abi_gen import load_artifact
from adapters.evm.client import EvmClient, EvmReverted, decode_revert_data
from adapters.evm.signer import EvmSigner
from bridge.errors import ChainUnavailable, InvalidInput, NotFound, TransactionReverted
from tests.fixtures.evm import EvmTestChain, _free_port

TRANSFER_TOPIC = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex()


def _token(chain: EvmTestChain):  # type: ignore[no-untyped-def]
    return chain.client.contract(chain.suite.token, load_artifact("Token")["abi"])


def _transfer_data(chain: EvmTestChain, to: str, amount: int) -> bytes:
    fn = _token(chain).functions.transfer(to, amount)
    return bytes.fromhex(fn._encode_transaction_data()[2:])


def test_mined_failure_with_explicit_gas_raises_decoded_revert(evm_chain: EvmTestChain) -> None:
    """Status 0 (explicit gas, so the node mines it) -> EvmReverted with T-REX's string."""
    mallory = evm_chain.suite.investor("mallory")
    data = _transfer_data(evm_chain, evm_chain.suite.investor("alice").address, 5)
    head = evm_chain.client.head()
    with pytest.raises(EvmReverted) as info:
        evm_chain.client.transact(mallory.signer, evm_chain.suite.token, data, gas=200_000)
    assert info.value.raw_message == "Insufficient Balance"
    assert info.value.tx_id is not None
    assert info.value.tx_id.startswith("0x")
    assert evm_chain.client.head() == head + 1  # it was mined


def test_estimated_failure_sends_nothing(evm_chain: EvmTestChain) -> None:
    """Without gas the client estimates first: the revert surfaces and no nonce is used."""
    alice = evm_chain.suite.investor("alice")
    mallory = evm_chain.suite.investor("mallory")
    w3 = evm_chain.client.w3
    nonce = w3.eth.get_transaction_count(Web3.to_checksum_address(alice.address))
    data = _transfer_data(evm_chain, mallory.address, 5)
    with pytest.raises(TransactionReverted) as info:
        evm_chain.client.transact(alice.signer, evm_chain.suite.token, data)
    assert info.value.raw_message == "Transfer not possible"
    assert w3.eth.get_transaction_count(Web3.to_checksum_address(alice.address)) == nonce


def test_custom_error_decoded_the_same_on_both_backends(evm_chain: EvmTestChain) -> None:
    """A custom error (selector + args) decodes to its name and arguments on either backend."""
    client = evm_chain.client
    me = evm_chain.funded_signer("custom-error")
    artifact = load_artifact("CountryAllowModule")
    module = client.deploy(me, artifact["abi"], artifact["bytecode"])
    for fn in (module.functions.initialize(), module.functions.bindCompliance(me.address)):
        client.transact(me, module.address, bytes.fromhex(fn._encode_transaction_data()[2:]))
    add = bytes.fromhex(module.functions.addAllowedCountry(392)._encode_transaction_data()[2:])
    client.transact(me, module.address, add)
    with pytest.raises(EvmReverted) as info:
        client.transact(me, module.address, add)
    revert = info.value.revert
    assert revert.error_name == "CountryAlreadyAllowed"
    assert revert.error_args[1] == 392
    assert str(revert.error_args[0]).lower() == me.address.lower()
    assert revert.selector is not None
    assert len(revert.selector) == 10


def test_panic_and_empty_revert_data_decode() -> None:
    """Panic(uint256) and empty data are decoded without guessing."""
    panic = bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big")
    assert decode_revert_data(panic).message == "Panic(0x11)"
    assert decode_revert_data(b"").describe() == "reverted without a reason"


def test_no_contract_and_bad_address(evm_chain: EvmTestChain) -> None:
    """An address without code is NotFound; a malformed one is InvalidInput naming the field."""
    with pytest.raises(NotFound):
        evm_chain.client.require_code("0x" + "12" * 20)
    with pytest.raises(InvalidInput) as info:
        evm_chain.client.require_code("0x1234")
    assert info.value.field == "address"


def test_unreachable_node_is_chain_unavailable() -> None:
    """Nothing listening on the port -> ChainUnavailable (after bounded retries of reads)."""
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ChainUnavailable):
        EvmClient.connect(url, retries=1, timeout=1.0)


def test_receipt_and_snapshot_revert(evm_chain: EvmTestChain) -> None:
    """A transfer's receipt is a success at the new head; revert() undoes it."""
    client = evm_chain.client
    token = _token(evm_chain)
    alice, dave = evm_chain.suite.investor("alice"), evm_chain.suite.investor("dave")
    before = token.functions.balanceOf(dave.address).call()
    snap = client.snapshot()
    receipt = client.transact(
        alice.signer, token.address, _transfer_data(evm_chain, dave.address, 7), gas=600_000
    )
    assert receipt.success
    assert receipt.height == client.head()
    assert token.functions.balanceOf(dave.address).call() == before + 7
    client.revert(snap)
    assert token.functions.balanceOf(dave.address).call() == before


def test_logs_from_a_cursor_in_bounded_ranges(evm_chain: EvmTestChain) -> None:
    """Reading in 1-block ranges gives exactly the logs of one wide read, with progress."""
    client = evm_chain.client
    wide = list(client.logs(address=evm_chain.suite.token, topics=[TRANSFER_TOPIC]))
    seen: list[tuple[int, int]] = []
    narrow = list(
        client.logs(
            address=evm_chain.suite.token,
            topics=[TRANSFER_TOPIC],
            step=1,
            progress=lambda done, total: seen.append((done, total)),
        )
    )
    assert len(wide) >= 3  # three mints in the demo suite
    assert [(x["blockNumber"], x["logIndex"]) for x in narrow] == [
        (x["blockNumber"], x["logIndex"]) for x in wide
    ]
    assert seen[-1][0] == seen[-1][1] == client.head() + 1
    later = list(client.logs(address=evm_chain.suite.token, from_block=client.head() + 1))
    assert later == []


def test_time_travel_moves_block_time(evm_chain: EvmTestChain) -> None:
    """increase_time(s) moves the latest block's timestamp forward by at least s."""
    client = evm_chain.client
    before = client.now()
    client.increase_time(3600)
    assert client.now() - before >= timedelta(seconds=3600)
    deadline = client.deadline_for(datetime(2030, 1, 1, tzinfo=UTC), safety=timedelta(hours=1))
    assert deadline == int(datetime(2029, 12, 31, 23, tzinfo=UTC).timestamp())


def test_batch_reads_count_one_request_per_batch_on_a_node(evm_chain: EvmTestChain) -> None:
    """batch_read: same answers as single calls; on anvil one HTTP request per batch."""
    client = evm_chain.client
    token = _token(evm_chain)
    holders = [inv.address for inv in evm_chain.suite.investors.values()]
    calls = [
        (token.address, bytes.fromhex(token.functions.balanceOf(h)._encode_transaction_data()[2:]))
        for h in holders
    ]
    before = client.stats.requests
    answers = client.batch_read(calls, batch_size=100)
    used = client.stats.requests - before
    singles = [token.functions.balanceOf(h).call() for h in holders]
    assert [int.from_bytes(a, "big") for a in answers if isinstance(a, bytes)] == singles
    if evm_chain.backend == "anvil":
        assert used == 1
    else:
        assert used >= len(holders)  # no batching in process: one call each


def test_signer_never_shows_its_key() -> None:
    """repr/str show the address only, and the signer refuses to be pickled."""
    import pickle

    signer = EvmSigner.from_seed("repr")
    key_hex = EvmSigner.__dict__  # the key is in a private slot, not a public attribute
    assert signer.address in repr(signer)
    assert "key" not in repr(signer).lower()
    assert key_hex is not None
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def test_client_is_a_chain_client_and_clock(evm_chain: EvmTestChain) -> None:
    """The client satisfies the bridge's ChainClient and ChainClock protocols."""
    from bridge.ports import ChainClient, ChainClock

    assert isinstance(evm_chain.client, ChainClient)
    assert isinstance(evm_chain.client, ChainClock)
    assert evm_chain.client.chain.chain_id == evm_chain.client.w3.eth.chain_id
    assert evm_chain.client.finality_depth() == 0
    assert evm_chain.client.chain.name == {"pyevm": "py-evm", "anvil": "anvil"}[evm_chain.backend]


def test_resubmitting_the_same_signed_bytes_is_safe(evm_chain: EvmTestChain) -> None:
    """submit() twice with the same raw transaction: same id, one effect."""
    client = evm_chain.client
    alice, dave = evm_chain.suite.investor("alice"), evm_chain.suite.investor("dave")
    token = _token(evm_chain)
    before = token.functions.balanceOf(dave.address).call()
    tx = client.build_tx(
        alice.address, token.address, _transfer_data(evm_chain, dave.address, 3), gas=600_000
    )
    raw = alice.signer.sign(tx)
    first = client.submit(raw)
    client.wait(first)
    assert client.submit(raw) == first
    assert token.functions.balanceOf(dave.address).call() == before + 3
