"""ARC-3 metadata: canonical bytes, the metadata hash, tamper detection, url conventions."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from adapters.algorand import arc3
from bridge.errors import InvalidInput, NotFound
from bridge.model import BondTerms, Identifier


def _bond_metadata() -> dict[str, object]:
    terms = BondTerms(
        currency="JPY",
        face_value=1_000_000,
        coupon_rate_ppm=12_500,
        issue_date=date(2026, 4, 1),
        maturity_date=date(2031, 3, 31),
    )
    return arc3.build_metadata(
        name="Tokyo Green Bond 2031",
        decimals=0,
        description="Five-year green bond",
        terms=terms,
        identifiers=(Identifier(kind="isin", value="JP3633400001"),),
        home_jurisdiction="JP",
        app_id=1234,
    )


def test_hash_is_sha256_of_the_document() -> None:
    document = arc3.canonical_json(_bond_metadata())
    digest = arc3.metadata_hash(document)
    assert digest == hashlib.sha256(document).digest()
    assert arc3.verify(document, digest)


def test_canonical_json_is_independent_of_key_order() -> None:
    meta = _bond_metadata()
    reordered = dict(reversed(list(meta.items())))
    assert arc3.canonical_json(meta) == arc3.canonical_json(reordered)
    assert b" " not in arc3.canonical_json({"a": 1, "b": [1, 2]})


def test_tampered_metadata_is_detected() -> None:
    document = arc3.canonical_json(_bond_metadata())
    digest = arc3.metadata_hash(document)
    tampered = document.replace(b"1000000", b"9000000")
    assert tampered != document
    assert not arc3.verify(tampered, digest)
    # one flipped byte anywhere is enough
    flipped = bytes([document[0] ^ 1]) + document[1:]
    assert not arc3.verify(flipped, digest)
    # a hash of the wrong length never verifies
    assert not arc3.verify(document, digest[:31])


def test_extra_metadata_uses_the_sha512_256_construction() -> None:
    extra = b"\x01\x02\x03"
    meta = {"name": "X", "extra_metadata": base64.b64encode(extra).decode()}
    document = arc3.canonical_json(meta)
    digest = arc3.metadata_hash(document, extra_metadata=extra)
    assert digest != hashlib.sha256(document).digest()
    assert arc3.verify(document, digest)
    assert not arc3.verify(document, hashlib.sha256(document).digest())


def test_terms_round_trip_through_the_document() -> None:
    document = arc3.canonical_json(_bond_metadata())
    parsed = arc3.parse_metadata(document, asa_decimals=0)
    assert isinstance(parsed.terms, BondTerms)
    assert parsed.terms.face_value == 1_000_000
    assert parsed.terms.maturity_date == date(2031, 3, 31)
    assert parsed.identifiers[0].value == "JP3633400001"
    assert parsed.home_jurisdiction == "JP"
    assert parsed.app_id == 1234


def test_decimals_must_match_the_asa() -> None:
    document = arc3.canonical_json(_bond_metadata())
    with pytest.raises(InvalidInput, match=r"metadata\.decimals"):
        arc3.parse_metadata(document, asa_decimals=2)


def test_bad_terms_in_metadata_are_named() -> None:
    meta = {"name": "X", "properties": {"stbridge": {"terms": {"kind": "bond"}}}}
    with pytest.raises(InvalidInput, match="terms"):
        arc3.parse_metadata(json.dumps(meta).encode())


def test_url_conventions() -> None:
    assert arc3.is_arc3("Bond", "ipfs://abc#arc3")
    assert arc3.is_arc3("arc3", "")
    assert arc3.is_arc3("Bond@arc3", None)
    assert not arc3.is_arc3("Bond", "https://example.org/meta.json")
    assert arc3.resolve_url("https://x.org/{id}.json#arc3", 1042) == "https://x.org/1042.json"
    assert arc3.url_for("ipfs://abc") == "ipfs://abc#arc3"
    with pytest.raises(InvalidInput, match="96 bytes"):
        arc3.url_for("https://example.org/" + "x" * 100)


def test_content_store_is_addressed_by_cid(tmp_path: Path) -> None:
    store = arc3.ContentStore(tmp_path)
    document = arc3.canonical_json(_bond_metadata())
    url = store.put(document)
    assert url.startswith("ipfs://b")
    assert len(arc3.url_for(url)) <= 96
    assert store.fetch(url) == document
    assert arc3.ipfs_cid(document) == url.removeprefix("ipfs://")
    other = arc3.ipfs_cid(document + b" ")
    with pytest.raises(NotFound):
        store.fetch(f"ipfs://{other}")
    with pytest.raises(NotFound):
        store.fetch("https://example.org/x.json")
