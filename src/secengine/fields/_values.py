"""Small helpers the field classes' derivations share.

A deriver (``FieldDef.derive``) runs inside ``FieldValues.__missing__``. Two
derivers that mirror each other (``proc.pname`` ↔ ``proc.aname[1]``) must read
each other *raw*, without triggering derivation again, or they would recurse
forever; :func:`raw` is that read. Values in field-map events come from JSON,
so numbers may arrive as numbers or as decimal strings: :func:`as_int` and
:func:`as_bool` accept both.
"""

from __future__ import annotations

from typing import Any

from secengine.events import MISSING, FieldValues

__all__ = ["as_bool", "as_int", "first_present", "raw"]


def raw(values: FieldValues, key: str) -> Any:
    """The value given for ``key``, without derivation; MISSING when absent or None."""
    value = dict.get(values, key, MISSING)
    return MISSING if value is None else value


def first_present(values: FieldValues, *keys: str) -> Any:
    """The first of ``keys`` that is present (derivation allowed), else MISSING."""
    for key in keys:
        value = values[key]
        if value is not MISSING and value is not None:
            return value
    return MISSING


def as_int(value: Any) -> int | None:
    """``value`` as an integer: ints (not bools) and decimal strings; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        s = value.strip()
        try:
            return int(s, 10)
        except ValueError:
            return None
    return None


def as_bool(value: Any) -> bool | None:
    """``value`` as a bool: bools and ``true``/``false`` strings; else None."""
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    return None
