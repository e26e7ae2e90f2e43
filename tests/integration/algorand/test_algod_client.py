"""py-algorand-sdk's AlgodClient against the embedded ledger: in-process and over HTTP."""

from __future__ import annotations

import base64
import socket
from typing import Any

import pytest
from algosdk import encoding, error, logic, transaction
from algosdk.v2client.algod import AlgodClient

from adapters.algorand.algod import EmbeddedAlgodClient
from adapters.algorand.errors import algod_errors
from adapters.algorand.http_server import AlgodHttpServer
from adapters.algorand.ledger import GENESIS_HASH, GENESIS_ID, MIN_FEE, EmbeddedLedger
from bridge.errors import ChainUnavailable, InvalidInput, NotFound, TransactionReverted
from bridge.reasons import ReasonCode
from tests.fixtures.algorand import FUNDED_MICROALGOS, AlgoTestAccount
from tests.integration.algorand.programs import (
    PROBE_APP,
    assemble,
    call_probe,
    create_asa,
    create_probe,
)

pytestmark = pytest.mark.timeout(120)


def _json(answer: object) -> dict[str, Any]:
    """An algod JSON answer (the SDK types it as ``dict | bytes``)."""
    assert isinstance(answer, dict)
    return answer


def _http_client(server: AlgodHttpServer) -> AlgodClient:
    return AlgodClient("a" * 64, server.url)


@pytest.fixture(params=["embedded", "http"])
def client(
    request: pytest.FixtureRequest, algod_client: EmbeddedAlgodClient, algod_http: AlgodHttpServer
) -> AlgodClient:
    """The same ledger through the in-process client and through HTTP."""
    return algod_client if request.param == "embedded" else _http_client(algod_http)


def test_send_and_wait_for_confirmation(
    client: AlgodClient, algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    params = client.suggested_params()
    assert params.gh == base64.b64encode(GENESIS_HASH).decode()
    assert params.gen == GENESIS_ID
    assert params.first == algo_ledger.last_round
    assert params.min_fee == MIN_FEE
    signed = alice.sign(transaction.PaymentTxn(alice.address, params, bob.address, 4321))  # type: ignore[no-untyped-call]
    tx_id = client.send_transaction(signed)
    info = transaction.wait_for_confirmation(client, tx_id, 2)
    assert info["confirmed-round"] == algo_ledger.last_round
    assert info["txn"]["txn"]["amt"] == 4321
    assert info["txn"]["txn"]["rcv"] == bob.address
    account = _json(client.account_info(bob.address))
    assert account["amount"] == FUNDED_MICROALGOS + 4321
    assert account["min-balance"] == 100_000
    status = _json(client.status())
    assert status["last-round"] == algo_ledger.last_round
    assert (
        _json(client.status_after_block(status["last-round"] - 1))["last-round"]
        == status["last-round"]
    )


def test_group_through_send_transactions(
    client: AlgodClient, algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    params = client.suggested_params()
    txns = [
        transaction.PaymentTxn(alice.address, params, bob.address, 1),  # type: ignore[no-untyped-call]
        transaction.PaymentTxn(bob.address, params, alice.address, 2),  # type: ignore[no-untyped-call]
    ]
    transaction.assign_group_id(txns)  # type: ignore[no-untyped-call]
    client.send_transactions([alice.sign(txns[0]), bob.sign(txns[1])])
    assert algo_ledger.is_confirmed(txns[1].get_txid())  # type: ignore[no-untyped-call]
    assert algo_ledger.block(algo_ledger.last_round).tx_ids == tuple(t.get_txid() for t in txns)  # type: ignore[no-untyped-call]


def test_asset_reads(
    client: AlgodClient, algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    issuer = algo_accounts[0]
    asset = create_asa(algo_ledger, issuer, total=5_000)
    info = _json(client.asset_info(asset))
    assert info["index"] == asset
    params = info["params"]
    assert params["creator"] == issuer.address
    assert params["total"] == 5_000
    assert params["unit-name"] == "TST"
    assert params["url"].endswith("#arc3")
    assert base64.b64decode(params["metadata-hash"]) == b"\x01" * 32
    assert params["manager"] == params["clawback"] == issuer.address
    holding = _json(client.account_asset_info(issuer.address, asset))
    assert holding["asset-holding"] == {"amount": 5_000, "asset-id": asset, "is-frozen": False}
    account = _json(client.account_info(issuer.address))
    assert [a["index"] for a in account["created-assets"]] == [asset]
    with pytest.raises(error.AlgodHTTPError) as missing:
        _json(client.asset_info(asset + 999))
    assert missing.value.code == 404


def test_application_and_box_reads(
    client: AlgodClient, algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    creator = algo_accounts[0]
    app = create_probe(algo_ledger, creator)
    algo_ledger.submit(
        [call_probe(algo_ledger, creator, app, b"box", b"name", b"value!", boxes=[(app, b"name")])]
    )
    info = _json(client.application_info(app))
    assert info["id"] == app
    assert base64.b64decode(info["params"]["approval-program"]) == assemble(PROBE_APP)
    state = {
        base64.b64decode(kv["key"]): kv["value"]["uint"] for kv in info["params"]["global-state"]
    }
    assert state == {b"counter": 7}
    boxes = _json(client.application_boxes(app))
    assert [base64.b64decode(b["name"]) for b in boxes["boxes"]] == [b"name"]
    box = _json(client.application_box_by_name(app, b"name"))
    assert base64.b64decode(box["value"]) == b"value!"
    with pytest.raises(error.AlgodHTTPError) as missing:
        _json(client.application_box_by_name(app, b"nope"))
    assert missing.value.code == 404
    app_account = _json(client.account_info(logic.get_application_address(app)))
    assert app_account["total-boxes"] == 1


def test_compile_and_simulate(
    client: AlgodClient, algo_ledger: EmbeddedLedger, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    compiled = client.compile("#pragma version 10\nint 1\n")
    program = base64.b64decode(compiled["result"])
    assert compiled["hash"] == logic.address(program)  # type: ignore[no-untyped-call]
    with pytest.raises(error.AlgodHTTPError) as bad:
        client.compile("#pragma version 10\nnot_an_opcode\n")
    assert bad.value.code == 400
    assert "not_an_opcode" in str(bad.value)

    round_before = algo_ledger.last_round
    ok = alice.sign(
        transaction.PaymentTxn(alice.address, client.suggested_params(), bob.address, 9)  # type: ignore[no-untyped-call]
    )
    simulated = _json(client.simulate_raw_transactions([ok]))
    assert "failure-message" not in simulated["txn-groups"][0]
    assert simulated["txn-groups"][0]["txn-results"][0]["txn-result"]["txn"]["txn"]["amt"] == 9
    broke = alice.sign(
        transaction.PaymentTxn(alice.address, client.suggested_params(), bob.address, 10**15)  # type: ignore[no-untyped-call]
    )
    failed = _json(client.simulate_raw_transactions([broke]))["txn-groups"][0]
    assert "overspend" in failed["failure-message"]
    assert failed["failed-at"] == [0]
    assert algo_ledger.last_round == round_before


def test_rejections_are_algod_shaped_and_translate(
    client: AlgodClient, algo_accounts: tuple[AlgoTestAccount, ...]
) -> None:
    alice, bob = algo_accounts[:2]
    broke = alice.sign(
        transaction.PaymentTxn(alice.address, client.suggested_params(), bob.address, 10**15)  # type: ignore[no-untyped-call]
    )
    with pytest.raises(error.AlgodHTTPError) as raw:
        client.send_transaction(broke)
    assert raw.value.code == 400
    assert str(raw.value).startswith("TransactionPool.Remember: transaction ")
    with pytest.raises(TransactionReverted) as translated, algod_errors():
        client.send_transaction(broke)
    assert translated.value.reason == ReasonCode.INSUFFICIENT_BALANCE
    assert translated.value.tx_id == broke.get_txid()
    with pytest.raises(NotFound), algod_errors():
        _json(client.asset_info(1))
    flipped = "B" if alice.address[10] != "B" else "C"
    bad_checksum = alice.address[:10] + flipped + alice.address[11:]
    with pytest.raises(InvalidInput), algod_errors():
        _json(client.account_info(bad_checksum))


def test_http_server_refuses_a_wrong_token(algod_http: AlgodHttpServer) -> None:
    with pytest.raises(error.AlgodHTTPError) as refused:
        AlgodClient("wrong", algod_http.url).status()
    assert refused.value.code == 401
    assert _json(AlgodClient("wrong", algod_http.url).versions())["genesis_id"] == GENESIS_ID


def test_http_block_in_msgpack_has_raw_addresses(
    algod_http: AlgodHttpServer,
    algo_ledger: EmbeddedLedger,
    algo_accounts: tuple[AlgoTestAccount, ...],
) -> None:
    import msgpack

    alice, bob = algo_accounts[:2]
    algo_ledger.submit(
        [
            alice.sign(
                transaction.PaymentTxn(  # type: ignore[no-untyped-call]
                    alice.address, algo_ledger.suggested_params(), bob.address, 5
                )
            )
        ]
    )
    raw = _http_client(algod_http).block_info(algo_ledger.last_round, response_format="msgpack")
    block = msgpack.unpackb(raw, raw=False, strict_map_key=False)["block"]
    txn = block["txns"][0]["txn"]
    assert block["rnd"] == algo_ledger.last_round
    assert txn["type"] == "pay"
    assert txn["rcv"] == encoding.decode_address(bob.address)  # type: ignore[no-untyped-call]


def test_unreachable_algod_is_chain_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AlgodClient("a" * 64, f"http://127.0.0.1:{port}")
    with pytest.raises(ChainUnavailable, match="unreachable"), algod_errors():
        _json(client.status())
