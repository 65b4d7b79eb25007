"""The built-in catalog as a whole: order, uniqueness, Falco types, derivations installed."""

from __future__ import annotations

from secengine.events import FieldValues
from secengine.fields import FieldRegistry, FieldType, catalog
from secengine.fields.base import ArgMode


def test_classes_in_libsinsp_order() -> None:
    names = [(c.name, c.shortdesc) for c in catalog.builtin_classes()]
    assert names == [
        ("evt", "All event types"),
        ("evt", "Syscall events only"),
        ("process", ""),
        ("user", ""),
        ("group", ""),
        ("fd", ""),
        ("fs.path", ""),
        ("fdlist", ""),
        ("container (plugin)", ""),
        ("flood", ""),
        ("k8saudit (plugin)", ""),
        ("json (plugin)", ""),
    ]


def test_every_field_name_is_unique_for_syscall(registry: FieldRegistry) -> None:
    seen: set[str] = set()
    for fc in registry.classes_for("syscall"):
        for f in fc.fields:
            assert f.name not in seen, f.name
            seen.add(f.name)
    assert len(seen) > 250


def test_field_names_belong_to_known_prefixes() -> None:
    prefixes = {
        "evt",
        "proc",
        "thread",
        "fd",
        "fs",
        "user",
        "group",
        "container",
        "k8s",
        "syscall",
        "fdlist",
        "ka",
        "json",
        "jevt",
        "flood",
    }
    for fc in catalog.builtin_classes():
        for f in fc.fields:
            assert f.name.split(".")[0] in prefixes, f.name


def test_types_have_falco_names() -> None:
    names = {t.falco_name for t in FieldType}
    assert "DYNAMIC" in names and "DOUBLE" in names
    for fc in catalog.builtin_classes():
        for f in fc.fields:
            assert f.type.falco_name in names


def test_argument_flags_are_consistent() -> None:
    for fc in catalog.builtin_classes():
        for f in fc.fields:
            if f.arg is ArgMode.NONE:
                assert not (f.arg_index or f.arg_key or f.dotted_arg or f.any_without_index), f
            if f.any_without_index:
                assert f.arg is ArgMode.OPTIONAL, f.name
            assert f.desc.strip(), f.name


def test_derivations_are_installed(registry: FieldRegistry) -> None:
    for key in (
        "proc.aname[]",
        "proc.aname",
        "proc.pname",
        "fd.directory",
        "evt.failed",
        "proc.cmdline",
        "evt.is_open_read",
    ):
        assert key in FieldValues.derivers, key
