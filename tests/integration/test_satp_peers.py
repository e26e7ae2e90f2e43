"""More than one peer per relayer: ``[[satp.peers]]`` keyed by gateway id (issue 18).

A Singapore cash platform trades with two seller platforms (JP and CH). Each proposal is
verified against the key configured for the gateway it names; our own client's trade names
the peer it goes to; each session's messages go to its own peer's configured URL. Built as
``relayer run`` builds the gateway, on a real py-evm chain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.errors import ChainUnavailable, InvalidInput
from bridge.swap import Leg, SwapTerms
from relayer.satp.config import SatpSettings
from relayer.satp.errors import SatpError
from relayer.satp.gateway import build_gateway, session_id_of, swap_id_of
from relayer.satp.jws import SigningKey
from relayer.satp.keys import write_satp_keystore
from relayer.satp.messages import ComplianceStatement, WireTerms
from relayer.satp.node import SatpNode
from relayer.satp.session import Decided, Send
from relayer.satp.verify import Gateway
from relayer.sealing import SealingKey
from relayer.service import ComplianceResult
from relayer.store import SqliteStore
from tests.integration.test_satp_config import _order, _platform


def _peer(gateway_id: str, key: SigningKey, port: int) -> dict[str, Any]:
    # nothing listens on these loopback ports: a delivery fails naming the peer it tried
    return {
        "gateway_id": gateway_id,
        "url": f"http://127.0.0.1:{port}",
        "public_key": key.public.model_dump(),
    }


def _settings(tmp_path: Path, wallet: str, peers: list[dict[str, Any]]) -> SatpSettings:
    return SatpSettings.model_validate(
        {
            "gateway_id": "sg",
            "keystore": str(tmp_path / "satp.json"),
            "wallets": [wallet],
            "peers": peers,
        }
    )


def test_peers_are_a_list_keyed_by_gateway_id() -> None:
    """Either ``[satp.peer]`` or ``[[satp.peers]]``; each gateway id once, never ours."""
    a, b = SigningKey.generate(), SigningKey.generate()
    base = {"gateway_id": "sg", "keystore": "k.json", "wallets": ["0xabc"]}
    two = SatpSettings.model_validate({**base, "peers": [_peer("jp", a, 9), _peer("ch", b, 10)]})
    assert [p.gateway_id for p in two.all_peers] == ["jp", "ch"]
    assert two.peer_named("ch").url == "http://127.0.0.1:10"
    with pytest.raises(ValueError, match="name one of the configured peers"):
        two.peer_named(None)
    one = SatpSettings.model_validate({**base, "peer": _peer("jp", a, 9)})
    assert one.peer_named(None).gateway_id == "jp"
    for bad, rule in (
        ({"peers": [_peer("jp", a, 9), _peer("jp", b, 10)]}, "each gateway_id once"),
        ({"peers": [_peer("sg", a, 9)]}, "is our own gateway_id"),
        ({}, "either"),
        ({"peer": _peer("jp", a, 9), "peers": [_peer("ch", b, 10)]}, "either"),
    ):
        with pytest.raises(ValidationError, match=rule):
            SatpSettings.model_validate({**base, **bad})


def _proposal(
    tmp_path: Path, name: str, key: SigningKey, our_key: SigningKey, terms: SwapTerms
) -> tuple[str, Any]:
    """A seller platform ``name``'s signed proposal of ``terms`` to us (session id, envelope)."""
    seller = SatpNode(
        SqliteStore(tmp_path / f"{name}.sqlite3"),
        key,
        gateway_id=name,
        peers={"sg": Gateway(gateway_id="sg", key=our_key.public)},
        clock=lambda: datetime.now(UTC),
    )
    session_id = session_id_of(terms.swap_id)
    seller.start(terms, session_id=session_id, peer_id="sg")
    allowed = ComplianceStatement(
        gateway_id=name,
        allowed=True,
        decided_at=datetime.now(UTC),
        terms_digest=WireTerms.of(terms).digest,
        jurisdictions=(name.upper(),),
    )
    _, effects = seller.apply(terms.swap_id, Decided(statement=allowed))
    (sent,) = [e for e in effects if isinstance(e, Send)]
    return session_id, seller.seal(sent.message)


def test_a_relayer_with_two_peers_verifies_each_by_its_own_key_and_delivers_to_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written as both sellers' gateways and as a third that borrows a configured id: JP's
    and CH's proposals open sessions bound to JP and CH; a proposal naming JP but signed
    with CH's key is refused; our client's own trade must name its peer; each session's
    messages go to its own peer's URL (the refusal to deliver names that peer)."""
    service, alice, _, bob = _platform(tmp_path)
    monkeypatch.setenv("STBRIDGE_SATP_PASSWORD", "sg gateway password")
    ours, jp_key, ch_key = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    write_satp_keystore(
        tmp_path / "satp.json", ours, password="sg gateway password", iterations=2**4
    )
    settings = _settings(tmp_path, alice.address, [_peer("jp", jp_key, 9), _peer("ch", ch_key, 10)])
    gateway = build_gateway(
        settings,
        service,
        htlc_ids={"evm": service.chains["evm"].htlc.address},  # type: ignore[attr-defined]
        sealing=SealingKey.generate(),
        compliance=lambda order, at: ComplianceResult(True),
    )
    chain = service.chains["evm"].chain
    now = int(service.chains["evm"].now())

    def terms(order_id: str) -> SwapTerms:
        return SwapTerms(
            swap_id=swap_id_of(order_id),
            hashlock="0x" + "cd" * 32,
            initiator_leg=Leg(chain=chain, amount=5, sender=bob.address, receiver=alice.address),
            participant_leg=Leg(chain=chain, amount=5, sender=alice.address, receiver=bob.address),
            initiator_deadline=now + 7200,
            participant_deadline=now + 3600,
            participant_lock_by=now + 1800,
            participant_reveal_by=now + 3000,
        )

    # a third gateway names itself "jp" but signs with CH's key: refused, nothing stored
    forged_session, forged = _proposal(tmp_path, "jp", ch_key, ours, terms("forged"))
    with pytest.raises(SatpError):
        gateway.node.receive(forged_session, forged)
    assert not gateway.node.has_session(swap_id_of("forged"))
    # JP and CH each propose a trade: each session is bound to its own peer
    for name, key in (("jp", jp_key), ("ch", ch_key)):
        session_id, envelope = _proposal(tmp_path, name, key, ours, terms(f"from-{name}"))
        swap_id, state, _ = gateway.node.receive(session_id, envelope)
        assert state.peer.gateway_id == name
        assert state.peer.key == key.public
        gateway.submit(_order(f"from-{name}", bob.address, alice.address), "responder")
    # our receipts go to each session's own peer: the delivery names the peer it tried
    deliver = gateway.executor.deliver
    for name in ("jp", "ch"):
        swap_id = swap_id_of(f"from-{name}")
        state = gateway.node.load(swap_id)
        with pytest.raises(ChainUnavailable, match=f"peer {name} unreachable"):
            deliver(state.transcript.session_id, gateway.node.seal({"sessionId": "x"}))
    # our own client's trade as initiator must name its peer among the configured ones
    mine = _order("to-ch", alice.address, bob.address)
    with pytest.raises(InvalidInput, match="name one of the configured peers"):
        gateway.submit(mine, "initiator")
    with pytest.raises(InvalidInput, match="'us' is not a configured peer"):
        gateway.submit(mine, "initiator", peer="us")
    swap_id = gateway.submit(mine, "initiator", peer="ch")
    assert gateway.node.load(swap_id).peer.gateway_id == "ch"
