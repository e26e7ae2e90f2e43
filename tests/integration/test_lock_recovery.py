"""A restarted relayer recovers every lock of every open swap (issue 13, item 6).

Actor: the operator's own restarts, on a slow settlement. The relayer is built by the
daemon's composition root (:func:`relayer.daemon.build_service`) from a ``relayer.toml``
with the security on anvil (our ERC-20 token and HTLC) and the cash in ALGO on an
algod-shaped HTTP server backed by the embedded Algorand ledger. Both legs are locked, the
re-check before the reveal fails (the buyer's KYC lapsed), so the buyer's cash waits for
its deadline to be refunded. The relayer follows the chain for more rounds than a restarted
relayer used to look back (1000) and restarts on the same store after the deadline. It must
still find the buyer's lock (the store knows the round it was recorded at) and refund it;
a lock it cannot find is an error retried with back-off, never a settled effect.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from algosdk import account

from adapters.algorand.http_server import AlgodHttpServer
from adapters.algorand.ledger import EmbeddedLedger
from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.model import AssetRef, Capability, EvmContractLocator, Refusal
from bridge.reasons import ReasonCode
from bridge.swap import LegPhase, Outcome, SwapState, chain_key
from relayer.daemon import build_service
from relayer.keystore import write_keystore
from relayer.service import ComplianceResult, RelayerService, SwapOrder
from relayer.settings import load_settings

PASSWORD = "keystore-password-1"
ETHER = 10**18
MICROALGOS = 2_000_000
EXAMPLE = Path(__file__).resolve().parents[2] / "specs" / "examples"
OLD_LOOKBACK_ROUNDS = 1000


@pytest.fixture
def evm(anvil_url: str) -> Iterator[EvmClient]:
    client = EvmClient.from_target(anvil_url)
    snap = client.snapshot()
    yield client
    client.revert(snap)


def test_a_restart_recovers_a_lock_older_than_any_look_back(
    evm: EvmClient,
    anvil_url: str,
    algo_ledger: EmbeddedLedger,
    algod_http: AlgodHttpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # --- the chains: token and HTLC on anvil, ALGO on the embedded ledger over HTTP
    op_a, seller = EvmSigner.generate(), EvmSigner.generate()
    for signer in (op_a, seller):
        evm.fund(signer.address, 10 * ETHER)
    htlc = EvmHtlc.deploy(evm, op_a)
    token = deploy_cash_token(
        evm, seller, name="Tokyo Office Units", symbol="TOU", decimals=0, currency="JPY"
    )
    ref = AssetRef(chain=evm.chain, locator=EvmContractLocator(address=token))
    Erc20Adapter(evm).agent_operation(ref, Capability.MINT, seller, to=seller.address, amount=50)
    keys = {
        "op_a": ("evm", op_a._EvmSigner__key),  # type: ignore[attr-defined]
        "seller": ("evm", seller._EvmSigner__key),  # type: ignore[attr-defined]
        "op_algo": ("algorand", bytes(range(1, 33))),
        "buyer": ("algorand", bytes(range(2, 34))),
    }
    address = {
        name: write_keystore(
            tmp_path / f"{name}.json", kind=kind, key=key, password=PASSWORD, iterations=2**10
        )
        for name, (kind, key) in keys.items()
    }
    for name in ("op_algo", "buyer"):
        algo_ledger.fund(address[name], 20_000_000)
    _, seller_on_algo = account.generate_account()  # type: ignore[no-untyped-call]
    algo_ledger.fund(seller_on_algo, 1_000_000)
    buyer_on_a = EvmSigner.generate().address

    # --- the relayer, as `stbridge relayer run` builds it
    config = tmp_path / "relayer.toml"
    config.write_text(
        f"""
store = "{tmp_path / "relayer.sqlite3"}"
reaction_s = 30
compliance_recheck_s = 10
margin_s = 30

[[chains]]
name = "a"
kind = "evm"
endpoint = "{anvil_url}"
confirmations = 0
htlc = "{htlc.address}"
keystore = "{tmp_path / "op_a.json"}"
custody = ["{tmp_path / "seller.json"}"]
block_time_min_ms = 1000
block_time_max_ms = 2000
timestamp_drift_s = 5

[[chains]]
name = "algo"
kind = "algorand"
endpoint = "{algod_http.url}"
confirmations = 0
keystore = "{tmp_path / "op_algo.json"}"
custody = ["{tmp_path / "buyer.json"}"]
block_time_min_ms = 4000
block_time_max_ms = 5000
"""
    )
    monkeypatch.setenv("STBRIDGE_KEYSTORE_PASSWORD", PASSWORD)
    monkeypatch.setenv("STBRIDGE_SECRET_KEY", "42" * 32)
    monkeypatch.setenv("STBRIDGE_ALGOD_TOKEN", algod_http.token)
    settings = load_settings(config)
    trade = json.loads((EXAMPLE / "jp-real-estate-to-sg-accredited-usdc.json").read_text())
    order = SwapOrder.model_validate(
        {
            "order_id": "recover-1",
            "security": {
                "chain": "a",
                "asset": ref.model_dump(mode="json"),
                "amount": 10,
                "sender": seller.address,
                "receiver": buyer_on_a,
            },
            "cash": {
                "chain": "algo",
                "amount": MICROALGOS,
                "sender": address["buyer"],
                "receiver": seller_on_algo,
            },
            "settlement_window_s": 7200,
            "trade": trade,
        }
    )

    first = build_service(settings)
    allowed_once = first.compliance
    checks: list[str] = []

    def kyc_lapses_after_the_locks(o: SwapOrder, at: datetime) -> ComplianceResult:
        checks.append(o.order_id)
        if len(checks) == 1:
            return allowed_once(o, at)
        refusal = Refusal(code=ReasonCode.KYC_EXPIRED, detail="the buyer's KYC lapsed")
        return ComplianceResult(False, (refusal,))

    first.compliance = kyc_lapses_after_the_locks
    swap_id = first.submit(order).terms.swap_id
    for _ in range(8):  # compliance, both locks, the failed re-check
        first.tick()
        if first.store.get(swap_id).recheck == "failed":
            break
    state = first.store.get(swap_id)
    assert state.recheck == "failed"
    assert state.participant.phase is LegPhase.LOCKED  # the buyer's cash waits for its deadline
    lock_round = algo_ledger.last_round
    deadline = state.terms.participant_deadline
    assert deadline > lock_round + OLD_LOOKBACK_ROUNDS + 100
    # the relayer keeps following the chain past the old look-back, then restarts
    algo_ledger.advance(OLD_LOOKBACK_ROUNDS + 100)
    first.tick()
    assert first.watchers[_key(first, "algo")].last is not None
    first.store.close()

    algo_ledger.advance(deadline - algo_ledger.last_round + 1)  # the cash deadline passes
    evm.increase_time(state.terms.initiator_deadline - int(evm.now().timestamp()) + 1)
    evm.mine()
    buyer_before = algo_ledger.balance(address["buyer"])

    again = build_service(settings)  # restarted on the same store
    again.compliance = kyc_lapses_after_the_locks
    try:
        final = _drive(again, swap_id)
        assert final.outcome is Outcome.REFUNDED, (
            final.initiator,
            final.participant,
            again.audit(swap_id)["last_error"],
        )
        assert algo_ledger.balance(address["buyer"]) - buyer_before >= MICROALGOS
        assert Erc20Adapter(evm).holding(ref, seller.address).balance == 50
    finally:
        again.store.close()


def _key(svc: RelayerService, name: str) -> str:
    return chain_key(svc.chains[name].chain)


def _drive(svc: RelayerService, swap_id: str, ticks: int = 12) -> SwapState:
    for _ in range(ticks):
        svc.tick()
        state = svc.store.get(swap_id)
        if state.outcome is not Outcome.OPEN:
            return state
    return svc.store.get(swap_id)


def _algos(ledger: EmbeddedLedger, address: str) -> int:
    return ledger.balance(address)
