"""Placeholder: the ``evt`` field class (filled in by the fields work)."""

from secengine.fields.base import FieldClass, FieldDef, FieldType

FIELD_CLASS = FieldClass(
    name="evt",
    desc="Event fields applicable to syscall events.",
    sources=("syscall",),
    fields=(
        FieldDef("evt.type", FieldType.CHARBUF, "The name of the event (e.g. 'open')."),
        FieldDef("evt.num", FieldType.UINT64, "event number."),
    ),
)
