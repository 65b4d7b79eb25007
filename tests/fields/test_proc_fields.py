"""The ``process`` class (``proc.*``, ``thread.*``): types, ancestors, derivations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from secengine.errors import ConditionCompileError
from secengine.events import MISSING, FieldValues
from secengine.fields import ArgMode, FieldRegistry, FieldType, proc

Values = Callable[..., FieldValues]
ANCESTORS = ("proc.aname", "proc.aexe", "proc.aexepath", "proc.apid", "proc.acmdline")


def test_class_named_like_falco() -> None:
    assert proc.FIELD_CLASS.name == "process" and proc.FIELD_CLASS.sources == ("syscall",)


@pytest.mark.parametrize(
    "name, ftype",
    [
        ("proc.name", FieldType.CHARBUF),
        ("proc.pid", FieldType.INT64),
        ("proc.vpid", FieldType.INT64),
        ("proc.tty", FieldType.UINT32),
        ("proc.duration", FieldType.RELTIME),
        ("proc.exe_ino.ctime", FieldType.ABSTIME),
        ("proc.is_exe_upper_layer", FieldType.BOOL),
        ("proc.fdusage", FieldType.DOUBLE),
        ("proc.apid", FieldType.INT64),
        ("thread.cap_effective", FieldType.CHARBUF),
        ("thread.tid", FieldType.INT64),
        ("thread.cpu", FieldType.DOUBLE),
    ],
)
def test_types(name: str, ftype: FieldType) -> None:
    assert proc.FIELD_CLASS.by_name[name].type is ftype


@pytest.mark.parametrize("name", ANCESTORS)
def test_ancestor_fields(name: str) -> None:
    f = proc.FIELD_CLASS.by_name[name]
    assert f.arg is ArgMode.OPTIONAL and f.arg_index and f.any_without_index
    assert f.no_rhs and f.no_transformer and f.derive is not None


def test_ancestor_resolution(registry: FieldRegistry) -> None:
    rf = registry.resolve("syscall", "proc.aname", "2")
    assert (rf.key, rf.index, rf.is_list) == ("proc.aname[2]", 2, False)
    rf = registry.resolve("syscall", "proc.aname")
    assert (rf.key, rf.index, rf.is_list) == ("proc.aname", None, True)
    with pytest.raises(ConditionCompileError):
        registry.resolve("syscall", "proc.aname", "x")


def test_env_takes_a_key_or_an_index(registry: FieldRegistry) -> None:
    assert registry.resolve("syscall", "proc.env", "HOME").key == "proc.env[HOME]"
    assert registry.resolve("syscall", "proc.env", "1").index == 1
    assert registry.resolve("syscall", "proc.env").key == "proc.env"


def test_cgroup_is_dotted(registry: FieldRegistry) -> None:
    rf = registry.resolve("syscall", "thread.cgroup.cpuacct")
    assert (rf.name, rf.arg) == ("thread.cgroup", "cpuacct")
    with pytest.raises(ConditionCompileError):
        registry.resolve("syscall", "thread.cgroup")
    with pytest.raises(ConditionCompileError):
        registry.resolve("syscall", "thread.cgroup.cpu-acct")


def test_ancestor_list_stops_at_first_gap(values: Values) -> None:
    v = values({"proc.aname[1]": "bash", "proc.aname[2]": "sshd", "proc.aname[4]": "init"})
    assert v["proc.aname"] == ["bash", "sshd"]


def test_ancestor_list_uses_parent_field(values: Values) -> None:
    v = values({"proc.pname": "bash", "proc.aname[2]": "sshd", "proc.aname[3]": "systemd"})
    assert v["proc.aname"] == ["bash", "sshd", "systemd"]
    assert v["proc.aname[1]"] == "bash"


def test_parent_and_first_ancestor_mirror(values: Values) -> None:
    assert values({"proc.aname[1]": "bash"})["proc.pname"] == "bash"
    assert values({"proc.pname": "bash"})["proc.aname[1]"] == "bash"
    # Mutual derivation must not recurse when neither is given.
    v = values({})
    assert v["proc.pname"] is MISSING and v["proc.aname[1]"] is MISSING
    assert v["proc.aname"] is MISSING


@pytest.mark.parametrize(
    "afield, self_field, parent_field, self_v, parent_v",
    [
        ("proc.aexe", "proc.exe", "proc.pexe", "/bin/sh", "/usr/bin/python3"),
        ("proc.aexepath", "proc.exepath", "proc.pexepath", "/bin/dash", "/usr/bin/python3.11"),
        ("proc.apid", "proc.pid", "proc.ppid", 42, 1),
        ("proc.acmdline", "proc.cmdline", "proc.pcmdline", "sh -c ls", "python3 x.py"),
    ],
)
def test_every_ancestor_family(
    values: Values, afield: str, self_field: str, parent_field: str, self_v: Any, parent_v: Any
) -> None:
    v = values({self_field: self_v, parent_field: parent_v})
    assert v[f"{afield}[0]"] == self_v
    assert v[f"{afield}[1]"] == parent_v
    assert v[afield] == [parent_v]
    assert values({f"{afield}[1]": parent_v})[parent_field] == parent_v


def test_index_from_given_list(values: Values) -> None:
    v = values({"proc.aname": ["bash", "sshd", "systemd"]})
    assert v["proc.aname[1]"] == "bash" and v["proc.aname[3]"] == "systemd"
    assert v["proc.aname[4]"] is MISSING
    assert v["proc.pname"] == "bash"


@pytest.mark.parametrize(
    "given, cmdline",
    [
        ({"proc.name": "cat", "proc.args": "/etc/shadow"}, "cat /etc/shadow"),
        ({"proc.name": "cat", "proc.args": ["-n", "/etc/shadow"]}, "cat -n /etc/shadow"),
        ({"proc.name": "ls", "proc.args": ""}, "ls"),
        ({"proc.name": "ls"}, MISSING),
        ({"proc.args": "x"}, MISSING),
    ],
)
def test_cmdline(values: Values, given: dict[str, Any], cmdline: Any) -> None:
    got = values(given)["proc.cmdline"]
    assert got == cmdline if cmdline is not MISSING else got is MISSING


def test_exeline(values: Values) -> None:
    assert values({"proc.exe": "/bin/cat", "proc.args": "a b"})["proc.exeline"] == "/bin/cat a b"


@pytest.mark.parametrize(
    "given, field, expected",
    [
        ({"proc.vpgid": 7, "proc.vpid": 7}, "proc.is_vpgid_leader", True),
        ({"proc.vpgid": "7", "proc.vpid": 8}, "proc.is_vpgid_leader", False),
        ({"proc.sid": 3, "proc.vpid": 3}, "proc.is_sid_leader", True),
        ({"proc.pgid": 3, "proc.pid": 4}, "proc.is_pgid_leader", False),
        ({"proc.vpid": 3}, "proc.is_vpgid_leader", MISSING),
    ],
)
def test_leaders(values: Values, given: dict[str, Any], field: str, expected: Any) -> None:
    got = values(given)[field]
    assert got is expected
