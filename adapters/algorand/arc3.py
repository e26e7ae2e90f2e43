"""ARC-3 asset metadata: build it, serialise it canonically, hash it, find it, verify it.

ARC-3 facts this module follows (algorandfoundation/ARCs, arc-0003):

- an ASA is ARC-3 when its ``url`` ends with ``#arc3`` (or its name is ``arc3`` / ends
  with ``@arc3``); clients strip the fragment, and ``{id}`` in the url stands for the
  decimal asset id;
- the ASA's ``metadata_hash`` (32 bytes) is the SHA-256 of the metadata JSON file; when the
  JSON carries ``extra_metadata`` (base64 ``e``) it is instead
  ``SHA-512/256("arc0003/am" || SHA-512/256("arc0003/amj" || json) || e)``;
- ``decimals`` in the JSON, when present, must equal the ASA's ``decimals``;
- free structured data goes into ``properties``.

stbridge puts the instrument terms (a canonical :data:`~bridge.model.InstrumentTerms`)
under ``properties["stbridge"]["terms"]``, with identifiers and the home jurisdiction
beside them, and, for a regulated ASA, the compliance application id under
``properties["arc-20"]["application-id"]`` as ARC-20 does.

Metadata is content-addressed for storage: :func:`ipfs_cid` computes the CIDv1 (raw codec,
SHA-256) of the JSON bytes, so ``ipfs://<cid>#arc3`` fits the ASA url's 96 bytes and names
exactly one document. :class:`ContentStore` keeps such documents in a directory (the
embedded stand-in for IPFS); :class:`HttpResolver` fetches ``https://`` urls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Protocol

import httpx
from Crypto.Hash import SHA512
from pydantic import TypeAdapter, ValidationError

from bridge.errors import ChainUnavailable, InvalidInput, NotFound
from bridge.model import Identifier, InstrumentTerms

__all__ = [
    "ARC3_SUFFIX",
    "ContentStore",
    "HttpResolver",
    "MetadataResolver",
    "ParsedMetadata",
    "build_metadata",
    "canonical_json",
    "ipfs_cid",
    "is_arc3",
    "metadata_hash",
    "parse_metadata",
    "resolve_url",
    "url_for",
    "verify",
]

ARC3_SUFFIX: Final = "#arc3"
MAX_URL_BYTES: Final = 96
_TERMS: TypeAdapter[InstrumentTerms] = TypeAdapter(InstrumentTerms)
_CID_RE = re.compile(r"^b[a-z2-7]+$")


def _sha512_256(data: bytes) -> bytes:
    return SHA512.new(data, truncate="256").digest()


def canonical_json(metadata: Mapping[str, Any]) -> bytes:
    """The one byte form stbridge writes: UTF-8, keys sorted, no insignificant whitespace.

    Verification hashes the bytes as fetched, so documents written by others verify
    whatever their layout; this form only makes our own output reproducible.
    """
    return json.dumps(
        metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def metadata_hash(document: bytes, *, extra_metadata: bytes | None = None) -> bytes:
    """The 32-byte ARC-3 ``metadata_hash`` of a metadata JSON file (as raw bytes)."""
    if extra_metadata is None:
        return hashlib.sha256(document).digest()
    inner = _sha512_256(b"arc0003/amj" + document)
    return _sha512_256(b"arc0003/am" + inner + extra_metadata)


def _extra_from(document: bytes) -> bytes | None:
    try:
        parsed = json.loads(document)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("extra_metadata"), str):
        try:
            return base64.b64decode(parsed["extra_metadata"], validate=True)
        except ValueError:
            return None
    return None


def verify(document: bytes, expected_hash: bytes) -> bool:
    """True when ``document`` hashes to ``expected_hash`` per ARC-3 (honouring extra_metadata)."""
    if len(expected_hash) != 32:
        return False
    return metadata_hash(document, extra_metadata=_extra_from(document)) == expected_hash


def is_arc3(asset_name: str | None, url: str | None) -> bool:
    """Whether an ASA declares ARC-3 metadata (by url fragment or by name)."""
    name = asset_name or ""
    return (url or "").endswith(ARC3_SUFFIX) or name == "arc3" or name.endswith("@arc3")


def resolve_url(url: str, asset_id: int) -> str:
    """The metadata location: ``#arc3`` stripped and ``{id}`` replaced by the asset id."""
    return url.removesuffix(ARC3_SUFFIX).replace("{id}", str(asset_id))


def ipfs_cid(document: bytes) -> str:
    """CIDv1 (multibase base32, raw codec 0x55, sha2-256) of ``document``."""
    multihash = b"\x12\x20" + hashlib.sha256(document).digest()
    body = base64.b32encode(b"\x01\x55" + multihash).decode("ascii").lower().rstrip("=")
    return "b" + body


def build_metadata(
    *,
    name: str,
    decimals: int,
    description: str | None = None,
    terms: InstrumentTerms | None = None,
    identifiers: tuple[Identifier, ...] = (),
    home_jurisdiction: str | None = None,
    app_id: int | None = None,
    external_url: str | None = None,
    extra_properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """ARC-3 metadata for a token, with stbridge's instrument block in ``properties``."""
    if not 0 <= decimals <= 19:
        raise InvalidInput("decimals", "an ASA has 0 to 19 decimals", value=decimals)
    stbridge: dict[str, Any] = {}
    if terms is not None:
        stbridge["terms"] = _TERMS.dump_python(terms, mode="json", exclude_none=True)
    if identifiers:
        stbridge["identifiers"] = [i.model_dump(mode="json") for i in identifiers]
    if home_jurisdiction is not None:
        stbridge["home_jurisdiction"] = home_jurisdiction
    properties: dict[str, Any] = dict(extra_properties or {})
    if stbridge:
        properties["stbridge"] = stbridge
    if app_id is not None:
        properties["arc-20"] = {"application-id": app_id}
    metadata: dict[str, Any] = {"name": name, "decimals": decimals}
    if description is not None:
        metadata["description"] = description
    if external_url is not None:
        metadata["external_url"] = external_url
    if properties:
        metadata["properties"] = properties
    return metadata


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ParsedMetadata:
    """What stbridge reads out of an ARC-3 document (terms, identifiers, app id...)."""

    __slots__ = ("app_id", "decimals", "home_jurisdiction", "identifiers", "name", "raw", "terms")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        name = raw.get("name")
        self.name: str | None = name if isinstance(name, str) else None
        self.decimals: int | None = _int_or_none(raw.get("decimals"))
        props = _dict(raw.get("properties"))
        ours = _dict(props.get("stbridge"))
        self.terms: InstrumentTerms | None = None
        if "terms" in ours:
            try:
                self.terms = _TERMS.validate_python(ours["terms"])
            except ValidationError as exc:
                raise InvalidInput(
                    "metadata.properties.stbridge.terms", f"not valid instrument terms: {exc}"
                ) from exc
        try:
            self.identifiers: tuple[Identifier, ...] = tuple(
                Identifier.model_validate(i) for i in ours.get("identifiers", ())
            )
        except ValidationError as exc:
            raise InvalidInput("metadata.properties.stbridge.identifiers", str(exc)) from exc
        home = ours.get("home_jurisdiction")
        self.home_jurisdiction: str | None = home if isinstance(home, str) else None
        self.app_id: int | None = _int_or_none(_dict(props.get("arc-20")).get("application-id"))


def parse_metadata(document: bytes, *, asa_decimals: int | None = None) -> ParsedMetadata:
    """Parse an ARC-3 JSON document; ``decimals`` must match the ASA's when both exist."""
    try:
        raw = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("metadata", "ARC-3 metadata must be a UTF-8 JSON object") from exc
    if not isinstance(raw, dict):
        raise InvalidInput("metadata", "ARC-3 metadata must be a JSON object")
    parsed = ParsedMetadata(raw)
    if asa_decimals is not None and parsed.decimals is not None and parsed.decimals != asa_decimals:
        raise InvalidInput(
            "metadata.decimals",
            f"must equal the ASA's decimals ({asa_decimals})",
            value=parsed.decimals,
        )
    return parsed


class MetadataResolver(Protocol):
    """Fetches the bytes of a metadata document from its (resolved) url."""

    def fetch(self, url: str) -> bytes:
        """The document's bytes; ``NotFound`` when there is none."""
        ...


class ContentStore:
    """Content-addressed documents in a directory: ``ipfs://<cid>`` -> ``<root>/<cid>``.

    The embedded stand-in for IPFS: a document's name is its CID, so the store cannot
    serve different bytes under the same url without the hash check noticing.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, document: bytes) -> str:
        """Store ``document``; return its ``ipfs://<cid>`` url (without ``#arc3``)."""
        cid = ipfs_cid(document)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / cid).write_bytes(document)
        return f"ipfs://{cid}"

    def fetch(self, url: str) -> bytes:
        """The stored bytes for ``ipfs://<cid>``."""
        cid = url.removeprefix("ipfs://").split("/", 1)[0]
        if not url.startswith("ipfs://") or not _CID_RE.match(cid):
            raise NotFound(f"metadata url {url!r} is not an ipfs://<cidv1> url")
        path = self.root / cid
        if not path.is_file():
            raise NotFound(f"metadata {url} is not in the content store {self.root}")
        return path.read_bytes()


class HttpResolver:
    """Fetches ``http(s)://`` metadata with httpx; errors become ``bridge.errors``."""

    def __init__(self, client: httpx.Client | None = None, *, timeout: float = 10.0) -> None:
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=True)

    def fetch(self, url: str) -> bytes:
        """GET ``url``; 404 -> NotFound, network failure -> ChainUnavailable."""
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            raise ChainUnavailable(f"metadata {url}: {exc}") from exc
        if response.status_code == 404:
            raise NotFound(f"metadata {url}: 404")
        if response.status_code >= 400:
            raise ChainUnavailable(f"metadata {url}: HTTP {response.status_code}")
        return response.content


def url_for(base_url: str) -> str:
    """``base_url`` with the ``#arc3`` suffix, refusing urls an ASA cannot hold (96 bytes)."""
    url = base_url if base_url.endswith(ARC3_SUFFIX) else base_url + ARC3_SUFFIX
    if len(url.encode()) > MAX_URL_BYTES:
        raise InvalidInput("url", f"an ASA url holds at most {MAX_URL_BYTES} bytes", value=url)
    return url
