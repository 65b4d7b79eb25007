"""The list of built-in field classes: the only import site of the field modules."""

from __future__ import annotations

from secengine.fields.base import FieldClass


def builtin_classes() -> list[FieldClass]:
    """Every built-in field class, generic ones first."""
    from secengine.fields import evt

    return [evt.FIELD_CLASS]
