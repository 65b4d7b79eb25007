"""Field classes: named tables of field descriptors, each for some event sources.

A *field class* (``evt``, ``proc``, ``fd``...) owns a table of
:class:`FieldDef`. The descriptor types themselves (:class:`FieldDef`,
:class:`FieldType`, :class:`ResolvedField`...) live in the core
(:mod:`secengine.lang.fielddefs`), which compiles rules against them without
importing any field class; they are re-exported here. The registry
(:mod:`secengine.fields.registry`) is the only place that knows field names;
rules resolve a name to a :class:`ResolvedField` once, when they compile, so
evaluation never looks names up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from secengine.lang.fielddefs import ArgMode, FieldDef, FieldKind, FieldType, ResolvedField

__all__ = ["ArgMode", "FieldClass", "FieldDef", "FieldKind", "FieldType", "ResolvedField"]


@dataclass(frozen=True, slots=True)
class FieldClass:
    """A named table of fields, usable by the listed event sources."""

    name: str
    desc: str
    sources: tuple[str, ...]
    fields: tuple[FieldDef, ...]
    #: Generic classes (``evt`` time fields) apply to every source, as Falco's FL_GENERIC.
    generic: bool = False
    #: Field name → FieldDef, filled in __post_init__.
    by_name: dict[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)
    #: Falco's short description, printed after the name (``evt (All event types)``).
    shortdesc: str = ""

    def __post_init__(self) -> None:
        for f in self.fields:
            if f.name in self.by_name:
                raise ValueError(f"field class {self.name!r} declares {f.name!r} twice")
            self.by_name[f.name] = f
