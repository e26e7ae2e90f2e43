"""What the canonical rules mean, and the T-REX codec's model of the modules' hooks (pure)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from adapters.evm.erc3643 import Erc3643Codec, ModuleFacts, TransferFacts
from bridge.model import AllowListRule, DenyListRule, TransferFeeRule, VolumeLimitRule
from bridge.reasons import ReasonCode

A, B, C = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20
ID_A, ID_B, ID_C = "0x" + "1a" * 20, "0x" + "1b" * 20, "0x" + "1c" * 20
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_allow_list_scopes() -> None:
    """either: one listed party is enough (T-REX TransferRestrict); both: each party;
    recipient: the recipient, by wallet or identity."""
    either = AllowListRule(addresses=(A,), scope="either")
    assert either.permits([A], [B])
    assert either.permits([B], [A])
    assert not either.permits([B], [C])
    assert either.permits(None, [C])  # an issuance
    both = AllowListRule(addresses=(A, B))
    assert both.permits([A], [B])
    assert not both.permits([A], [C])
    assert not both.permits([C], [B])
    recipient = AllowListRule(addresses=(ID_B,), scope="recipient")
    assert recipient.permits([C], [B, ID_B])
    assert not recipient.permits([ID_B], [C])
    deny = DenyListRule(addresses=(ID_B,), scope="recipient")
    assert deny.permits([B, ID_B], [C])
    assert not deny.permits([C], [B, ID_B])


def test_fixed_window_starts_at_first_transfer_and_resets_at_its_end() -> None:
    """60 s fixed window, 100 allowed: 60 at t=0 opens it until t=60; 40 more at t=30 fills
    it; 1 more at t=59 is refused, at t=60 the window has ended (a sliding window would
    still count the 40 from t=30)."""
    fixed = VolumeLimitRule(window_seconds=60, amount=100, window="fixed")
    sliding = VolumeLimitRule(window_seconds=60, amount=100)
    past = [(T0, 60), (T0 + timedelta(seconds=30), 40)]
    assert not fixed.allows(1, past, T0 + timedelta(seconds=59))
    assert fixed.allows(100, past, T0 + timedelta(seconds=60))
    assert not sliding.allows(100, past, T0 + timedelta(seconds=60))
    assert not fixed.allows(101, [], T0)
    agents = VolumeLimitRule(window_seconds=60, amount=100, window="fixed", agents_exempt=True)
    assert agents.allows(1_000, past, T0, sender_is_agent=True)


def test_fee_rule_net_amount_and_exemptions() -> None:
    fee = TransferFeeRule(rate_bps=250, collector=C)
    assert fee.fee(1_000, sender=A, recipient=B) == 25
    assert fee.net_amount(1_000, sender=A, recipient=B) == 975
    assert fee.fee(39, sender=A, recipient=B) == 0  # rounds down to nothing
    assert fee.fee(1_000, sender=A, recipient=C) == 0
    assert fee.fee(1_000, sender=A, recipient=B, same_identity=True) == 0


CODEC = Erc3643Codec()
BASE = TransferFacts(
    paused=False,
    sender_frozen=False,
    recipient_frozen=False,
    sender_balance=1_000,
    sender_frozen_tokens=0,
    amount=100,
    recipient_registered=True,
    recipient_verified=True,
    sender=A,
    recipient=B,
    identities={A: ID_A, B: ID_B, C: ID_C},
    compliance="0x" + "dd" * 20,
)
MAX = ModuleFacts(
    "0x" + "01" * 20,
    "MaxBalanceModule",
    True,
    state={"max": 10_000, "balances": {ID_A: 1_000, ID_B: 0, ID_C: 0}},
)
FEES = ModuleFacts(
    "0x" + "02" * 20,
    "TransferFeesModule",
    True,
    state={"rate": 1_000, "collector": C, "collector_verified": True, "is_agent": True},
)


def codes(facts: TransferFacts) -> list[ReasonCode]:
    return [r.code for r in CODEC.derive_refusals(facts)]


def test_fee_module_before_max_balance_underflows_a_new_holder() -> None:
    """With TransferFeesModule bound before MaxBalanceModule, the fee transfer's hook takes
    the fee from the recipient identity's count before the outer hook credits it: a new
    holder's count underflows (Panic 0x11). In the other order the transfer passes."""
    assert codes(dataclasses.replace(BASE, modules=(MAX, FEES))) == []
    refusals = CODEC.derive_refusals(dataclasses.replace(BASE, modules=(FEES, MAX)))
    assert [r.code for r in refusals] == [ReasonCode.FEE_COLLECTION_FAILED]
    assert refusals[0].raw_message == "Panic(0x11)"


def test_fee_collector_must_be_verified_and_within_its_max_balance() -> None:
    unverified = dataclasses.replace(FEES, state={**FEES.state, "collector_verified": False})
    assert codes(dataclasses.replace(BASE, modules=(MAX, unverified))) == [
        ReasonCode.FEE_COLLECTION_FAILED
    ]
    full = dataclasses.replace(
        MAX, state={"max": 10_000, "balances": {ID_A: 1_000, ID_B: 0, ID_C: 9_995}}
    )
    refusals = CODEC.derive_refusals(dataclasses.replace(BASE, modules=(full, FEES)))
    assert [r.code for r in refusals] == [ReasonCode.FEE_COLLECTION_FAILED]
    assert refusals[0].raw_message is not None
    assert refusals[0].raw_message.startswith("MaxBalanceExceeded(")


def test_allowance_is_checked_after_identity_and_reports_the_panic() -> None:
    facts = dataclasses.replace(BASE, allowance=10, recipient_verified=False)
    assert codes(facts) == [ReasonCode.RECIPIENT_NOT_ELIGIBLE, ReasonCode.INSUFFICIENT_ALLOWANCE]
    short = CODEC.derive_refusals(dataclasses.replace(BASE, allowance=10))
    assert [(r.code, r.raw_message) for r in short] == [
        (ReasonCode.INSUFFICIENT_ALLOWANCE, "Panic(0x11)")
    ]


def test_time_window_judged_at_the_landing_time() -> None:
    limits = ModuleFacts(
        "0x" + "03" * 20,
        "TimeTransfersLimitsModule",
        False,  # the chain's moduleCheck at the latest block said no
        state={"limits": [(60, 100)], "counters": {60: (100, 1_000)}},
    )
    refused = dataclasses.replace(BASE, modules=(limits,), at=999)
    assert codes(refused) == [ReasonCode.VOLUME_LIMIT_EXCEEDED]
    assert codes(dataclasses.replace(refused, at=1_000)) == []


def test_a_paused_token_still_issues_where_its_mint_ignores_the_pause() -> None:
    """RestrictedToken1404, SecurityToken1400, T-REX and the regulated ASA mint while
    paused, ibet issues while not transferable: a primary trade passes the pause there
    (found by the ERC-1404 mint property: the engine refused what the chain minted); a
    resale stays refused, and so does a primary trade of a standard whose pause stops
    issuance (an OpenZeppelin ERC20Pausable)."""
    from bridge.model import Asset, EvmChain, EvmContractLocator, Standard
    from tests.property.engine_view import Side, codes, token_reasons

    def judged(standard: Standard, kind: Literal["primary", "resale"]) -> set[ReasonCode]:
        asset = Asset(
            chain=EvmChain(chain_id=1),
            locator=EvmContractLocator(address="0x" + "7a" * 20),
            standard=standard,
            name="Paused",
            symbol="PAU",
            decimals=0,
            total_supply=1_000,
            paused=True,
            transferable=False,
        )
        seller, buyer = Side(A, 10), Side(B, 0)
        return codes(token_reasons(asset, seller=seller, buyer=buyer, quantity=5, at=T0, kind=kind))

    halted = {ReasonCode.TOKEN_PAUSED, ReasonCode.NOT_TRANSFERABLE}
    for standard in (Standard.ERC1404, Standard.ERC1400, Standard.ERC3643):
        assert judged(standard, "primary") == set(), standard
        assert judged(standard, "resale") == halted, standard
    assert judged(Standard.ERC20, "primary") == halted


def test_an_outflow_the_chain_dates_after_the_judging_instant_still_counts() -> None:
    """The relayer judges at its wall clock; a chain whose clock runs ahead dates the
    seller's last transfers later than that instant. They have happened, so they count (as
    at the instant: the window they open lasts longer, never shorter); found through the
    relayer on py-evm, where the engine ignored them and allowed what the token refuses."""
    from bridge.model import Asset, EvmChain, EvmContractLocator, Standard
    from tests.property.engine_view import Side, codes, token_reasons

    rule = VolumeLimitRule(window_seconds=3600, amount=300, window="fixed", per="identity")
    asset = Asset(
        chain=EvmChain(chain_id=1),
        locator=EvmContractLocator(address="0x" + "7a" * 20),
        standard=Standard.ERC3643,
        name="Limited",
        symbol="LIM",
        decimals=0,
        total_supply=1_000,
        rules=(rule,),
    )
    ahead = [(T0 + timedelta(seconds=40), 250)]
    seller = Side(A, 1_000, outflows=ahead)
    judged = token_reasons(asset, seller=seller, buyer=Side(B, 0), quantity=100, at=T0)
    assert codes(judged) == {ReasonCode.VOLUME_LIMIT_EXCEEDED}
    assert codes(token_reasons(asset, seller=seller, buyer=Side(B, 0), quantity=50, at=T0)) == set()


def test_compliance_check_cli_counts_identity_outflows_and_exempts_agents(
    tmp_path: pytest.TempPathFactory,
) -> None:
    """``stbridge compliance check``: a trade file whose token has an identity's fixed
    window (300 per hour) and whose seller carries its identity, its identity's outflows
    (250 in the hour, one into an exchange) and its agent role is judged on them: 100
    more is refused for the volume limit; the same from an agent of the token is not."""
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from bridge.compliance.cli import app
    from bridge.compliance.loader import specs_dir
    from bridge.model import Asset, EvmChain, EvmContractLocator, Standard

    trade = json.loads(
        (specs_dir() / "examples" / "jp-real-estate-to-sg-accredited-usdc.json").read_text()
    )
    rule = VolumeLimitRule(
        window_seconds=3600, amount=300, window="fixed", per="identity", agents_exempt=True
    )
    asset = Asset(
        chain=EvmChain(chain_id=1),
        locator=EvmContractLocator(address="0x" + "7a" * 20),
        standard=Standard.ERC3643,
        name="Limited",
        symbol="LIM",
        decimals=0,
        total_supply=10_000,
        rules=(rule,),
    )
    trade["instrument"]["asset"] = asset.model_dump(mode="json")
    trade["quantity"] = 100
    trade["seller"]["identity"] = ID_A
    trade["seller"]["outflows"] = [
        {"at": "2026-03-01T09:10:00Z", "amount": 200, "to": ID_A},
        {"at": "2026-03-01T09:20:00Z", "amount": 50, "to": ID_C},
    ]

    def judged(agent: bool) -> set[str]:
        trade["seller"]["token_agent"] = agent
        path = Path(str(tmp_path)) / f"trade-{agent}.json"
        path.write_text(json.dumps(trade))
        runner = CliRunner()
        result = runner.invoke(app, ["check", str(path), "--at", "2026-03-01T09:30:00Z", "--json"])
        assert result.exit_code in (0, 1, 2), result.output
        return {r["code"] for r in json.loads(result.output)["reasons"]}

    assert "VOLUME_LIMIT_EXCEEDED" in judged(agent=False)
    assert "VOLUME_LIMIT_EXCEEDED" not in judged(agent=True)
