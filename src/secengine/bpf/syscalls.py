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

The table is written once, by x86_64 name; 32-bit syscalls (a 32-bit
process, or ``int $0x80`` from a 64-bit one) are captured by the same specs
under their ia32 numbers (:data:`COMPAT_BY_NR`), flagged ``F_COMPAT`` in the
record, so that a 32-bit ``open`` is an open and not the ``fstat`` its number
means in the 64-bit table. The ia32 table names the uid/gid calls with 32-bit
arguments ``setuid32``...; their 16-bit ancestors (``setuid``) are the same
event with 16-bit arguments (-1 reads 65535). ``socketcall`` (the multiplexer
32-bit C libraries use for socket calls) is decoded in the probe into the
direct ia32 call it stands for (:data:`SOCKETCALL_TARGETS`), so it needs no
spec of its own: the interest byte of its number turns on when one of those
calls is captured (:func:`interest_bytes`).
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from secengine.bpf import layout as L
from secengine.bpf.errors import BpfUnavailableError
from secengine.syscall_table import IA32_NUMBERS, NUMBERS

__all__ = [
    "BY_NR",
    "CLONE_NAMES",
    "COMPAT_BY_NR",
    "COMPAT_CLONE_NAMES",
    "COMPAT_EXEC_NRS",
    "EXEC_NRS",
    "FAILED_WRITE_FILTERABLE",
    "FAILURE_STATELESS",
    "NETLINK_FILTERABLE",
    "SOCKETCALL_NR",
    "SOCKETCALL_TARGETS",
    "STATE_EVENT_TYPES",
    "STREAM_SKIPPABLE",
    "SYSCALLS",
    "SyscallSpec",
    "check_arch",
    "entry_name",
    "interest_bytes",
    "spec_entries",
    "supported_event_types",
]

S, I, A, H, P, B = L.ARG_STR, L.ARG_INT, L.ARG_SOCKADDR, L.ARG_OPENHOW, L.ARG_INT2, L.ARG_BUF


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
#: The head of a send on a netlink socket (the message types), and the namespaces after a call.
_NLB, _NLM, _NS = L.X_NL_BUF, L.X_NL_MSG, L.X_NS


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
    _syscall("sendto", (I, I, I, I, A, I), _FA0 | _NLB),
    _syscall("sendmsg", (I, I, I), _FA0 | _NLM),
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
    _syscall("unshare", (I,), _NS | _PRIO),
    _syscall("setns", (I, I), _NS | _PRIO),
    _syscall("chdir", (S,), _CWD),
    _syscall("fchdir", (I,), _CWD),
    _syscall("chroot", (S,)),
    _syscall("bpf", (I, I, I)),
    _syscall("userfaultfd", (I,)),
    _syscall("mount", (S, S, S, I, S), _PRIO),
    _syscall("umount2", (S, I)),
    _syscall("kill", (I, I)),
    # the new mount API (fsopen -> fsconfig -> fsmount -> move_mount; open_tree clones a tree)
    _syscall("fsopen", (S, I), _PRIO),
    _syscall("fsconfig", (I, I, S, S, I), _PRIO),
    _syscall("fsmount", (I, I, I), _PRIO),
    _syscall("move_mount", (I, S, I, S, I), _PRIO),
    _syscall("open_tree", (I, S, I), _PRIO),
    # pipes fed from files (the file behind fd_in / fd)
    _syscall("splice", (I, I, I, I, I, I), _FA0),
    _syscall("tee", (I, I, I, I), _FA0),
    _syscall("vmsplice", (I, I, I, I), _FA0),
    # extended attributes: the name, and the value's first bytes (security.capability)
    _syscall("setxattr", (S, S, B, I, I)),
    _syscall("lsetxattr", (S, S, B, I, I)),
    _syscall("fsetxattr", (I, S, B, I, I), _FA0),
    _syscall("setsockopt", (I, I, I, B, I), _FA0),
    _syscall("keyctl", (I, I, I, I, I), _PRIO),
)

#: Syscall number -> spec.
BY_NR: Final = {s.nr: s for s in SYSCALLS}
_BY_NAME: Final = {s.name: s for s in SYSCALLS}

#: ia32 names that are the same event as an x86_64 syscall of another name (the 32-bit-uid
#: calls; the 16-bit ones keep the x86_64 name and are listed by it).
_IA32_ALIASES: Final = {
    f"{n}32": n for n in ("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid")
}


def _compat_specs() -> dict[int, SyscallSpec]:
    """ia32 number -> the spec of the event it is (numbered by its ia32 number)."""
    by_name = {s.name: s for s in SYSCALLS}
    out = {}
    for ia32_name, nr in IA32_NUMBERS.items():
        spec = by_name.get(_IA32_ALIASES.get(ia32_name, ia32_name))
        if spec is not None:
            out[nr] = SyscallSpec(spec.name, nr, spec.args, spec.extras)
    return out


#: ia32 syscall number -> spec (its ``nr`` the ia32 number).
COMPAT_BY_NR: Final = _compat_specs()

#: execve/execveat numbers (exec records carry the syscall number).
EXEC_NRS: Final = {NUMBERS[n]: n for n in ("execve", "execveat")}
#: The same, for an exec into a 32-bit image (the record says F_COMPAT).
COMPAT_EXEC_NRS: Final = {IA32_NUMBERS[n]: n for n in ("execve", "execveat")}
#: Syscall number -> event type of the clone family (fork records carry it).
CLONE_NAMES: Final = {NUMBERS[n]: n for n in ("clone", "fork", "vfork", "clone3")}
#: The same, from a 32-bit parent (the record says F_COMPAT).
COMPAT_CLONE_NAMES: Final = {IA32_NUMBERS[n]: n for n in ("clone", "fork", "vfork", "clone3")}

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
        # namespace changes without an exec: proc.is_host_*ns stays true to the kernel
        "unshare",
        "setns",
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

#: Socket sends the probe can drop in the kernel unless their fd is a netlink socket, when
#: no loaded rule can match them on another (the CVE pack reads them only for netlink).
NETLINK_FILTERABLE: Final = frozenset({"sendto", "sendmsg"})

#: Opens whose failures the probe can drop in the kernel when they are not for writing, with the
#: argument that holds their flags (openat2's are in a struct it would have to read: left out).
FAILED_WRITE_FILTERABLE: Final = {"open": 1, "openat": 2}

#: Event types whose failed calls the state tracker does not need: the probe may drop their
#: failures in the kernel when no loaded rule can match a failure. Failed opens change no
#: table; the other state types stay out (a non-blocking connect "fails" with EINPROGRESS and
#: still connects).
FAILURE_STATELESS: Final = (frozenset(_BY_NAME) - STATE_EVENT_TYPES) | frozenset(
    {"open", "openat", "openat2", "creat", "execve", "execveat"}
)


#: The ia32 ``socketcall`` number, and the ia32 numbers of the direct calls the probe decodes
#: it into (``socketcall_decode`` in probe.bpf.c: ``SYS_SEND``/``SYS_RECV`` become sendto and
#: recvfrom, ``SYS_ACCEPT`` accept4 with flags 0).
SOCKETCALL_NR: Final = IA32_NUMBERS["socketcall"]
SOCKETCALL_TARGETS: Final = frozenset(
    IA32_NUMBERS[n]
    for n in (
        *("socket", "bind", "connect", "listen", "accept4", "getsockname", "getpeername"),
        *("socketpair", "sendto", "recvfrom", "shutdown", "setsockopt", "getsockopt"),
        *("sendmsg", "recvmsg", "recvmmsg", "sendmmsg"),
    )
)


def interest_bytes(entries: Mapping[int, bytes]) -> bytes:
    """The probe's ``se_interest`` global for these ``specs`` entries (key -> packed spec):
    per syscall number, ``WANT_NATIVE`` if the x86_64 call is captured, ``WANT_COMPAT`` if the
    ia32 one is, ``WANT_NETLINK_ONLY`` if the x86_64 one only on a netlink socket; the ia32
    ``socketcall`` is wanted when any call it can stand for is."""
    keys = set(entries)
    compat = {k - L.MAX_SYSCALLS for k in keys if k >= L.MAX_SYSCALLS}
    if compat & SOCKETCALL_TARGETS:
        compat.add(SOCKETCALL_NR)
    netlink_only = {
        k for k in keys if k < L.MAX_SYSCALLS and L.SPEC.unpack(entries[k])[3] & L.X_NETLINK_ONLY
    }
    return bytes(
        (L.WANT_NATIVE if nr in keys else 0)
        | (L.WANT_COMPAT if nr in compat else 0)
        | (L.WANT_NETLINK_ONLY if nr in netlink_only else 0)
        for nr in range(L.MAX_SYSCALLS)
    )


def entry_name(key: int) -> str:
    """The event type of a ``specs`` map key (native number, or MAX_SYSCALLS + ia32 number)."""
    if key >= L.MAX_SYSCALLS:
        return COMPAT_BY_NR[key - L.MAX_SYSCALLS].name
    return BY_NR[key].name


def spec_entries(
    event_types: Iterable[str] | None,
    skip_stream: Iterable[str] = (),
    success_only: Iterable[str] = (),
    netlink_only: Iterable[str] = (),
    failed_write_only: Iterable[str] = (),
    failed_read_paths: Iterable[str] = (),
    compat_only: Iterable[str] = (),
) -> dict[int, bytes]:
    """The ``specs`` map contents for the wanted event types plus the state set: keyed by
    the native number, and by ``MAX_SYSCALLS`` + the ia32 number for 32-bit calls.

    ``None`` means every type the probe supports (a rule with no event type
    restriction needs them all). ``skip_stream`` names socket I/O calls to drop
    in the kernel when their fd is a stream socket; ``success_only`` event types
    whose failed calls to drop there (only those in :data:`FAILURE_STATELESS`);
    ``netlink_only`` socket sends to drop there unless their fd is a netlink socket
    (only the sends, which the state tracker does not need, :data:`NETLINK_FILTERABLE`);
    ``failed_write_only`` opens whose failures to drop there unless they were for writing
    (:data:`FAILED_WRITE_FILTERABLE`; failed opens change no state), and of those
    ``failed_read_paths`` keep the failures whose path starts with a prefix in the probe's
    ``se_fail_paths`` trie; ``compat_only`` event types whose x86_64 call to leave out (only
    the ia32 one is wanted; never a state type).
    """
    wanted = set(_BY_NAME) if event_types is None else set(event_types) | STATE_EVENT_TYPES
    skip = set(skip_stream) & STREAM_SKIPPABLE
    ok_only = set(success_only) & FAILURE_STATELESS
    nl_only = set(netlink_only) & NETLINK_FILTERABLE
    fw_arg = {
        n: FAILED_WRITE_FILTERABLE[n] for n in failed_write_only if n in FAILED_WRITE_FILTERABLE
    }
    keep_paths = set(failed_read_paths)
    native_off = set(compat_only) - STATE_EVENT_TYPES
    out = {}
    compat = (
        SyscallSpec(s.name, L.MAX_SYSCALLS + nr, s.args, s.extras) for nr, s in COMPAT_BY_NR.items()
    )
    native = (s for s in SYSCALLS if s.name not in native_off)
    for s in (*native, *compat):
        if s.name in wanted:
            extras = s.extras
            if s.name in skip:
                extras |= L.X_SKIP_STREAM
            if s.name in ok_only:
                extras |= L.X_SUCCESS_ONLY
            if s.name in nl_only:
                extras |= L.X_NETLINK_ONLY
            if s.name in fw_arg:
                extras |= L.X_FAILED_WRITES_A1 if fw_arg[s.name] == 1 else L.X_FAILED_WRITES_A2
                if s.name in keep_paths:
                    extras |= L.X_FAILED_PATHS
            if extras != s.extras:
                s = SyscallSpec(s.name, s.nr, s.args, extras)
            out[s.nr] = s.packed()
    return out
