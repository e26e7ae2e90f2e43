"""Base class of every canonical model: frozen, no unknown fields, documented."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["CanonicalModel"]


class CanonicalModel(BaseModel):
    """Immutable pydantic model that refuses unknown fields.

    Canonical models are values: two with equal fields are equal, and a model written to
    JSON and read back is equal to the original.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        use_enum_values=False,
        ser_json_inf_nan="strings",
    )
