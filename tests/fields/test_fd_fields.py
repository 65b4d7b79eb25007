"""The ``fd`` class: types, filter-only fields, and derivations from fd.name and the type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from secengine.events import MISSING, FieldValues
from secengine.fields import ArgMode, FieldKind, FieldRegistry, FieldType, fd

Values = Callable[..., FieldValues]


@pytest.mark.parametrize(
    "name, ftype",
    [
        ("fd.num", FieldType.INT64),
        ("fd.name", FieldType.CHARBUF),
        ("fd.typechar", FieldType.CHARBUF),
        ("fd.sip", FieldType.IPADDR),
        ("fd.sport", FieldType.PORT),
        ("fd.net", FieldType.IPNET),
        ("fd.connected", FieldType.BOOL),
        ("fd.ino", FieldType.INT64),
        ("fd.dev", FieldType.INT32),
    ],
)
def test_types(name: str, ftype: FieldType) -> None:
    assert fd.FIELD_CLASS.by_name[name].type is ftype


@pytest.mark.parametrize(
    "name", ["fd.ip", "fd.port", "fd.proto", "fd.net", "fd.cnet", "fd.snet", "fd.lnet", "fd.rnet"]
)
def test_filter_only(name: str) -> None:
    f = fd.FIELD_CLASS.by_name[name]
    assert f.filter_only and f.no_rhs and f.no_transformer


@pytest.mark.parametrize("name", ["fd.cip.name", "fd.sip.name", "fd.lip.name", "fd.rip.name"])
def test_dns_name_fields_have_no_rhs(name: str) -> None:
    f = fd.FIELD_CLASS.by_name[name]
    assert f.no_rhs and not f.filter_only


def test_types_is_an_indexable_list(registry: FieldRegistry) -> None:
    f = fd.FIELD_CLASS.by_name["fd.types"]
    assert f.is_list and f.arg is ArgMode.OPTIONAL and f.arg_index
    assert registry.resolve("syscall", "fd.types", "0").index == 0
    assert registry.resolve("syscall", "fd.types").is_list


def test_ip_fields_are_ip_kind() -> None:
    assert fd.FIELD_CLASS.by_name["fd.rip"].kind is FieldKind.IP
    assert fd.FIELD_CLASS.by_name["fd.rnet"].kind is FieldKind.NET


@pytest.mark.parametrize(
    "name, directory, filename",
    [
        ("/etc/shadow", "/etc", "shadow"),
        ("/etc/", "/etc/", "/etc/"),
        ("/shadow", "/", "shadow"),
        ("relative", "/", "/"),
        ("/a/b/c.txt", "/a/b", "c.txt"),
    ],
)
def test_path_cutting_matches_libsinsp(name: str, directory: str, filename: str) -> None:
    assert fd.fd_directory(name) == directory
    assert fd.fd_filename(name) == filename


def test_directory_and_filename_for_file_fds(values: Values) -> None:
    v = values({"fd.name": "/etc/pam.d/sshd", "fd.typechar": "f"})
    assert (v["fd.directory"], v["fd.filename"]) == ("/etc/pam.d", "sshd")
    v = values({"fd.name": "/etc/pam.d/sshd", "fd.type": "file"})
    assert v["fd.filename"] == "sshd"


def test_absolute_name_without_type_is_a_file(values: Values) -> None:
    v = values({"fd.name": "/root/.ssh/authorized_keys"})
    assert (v["fd.directory"], v["fd.filename"]) == ("/root/.ssh", "authorized_keys")


def test_no_path_parts_for_sockets_or_unknown_names(values: Values) -> None:
    v = values({"fd.name": "10.0.0.1:3456->10.0.0.2:80", "fd.typechar": "4"})
    assert v["fd.directory"] is MISSING and v["fd.filename"] is MISSING
    v = values({"fd.name": "/var/run/docker.sock", "fd.type": "unix"})
    assert v["fd.directory"] is MISSING
    assert values({"fd.name": "socket:[123]"})["fd.filename"] is MISSING
    assert values({})["fd.directory"] is MISSING


def test_directory_fd(values: Values) -> None:
    v = values({"fd.name": "/etc", "fd.typechar": "d"})
    assert v["fd.directory"] == "/etc" and v["fd.filename"] is MISSING


@pytest.mark.parametrize(
    "given, fdtype, char",
    [
        ({"fd.typechar": "f"}, "file", "f"),
        ({"fd.type": "ipv4"}, "ipv4", "4"),
        ({"fd.typechar": "6"}, "ipv6", "6"),
        ({"fd.type": "unix"}, "unix", "u"),
        ({"fd.typechar": "u"}, MISSING, "u"),  # unix or userfaultfd
        ({"fd.type": "pidfd"}, "pidfd", "P"),
    ],
)
def test_type_and_typechar(values: Values, given: dict[str, Any], fdtype: Any, char: str) -> None:
    v = values(given)
    assert v["fd.typechar"] == char
    assert v["fd.type"] == fdtype if fdtype is not MISSING else v["fd.type"] is MISSING


@pytest.mark.parametrize(
    "given, family",
    [
        ({"fd.type": "ipv4"}, "ip"),
        ({"fd.typechar": "6"}, "ip"),
        ({"fd.type": "unix"}, "unix"),
        ({"fd.type": "file"}, MISSING),
    ],
)
def test_sockfamily(values: Values, given: dict[str, Any], family: Any) -> None:
    got = values(given)["fd.sockfamily"]
    assert got == family if family is not MISSING else got is MISSING
