"""Field definitions and the registry that resolves them (see :mod:`.registry`)."""

from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldKind, FieldType, ResolvedField
from secengine.fields.registry import FieldRegistry, default_registry

__all__ = [
    "ArgMode",
    "FieldClass",
    "FieldDef",
    "FieldKind",
    "FieldRegistry",
    "FieldType",
    "ResolvedField",
    "default_registry",
]
