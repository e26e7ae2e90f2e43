"""One platform's relayer as its own process, for the two-process SATP test.

Started by ``tests/integration/test_satp_relayers.py`` with a JSON config (argv[1]): this
platform's SATP key (private JWK), the peer's public JWK and URL, its store path, the two
chains (RPC URL and HTLC address) with only this platform's own keys (test seeds) and a fee
payer, and for the initiator the trade to start. It serves the relayer API with the SATP
routes (uvicorn, 127.0.0.1) and ticks the SATP executor until the stop file appears.
Test code: a harness with native-coin legs and stand-in decisions; the product daemon is
`stbridge relayer run` with `[satp]` (relayer/satp/gateway.py; test_satp_daemons.py).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.htlc import RelayerBudget, Secret
from bridge.swap import SwapTerms
from relayer.api import create_app
from relayer.satp.executor import ChainAccess, SatpExecutor
from relayer.satp.jws import Envelope, PublicJwk, SigningKey
from relayer.satp.messages import ComplianceStatement, WireTerms, caip2
from relayer.satp.node import SatpNode
from relayer.satp.verify import Gateway, Side
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, RelayerService
from relayer.store import SqliteStore


def main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    store = SqliteStore(Path(cfg["store"]))
    key = SigningKey.from_private_jwk(cfg["satp_key"])
    peer = Gateway(gateway_id=cfg["peer_id"], key=PublicJwk.model_validate(cfg["peer_key"]))
    node = SatpNode(
        store,
        key,
        gateway_id=cfg["id"],
        peers={peer.gateway_id: peer},
        clock=lambda: datetime.now(UTC),
        lock_window_s=60,
    )
    sealing = SealingKey.generate()
    chains = {}
    for chain in cfg["chains"]:
        client = EvmClient.connect(chain["url"])
        htlc = EvmHtlc(client, chain["htlc"])
        signers = {s.address: s for s in (EvmSigner.from_seed(x) for x in chain["own_keys"])}
        fee = EvmSigner.from_seed(chain["fee_payer"]) if chain.get("fee_payer") else None
        chains[caip2(client.chain)] = ChainAccess(
            htlc=htlc,
            htlc_id=htlc.address,
            head=client.head,
            now=lambda c=client: int(c.now().timestamp()),
            expires_at=lambda d: datetime.fromtimestamp(d, UTC),
            signers=signers,
            operator=fee,
        )

    def decide(terms: SwapTerms, side: Side) -> ComplianceStatement:
        return ComplianceStatement(
            gateway_id=cfg["id"],
            allowed=True,
            decided_at=datetime.now(UTC),
            terms_digest=WireTerms.of(terms).digest,
            jurisdictions=(cfg["jurisdiction"],),
        )

    def deliver(session_id: str, envelope: Envelope) -> bool:
        try:
            answer = httpx.post(
                f"{cfg['peer_url']}/satp/v1/sessions/{session_id}/messages",
                content=envelope.model_dump_json(),
                timeout=10,
            )
        except httpx.HTTPError:
            return False  # unreachable: the message stays in the outbox
        return answer.status_code == 202 or "replayOf" in answer.json()

    executor = SatpExecutor(
        node,
        chains,
        decide=decide,
        recheck=lambda terms, side, before: True,
        deliver=deliver,
        sealing_key=sealing,
    )
    service = RelayerService(
        store=store,
        chains={},
        compliance=lambda order: ComplianceResult(True),
        sealing_key=sealing,
        budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
        wall_clock=time.time,
    )
    app = create_app(service, token=cfg["token"], satp=node)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=cfg["port"], log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    if "start" in cfg:
        secret = Secret.generate()
        terms = SwapTerms.model_validate(
            {**cfg["start"]["terms"], "hashlock": "0x" + secret.hashlock.hex()}
        )
        node.start(
            terms,
            session_id=cfg["start"]["session_id"],
            peer_id=peer.gateway_id,
            sealed_secret=sealing.seal(secret.reveal(), swap_id=terms.swap_id),
        )
    stop = Path(cfg["stop_file"])
    while not stop.exists():
        executor.tick()
        time.sleep(0.2)
    server.should_exit = True


if __name__ == "__main__":
    main(sys.argv[1])
