"""The ``user`` field class (libsinsp ``sinsp_filtercheck_user.cpp``).

The user the event's thread runs as (its uid, and the name, home and shell
from the host's user table) and its audit login user. The table follows
libsinsp's, in its order, with its types and descriptions.
"""

from __future__ import annotations

from secengine.fields.base import FieldClass, FieldDef, FieldType

__all__ = ["FIELD_CLASS"]

FIELD_CLASS = FieldClass(
    name="user",
    desc="Information about the user executing the specific event.",
    sources=("syscall",),
    fields=(
        FieldDef("user.uid", FieldType.UINT32,
                 "user ID."),
        FieldDef("user.name", FieldType.CHARBUF,
                 "user name."),
        FieldDef("user.homedir", FieldType.CHARBUF,
                 "home directory of the user."),
        FieldDef("user.shell", FieldType.CHARBUF,
                 "user's shell."),
        FieldDef("user.loginuid", FieldType.INT64,
                 "audit user id (auid), internally the loginuid is of type `uint32_t`. However, "
                 "if an invalid uid corresponding to UINT32_MAX is encountered, it is returned "
                 "as -1 to support familiar filtering conditions."),
        FieldDef("user.loginname", FieldType.CHARBUF,
                 "audit user name (auid)."),
    ),
)
