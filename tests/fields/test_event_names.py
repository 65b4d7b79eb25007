"""Valid ``evt.type`` values and the driver's parameter names."""

from __future__ import annotations

import pytest

from secengine.fields import event_names
from secengine.fields.event_names import (
    event_codes,
    event_param,
    is_known_event_type,
    longest_param_prefix,
    param_names,
    syscall_event_names,
)

# The 19 + incubating + sandbox types the upstream rules name (spec §6.1).
RULE_TYPES = [
    "connect",
    "dup",
    "dup2",
    "dup3",
    "execve",
    "execveat",
    "finit_module",
    "init_module",
    "link",
    "linkat",
    "open",
    "openat",
    "openat2",
    "ptrace",
    "sendmsg",
    "sendto",
    "socket",
    "symlink",
    "symlinkat",
    "accept",
    "accept4",
    "listen",
    "bpf",
    "chmod",
    "fchmod",
    "fchmodat",
    "creat",
    "rename",
    "renameat",
    "renameat2",
    "rmdir",
    "unlink",
    "unlinkat",
    "setns",
    "setuid",
    "unshare",
    "mkdir",
    "mkdirat",
    "recvfrom",
    "recvmsg",
    "userfaultfd",
]


@pytest.mark.parametrize("name", RULE_TYPES)
def test_rule_types_are_known(name: str) -> None:
    assert is_known_event_type("syscall", name)
    assert event_codes(name), name


@pytest.mark.parametrize(
    "name",
    [
        "procexit",
        "container",
        "container_removed",
        "syscall",
        "NA",
        "mprotect",
        "arch_prctl",
        "madvise",
        "unknown",
        "clone3",
        "pluginevent",
        "asyncevent",
    ],
)
def test_meta_generic_and_plugin_names(name: str) -> None:
    assert is_known_event_type("syscall", name)


@pytest.mark.parametrize("name", ["opn", "OPEN", "execve ", "", "k8s_audit"])
def test_unknown_names(name: str) -> None:
    assert not is_known_event_type("syscall", name)


def test_other_sources_accept_anything() -> None:
    assert is_known_event_type("k8s_audit", "anything")
    assert is_known_event_type("aws_cloudtrail", "")


def test_generic_syscalls_have_no_event_of_their_own() -> None:
    assert "madvise" in syscall_event_names()
    assert event_codes("madvise") == ()


def test_codes_cover_every_version_and_direction() -> None:
    codes = event_codes("open")
    assert 2 in codes and 3 in codes  # PPME_SYSCALL_OPEN_E / _X
    assert len(event_codes("execve")) >= 8


def test_parameters() -> None:
    p = event_param("flags")
    assert p is not None and (p.type, p.table) == ("FLAGS32", "file_flags")
    assert event_param("nosuch") is None
    assert {
        "fd",
        "name",
        "path",
        "oldpath",
        "newpath",
        "uid",
        "request",
        "cmd",
        "target",
        "linkpath",
        "domain",
        "filename",
        "mode",
    } <= param_names()
    assert longest_param_prefix("flagsx") == "flags"
    assert longest_param_prefix("zzz") is None


def test_generated_table_shape() -> None:
    from secengine.fields import _ppm_events

    assert len(_ppm_events.EVENTS) == len({e[0] for e in _ppm_events.EVENTS})
    assert [e[0] for e in _ppm_events.EVENTS] == list(range(len(_ppm_events.EVENTS)))
    assert _ppm_events.PPM_SC_NAMES[0] == "unknown"
    assert _ppm_events.ERRNO_NAMES[2] == "ENOENT" and _ppm_events.ERRNO_NAMES[115] == "EINPROGRESS"
    assert event_names.SYSCALL_SOURCE == "syscall"
