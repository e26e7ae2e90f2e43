"""The engine applies the token rules whose meaning the per-standard property tests fixed
(tests/property/test_*_canonical_rules.py), each case one those tests found on a chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.model import (
    AllowListRule,
    Asset,
    ClaimType,
    EvmChain,
    EvmContractLocator,
    MaxHoldersRule,
    RequiredClaimsRule,
    Rule,
    Standard,
)
from bridge.reasons import ReasonCode
from tests.property.engine_view import Side, codes, token_reasons

AT = datetime(2026, 3, 1, tzinfo=UTC)
A, B, C = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20


def _asset(*rules: Rule) -> Asset:
    return Asset(
        chain=EvmChain(chain_id=1),
        locator=EvmContractLocator(address="0x" + "7a" * 20),
        standard=Standard.ERC1404,
        name="Rules",
        symbol="RUL",
        decimals=0,
        total_supply=1_000,
        rules=rules,
    )


def _codes(asset: Asset, seller: Side, buyer: Side, qty: int, **kw: int) -> set[ReasonCode]:
    return codes(token_reasons(asset, seller=seller, buyer=buyer, quantity=qty, at=AT, **kw))


def test_an_empty_allow_list_lists_nobody() -> None:
    """RestrictedToken1404 with nobody whitelisted refuses every transfer."""
    asset = _asset(AllowListRule(addresses=()))
    assert _codes(asset, Side(A, 10), Side(B, 0), 5) == {ReasonCode.NOT_ON_ALLOW_LIST}


def test_a_recipient_allow_list_does_not_list_the_sender() -> None:
    """ibet: only the receiver must be registered (the issuer is on the list)."""
    asset = _asset(AllowListRule(addresses=(B,), scope="recipient"))
    assert _codes(asset, Side(A, 10), Side(B, 0), 5) == set()
    assert _codes(asset, Side(B, 10), Side(A, 0), 5) == {ReasonCode.NOT_ON_ALLOW_LIST}


def test_replacement_under_a_lowered_holder_cap() -> None:
    """Three holders, a cap of two: a whole holding to a new holder passes where the rule
    says ``always`` (RestrictedToken1404), not where it says ``within_limit`` (the ASA)."""
    always = _asset(MaxHoldersRule(limit=2, replacement="always"))
    within = _asset(MaxHoldersRule(limit=2))
    whole, part = (Side(A, 10), Side(C, 0), 10), (Side(A, 10), Side(C, 0), 9)
    assert _codes(always, *whole, holder_count=3) == set()
    assert _codes(always, *part, holder_count=3) == {ReasonCode.MAX_HOLDERS_REACHED}
    assert _codes(within, *whole, holder_count=3) == {ReasonCode.MAX_HOLDERS_REACHED}


def test_both_parties_need_valid_claims() -> None:
    """The regulated ASA refuses a sender whose KYC lapsed; T-REX checks the receiver only."""
    valid, lapsed = AT + timedelta(days=1), AT - timedelta(days=1)
    both = _asset(RequiredClaimsRule(claim_types=(ClaimType.KYC,), parties="both"))
    receiver = _asset(RequiredClaimsRule(claim_types=(ClaimType.KYC,)))
    seller, buyer = Side(A, 10, kyc_until=lapsed), Side(B, 0, kyc_until=valid)
    assert _codes(both, seller, buyer, 5) == {ReasonCode.SENDER_NOT_ELIGIBLE}
    assert _codes(receiver, seller, buyer, 5) == set()


def test_a_self_transfer_does_not_grow_a_balance() -> None:
    """Found on the regulated ASA: alice sends 1 unit to herself while above a lowered
    maximum balance; the application accepts it (its balance cap exempts a transfer to
    oneself), so must the engine; T-REX's module has no such exemption."""
    from bridge.model import MaxBalanceRule

    asset = _asset(MaxBalanceRule(limit=600, per="wallet", self_transfers="exempt"))
    assert _codes(asset, Side(A, 1_000), Side(A, 1_000), 1) == set()
    assert _codes(asset, Side(A, 1_000), Side(B, 0), 601) == {ReasonCode.MAX_BALANCE_EXCEEDED}
    checked = _asset(MaxBalanceRule(limit=600))  # T-REX: no exemption
    assert _codes(checked, Side(A, 600), Side(A, 600), 1) == {ReasonCode.MAX_BALANCE_EXCEEDED}


def test_the_sender_is_judged_first() -> None:
    """Found on the regulated ASA: alice's KYC lapsed and she sends to herself; the
    application names the sender (SENDER_KYC_EXPIRED), and so does the engine."""
    lapsed = AT - timedelta(days=1)
    both = _asset(RequiredClaimsRule(claim_types=(ClaimType.KYC,), parties="both"))
    alice = Side(A, 10, kyc_until=lapsed)
    assert _codes(both, alice, alice, 5) == {ReasonCode.SENDER_NOT_ELIGIBLE}
