"""Each side's own compliance decision, from the real engine, as its SATP statement."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from bridge.compliance.loader import specs_dir
from bridge.model.chain import AlgorandChain, EvmChain
from bridge.swap import Leg, SwapTerms
from relayer.daemon import compliance_from_engine
from relayer.embedded import cross_chain_order
from relayer.satp.compliance import engine_decider, legs_mismatch
from relayer.satp.messages import WireTerms
from relayer.satp.verify import Side
from relayer.service import LegOrder, SwapOrder

EVM = EvmChain(chain_id=31337)
ALGO = AlgorandChain(genesis_hash=base64.b64encode(bytes(range(32))).decode())
SELLER = "0x52908400098527886E0F7030069857D2E4169EE7"
BUYER = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"
BUYER_ALGO = "7ZUECA7HFLZTXENRV24SHLU4AVPUTMTTDUFUBNBD64C73F3UHRTHAIOF6Q"
SELLER_ALGO = "VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA"
AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def order(trade_file: str = "jp-real-estate-to-sg-accredited-usdc.json") -> SwapOrder:
    return cross_chain_order(
        "o-1",
        security=LegOrder(chain="evm", amount=250, sender=SELLER, receiver=BUYER),
        cash=LegOrder(chain="algorand", amount=25_000_000, sender=BUYER_ALGO, receiver=SELLER_ALGO),
        buyer_residence="SG",
        trade_file=specs_dir() / "examples" / trade_file,
    )


TERMS = SwapTerms(
    swap_id="0x" + "ab" * 32,
    hashlock="0x" + "cd" * 32,
    initiator_leg=Leg(chain=EVM, amount=250, sender=SELLER, receiver=BUYER),
    participant_leg=Leg(chain=ALGO, amount=25_000_000, sender=BUYER_ALGO, receiver=SELLER_ALGO),
    initiator_deadline=1_800_000_000,
    participant_deadline=40_000,
    participant_lock_by=39_000,
)


@pytest.fixture(scope="module")
def check():  # type: ignore[no-untyped-def]
    return compliance_from_engine()


def test_the_engine_allows_and_the_statement_is_bound_to_the_terms(check) -> None:  # type: ignore[no-untyped-def]
    decide = engine_decider(
        check, lambda terms: order(), gateway_id="sg-gw", jurisdictions=("SG",), clock=lambda: AT
    )
    st = decide(TERMS, Side.RESPONDER)
    assert st.allowed, st.reasons
    assert st.terms_digest == WireTerms.of(TERMS).digest
    assert st.decision_digest is not None
    assert st.gateway_id == "sg-gw"


def test_a_refusal_carries_the_engines_reason_codes(check) -> None:  # type: ignore[no-untyped-def]
    denied = order("jp-qii-token-to-retail-denied.json")
    decide = engine_decider(
        check, lambda terms: denied, gateway_id="jp-gw", jurisdictions=("JP",), clock=lambda: AT
    )
    st = decide(TERMS, Side.INITIATOR)
    assert not st.allowed
    assert st.reasons
    assert all(r.isupper() for r in st.reasons)


def test_a_decision_for_other_legs_does_not_authorise_these(check) -> None:  # type: ignore[no-untyped-def]
    other = TERMS.model_copy(
        update={"initiator_leg": TERMS.initiator_leg.model_copy(update={"amount": 999})}
    )
    assert legs_mismatch(order(), other) == ["security.amount"]
    decide = engine_decider(
        check, lambda terms: order(), gateway_id="sg-gw", jurisdictions=("SG",), clock=lambda: AT
    )
    st = decide(other, Side.RESPONDER)
    assert not st.allowed
    assert st.reasons == ("TERMS_MISMATCH:security.amount",)
