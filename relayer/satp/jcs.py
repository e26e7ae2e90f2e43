"""RFC 8785 JSON Canonicalization Scheme (JCS), for the values SATP messages carry.

What is hashed (``hashPrevMessage``, ``hashTransferInitClaim``) and what is signed (the JWS
payload) is the JCS form of a message, so two implementations that agree on the message
agree on every byte. The rules (RFC 8785 §3.2):

- no whitespace; object members sorted by their names compared as UTF-16 code units;
- strings escaped as ECMAScript ``JSON.stringify`` does: ``\\"``, ``\\\\``, the short forms
  ``\\b \\f \\n \\r \\t``, other controls below U+0020 as ``\\u00xx`` (lower-case hex),
  everything else (non-ASCII included) written as itself;
- numbers as ECMAScript prints them.

Profile restriction (``specs/protocol/satp.md``): our messages carry no fractional numbers
and no integer outside ±(2**53 - 1), where every JSON implementation agrees on the value;
amounts travel as decimal strings. A float, a too-large integer, a lone surrogate or a
non-string key is refused with :class:`~bridge.errors.InvalidInput` naming where it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from bridge.errors import InvalidInput

__all__ = [
    "JCS",
    "MAX_SAFE_INTEGER",
    "Profile",
    "canonical_bytes",
    "canonicalize",
    "parse_canonical",
    "serialize",
]

MAX_SAFE_INTEGER: Final = 2**53 - 1
"""Largest integer every JSON implementation (IEEE 754 doubles included) reads exactly."""

_SHORT_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


@dataclass(frozen=True, slots=True)
class Profile:
    """How one serializer of sorted, whitespace-free JSON treats what the formats differ on.

    RFC 8785 (:data:`JCS`) refuses a lone surrogate and an integer beyond ±(2**53 - 1);
    ``safe-stable-stringify`` as Hermes runs it (``relayer.satp.hermes``) escapes the one
    (as well-formed ``JSON.stringify`` does) and prints the other's digits (a BigInt). Both
    sort members by their UTF-16 code units and refuse fractional numbers.
    """

    escape_lone_surrogates: bool
    bounded_integers: bool
    no_floats: str
    not_a_value: str


JCS: Final = Profile(
    escape_lone_surrogates=False,
    bounded_integers=True,
    no_floats="fractional numbers are not allowed in SATP messages",
    not_a_value="not a JSON value",
)


def _string(value: str, where: str, profile: Profile = JCS) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            if not profile.escape_lone_surrogates:
                raise InvalidInput(where, "a string must not contain a lone UTF-16 surrogate")
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be")


def _emit(value: object, where: str, out: list[str], profile: Profile = JCS) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if profile.bounded_integers and abs(value) > MAX_SAFE_INTEGER:
            raise InvalidInput(
                where, "an integer must be within ±(2**53 - 1); send larger ones as strings"
            )
        out.append(str(value))
    elif isinstance(value, float):
        raise InvalidInput(where, profile.no_floats)
    elif isinstance(value, str):
        out.append(_string(value, where, profile))
    elif isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise InvalidInput(where, "object member names must be strings", value=key)
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_string(key, f"{where}.{key}", profile))
            out.append(":")
            _emit(value[key], f"{where}.{key}", out, profile)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _emit(item, f"{where}[{i}]", out, profile)
        out.append("]")
    else:
        raise InvalidInput(where, profile.not_a_value, value=type(value).__name__)


def serialize(value: object, profile: Profile) -> str:
    """``value`` as sorted, whitespace-free JSON under ``profile``."""
    out: list[str] = []
    _emit(value, "$", out, profile)
    return "".join(out)


def canonicalize(value: object) -> str:
    """The JCS text of a JSON value (dicts, lists/tuples, str, int, bool, None)."""
    out: list[str] = []
    _emit(value, "$", out)
    return "".join(out)


def canonical_bytes(value: object) -> bytes:
    """The JCS form as UTF-8 bytes: what is hashed and signed."""
    return canonicalize(value).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, item in pairs:
        if key in seen:
            raise InvalidInput("payload", f"duplicate object member {key!r}")
        seen[key] = item
    return seen


def _no_float(text: str) -> object:
    raise InvalidInput("payload", "fractional numbers are not allowed in SATP messages", value=text)


def parse_canonical(raw: bytes) -> object:
    """Parse a payload and require it to be exactly its own JCS form.

    A received payload that is valid JSON but not canonical (whitespace, member order,
    escapes, duplicate members) is refused: its hash would differ between the two sides.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("payload", "must be UTF-8") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput("payload", f"not JSON: {exc.msg} at offset {exc.pos}") from None
    if canonicalize(value) != text:
        raise InvalidInput("payload", "must be in RFC 8785 canonical form (JCS)")
    return value
