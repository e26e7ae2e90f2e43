"""Turn pydantic validation errors into one clear line naming the field and the rule."""

from __future__ import annotations

import re

from pydantic import ValidationError

from bridge.errors import InvalidInput

__all__ = ["describe", "invalid_input"]

_NAMED = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$", re.DOTALL)


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(root)"


def describe(exc: ValidationError, *, prefix: str = "") -> str:
    """One line: ``field.path: rule`` for the first error, plus how many more there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    # Union members add their tag to the location; keep the field path readable.
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    where = _location(loc)
    msg = str(first["msg"]).removeprefix("Value error, ")
    # Model-level validators name the field at the start of their message ("decimals: ...").
    named = _NAMED.match(msg)
    if named:
        inner, msg = named.groups()
        where = inner if where == "(root)" else f"{where}.{inner}"
    if prefix:
        where = f"{prefix}.{where}" if where != "(root)" else prefix
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {msg}{more}"


def invalid_input(exc: ValidationError, *, prefix: str = "") -> InvalidInput:
    """An :class:`InvalidInput` carrying :func:`describe`'s field and rule."""
    line = describe(exc, prefix=prefix)
    field, _, rule = line.partition(": ")
    return InvalidInput(field, rule)
