"""The base of every configuration model: unknown keys are errors, defaults are validated."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """A configuration block: an unknown key is an error; numbers given for strings are text."""

    model_config = ConfigDict(extra="forbid", validate_default=True, coerce_numbers_to_str=True)
