"""Every deny cites primary law (or the token); what cannot is marked and says why.

A refusal a compliance officer signs must point at the law itself: the statute,
regulation or regulator's text as its official publisher prints it, not a blog, a law
firm's note or a commentary. This walks every rule of the shipped files that can deny
and checks where its citation's ``source`` lives (hosts of official publishers and
regulators below). A deny whose primary text could not be reached here is listed in
``NO_PRIMARY_SOURCE``; it may not claim ``verified`` and its note must say why. The
list is exact: a rule that gains a primary source must leave it. (The token's own
refusals cite the token: tests/unit/compliance/test_sanctions_unknowns_token.py.)
"""

from __future__ import annotations

from urllib.parse import urlparse

from bridge.compliance.loader import default_rules_dir, load_rules
from bridge.compliance.model import JurisdictionRule

PRIMARY_HOSTS = frozenset(
    {
        # EU: the Official Journal (EUR-Lex), ESMA
        "eur-lex.europa.eu",
        "www.esma.europa.eu",
        # GB: legislation.gov.uk (also retained EU law), the FCA Handbook
        "legislation.gov.uk",
        "www.legislation.gov.uk",
        "www.handbook.fca.org.uk",
        # SG: Singapore Statutes Online, MAS
        "sso.agc.gov.sg",
        "www.mas.gov.sg",
        # HK: Hong Kong e-Legislation, SFC, HKMA
        "www.elegislation.gov.hk",
        "apps.sfc.hk",
        "www.sfc.hk",
        "www.hkma.gov.hk",
        # JP: e-Gov law search, the government's translations, the FSA
        "elaws.e-gov.go.jp",
        "laws.e-gov.go.jp",
        "www.japaneselawtranslation.go.jp",
        "www.fsa.go.jp",
        # US: eCFR, GovInfo, US Code, SEC, FinCEN, Treasury (OFAC)
        "www.ecfr.gov",
        "www.govinfo.gov",
        "uscode.house.gov",
        "www.sec.gov",
        "www.fincen.gov",
        "home.treasury.gov",
        "ofac.treasury.gov",
        # CH: Fedlex (the classified compilation), FINMA
        "www.fedlex.admin.ch",
        "www.finma.ch",
    }
)
"""Official publishers of the law and the regulators' own sites."""

NO_PRIMARY_SOURCE: dict[str, str] = {}
"""Denies without a primary source: rule id -> why (also in its note). Empty: the Swiss
rules cite Fedlex and the Japanese definitions ordinance cites e-Gov (their notes say the
official text itself was not read here, so they stay partial)."""


def _denies() -> list[tuple[str, JurisdictionRule]]:
    book = load_rules([default_rules_dir()])
    return [
        (code, compiled.rule)
        for code, rules in sorted(book.rules.items())
        for compiled in rules
        if compiled.rule.effect == "deny"
    ]


def _primary(source: str | None) -> bool:
    return source is not None and urlparse(source).netloc in PRIMARY_HOSTS


def test_every_deny_cites_primary_law_or_is_marked_with_why() -> None:
    """Invariant: a rule that can deny cites a source on an official publisher's or
    regulator's host, or is listed in NO_PRIMARY_SOURCE, is not marked verified and its
    note says the primary text was not reached; the list holds no rule that has one."""
    secondary = []
    for code, rule in _denies():
        source = rule.citation.source
        if _primary(source):
            assert rule.id not in NO_PRIMARY_SOURCE, f"{rule.id} now cites {source}"
            continue
        if rule.id not in NO_PRIMARY_SOURCE:
            secondary.append(f"{code} {rule.id} [{rule.verification}]: {source}")
            continue
        assert rule.verification != "verified", rule.id
        assert rule.note is not None
        assert "primary" in rule.note.lower(), rule.id
    assert not secondary, "denies citing no primary source:\n" + "\n".join(secondary)


def test_no_primary_source_list_names_only_real_denies() -> None:
    ids = {rule.id for _, rule in _denies()}
    assert set(NO_PRIMARY_SOURCE) <= ids


def test_every_rule_not_verified_says_why() -> None:
    """Invariant: a rule marked partial or unverified carries a note (what was read, what
    was not, or that it is a design assumption), so `rules --json` shows why."""
    book = load_rules([default_rules_dir()])
    silent = [
        compiled.rule.id
        for rules in book.rules.values()
        for compiled in rules
        if compiled.rule.verification != "verified" and len(compiled.rule.note or "") < 40
    ]
    assert not silent
