"""The syscall ``evt`` class: types, arguments, and field-map derivations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from secengine.errors import ConditionCompileError
from secengine.events import MISSING, FieldValues
from secengine.fields import ArgMode, FieldRegistry, FieldType, evt


@pytest.mark.parametrize(
    "name, ftype",
    [
        ("evt.type", FieldType.CHARBUF),
        ("evt.res", FieldType.CHARBUF),
        ("evt.rawres", FieldType.INT64),
        ("evt.failed", FieldType.BOOL),
        ("evt.dir", FieldType.CHARBUF),
        ("evt.buffer", FieldType.BYTEBUF),
        ("evt.is_open_read", FieldType.BOOL),
        ("evt.is_open_exec", FieldType.BOOL),
        ("evt.latency", FieldType.RELTIME),
        ("evt.cpu", FieldType.INT16),
        ("evt.rawarg", FieldType.DYN),
        ("syscall.type", FieldType.CHARBUF),
    ],
)
def test_types(name: str, ftype: FieldType) -> None:
    assert evt.FIELD_CLASS.by_name[name].type is ftype


def test_class_is_syscall_only() -> None:
    fc = evt.FIELD_CLASS
    assert fc.sources == ("syscall",) and not fc.generic
    assert fc.shortdesc == "Syscall events only"
    assert "evt.outputtime" not in fc.by_name  # EPF_PRINT_ONLY, sysdig only


def test_flags_follow_libsinsp() -> None:
    by = evt.FIELD_CLASS.by_name
    assert by["evt.dir"].deprecated and by["evt.latency"].deprecated
    assert by["evt.latency.quantized"].hidden
    assert by["evt.around"].filter_only and by["evt.around"].no_rhs
    assert by["evt.rawarg"].no_rhs and by["evt.rawarg"].no_transformer
    assert by["evt.arg"].arg is ArgMode.REQUIRED and by["evt.arg"].dotted_arg


# -- arguments ---------------------------------------------------------------


def test_dotted_arg_names_a_parameter(registry: FieldRegistry) -> None:
    rf = registry.resolve("syscall", "evt.arg.flags")
    assert (rf.name, rf.arg, rf.key, rf.index) == ("evt.arg", "flags", "evt.arg.flags", None)


def test_bracketed_arg_is_an_index(registry: FieldRegistry) -> None:
    rf = registry.resolve("syscall", "evt.arg", "0")
    assert (rf.key, rf.index) == ("evt.arg[0]", 0)
    with pytest.raises(ConditionCompileError):
        registry.resolve("syscall", "evt.arg", "flags")


def test_unknown_parameter_names(registry: FieldRegistry) -> None:
    with pytest.raises(ConditionCompileError, match="^unknown event argument nosuchparam$"):
        registry.resolve("syscall", "evt.arg.nosuchparam")
    # "flags" is a parameter, so "flagsx" has a known prefix but is no field (libsinsp's
    # longest-prefix parse leaves text over).
    with pytest.raises(ConditionCompileError, match="nonexistent field evt.arg.flagsx"):
        registry.resolve("syscall", "evt.arg.flagsx")
    assert registry.resolve("syscall", "evt.arg.res_or_fd").arg == "res_or_fd"  # bpf's param
    with pytest.raises(ConditionCompileError):
        registry.resolve("syscall", "evt.arg")


@pytest.mark.parametrize(
    "param, ftype",
    [
        ("flags", FieldType.UINT32),  # FLAGS32: compared as a number
        ("fd", FieldType.FD),
        ("name", FieldType.FSPATH),
        ("res", FieldType.ERRNO),
        ("uid", FieldType.UINT32),  # the first event with a "uid" param (setuid) has UINT32
    ],
)
def test_rawarg_takes_the_parameter_type(
    registry: FieldRegistry, param: str, ftype: FieldType
) -> None:
    rf = registry.resolve("syscall", f"evt.rawarg.{param}")
    assert rf.field.type is ftype and rf.key == f"evt.rawarg.{param}"


def test_rawarg_must_be_dotted(registry: FieldRegistry) -> None:
    with pytest.raises(ConditionCompileError, match="must be expressed explicitly"):
        registry.resolve("syscall", "evt.rawarg", "0")


def test_type_is_and_abspath_args(registry: FieldRegistry) -> None:
    assert registry.resolve("syscall", "evt.type.is.open").arg == "open"
    assert registry.resolve("syscall", "evt.type.is.3").arg == "3"
    with pytest.raises(ConditionCompileError):
        registry.resolve("syscall", "evt.type.is.notanevent")
    assert registry.resolve("syscall", "evt.abspath").arg is None
    assert registry.resolve("syscall", "evt.abspath.src").arg == "src"
    with pytest.raises(ConditionCompileError):
        registry.resolve("syscall", "evt.abspath.other")


def test_around_takes_a_numeric_index(registry: FieldRegistry) -> None:
    assert (
        registry.resolve("syscall", "evt.around", "1404996934793590564").index
        == 1404996934793590564
    )


# -- derivations ---------------------------------------------------------------

Values = Callable[..., FieldValues]


@pytest.mark.parametrize(
    "given, res, rawres, failed",
    [
        ({"evt.rawres": 3}, "SUCCESS", 3, False),
        ({"evt.rawres": 0}, "SUCCESS", 0, False),
        ({"evt.rawres": -2}, "ENOENT", -2, True),
        ({"evt.rawres": "-115"}, "EINPROGRESS", "-115", True),
        ({"evt.rawres": -9999}, "-9999", -9999, True),
        ({"evt.res": "ENOENT"}, "ENOENT", -2, True),
        ({"evt.res": "SUCCESS"}, "SUCCESS", MISSING, False),
        ({}, MISSING, MISSING, MISSING),
    ],
)
def test_result_fields(
    values: Values, given: dict[str, Any], res: Any, rawres: Any, failed: Any
) -> None:
    v = values(given)
    assert v["evt.res"] == res if res is not MISSING else v["evt.res"] is MISSING
    assert v["evt.rawres"] == rawres if rawres is not MISSING else v["evt.rawres"] is MISSING
    assert v["evt.failed"] is failed


def test_given_values_win_over_derivations(values: Values) -> None:
    v = values({"evt.rawres": -2, "evt.res": "EPERM", "evt.failed": False})
    assert v["evt.res"] == "EPERM" and v["evt.failed"] is False


@pytest.mark.parametrize(
    "etype, flags, read, write",
    [
        ("open", "O_RDONLY|O_CLOEXEC", True, False),
        ("openat", 4097, True, False),
        ("openat2", "O_WRONLY|O_CREAT|O_TRUNC", False, True),
        ("openat", "O_RDWR", True, True),
        ("openat", "4098(O_WRONLY|O_CLOEXEC)", False, True),
        ("open_by_handle_at", "O_RDONLY", True, False),
        ("creat", "O_RDONLY", False, False),  # creat is not an open for these fields
        ("execve", None, False, False),
        ("openat", None, False, False),  # libsinsp reads an empty flags param as 0
    ],
)
def test_is_open_read_write(
    values: Values, etype: str, flags: Any, read: bool, write: bool
) -> None:
    given: dict[str, Any] = {"evt.type": etype}
    if flags is not None:
        given["evt.arg.flags"] = flags
    v = values(given)
    assert v["evt.is_open_read"] is read
    assert v["evt.is_open_write"] is write


def test_is_open_prefers_rawarg(values: Values) -> None:
    v = values({"evt.type": "openat", "evt.rawarg.flags": 2, "evt.arg.flags": "O_RDONLY"})
    assert v["evt.is_open_write"] is True and v["evt.is_open_read"] is False


def test_is_open_without_type_uses_flags_or_is_missing(values: Values) -> None:
    assert values({"evt.arg.flags": "O_RDONLY"})["evt.is_open_read"] is True
    assert values({})["evt.is_open_read"] is MISSING


@pytest.mark.parametrize(
    "given, exec_",
    [
        ({"evt.type": "openat", "evt.arg.flags": "O_WRONLY|O_CREAT", "evt.arg.mode": "0755"}, True),
        (
            {"evt.type": "openat", "evt.arg.flags": "O_WRONLY|O_CREAT", "evt.arg.mode": "0644"},
            False,
        ),
        ({"evt.type": "openat", "evt.arg.flags": "O_WRONLY", "evt.arg.mode": "0755"}, False),
        (
            {"evt.type": "openat", "evt.arg.flags": "O_RDWR|O_TMPFILE", "evt.rawarg.mode": 0o700},
            True,
        ),
        (
            {"evt.type": "open_by_handle_at", "evt.arg.flags": "O_CREAT", "evt.arg.mode": "0755"},
            False,
        ),
        ({"evt.type": "creat", "evt.arg.mode": "S_IRUSR|S_IXUSR"}, True),
        ({"evt.type": "creat", "evt.arg.mode": "0600"}, False),
        ({"evt.type": "openat", "evt.arg.flags": "O_CREAT"}, False),
        ({"evt.type": "connect"}, False),
    ],
)
def test_is_open_exec(values: Values, given: dict[str, Any], exec_: bool) -> None:
    assert values(given)["evt.is_open_exec"] is exec_


@pytest.mark.parametrize(
    "given, create",
    [
        ({"evt.type": "openat", "evt.arg.flags": "O_WRONLY|O_CREAT|O_F_CREATED"}, True),
        ({"evt.type": "openat", "evt.arg.flags": "O_WRONLY|O_CREAT"}, False),
        ({"evt.type": "openat", "evt.arg.flags": "O_RDWR|O_TMPFILE", "evt.rawres": 3}, True),
        ({"evt.type": "openat", "evt.arg.flags": "O_RDWR|O_TMPFILE", "evt.rawres": -1}, False),
    ],
)
def test_is_open_create(values: Values, given: dict[str, Any], create: bool) -> None:
    assert values(given)["evt.is_open_create"] is create


def test_syscall_type_only_for_syscalls(values: Values) -> None:
    assert values({"evt.type": "openat"})["syscall.type"] == "openat"
    assert values({"evt.type": "mprotect"})["syscall.type"] == "mprotect"
    assert values({"evt.type": "procexit"})["syscall.type"] is MISSING
    assert values({})["syscall.type"] is MISSING


def test_buflen_from_buffer(values: Values) -> None:
    assert values({"evt.buffer": b"\x00\x01\x02"})["evt.buflen"] == 3
    assert values({"evt.buffer": "héllo"})["evt.buflen"] == 6
    assert values({})["evt.buflen"] is MISSING


@pytest.mark.parametrize(
    "text, mode",
    [
        ("0755", 0o755),
        ("0", 0),
        ("0o644", 0o644),
        (0o4755, 0o4755),
        ("S_IRUSR|S_IWUSR", 0o600),
        ("0755(S_IRWXU)", 0o755),
        ("bogus", None),
    ],
)
def test_parse_mode(text: Any, mode: int | None) -> None:
    assert evt.parse_mode(text) == mode


def test_errno_helpers() -> None:
    assert evt.errno_name(-2) == "ENOENT" and evt.errno_name(5) == "SUCCESS"
    assert evt.errno_value("EACCES") == -13 and evt.errno_value("NOPE") is None
