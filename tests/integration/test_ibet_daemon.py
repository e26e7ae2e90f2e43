"""ibet legs through the daemon's own wiring (issue 14): settings -> ``build_service``.

The chain is py-evm behind the JSON-RPC server (:mod:`adapters.evm.rpc_server`), reached
over HTTP as the daemon reaches any node. It carries an ibet share (our contract, the
public ibet interfaces), ``IbetHTLC``, ``HTLC.sol`` and a JPY ERC-20. The settings name both
HTLCs (``htlc`` and ``ibet_htlc``); the service ``build_service`` makes settles the share
(through IbetHTLC and the token's lock book) against the JPY (through HTLC.sol), with the
real compliance engine. Before this wiring the daemon locked every EVM leg in HTLC.sol,
which an ibet token cannot do (it has no approve / transferFrom).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from adapters.evm.client import EvmClient
from adapters.evm.erc20 import Erc20Adapter, deploy_cash_token
from adapters.evm.htlc import EvmHtlc
from adapters.evm.ibet import IbetShareAdapter, deploy_ibet_share, deploy_personal_info
from adapters.evm.ibet_htlc import IbetHtlc
from adapters.evm.rpc_server import EvmRpcServer
from adapters.evm.signer import EvmSigner
from bridge.model import AssetRef, Capability, EvmContractLocator, TransferIntent
from bridge.swap import Outcome
from relayer.daemon import build_service
from relayer.embedded import cross_chain_order
from relayer.ibet import RoutedHtlc
from relayer.keystore import write_keystore
from relayer.service import LegOrder
from relayer.settings import RelayerSettings

pytestmark = pytest.mark.thorough  # a daemon over HTTP on py-evm: ~30 s; the cheap route
# test is tests/integration/test_ibet_route.py

ETHER = 10**18
PASSWORD = "devnet-test-password"


def test_the_daemon_settles_an_ibet_share_against_jpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invariant: with ``ibet_htlc`` set, an ibet share leg is locked in IbetHTLC (the
    seller's lock book), the cash leg in HTLC.sol, and both are claimed."""
    keys = {name: secrets.token_bytes(32) for name in ("issuer", "seller", "buyer", "operator")}
    signers = {name: EvmSigner(key) for name, key in keys.items()}
    with EvmRpcServer() as server:
        client = EvmClient.connect(server.url)
        for signer in signers.values():
            client.fund(signer.address, 10 * ETHER)
        issuer, seller, buyer = signers["issuer"], signers["seller"], signers["buyer"]
        htlc = EvmHtlc.deploy(client, signers["operator"])
        ibet_htlc = IbetHtlc.deploy(client, signers["operator"])
        registry = deploy_personal_info(client, issuer)
        share_address = deploy_ibet_share(
            client, issuer, name="Kyoto Holdings Share", symbol="KHS", total_supply=1_000,
            personal_info=registry, issue_price=1_000,
        )  # fmt: skip
        share = AssetRef(chain=client.chain, locator=EvmContractLocator(address=share_address))
        ibet = IbetShareAdapter(client)
        for wallet in (seller.address, buyer.address):
            ibet.agent_operation(share, Capability.IDENTITY_REGISTRATION, issuer, wallet=wallet)
        ibet.transfer(
            TransferIntent(
                asset=share, sender=issuer.address, recipient=seller.address, amount=100
            ),
            issuer,
        )
        jpy_address = deploy_cash_token(
            client, issuer, name="JPY Coin", symbol="JPYX", decimals=0, currency="JPY"
        )
        jpy = AssetRef(chain=client.chain, locator=EvmContractLocator(address=jpy_address))
        Erc20Adapter(client).agent_operation(
            jpy, Capability.MINT, issuer, to=buyer.address, amount=10**6
        )
        paths = {}
        for name in ("operator", "seller", "buyer"):
            paths[name] = tmp_path / f"{name}.json"
            write_keystore(
                paths[name], kind="evm", key=keys[name], password=PASSWORD, iterations=2**4
            )
        monkeypatch.setenv("STBRIDGE_SECRET_KEY", secrets.token_hex(32))
        monkeypatch.setenv("STBRIDGE_KEYSTORE_PASSWORD", PASSWORD)
        settings = RelayerSettings.model_validate(
            {
                "store": str(tmp_path / "relayer.sqlite3"),
                "chains": [
                    {
                        "name": "evm",
                        "kind": "evm",
                        "endpoint": server.url,
                        "confirmations": 0,
                        "htlc": htlc.address,
                        "ibet_htlc": ibet_htlc.address,
                        "keystore": str(paths["operator"]),
                        "custody": [str(paths["seller"]), str(paths["buyer"])],
                        "block_time_min_ms": 1000,
                        "block_time_max_ms": 2000,
                        "timestamp_drift_s": 5,
                    }
                ],
            }
        )
        service = build_service(settings)
        assert isinstance(service.chains["evm"].htlc, RoutedHtlc)
        order = cross_chain_order(
            "ibet-daemon-1",
            security=LegOrder(
                chain="evm", asset=share, amount=10, sender=seller.address,
                receiver=buyer.address,
            ),
            cash=LegOrder(
                chain="evm", asset=jpy, amount=10_000, sender=buyer.address,
                receiver=seller.address,
            ),
            buyer_residence="SG",
        )  # fmt: skip
        swap_id = service.submit(order).terms.swap_id
        for _ in range(12):
            service.tick()
            if service.store.get(swap_id).outcome is not Outcome.OPEN:
                break
        final = service.store.get(swap_id)
        assert final.outcome is Outcome.COMPLETED, final.refusals
        assert ibet.holding(share, buyer.address).balance == 10
        assert ibet.holding(share, seller.address).balance == 90
        assert Erc20Adapter(client).holding(jpy, seller.address).balance == 10_000
        hashlock = bytes.fromhex(final.terms.hashlock[2:])
        assert [lock.state for lock in ibet_htlc.find(hashlock)] == ["claimed"]
        assert [lock.asset for lock in htlc.find(hashlock)] == [jpy]
        service.store.close()
