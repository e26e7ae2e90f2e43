"""Singapore and Hong Kong changes in force in 2025: each decided under the law of the day.

Sources: Hong Kong Stablecoins Ordinance (Cap. 656), in operation from 1 August 2025
(L.N. 125 of 2025; HK Government LegCo reply of 10 September 2025,
https://www.info.gov.hk/gia/general/202509/10/P2025091000338.htm); Singapore Financial
Services and Markets Act 2022 Part 9 (digital token service providers), in operation
from 30 June 2025 (MAS clarification of 6 June 2025, as summarised by Allen & Gledhill,
10 June 2025). Both are obligations for the platform to check, not refusals: the trade
does not carry whether the stablecoin's issuer or the Singapore provider is licensed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.compliance.loader import default_rules_dir, load_rules
from tests.strategies_compliance import buyer, cash, cls, decide, instrument, seller, trade

HK_BOND = instrument("hk.tokenised_security", "hk.private_placement_pi", "HK")
SG_SHARE = instrument("sg.security", "sg.s274", "SG")


def _ids(decision: object) -> set[str]:
    return {o.rule_id for o in decision.obligations}  # type: ignore[attr-defined]


def test_hk_stablecoin_paid_to_a_hong_kong_seller_is_checked_from_1_august_2025() -> None:
    """hk.stablecoins.offer_check (Cap. 656, from 2025-08-01): USDC paid to a Hong Kong
    seller lists the check on 2025-08-01, not on 2025-07-31; the outcome is unchanged."""
    t = trade(
        HK_BOND,
        seller("HK", cls("HK", "professional")),
        buyer("HK", cls("HK", "professional")),
        cash_leg=cash("USD", 100_000, token="USDC"),
    )
    before = decide(t, datetime(2025, 7, 31, 23, 0, tzinfo=UTC))
    after = decide(t, datetime(2025, 8, 1, 1, 0, tzinfo=UTC))
    assert "hk.stablecoins.offer_check" not in _ids(before)
    assert "hk.stablecoins.offer_check" in _ids(after)
    (o,) = [o for o in after.obligations if o.rule_id == "hk.stablecoins.offer_check"]
    assert o.kind == "record"
    assert "Cap. 656" in o.citation.law
    assert o.citation.source == "https://www.elegislation.gov.hk/hk/cap656"
    assert o.verification == "partial"
    assert after.outcome == before.outcome


def test_hk_stablecoin_check_needs_a_stablecoin_and_a_hong_kong_receiver() -> None:
    """hk.stablecoins.offer_check: a fiat bank leg, or a stablecoin paid to a seller
    outside Hong Kong, gives no check."""
    at = datetime(2026, 3, 1, tzinfo=UTC)
    fiat = trade(
        HK_BOND,
        seller("HK", cls("HK", "professional")),
        buyer("HK", cls("HK", "professional")),
        cash_leg=cash("HKD", 100_000, instrument="fiat", executed_by="bank"),
    )
    assert "hk.stablecoins.offer_check" not in _ids(decide(fiat, at))
    abroad = trade(
        HK_BOND,
        seller("SG", cls("SG", "accredited")),
        buyer("HK", cls("HK", "professional")),
        cash_leg=cash("USD", 100_000),
    )
    assert "hk.stablecoins.offer_check" not in _ids(decide(abroad, at))


def test_sg_provider_serving_a_customer_abroad_is_checked_from_30_june_2025() -> None:
    """sg.fsma.dtsp_outside_singapore (FSMA 2022 Part 9, from 2025-06-30): a Singapore
    VASP paying for a Japanese buyer lists the licence check on 2025-06-30, not the day
    before; a Singapore buyer served by it gives none."""
    t = trade(
        SG_SHARE,
        seller("SG", cls("SG", "institutional")),
        buyer("JP", cls("JP", "qualified_institutional")),
        cash_leg=cash("USD", 100_000, executed_by="vasp", originator_vasp="SG"),
    )
    assert "sg.fsma.dtsp_outside_singapore" not in _ids(
        decide(t, datetime(2025, 6, 29, tzinfo=UTC))
    )
    after = decide(t, datetime(2025, 6, 30, 1, 0, tzinfo=UTC))
    (o,) = [o for o in after.obligations if o.rule_id == "sg.fsma.dtsp_outside_singapore"]
    assert o.citation.source == "https://sso.agc.gov.sg/Act/FSMA2022"
    assert "Part 9" in o.citation.article
    home = t.model_copy(update={"buyer": buyer("SG", cls("SG", "institutional"))})
    assert "sg.fsma.dtsp_outside_singapore" not in _ids(
        decide(home, datetime(2026, 3, 1, tzinfo=UTC))
    )


def test_the_amendments_are_listed_by_rules_at_their_dates() -> None:
    """`rules --at` (effective dates): neither rule before 2025-06-30, SG's from then,
    both from 2025-08-01."""
    from datetime import date

    book = load_rules([default_rules_dir()])
    starts = {
        c.rule.id: c.rule.effective_from
        for code in ("HK", "SG")
        for c in book.rules[code]
        if c.rule.id in ("hk.stablecoins.offer_check", "sg.fsma.dtsp_outside_singapore")
    }
    assert starts == {
        "hk.stablecoins.offer_check": date(2025, 8, 1),
        "sg.fsma.dtsp_outside_singapore": date(2025, 6, 30),
    }
