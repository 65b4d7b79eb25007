"""The ``fdlist`` field class (libsinsp ``sinsp_filtercheck_fdlist.cpp``).

The fds of a poll event's ``fds`` argument, each field a comma-separated
string. Kept for a complete catalog; no upstream rule uses it.
"""

from __future__ import annotations

from secengine.fields.base import FieldClass, FieldDef, FieldType

__all__ = ["FIELD_CLASS"]

FIELD_CLASS = FieldClass(
    name="fdlist",
    desc="Poll event related fields.",
    sources=("syscall",),
    fields=(
        FieldDef(
            "fdlist.nums",
            FieldType.CHARBUF,
            "for poll events, this is a comma-separated list of the FD numbers in the 'fds' "
            "argument, returned as a string.",
        ),
        FieldDef(
            "fdlist.names",
            FieldType.CHARBUF,
            "for poll events, this is a comma-separated list of the FD names in the 'fds' "
            "argument, returned as a string.",
        ),
        FieldDef(
            "fdlist.cips",
            FieldType.CHARBUF,
            "for poll events, this is a comma-separated list of the client IP addresses in "
            "the 'fds' argument, returned as a string.",
        ),
        FieldDef(
            "fdlist.sips",
            FieldType.CHARBUF,
            "for poll events, this is a comma-separated list of the server IP addresses in "
            "the 'fds' argument, returned as a string.",
        ),
        FieldDef(
            "fdlist.cports",
            FieldType.CHARBUF,
            "for TCP/UDP FDs, for poll events, this is a comma-separated list of the client "
            "TCP/UDP ports in the 'fds' argument, returned as a string.",
        ),
        FieldDef(
            "fdlist.sports",
            FieldType.CHARBUF,
            "for poll events, this is a comma-separated list of the server TCP/UDP ports in "
            "the 'fds' argument, returned as a string.",
        ),
    ),
)
