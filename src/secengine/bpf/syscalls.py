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

#: x86_64 syscalls the probe captures (name, nr, argument kinds, extras).
SYSCALLS: Final[tuple[SyscallSpec, ...]] = (
    SyscallSpec("open", 2, (S, I, I), _FRES | _PPATH),
    SyscallSpec("openat", 257, (I, S, I, I), _FRES | _PPATH),
    SyscallSpec("openat2", 437, (I, S, H, I), _FRES | _PPATH),
    SyscallSpec("creat", 85, (S, I), _FRES | _PPATH),
    SyscallSpec("close", 3, (I,)),
    SyscallSpec("close_range", 436, (I, I, I)),
    SyscallSpec("socket", 41, (I, I, I)),
    SyscallSpec("socketpair", 53, (I, I, I, P)),
    SyscallSpec("bind", 49, (I, A, I), _FA0),
    SyscallSpec("connect", 42, (I, A, I), _FA0 | _PRIO),
    SyscallSpec("listen", 50, (I, I), _FA0),
    SyscallSpec("accept", 43, (I, I, I), _FRES),
    SyscallSpec("accept4", 288, (I, I, I, I), _FRES),
    SyscallSpec("sendto", 44, (I, I, I, I, A, I), _FA0),
    SyscallSpec("sendmsg", 46, (I, I, I), _FA0),
    SyscallSpec("recvfrom", 45, (I, I, I, I), _FA0),
    SyscallSpec("recvmsg", 47, (I, I, I), _FA0),
    SyscallSpec("dup", 32, (I,), _FA0),
    SyscallSpec("dup2", 33, (I, I), _FA0),
    SyscallSpec("dup3", 292, (I, I, I), _FA0),
    SyscallSpec("pipe", 22, (P,)),
    SyscallSpec("pipe2", 293, (P, I)),
    SyscallSpec("execve", 59, (S,), _FAILED | _PRIO),
    SyscallSpec("execveat", 322, (I, S, I, I, I), _FAILED | _PRIO),
    SyscallSpec("symlink", 88, (S, S)),
    SyscallSpec("symlinkat", 266, (S, I, S)),
    SyscallSpec("link", 86, (S, S)),
    SyscallSpec("linkat", 265, (I, S, I, S, I)),
    SyscallSpec("unlink", 87, (S,)),
    SyscallSpec("unlinkat", 263, (I, S, I)),
    SyscallSpec("rename", 82, (S, S)),
    SyscallSpec("renameat", 264, (I, S, I, S)),
    SyscallSpec("renameat2", 316, (I, S, I, S, I)),
    SyscallSpec("mkdir", 83, (S, I)),
    SyscallSpec("mkdirat", 258, (I, S, I)),
    SyscallSpec("rmdir", 84, (S,)),
    SyscallSpec("chmod", 90, (S, I)),
    SyscallSpec("fchmod", 91, (I, I)),
    SyscallSpec("fchmodat", 268, (I, S, I)),
    SyscallSpec("ptrace", 101, (I, I, I, I)),
    SyscallSpec("memfd_create", 319, (S, I)),
    SyscallSpec("init_module", 175, (I, I, S)),
    SyscallSpec("finit_module", 313, (I, S, I)),
    SyscallSpec("setuid", 105, (I,), _CREDS | _PRIO),
    SyscallSpec("setgid", 106, (I,), _CREDS | _PRIO),
    SyscallSpec("setreuid", 113, (I, I), _CREDS | _PRIO),
    SyscallSpec("setregid", 114, (I, I), _CREDS | _PRIO),
    SyscallSpec("setresuid", 117, (I, I, I), _CREDS | _PRIO),
    SyscallSpec("setresgid", 119, (I, I, I), _CREDS | _PRIO),
    SyscallSpec("capset", 126, (I, I), _CREDS | _PRIO),
    SyscallSpec("setsid", 112, ()),
    SyscallSpec("setpgid", 109, (I, I)),
    SyscallSpec("unshare", 272, (I,), _PRIO),
    SyscallSpec("setns", 308, (I, I), _PRIO),
    SyscallSpec("chdir", 80, (S,), _CWD),
    SyscallSpec("fchdir", 81, (I,), _CWD),
    SyscallSpec("chroot", 161, (S,)),
    SyscallSpec("bpf", 321, (I, I, I)),
    SyscallSpec("userfaultfd", 323, (I,)),
    SyscallSpec("mount", 165, (S, S, S, I)),
    SyscallSpec("umount2", 166, (S, I)),
    SyscallSpec("kill", 62, (I, I)),
)

#: Syscall number -> spec.
BY_NR: Final = {s.nr: s for s in SYSCALLS}
_BY_NAME: Final = {s.name: s for s in SYSCALLS}

#: execve/execveat numbers (exec records carry the syscall number).
EXEC_NRS: Final = {59: "execve", 322: "execveat"}
#: Syscall number -> event type of the clone family (fork records carry it).
CLONE_NAMES: Final = {56: "clone", 57: "fork", 58: "vfork", 435: "clone3"}

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
