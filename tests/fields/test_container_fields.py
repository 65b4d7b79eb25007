"""The container plugin's fields (``container.*``, ``k8s.*``)."""

from __future__ import annotations

import pytest

from secengine.errors import ConditionCompileError
from secengine.fields import ArgMode, FieldRegistry, FieldType, container

BY = container.FIELD_CLASS.by_name


def test_class_named_like_a_plugin_class() -> None:
    assert container.FIELD_CLASS.name == "container (plugin)"
    assert container.FIELD_CLASS.sources == ("syscall",)


@pytest.mark.parametrize(
    "name, ftype",
    [
        ("container.id", FieldType.CHARBUF),
        ("container.privileged", FieldType.BOOL),
        ("container.start_ts", FieldType.ABSTIME),
        ("container.duration", FieldType.RELTIME),
        ("container.host_network", FieldType.BOOL),
        ("proc.is_container_healthcheck", FieldType.BOOL),
        ("k8s.ns.name", FieldType.CHARBUF),
        ("k8s.pod.name", FieldType.CHARBUF),
    ],
)
def test_types(name: str, ftype: FieldType) -> None:
    assert BY[name].type is ftype


def test_suggested_output_fields() -> None:
    suggested = {f.name for f in container.FIELD_CLASS.fields if f.suggested}
    assert suggested == {
        "container.id",
        "container.name",
        "container.image.repository",
        "container.image.tag",
        "k8s.pod.name",
        "k8s.ns.name",
    }


@pytest.mark.parametrize(
    "name",
    [
        "container.mount",
        "container.mount.source",
        "container.mount.dest",
        "container.mount.mode",
        "container.mount.rdwr",
        "container.mount.propagation",
    ],
)
def test_mount_fields_take_an_index_or_a_key(registry: FieldRegistry, name: str) -> None:
    f = BY[name]
    assert f.arg is ArgMode.REQUIRED and f.arg_index and f.arg_key
    assert registry.resolve("syscall", name, "0").index == 0
    rf = registry.resolve("syscall", name, "/proc*")
    assert (rf.key, rf.index) == (f"{name}[/proc*]", None)
    with pytest.raises(ConditionCompileError):
        registry.resolve("syscall", name)


def test_label_fields_take_a_key(registry: FieldRegistry) -> None:
    for name in ("container.label", "k8s.pod.label", "k8s.ns.label", "k8s.rc.label"):
        assert BY[name].arg is ArgMode.REQUIRED and BY[name].arg_key
    assert registry.resolve("syscall", "k8s.pod.label", "app").key == "k8s.pod.label[app]"


def test_legacy_k8s_fields_exist() -> None:
    for kind in ("rc", "svc", "rs", "deployment"):
        for suffix in ("name", "id", "label", "labels"):
            assert f"k8s.{kind}.{suffix}" in BY
    assert {"k8s.ns.id", "k8s.ns.label", "k8s.ns.labels"} <= set(BY)
