"""The ``fs.path`` and ``fdlist`` classes: libsinsp's tables, strings only."""

from __future__ import annotations

from secengine.fields import FieldRegistry, FieldType, fdlist, fspath


def test_fspath_table() -> None:
    names = [f.name for f in fspath.FIELD_CLASS.fields]
    assert names == [
        "fs.path.name",
        "fs.path.nameraw",
        "fs.path.source",
        "fs.path.sourceraw",
        "fs.path.target",
        "fs.path.targetraw",
    ]
    assert all(f.type is FieldType.CHARBUF for f in fspath.FIELD_CLASS.fields)
    assert fspath.FIELD_CLASS.name == "fs.path"


def test_fdlist_table(registry: FieldRegistry) -> None:
    assert [f.name for f in fdlist.FIELD_CLASS.fields] == [
        "fdlist.nums",
        "fdlist.names",
        "fdlist.cips",
        "fdlist.sips",
        "fdlist.cports",
        "fdlist.sports",
    ]
    assert registry.resolve("syscall", "fdlist.names").key == "fdlist.names"
