"""The ``group`` field class (libsinsp ``sinsp_filtercheck_group.cpp``).

The group the event's thread runs as: its gid and, from the host's group
table, its name.

The live syscall source extracts these (``live=``) like the ``user`` fields.
"""

from __future__ import annotations

from typing import Any

from secengine.events import MISSING
from secengine.fields.base import FieldClass, FieldDef, FieldType
from secengine.fields.live import LiveFieldValues

__all__ = ["FIELD_CLASS"]


def _gid(v: LiveFieldValues, arg: str | None) -> Any:
    # the event's thread's group (libsinsp keeps it per thread: threadinfo ``m_gid``)
    p = v.proc
    return MISSING if p is None else p.user_of(v.rec.tid)[1]


def _group_name(v: LiveFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None:
        return MISSING
    name = v.accounts().group(p.user_of(v.rec.tid)[1])
    return name if name is not None else MISSING


FIELD_CLASS = FieldClass(
    name="group",
    desc="Information about the user group.",
    sources=("syscall",),
    fields=(
        FieldDef("group.gid", FieldType.UINT32, "group ID.", live=_gid),
        FieldDef("group.name", FieldType.CHARBUF, "group name.", live=_group_name),
    ),
)
