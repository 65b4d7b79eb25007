"""A fake field class covering every field kind, so the language is tested without events."""

from __future__ import annotations

import pytest

from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldType
from secengine.fields.registry import FieldRegistry

FAKE = FieldClass(
    name="t",
    desc="test fields",
    sources=("test",),
    fields=(
        FieldDef("evt.type", FieldType.CHARBUF, "event type"),
        FieldDef("evt.num", FieldType.UINT64, "event number"),
        FieldDef("t.str", FieldType.CHARBUF, "a string"),
        FieldDef("t.str2", FieldType.CHARBUF, "another string"),
        FieldDef("t.num", FieldType.INT64, "a signed number"),
        FieldDef("t.unum", FieldType.UINT32, "an unsigned number"),
        FieldDef("t.port", FieldType.PORT, "a port"),
        FieldDef("t.bool", FieldType.BOOL, "a bool"),
        FieldDef("t.ip", FieldType.IPADDR, "an address"),
        FieldDef("t.net", FieldType.IPNET, "a network check", filter_only=True, no_rhs=True),
        FieldDef("t.buf", FieldType.BYTEBUF, "a buffer"),
        FieldDef("t.list", FieldType.CHARBUF, "a list", is_list=True),
        FieldDef(
            "t.anc",
            FieldType.CHARBUF,
            "ancestors",
            arg=ArgMode.OPTIONAL,
            arg_index=True,
            any_without_index=True,
        ),
        FieldDef("t.env", FieldType.CHARBUF, "env", arg=ArgMode.OPTIONAL, arg_key=True),
        FieldDef(
            "t.arg", FieldType.CHARBUF, "args", arg=ArgMode.REQUIRED, arg_key=True, dotted_arg=True
        ),
    ),
)


@pytest.fixture(scope="session")
def registry() -> FieldRegistry:
    return FieldRegistry([FAKE])
