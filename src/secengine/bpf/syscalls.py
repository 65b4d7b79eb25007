"""Which syscalls the probe can capture, and how: the table behind the in-kernel interest map.

Each entry names an event type (``evt.type``) and says, for the native
syscall, what the probe must copy at exit: which arguments are user strings,
socket addresses or ``open_how`` structs (the others travel as raw register
values anyway), and which extras to add (the file behind an fd, the
credentials after the call, the new working directory). The probe itself
knows nothing about syscalls: :func:`spec_entries` turns this table into
the ``specs`` map, and only the syscalls whose event type a loaded rule or
the state tracker needs get an entry; every other syscall returns at the
first map lookup.

Successful ``execve``/``execveat`` come from ``sched_process_exec`` and new
tasks from ``sched_process_fork`` (both always on); the table entries for
execve/execveat capture failures only.

Only x86_64 numbers are listed: the probe reads x86_64 registers.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from secengine.bpf import layout as L
from secengine.bpf.errors import BpfUnavailableError
from secengine.syscall_table import NUMBERS

__all__ = [
    "BY_NR",
    "CLONE_NAMES",
    "EXEC_NRS",
    "FAILURE_STATELESS",
    "STATE_EVENT_TYPES",
    "STREAM_SKIPPABLE",
    "SYSCALLS",
    "SyscallSpec",
    "check_arch",
    "spec_entries",
    "supported_event_types",
]

S, I, A, H, P = L.ARG_STR, L.ARG_INT, L.ARG_SOCKADDR, L.ARG_OPENHOW, L.ARG_INT2


@dataclass(frozen=True, slots=True)
class SyscallSpec:
    """How to capture one syscall: its event type, number, argument kinds and extras."""

    name: str
    nr: int
    args: tuple[int, ...] = ()
    extras: int = 0

    def packed(self) -> bytes:
        kinds = bytes(list(self.args) + [0] * (L.NARGS - len(self.args)))
        return L.SPEC.pack(1, kinds, 0, self.extras, 0)


_FA0, _FRES, _CREDS, _CWD, _FAILED = (
    L.X_FILE_ARG0,
    L.X_FILE_RES,
    L.X_CREDS,
    L.X_CWD,
    L.X_FAILED_ONLY,
)
#: What rules most need (exec, credential and namespace changes, connects): a budget class of
#: their own, and the ring's priority headroom. Opens are priority when their path is one the
#: loaded rules name (the probe's ``se_paths`` trie).
_PRIO, _PPATH = L.X_PRIORITY, L.X_PRIORITY_PATH


def _syscall(name: str, args: tuple[int, ...] = (), extras: int = 0) -> SyscallSpec:
    """The spec of syscall ``name``, numbered by the one x86_64 table."""
    return SyscallSpec(name, NUMBERS[name], args, extras)


#: x86_64 syscalls the probe captures (name, argument kinds, extras).
SYSCALLS: Final[tuple[SyscallSpec, ...]] = (
    _syscall("open", (S, I, I), _FRES | _PPATH),
    _syscall("openat", (I, S, I, I), _FRES | _PPATH),
    _syscall("openat2", (I, S, H, I), _FRES | _PPATH),
    _syscall("creat", (S, I), _FRES | _PPATH),
    _syscall("close", (I,)),
    _syscall("close_range", (I, I, I)),
    _syscall("socket", (I, I, I)),
    _syscall("socketpair", (I, I, I, P)),
    _syscall("bind", (I, A, I), _FA0),
    _syscall("connect", (I, A, I), _FA0 | _PRIO),
    _syscall("listen", (I, I), _FA0),
    _syscall("accept", (I, I, I), _FRES),
    _syscall("accept4", (I, I, I, I), _FRES),
    _syscall("sendto", (I, I, I, I, A, I), _FA0),
    _syscall("sendmsg", (I, I, I), _FA0),
    _syscall("recvfrom", (I, I, I, I), _FA0),
    _syscall("recvmsg", (I, I, I), _FA0),
    _syscall("dup", (I,), _FA0),
    _syscall("dup2", (I, I), _FA0),
    _syscall("dup3", (I, I, I), _FA0),
    _syscall("pipe", (P,)),
    _syscall("pipe2", (P, I)),
    _syscall("execve", (S,), _FAILED | _PRIO),
    _syscall("execveat", (I, S, I, I, I), _FAILED | _PRIO),
    _syscall("symlink", (S, S)),
    _syscall("symlinkat", (S, I, S)),
    _syscall("link", (S, S)),
    _syscall("linkat", (I, S, I, S, I)),
    _syscall("unlink", (S,)),
    _syscall("unlinkat", (I, S, I)),
    _syscall("rename", (S, S)),
    _syscall("renameat", (I, S, I, S)),
    _syscall("renameat2", (I, S, I, S, I)),
    _syscall("mkdir", (S, I)),
    _syscall("mkdirat", (I, S, I)),
    _syscall("rmdir", (S,)),
    _syscall("chmod", (S, I)),
    _syscall("fchmod", (I, I)),
    _syscall("fchmodat", (I, S, I)),
    _syscall("ptrace", (I, I, I, I)),
    _syscall("memfd_create", (S, I)),
    _syscall("init_module", (I, I, S)),
    _syscall("finit_module", (I, S, I)),
    _syscall("setuid", (I,), _CREDS | _PRIO),
    _syscall("setgid", (I,), _CREDS | _PRIO),
    _syscall("setreuid", (I, I), _CREDS | _PRIO),
    _syscall("setregid", (I, I), _CREDS | _PRIO),
    _syscall("setresuid", (I, I, I), _CREDS | _PRIO),
    _syscall("setresgid", (I, I, I), _CREDS | _PRIO),
    _syscall("capset", (I, I), _CREDS | _PRIO),
    _syscall("setsid", ()),
    _syscall("setpgid", (I, I)),
    _syscall("unshare", (I,), _PRIO),
    _syscall("setns", (I, I), _PRIO),
    _syscall("chdir", (S,), _CWD),
    _syscall("fchdir", (I,), _CWD),
    _syscall("chroot", (S,)),
    _syscall("bpf", (I, I, I)),
    _syscall("userfaultfd", (I,)),
    _syscall("mount", (S, S, S, I)),
    _syscall("umount2", (S, I)),
    _syscall("kill", (I, I)),
)

#: Syscall number -> spec.
BY_NR: Final = {s.nr: s for s in SYSCALLS}
_BY_NAME: Final = {s.name: s for s in SYSCALLS}

#: execve/execveat numbers (exec records carry the syscall number).
EXEC_NRS: Final = {NUMBERS[n]: n for n in ("execve", "execveat")}
#: Syscall number -> event type of the clone family (fork records carry it).
CLONE_NAMES: Final = {NUMBERS[n]: n for n in ("clone", "fork", "vfork", "clone3")}

#: What the state tracker needs whatever the rules say (spec §6.1, minimum probe set).
STATE_EVENT_TYPES: Final = frozenset(
    {
        "execve",
        "execveat",
        "close",
        "close_range",
        "dup",
        "dup2",
        "dup3",
        "chdir",
        "fchdir",
        "setuid",
        "setgid",
        "setreuid",
        "setregid",
        "setresuid",
        "setresgid",
        "capset",
        "setsid",
        "setpgid",
        "open",
        "openat",
        "openat2",
        "creat",
        "socket",
        "connect",
        "accept",
        "accept4",
        "bind",
        "pipe",
        "pipe2",
        "socketpair",
        "memfd_create",
    }
)


def check_arch() -> None:
    """Raise BpfUnavailableError unless this is an architecture the probe supports."""
    machine = platform.machine()
    if machine not in ("x86_64", "amd64"):
        raise BpfUnavailableError(
            f"the syscall probe supports x86_64 only, not {machine}; use 'secengine replay' "
            "with recorded events instead"
        )


def supported_event_types() -> frozenset[str]:
    """Every event type the probe can deliver (syscalls plus the clone family and procexit)."""
    return frozenset(_BY_NAME) | frozenset(CLONE_NAMES.values()) | {"procexit"}


#: Socket I/O calls that the probe can drop in the kernel on stream (TCP) sockets when no
#: loaded rule can match them there (the state needs only datagram sockets' addresses).
STREAM_SKIPPABLE: Final = frozenset({"sendto", "sendmsg", "recvfrom", "recvmsg"})

#: Event types whose failed calls the state tracker does not need: the probe may drop their
#: failures in the kernel when no loaded rule can match a failure. Failed opens change no
#: table; the other state types stay out (a non-blocking connect "fails" with EINPROGRESS and
#: still connects).
FAILURE_STATELESS: Final = (frozenset(_BY_NAME) - STATE_EVENT_TYPES) | frozenset(
    {"open", "openat", "openat2", "creat", "execve", "execveat"}
)


def spec_entries(
    event_types: Iterable[str] | None,
    skip_stream: Iterable[str] = (),
    success_only: Iterable[str] = (),
) -> dict[int, bytes]:
    """The ``specs`` map contents for the wanted event types plus the state set.

    ``None`` means every type the probe supports (a rule with no event type
    restriction needs them all). ``skip_stream`` names socket I/O calls to drop
    in the kernel when their fd is a stream socket; ``success_only`` event types
    whose failed calls to drop there (only those in :data:`FAILURE_STATELESS`).
    """
    wanted = set(_BY_NAME) if event_types is None else set(event_types) | STATE_EVENT_TYPES
    skip = set(skip_stream) & STREAM_SKIPPABLE
    ok_only = set(success_only) & FAILURE_STATELESS
    out = {}
    for s in SYSCALLS:
        if s.name in wanted:
            extras = s.extras
            if s.name in skip:
                extras |= L.X_SKIP_STREAM
            if s.name in ok_only:
                extras |= L.X_SUCCESS_ONLY
            if extras != s.extras:
                s = SyscallSpec(s.name, s.nr, s.args, extras)
            out[s.nr] = s.packed()
    return out
