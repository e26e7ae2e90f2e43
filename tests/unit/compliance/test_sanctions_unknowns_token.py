"""Sanctions hits, unknown inputs (deny by default) and the token's own canonical rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.compliance.model import Instrument, Outflow, Owner, Trade
from bridge.compliance.sanctions import load_sanctions, normalise_name
from bridge.errors import ConfigError, InvalidInput
from bridge.model import (
    Asset,
    CountryAllowRule,
    CountryDenyRule,
    EvmChain,
    EvmContractLocator,
    FlowbackBlockRule,
    IssuerApprovalRule,
    LockupRule,
    MaxBalanceRule,
    MaxHoldersRule,
    OpaqueRule,
    Standard,
    VolumeLimitRule,
)
from tests.strategies_compliance import (
    AT,
    allowed_after,
    buyer,
    cls,
    decide,
    denied_by,
    engine,
    instrument,
    reason,
    seller,
    trade,
)

QII = cls("JP", "qualified_institutional")
WALLET_B = "0x2222222222222222222222222222222222222222"
WALLET_S = "0x3333333333333333333333333333333333333333"


def _qii(**kw: Any) -> Instrument:
    return instrument("jp.ertr", "jp.qii_only", "JP", **kw)


# ---------------------------------------------------------------- sanctions


def test_sanctions_screening_name_hit_denies() -> None:
    """jp.sanctions.screening: a listed buyer name (case and punctuation ignored) is refused."""
    b = buyer("JP", QII, name="ivan  fictitious, BLOCKEDOV")
    r = denied_by(
        decide(trade(_qii(), seller("JP", QII), b)), "jp.sanctions.screening", "SANCTIONED_PARTY"
    )
    assert "buyer name" in r.explanation


def test_sanctions_screening_wallet_hit_denies() -> None:
    """jp.sanctions.screening: a listed seller wallet is refused."""
    s = seller("JP", QII, wallet="0x1111111111111111111111111111111111111111")
    denied_by(
        decide(trade(_qii(), s, buyer("JP", QII))), "jp.sanctions.screening", "SANCTIONED_PARTY"
    )


def test_sanctions_screening_identifier_hit_denies() -> None:
    """us.sanctions.screening: a listed identifier of a US party is refused by US law too."""
    b = buyer("US", cls("US", "accredited"), identifiers=("LEI:DEMO00000000000000XX",))
    inst = instrument("jp.tokenised_security", "jp.public_offering", "JP")
    d = decide(trade(inst, seller("JP"), b))
    denied_by(d, "us.sanctions.screening", "SANCTIONED_PARTY")
    denied_by(d, "jp.sanctions.screening", "SANCTIONED_PARTY")


def test_sanctions_screening_fifty_percent_rule_aggregates() -> None:
    """jp.sanctions.screening: an entity 30% + 25% owned by two listed persons is blocked (T20)."""
    owners = (
        Owner(name="Ivan Fictitious Blockedov", share_bps=3_000),
        Owner(name="Ozymandias Shell Holdings Ltd", share_bps=2_500),
    )
    b = buyer("JP", QII, entity_type="legal_person", name="Innocent Looking KK", owners=owners)
    r = denied_by(
        decide(trade(_qii(), seller("JP", QII), b)), "jp.sanctions.screening", "SANCTIONED_PARTY"
    )
    assert "55%" in r.explanation


def test_sanctions_screening_forty_nine_percent_not_blocked() -> None:
    """jp.sanctions.screening: 49.99% aggregate listed ownership is below the 50% rule."""
    owners = (
        Owner(name="Ivan Fictitious Blockedov", share_bps=4_999),
        Owner(name="Clean Person", share_bps=5_001),
    )
    b = buyer("JP", QII, entity_type="legal_person", owners=owners)
    allowed_after(decide(trade(_qii(), seller("JP", QII), b)), "jp.sanctions.screening")


def test_sanctions_list_file_bad_kind_names_file_and_line(tmp_path: Path) -> None:
    """A list file with an unknown kind is refused naming the file, the line and the problem."""
    f = tmp_path / "list.csv"
    f.write_text("# c\nkind,value,program,listed_on,note\nperson,X,P,,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"list\.csv: line 3: kind 'person'"):
        load_sanctions([f])


def test_normalise_name_folds_accents_and_punctuation() -> None:
    """Names match after removing accents, punctuation and repeated spaces."""
    assert normalise_name("  Zé  Placeholder-Trading ") == normalise_name("ze placeholder trading")


# ---------------------------------------------------------------- unknown inputs


def test_unknown_buyer_jurisdiction_denied_naming_it() -> None:
    """engine.unknown_jurisdiction: a buyer resident in BR (no rules loaded) is refused."""
    d = decide(trade(_qii(), seller("JP", QII), buyer("BR", QII)))
    r = denied_by(d, "engine.unknown_jurisdiction", "UNKNOWN_JURISDICTION")
    assert "buyer.residence = BR" in r.explanation


def test_unknown_cash_leg_vasp_jurisdiction_denied() -> None:
    """engine.unknown_jurisdiction: a cash-leg VASP in KR (no rules loaded) is refused."""
    from tests.strategies_compliance import cash

    t = trade(
        _qii(), seller("JP", QII), buyer("JP", QII), cash_leg=cash("USD", 100, originator_vasp="KR")
    )
    r = denied_by(decide(t), "engine.unknown_jurisdiction", "UNKNOWN_JURISDICTION")
    assert "cash_leg.originator_vasp = KR" in r.explanation


def test_unknown_classification_denied_naming_it() -> None:
    """engine.unknown_classification: 'JP accredited' is not a Japanese class."""
    d = decide(trade(_qii(), seller("JP", QII), buyer("JP", QII, cls("JP", "accredited"))))
    r = denied_by(d, "engine.unknown_classification", "UNKNOWN_CLASSIFICATION")
    assert "JP:accredited" in r.explanation


def test_unknown_instrument_kind_denied() -> None:
    """engine.unknown_instrument: jp.warrant is not an instrument kind of JP."""
    d = decide(
        trade(instrument("jp.warrant", "jp.qii_only", "JP"), seller("JP", QII), buyer("JP", QII))
    )
    r = denied_by(d, "engine.unknown_instrument", "UNKNOWN_INSTRUMENT")
    assert "instrument.kind = jp.warrant" in r.explanation


def test_unknown_exemption_and_mismatch_denied() -> None:
    """engine.unknown_instrument: an unknown exemption, and one that does not cover the kind."""
    d = decide(
        trade(instrument("jp.ertr", "jp.crowdfunding", "JP"), seller("JP", QII), buyer("JP", QII))
    )
    assert (
        "instrument.exemption = jp.crowdfunding"
        in denied_by(d, "engine.unknown_instrument", "UNKNOWN_INSTRUMENT").explanation
    )
    d2 = decide(
        trade(instrument("jp.ertr", "jp.excluded_ertr", "JP"), seller("JP", QII), buyer("JP", QII))
    )
    assert (
        "does not cover"
        in denied_by(d2, "engine.unknown_instrument", "UNKNOWN_INSTRUMENT").explanation
    )


def test_naive_datetime_is_invalid_input() -> None:
    """evaluate refuses a naive datetime with InvalidInput naming 'at'."""
    with pytest.raises(InvalidInput, match=r"^at: "):
        engine().evaluate(trade(_qii(), seller("JP", QII), buyer("JP", QII)), datetime(2026, 3, 1))


# ---------------------------------------------------------------- token rules


def _asset(*rules: Any, **kw: Any) -> Asset:
    return Asset(
        chain=EvmChain(chain_id=1),
        locator=EvmContractLocator(address="0x4444444444444444444444444444444444444444"),
        standard=Standard.ERC3643,
        name="Demo",
        symbol="DMO",
        decimals=0,
        total_supply=1_000,
        home_jurisdiction="JP",
        rules=rules,
        **kw,
    )


def _token_trade(*rules: Any, **kw: Any) -> Trade:
    inst = _qii(asset=_asset(*rules), holder_count=kw.pop("holders", 10))
    return trade(inst, seller("JP", QII, wallet=WALLET_S), buyer("JP", QII, wallet=WALLET_B), **kw)


def test_token_country_allow_refuses_where_law_allows() -> None:
    """token.country_allow[0]: the law allows a JP QII but the token allows only SG residents."""
    d = decide(_token_trade(CountryAllowRule(countries=("SG",))))
    r = denied_by(d, "token.country_allow[0]", "COUNTRY_RESTRICTED")
    assert r.origin == "token"


def test_token_country_deny() -> None:
    """token.country_deny[0]: a JP buyer on the token's deny list is refused."""
    denied_by(
        decide(_token_trade(CountryDenyRule(countries=("JP", "US")))),
        "token.country_deny[0]",
        "COUNTRY_RESTRICTED",
    )


def test_token_max_holders_at_edge() -> None:
    """token.max_holders[0]: limit 11 with 10 holders admits a new one; limit 10 does not."""
    allowed_after(decide(_token_trade(MaxHoldersRule(limit=11))), "token.max_holders[0]")
    denied_by(
        decide(_token_trade(MaxHoldersRule(limit=10))),
        "token.max_holders[0]",
        "MAX_HOLDERS_REACHED",
    )


def test_token_max_balance_at_edge() -> None:
    """token.max_balance[0]: buying 10 with limit 10 is fine; limit 9 is exceeded."""
    allowed_after(decide(_token_trade(MaxBalanceRule(limit=10))), "token.max_balance[0]")
    denied_by(
        decide(_token_trade(MaxBalanceRule(limit=9))),
        "token.max_balance[0]",
        "MAX_BALANCE_EXCEEDED",
    )


def test_token_lockup_from_acquisition_day_before_and_of() -> None:
    """token.lockup[0]: a 30-day lock-up from 2026-01-30 ends at 2026-03-01T00:00Z."""
    rule = LockupRule(period_seconds=30 * 86_400)
    inst = _qii(asset=_asset(rule))
    t = trade(inst, seller("JP", QII, acquired_on=date(2026, 1, 30)), buyer("JP", QII))
    denied_by(
        decide(t, datetime(2026, 2, 28, 23, 59, tzinfo=UTC)), "token.lockup[0]", "FUNDS_LOCKED"
    )
    allowed_after(decide(t, datetime(2026, 3, 1, 0, 0, tzinfo=UTC)), "token.lockup[0]")


def test_token_flowback_block() -> None:
    """token.flowback_block[0]: no transfer into JP before the until date."""
    rule = FlowbackBlockRule(until=datetime(2026, 6, 1, tzinfo=UTC), countries=("JP",))
    denied_by(decide(_token_trade(rule)), "token.flowback_block[0]", "TRANSFER_WINDOW_CLOSED")


def test_token_volume_limit_counts_window() -> None:
    """token.volume_limit[0]: 95 moved in the last day plus 10 exceeds 100."""
    rule = VolumeLimitRule(window_seconds=86_400, amount=100)
    inst = _qii(asset=_asset(rule))
    s = seller("JP", QII, outflows=(Outflow(at=datetime(2026, 3, 1, 1, tzinfo=UTC), amount=95),))
    denied_by(
        decide(trade(inst, s, buyer("JP", QII))), "token.volume_limit[0]", "VOLUME_LIMIT_EXCEEDED"
    )


def test_token_issuer_approval_needs_information() -> None:
    """token.issuer_approval[0]: without the issuer's approval the decision asks for it."""
    d = decide(_token_trade(IssuerApprovalRule()))
    assert d.outcome == "needs_information"
    assert reason(d, "token.issuer_approval[0]").code.value == "ISSUER_APPROVAL_REQUIRED"
    assert decide(_token_trade(IssuerApprovalRule(), issuer_approved=True)).outcome == "allow"


def test_token_opaque_rule_is_never_ignored() -> None:
    """token.opaque[0]: a rule the adapter could not read keeps the decision from allowing."""
    d = decide(_token_trade(OpaqueRule(standard=Standard.ERC3643, name="CustomModule")))
    assert d.outcome == "needs_information"
    assert "CustomModule" in reason(d, "token.opaque[0]").explanation


def test_token_paused_denies() -> None:
    """token.state.token_paused: a paused token refuses every transfer."""
    inst = _qii(asset=_asset().model_copy(update={"paused": True}))
    denied_by(
        decide(trade(inst, seller("JP", QII), buyer("JP", QII))),
        "token.state.token_paused",
        "TOKEN_PAUSED",
    )


def test_asset_home_must_match_instrument_home() -> None:
    """Instrument validation: the asset's home jurisdiction must equal instrument.home."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="home_jurisdiction"):
        instrument("us.restricted_equity", "us.reg_d_506c", "US", asset=_asset())


def test_decision_lists_every_failing_rule() -> None:
    """Both the law (jp.qii_only.transfer) and the token (token.country_deny[0]) are reported."""
    inst = _qii(asset=_asset(CountryDenyRule(countries=("JP",))))
    d = decide(trade(inst, seller("JP", QII), buyer("JP", cls("JP", "retail"))))
    ids = {r.rule_id for r in d.reasons}
    assert {"jp.qii_only.transfer", "token.country_deny[0]"} <= ids
    assert AT.tzinfo is not None


def test_token_rules_are_labelled_as_the_tokens_own() -> None:
    """A token rule's refusal names the token as its source, not the home jurisdiction's law:
    jurisdiction None, verification 'token', and a citation whose source is the token."""
    d = decide(_token_trade(CountryAllowRule(countries=("SG",))))
    r = denied_by(d, "token.country_allow[0]", "COUNTRY_RESTRICTED")
    assert r.jurisdiction is None
    assert r.verification == "token"
    assert r.citation.source is not None
    assert "0x4444444444444444444444444444444444444444" in r.citation.source
    assert "DMO" in r.citation.law
