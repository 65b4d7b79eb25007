"""The ``user`` and ``group`` classes (two small tables, one file)."""

from __future__ import annotations

import pytest

from secengine.fields import FieldType, group, user


@pytest.mark.parametrize(
    "fclass, name, ftype",
    [
        (user, "user.uid", FieldType.UINT32),
        (user, "user.name", FieldType.CHARBUF),
        (user, "user.homedir", FieldType.CHARBUF),
        (user, "user.shell", FieldType.CHARBUF),
        (user, "user.loginuid", FieldType.INT64),
        (user, "user.loginname", FieldType.CHARBUF),
        (group, "group.gid", FieldType.UINT32),
        (group, "group.name", FieldType.CHARBUF),
    ],
)
def test_types(fclass: object, name: str, ftype: FieldType) -> None:
    assert fclass.FIELD_CLASS.by_name[name].type is ftype  # type: ignore[attr-defined]


def test_tables_are_complete() -> None:
    assert [f.name for f in user.FIELD_CLASS.fields] == [
        "user.uid",
        "user.name",
        "user.homedir",
        "user.shell",
        "user.loginuid",
        "user.loginname",
    ]
    assert [f.name for f in group.FIELD_CLASS.fields] == ["group.gid", "group.name"]
    assert user.FIELD_CLASS.sources == group.FIELD_CLASS.sources == ("syscall",)
