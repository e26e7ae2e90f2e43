"""The holder scans' reader (many view calls in one ``eth_call``) answers what each call
answers alone, on anvil.

:mod:`adapters.evm.multicall` runs a hand-assembled reader placed by a state override; its
answers are compared with one plain ``eth_call`` per call: fixed-size and dynamic return
data, two target contracts interleaved, a call that reverts with a reason, and more calls
than one reader call takes (so the answers of several are stitched in order).
"""

from __future__ import annotations

import pytest

from adapters.evm.batch import read_batch, selector
from adapters.evm.client import EvmClient, EvmReverted
from adapters.evm.erc20 import deploy_cash_token
from adapters.evm.erc1400 import deploy_security_token, partition_id
from adapters.evm.multicall import READER, READER_CODE, multicall_read
from adapters.evm.signer import EvmSigner

pytestmark = [pytest.mark.anvil]


def _word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def test_the_reader_answers_each_call_as_a_plain_eth_call(anvil_url: str) -> None:
    """Same bytes for every successful call, the same decoded error for every revert, in
    the order asked, over 900 calls (three reader calls in one request)."""
    client = EvmClient.connect(anvil_url)
    snapshot = client.snapshot()
    try:
        owner = EvmSigner.generate()
        client.fund(owner.address, 10**20)
        share = deploy_security_token(client, owner, name="Multi Share", symbol="MSH")
        coin = deploy_cash_token(
            client, owner, name="Multi Coin", symbol="MCN", decimals=0, currency="USD"
        )
        part = bytes.fromhex(partition_id("unrestricted")[2:])
        holders = [EvmSigner.generate().address for _ in range(3)]
        for i, who in enumerate(holders):
            client.transact(
                owner,
                share,
                selector("setWhitelisted(address,bool)") + _word(who) + (1).to_bytes(32, "big"),
            )
            data = (
                selector("issueByPartition(bytes32,address,uint256,bytes)")
                + part
                + _word(who)
                + (100 + i).to_bytes(32, "big")
                + (128).to_bytes(32, "big")
                + bytes(32)
            )
            client.transact(owner, share, data)
        balance_of = selector("balanceOf(address)")
        partitions_of = selector("partitionsOf(address)")
        mint = selector("mint(address,uint256)")  # an issuer-only call: reverts as a view
        calls: list[tuple[str, bytes]] = []
        for n in range(150):
            who = holders[n % 3]
            calls += [
                (share, balance_of + _word(who)),
                (share, partitions_of + _word(who)),  # dynamic: bytes32[]
                (coin, balance_of + _word(who)),
                (coin, mint + _word(who) + (1).to_bytes(32, "big")),  # reverts
                (share, selector("totalSupply()")),
                (coin, selector("currency()")),  # a string
            ]
        assert len(calls) == 900
        before = client.stats.requests
        inside = multicall_read(client, calls, "latest")
        assert inside is not None, "anvil takes state overrides"
        assert client.stats.requests - before == 1  # three reader calls in one batch
        assert len(inside) == len(calls)
        reverted = 0
        for (to, data), answer in zip(calls, inside, strict=True):
            try:
                alone: bytes | EvmReverted = client.call({"to": to, "data": "0x" + data.hex()})
            except EvmReverted as exc:
                alone = exc
            if isinstance(alone, EvmReverted):
                reverted += 1
                assert isinstance(answer, EvmReverted), (to, data.hex())
                # the same custom error; its caller argument is the reader (the inner
                # calls' msg.sender), where a plain call without `from` has the zero address
                assert answer.revert.error_name == alone.revert.error_name
                assert answer.revert.selector == alone.revert.selector
                assert answer.revert.error_args[1:] == alone.revert.error_args[1:]
                assert str(answer.revert.error_args[0]).lower() == READER.lower()
            else:
                assert answer == alone, (to, data.hex())
        assert reverted == 150
        plain = read_batch(client, calls[:6])  # under MIN_CALLS: one eth_call each
        assert [a for a in plain if isinstance(a, bytes)] == [
            a for a in inside[:6] if isinstance(a, bytes)
        ]
    finally:
        client.revert(snapshot)


def test_the_reader_code_is_small_and_fixed() -> None:
    """The reader is the hand-assembled loop (a change to it must be deliberate: the test
    above is what checks its behaviour)."""
    assert READER_CODE.startswith("0x600060005b813611600e576000f35b")
    assert READER_CODE.endswith("601f191601604001600456")
    assert len(bytes.fromhex(READER_CODE[2:])) == 81
