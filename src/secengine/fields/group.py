"""The ``group`` field class (libsinsp ``sinsp_filtercheck_group.cpp``).

The group the event's thread runs as: its gid and, from the host's group
table, its name.
"""

from __future__ import annotations

from secengine.fields.base import FieldClass, FieldDef, FieldType

__all__ = ["FIELD_CLASS"]

FIELD_CLASS = FieldClass(
    name="group",
    desc="Information about the user group.",
    sources=("syscall",),
    fields=(
        FieldDef("group.gid", FieldType.UINT32,
                 "group ID."),
        FieldDef("group.name", FieldType.CHARBUF,
                 "group name."),
    ),
)
