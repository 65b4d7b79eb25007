"""The probe's records, decoded: header at once, sections and Falco parameters on demand.

A :class:`Rec` is one ring-buffer record: the fixed header is unpacked when
the record is read (one ``struct`` call); the variable sections (strings,
socket addresses, the file behind an fd, credentials) are parsed the first
time something asks (:attr:`Rec.sec`); the Falco parameters of the event
(``evt.arg.NAME``) are built only for events a rule actually inspects.

Parameters follow the driver's exit event of each syscall (names and order
from the generated event table), with enter parameters merged in, values
converted to PPM flags (:mod:`.convert`) exactly where the driver converts
them.
"""

from __future__ import annotations

import socket as _socket
import struct
from collections.abc import Callable
from typing import Any, Final

from secengine.bpf import layout as L
from secengine.bpf.syscalls import (
    BY_NR,
    CLONE_NAMES,
    COMPAT_BY_NR,
    COMPAT_CLONE_NAMES,
    COMPAT_EXEC_NRS,
    EXEC_NRS,
    SyscallSpec,
)
from secengine.errors import SecengineError
from secengine.fields.event_names import param_defs
from secengine.fields.live import FloodReport, ProcessView
from secengine.state import convert
from secengine.state.fds import format_addr, ip_text, l4proto_name

__all__ = [
    "FileInfo",
    "Rec",
    "RecordFormatError",
    "Sections",
    "decode",
    "event_params",
    "flood_section",
    "netlink_types",
    "proc_section",
    "process_params",
    "render_sockaddr",
]

#: se_hdr (``L.HDR``) in two parts: the fixed fields, then the six arguments (a test checks
#: that together they are ``L.HDR``)
HDR_FIXED: Final = struct.Struct("<QIIHHHHq")
HDR_ARGS: Final = struct.Struct("<6Q")
_unpack_fixed: Final = HDR_FIXED.unpack_from
_unpack_args: Final = HDR_ARGS.unpack_from
_ARGS_AT: Final = HDR_FIXED.size
_HDR_SIZE: Final = L.HDR_SIZE
_EVT_SYSCALL: Final = L.EVT_SYSCALL
_F_COMPAT: Final = L.F_COMPAT
EXEC_NAMES: Final = frozenset({"execve", "execveat"})
_FILE = L.FILE
_CREDS = L.CREDS
_PROC = L.PROC
#: The flags argument of the event types that open by path with plain flags.
_OPEN_FLAGS_ARG: Final = {"open": 1, "openat": 2}


class RecordFormatError(SecengineError):
    """A ring-buffer record too short or inconsistent to decode (the message says how).

    The probe writes every record, so this means a probe bug or a probe and
    an agent of different versions; the live source counts the record as
    rejected and goes on with the next one.
    """


class FileInfo:
    """The probe's view of an fd's file (``se_file``) plus a unix socket path."""

    __slots__ = (
        "mode",
        "dev",
        "ino",
        "fmode",
        "family",
        "stype",
        "proto",
        "lport",
        "rport",
        "overlay",
        "laddr",
        "raddr",
        "path",
    )

    mode: int
    dev: int
    ino: int
    fmode: int
    family: int
    stype: int
    proto: int
    lport: int
    rport: int
    overlay: int
    laddr: bytes
    raddr: bytes

    def __init__(self, raw: tuple[Any, ...], path: str) -> None:
        (
            self.mode,
            self.dev,
            self.ino,
            self.fmode,
            self.family,
            self.stype,
            self.proto,
            self.lport,
            self.rport,
            self.overlay,
            self.laddr,
            self.raddr,
        ) = raw
        self.path = path

    @property
    def is_open(self) -> bool:
        return self.mode != 0

    @property
    def is_socket(self) -> bool:
        return self.mode & 0o170000 == 0o140000

    def lip(self) -> str | None:
        return ip_text(self.laddr, self.family) if self.family in (2, 10) else None

    def rip(self) -> str | None:
        return ip_text(self.raddr, self.family) if self.family in (2, 10) else None

    @property
    def l4proto(self) -> str:
        # a netlink socket's protocol is a netlink one (6 is NETLINK_XFRM, not tcp)
        return l4proto_name(self.proto, self.stype) if self.family != _AF_NETLINK else ""


class Sections:
    """The variable part of a syscall record."""

    __slots__ = ("blobs", "file0", "fileres", "creds", "cwd", "nlhead", "ns")

    def __init__(self) -> None:
        self.blobs: dict[int, bytes] = {}
        self.file0: FileInfo | None = None
        self.fileres: FileInfo | None = None
        self.creds: tuple[int, ...] | None = None
        self.cwd: str | None = None
        #: the first bytes sent on a netlink socket (empty: not a netlink socket)
        self.nlhead: bytes | None = None
        #: the caller's namespace inodes after the call (user, mnt, net, pid)
        self.ns: tuple[int, int, int, int] | None = None

    def text(self, i: int) -> str | None:
        b = self.blobs.get(i)
        return None if b is None else b.decode("utf-8", "surrogateescape")


def _blob(data: bytes, off: int) -> tuple[bytes, int]:
    if off + 2 > len(data):
        return b"", len(data)
    n = data[off] | data[off + 1] << 8
    return data[off + 2 : off + 2 + n], off + 2 + n


def _file(data: bytes, off: int) -> tuple[FileInfo | None, int]:
    if off + _FILE.size > len(data):
        return None, len(data)
    raw = _FILE.unpack_from(data, off)
    path, off = _blob(data, off + _FILE.size)
    return FileInfo(raw, path.decode("utf-8", "surrogateescape")), off


def parse_sections(data: bytes, spec: SyscallSpec) -> Sections:
    sec = Sections()
    off = L.HDR_SIZE
    for i, kind in enumerate(spec.args):
        if kind != L.ARG_INT:
            sec.blobs[i], off = _blob(data, off)
    extras = spec.extras
    if extras & L.X_FILE_ARG0:
        sec.file0, off = _file(data, off)
    if extras & L.X_FILE_RES:
        sec.fileres, off = _file(data, off)
    if extras & L.X_CREDS and off + _CREDS.size <= len(data):
        sec.creds = _CREDS.unpack_from(data, off)
        off += _CREDS.size
    if extras & L.X_CWD:
        cwd, off = _blob(data, off)
        sec.cwd = cwd.decode("utf-8", "surrogateescape")
    if extras & (L.X_NL_BUF | L.X_NL_MSG):
        sec.nlhead, off = _blob(data, off)
    if extras & L.X_NS and off + L.NS.size <= len(data):
        sec.ns = L.NS.unpack_from(data, off)
        off += L.NS.size
    return sec


def proc_section(data: bytes, nblobs: int) -> tuple[tuple[int, ...], list[bytes]]:
    """An exec/clone record's ``se_proc`` and the blobs after it (missing ones empty)."""
    if len(data) < _HDR_SIZE + _PROC.size:
        raise RecordFormatError(
            f"process record of {len(data)} bytes is shorter than its "
            f"{_HDR_SIZE + _PROC.size}-byte header and process section"
        )
    proc = _PROC.unpack_from(data, L.HDR_SIZE)
    off = L.HDR_SIZE + _PROC.size
    blobs = []
    for _ in range(nblobs):
        b, off = _blob(data, off)
        blobs.append(b)
    return proc, blobs


class Rec:
    """One decoded record. ``name`` is the event type (``evt.type``)."""

    __slots__ = (
        "ts",
        "tid",
        "pid",
        "nr",
        "evt",
        "flags",
        "res",
        "args",
        "data",
        "name",
        "spec",
        "_sec",
        "_params",
    )

    def __init__(self, data: bytes, boot_ns: int) -> None:
        # the one decode every record gets: names bound once (module constants, no ``L.``),
        # each header field read from the tuple once
        if len(data) < _HDR_SIZE:
            raise RecordFormatError(
                f"record of {len(data)} bytes is shorter than its {_HDR_SIZE}-byte header"
            )
        # the fixed fields straight into names and the arguments as their own tuple: fewer
        # instructions than one unpack of all fourteen, subscripted and sliced
        ts, self.tid, self.pid, nr, evt, _, flags, self.res = _unpack_fixed(data)
        self.ts = ts + boot_ns
        self.nr = nr
        self.evt = evt
        self.flags = flags
        self.args: tuple[int, ...] = _unpack_args(data, _ARGS_AT)
        self.data = data
        self._sec: Sections | None = None
        self._params: dict[str, Any] | None = None
        if evt == _EVT_SYSCALL:
            spec = (COMPAT_BY_NR if flags & _F_COMPAT else BY_NR).get(nr)
            self.spec = spec
            self.name = spec.name if spec is not None else "syscall"
            return
        self.spec = None
        compat = flags & _F_COMPAT
        if evt == L.EVT_EXEC:
            self.name = (COMPAT_EXEC_NRS if compat else EXEC_NRS).get(nr, "execve")
        elif evt == L.EVT_CLONE:
            self.name = (COMPAT_CLONE_NAMES if compat else CLONE_NAMES).get(nr, "clone")
        elif evt == L.EVT_FLOOD:
            self.name = "flood"
        elif evt == L.EVT_KILL:
            self.name = "kill"  # what the in-kernel kill did; never an event of rules
        else:
            self.name = "procexit"

    @property
    def sec(self) -> Sections:
        sec = self._sec
        if sec is None:
            sec = self._sec = (
                parse_sections(self.data, self.spec) if self.spec is not None else Sections()
            )
        return sec

    @property
    def is_compat(self) -> bool:
        """Whether this was a 32-bit (ia32) syscall (``evt.is_compat``)."""
        return bool(self.flags & L.F_COMPAT)

    @property
    def is_io_uring(self) -> bool:
        """Whether this was an io_uring operation (``evt.is_io_uring``)."""
        return bool(self.flags & L.F_URING)

    def arg(self, i: int) -> int:
        """Argument ``i`` as a C ``int`` (fds, pids, flags)."""
        v = self.args[i] & 0xFFFFFFFF
        return v - 0x100000000 if v & 0x80000000 else v

    # -- what the live field extractors read (secengine.fields.live.LiveRecord) --------
    def params(self, proc: ProcessView | None) -> dict[str, Any]:
        """Falco's parameters of this event (``evt.arg.*``), built on first use."""
        return event_params(self, proc)

    def open_flags(self) -> int | None:
        """The PPM open flags (with O_F_CREATED) of an open/openat/openat2 record, else None."""
        i = _OPEN_FLAGS_ARG.get(self.name)
        if i is None:
            return _openat2_flags(self) if self.name == "openat2" else None
        flags = convert.open_flags(self.args[i] & 0xFFFFFFFF)
        f = self.sec.fileres
        if f is not None and f.fmode & convert.FMODE_CREATED:
            flags |= 16384  # PPM_O_F_CREATED
        return flags

    def netlink_proto(self) -> int | None:
        """The netlink protocol of a ``socket(AF_NETLINK, ...)`` (its argument) or of the
        netlink socket a send or another call on an fd uses (the kernel's ``sk_protocol``)."""
        if self.evt != L.EVT_SYSCALL:
            return None
        if self.name == "socket":
            return self.arg(2) if self.arg(0) == _AF_NETLINK else None
        spec = self.spec
        if spec is None or not spec.extras & L.X_FILE_ARG0:
            return None
        f = self.sec.file0
        return f.proto if f is not None and f.family == _AF_NETLINK else None

    def netlink_types(self) -> list[int]:
        """The ``nlmsg_type`` of each netlink message in the head of a send (at most
        :data:`_NL_MAX_MSGS`), in order; empty for other events."""
        if self.spec is None or not self.spec.extras & (L.X_NL_BUF | L.X_NL_MSG):
            return []
        return netlink_types(self.sec.nlhead or b"")

    def fd_fmode(self) -> int | None:
        """The kernel's ``f_mode`` (FMODE_READ 1, FMODE_WRITE 2, ...) of the file at argument
        0 when the probe describes it (``X_FILE_ARG0``: splice, tee, sends, ...), else None."""
        if self.spec is None or not self.spec.extras & L.X_FILE_ARG0:
            return None
        f = self.sec.file0
        return f.fmode if f is not None and f.is_open else None

    def flood(self) -> FloodReport | None:
        """The report of a flood record (``flood.*``), else None."""
        if self.evt != L.EVT_FLOOD:
            return None
        spec = BY_NR.get(self.nr)
        comm, cgroup = flood_section(self)
        return FloodReport(
            self.args[0],
            self.args[1],
            self.args[2],
            spec.name if spec is not None else "syscall",
            "priority" if self.args[3] == L.CLASS_PRIORITY else "bulk",
            comm,
            cgroup,
        )


_AF_NETLINK: Final = 16
#: struct nlmsghdr: len, type, flags, seq, pid
_NLMSGHDR: Final = struct.Struct("<IHHII")
_NL_MAX_MSGS: Final = 32


def netlink_types(head: bytes) -> list[int]:
    """The message types of the netlink messages that start in ``head`` (a send's first bytes):
    the chain of ``nlmsghdr`` walked by each header's (4-aligned) length, stopping at a
    header that does not fit or claims less than itself."""
    types: list[int] = []
    off = 0
    while off + _NLMSGHDR.size <= len(head) and len(types) < _NL_MAX_MSGS:
        length, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(head, off)
        types.append(mtype)
        if length < _NLMSGHDR.size:
            break
        off += (length + 3) & ~3
    return types


def flood_section(rec: Rec) -> tuple[str, str]:
    """A flood record's (comm, cgroup path)."""
    comm, off = _blob(rec.data, L.HDR_SIZE)
    cgroup, _ = _blob(rec.data, off)
    return (comm.decode("utf-8", "surrogateescape"), cgroup.decode("utf-8", "surrogateescape"))


def decode(data: bytes, boot_ns: int) -> Rec:
    return Rec(data, boot_ns)


# ---------------------------------------------------------------------------
# Falco parameters
# ---------------------------------------------------------------------------


def render_sockaddr(raw: bytes) -> str:
    """A user sockaddr as libsinsp prints it (``1.2.3.4:80``, a unix path)."""
    if len(raw) < 2:
        return ""
    family = raw[0] | raw[1] << 8
    if family == _socket.AF_INET and len(raw) >= 8:
        port = struct.unpack_from(">H", raw, 2)[0]
        return format_addr(ip_text(raw[4:8], family), port)
    if family == _socket.AF_INET6 and len(raw) >= 24:
        port = struct.unpack_from(">H", raw, 2)[0]
        return format_addr(ip_text(raw[8:24], family), port)
    if family == _socket.AF_UNIX:
        return raw[2:].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    return ""


def _tuple(f: FileInfo | None, server: bool = False) -> str:
    if f is None or f.family not in (2, 10):
        return f.path if f is not None else ""
    local, remote = format_addr(f.lip(), f.lport), format_addr(f.rip(), f.rport)
    return f"{remote}->{local}" if server else f"{local}->{remote}"


def _s(i: int) -> Callable[[Rec], Any]:
    return lambda r: r.sec.text(i) or ""


def _a(i: int) -> Callable[[Rec], Any]:
    return lambda r: r.arg(i)


def _u(i: int) -> Callable[[Rec], Any]:
    return lambda r: r.args[i]


def _c(i: int, fn: Callable[[int], int]) -> Callable[[Rec], Any]:
    return lambda r: fn(r.args[i] & 0xFFFFFFFF)


_res: Final = lambda r: r.res
_dev: Final = lambda r: r.sec.fileres.dev if r.sec.fileres else 0
_ino: Final = lambda r: r.sec.fileres.ino if r.sec.fileres else 0
_empty: Final = lambda r: b""


_open_flags: Final = Rec.open_flags


def _how(field: int) -> Callable[[Rec], Any]:
    def get(r: Rec) -> int:
        raw = r.sec.blobs.get(2, b"")
        if len(raw) < 24:
            return 0
        v: int = L.OPEN_HOW.unpack_from(raw)[field]
        if field == 0:
            flags = convert.open_flags(v & 0xFFFFFFFF)
            f = r.sec.fileres
            if f is not None and f.fmode & convert.FMODE_CREATED:
                flags |= 16384
            return flags
        return v

    return get


_openat2_flags: Final = _how(0)


def _int2(k: int) -> Callable[[Rec], Any]:
    def get(r: Rec) -> int:
        raw = r.sec.blobs.get(0 if r.name.startswith("pipe") else 3, b"")
        return struct.unpack_from("<i", raw, 4 * k)[0] if len(raw) >= 8 else -1

    return get


_FSCONFIG_SET_BINARY: Final = 2

#: setxattr/lsetxattr (fsetxattr names its fd instead of the path)
_XATTR_PATH: Final[dict[str, Callable[[Rec], Any]]] = {
    "res": _res,
    "path": _s(0),
    "name": _s(1),
    "value": lambda r: r.sec.blobs.get(2, b""),
    "size": _u(3),
    "flags": _c(4, int),
}

#: Event type -> parameter name -> how to get its value from a record.
_GETTERS: Final[dict[str, dict[str, Callable[[Rec], Any]]]] = {
    "open": {
        "fd": _res,
        "name": _s(0),
        "flags": _open_flags,
        "mode": _u(2),
        "dev": _dev,
        "ino": _ino,
    },
    "openat": {
        "fd": _res,
        "dirfd": _a(0),
        "name": _s(1),
        "flags": _open_flags,
        "mode": _u(3),
        "dev": _dev,
        "ino": _ino,
    },
    "openat2": {
        "fd": _res,
        "dirfd": _a(0),
        "name": _s(1),
        "flags": _how(0),
        "mode": _how(1),
        "resolve": _how(2),
        "dev": _dev,
        "ino": _ino,
    },
    "creat": {"fd": _res, "name": _s(0), "mode": _u(1), "dev": _dev, "ino": _ino},
    "close": {"res": _res, "fd": _a(0)},
    "close_range": {"res": _res, "first": _u(0), "last": _u(1), "flags": _u(2)},
    "socket": {"fd": _res, "domain": _a(0), "type": _u(1), "proto": _u(2)},
    "socketpair": {
        "res": _res,
        "fd1": _int2(0),
        "fd2": _int2(1),
        "domain": _a(0),
        "type": _u(1),
        "proto": _u(2),
    },
    "bind": {"res": _res, "addr": lambda r: render_sockaddr(r.sec.blobs.get(1, b"")), "fd": _a(0)},
    "connect": {
        "res": _res,
        "tuple": lambda r: _tuple(r.sec.file0),
        "fd": _a(0),
        "addr": lambda r: render_sockaddr(r.sec.blobs.get(1, b"")),
    },
    "listen": {"res": _res, "fd": _a(0), "backlog": _a(1)},
    "accept": {"fd": _res, "tuple": lambda r: _tuple(r.sec.fileres, server=True)},
    "accept4": {"fd": _res, "tuple": lambda r: _tuple(r.sec.fileres, server=True), "flags": _a(3)},
    "sendto": {
        "res": _res,
        "data": _empty,
        "fd": _a(0),
        "size": _u(2),
        "tuple": lambda r: _tuple(r.sec.file0),
    },
    "sendmsg": {"res": _res, "data": _empty, "fd": _a(0), "tuple": lambda r: _tuple(r.sec.file0)},
    "recvfrom": {
        "res": _res,
        "data": _empty,
        "tuple": lambda r: _tuple(r.sec.file0),
        "fd": _a(0),
        "size": _u(2),
    },
    "recvmsg": {"res": _res, "data": _empty, "tuple": lambda r: _tuple(r.sec.file0), "fd": _a(0)},
    "dup": {"res": _res, "oldfd": _a(0)},
    "dup2": {"res": _res, "oldfd": _a(0), "newfd": _a(1)},
    "dup3": {"res": _res, "oldfd": _a(0), "newfd": _a(1), "flags": _c(2, convert.dup3_flags)},
    "pipe": {"res": _res, "fd1": _int2(0), "fd2": _int2(1)},
    "pipe2": {"res": _res, "fd1": _int2(0), "fd2": _int2(1), "flags": _c(1, convert.open_flags)},
    "execve": {"res": _res, "filename": _s(0)},
    "execveat": {
        "res": _res,
        "dirfd": _a(0),
        "pathname": _s(1),
        "flags": _c(4, convert.execveat_flags),
    },
    "symlink": {"res": _res, "target": _s(0), "linkpath": _s(1)},
    "symlinkat": {"res": _res, "target": _s(0), "linkdirfd": _a(1), "linkpath": _s(2)},
    "link": {"res": _res, "oldpath": _s(0), "newpath": _s(1)},
    "linkat": {
        "res": _res,
        "olddir": _a(0),
        "oldpath": _s(1),
        "newdir": _a(2),
        "newpath": _s(3),
        "flags": _u(4),
    },
    "unlink": {"res": _res, "path": _s(0)},
    "unlinkat": {"res": _res, "dirfd": _a(0), "name": _s(1), "flags": _u(2)},
    "rename": {"res": _res, "oldpath": _s(0), "newpath": _s(1)},
    "renameat": {
        "res": _res,
        "olddirfd": _a(0),
        "oldpath": _s(1),
        "newdirfd": _a(2),
        "newpath": _s(3),
    },
    "renameat2": {
        "res": _res,
        "olddirfd": _a(0),
        "oldpath": _s(1),
        "newdirfd": _a(2),
        "newpath": _s(3),
        "flags": _c(4, convert.renameat2_flags),
    },
    "mkdir": {"res": _res, "path": _s(0), "mode": _u(1)},
    "mkdirat": {"res": _res, "dirfd": _a(0), "path": _s(1), "mode": _u(2)},
    "rmdir": {"res": _res, "path": _s(0)},
    "chmod": {"res": _res, "filename": _s(0), "mode": _u(1)},
    "fchmod": {"res": _res, "fd": _a(0), "mode": _u(1)},
    "fchmodat": {"res": _res, "dirfd": _a(0), "filename": _s(1), "mode": _u(2)},
    "ptrace": {
        "res": _res,
        "addr": _u(2),
        "data": _u(3),
        "request": _c(0, convert.ptrace_request),
        "pid": _a(1),
    },
    "memfd_create": {"fd": _res, "name": _s(0), "flags": _c(1, convert.memfd_flags)},
    "init_module": {"res": _res, "img": _empty, "length": _u(1), "uargs": _s(2)},
    "finit_module": {
        "res": _res,
        "fd": _a(0),
        "uargs": _s(1),
        "flags": _c(2, convert.finit_module_flags),
    },
    "setuid": {"res": _res, "uid": _c(0, int)},
    "setgid": {"res": _res, "gid": _c(0, int)},
    "setreuid": {"res": _res, "ruid": _c(0, int), "euid": _c(1, int)},
    "setregid": {"res": _res, "rgid": _c(0, int), "egid": _c(1, int)},
    "setresuid": {"res": _res, "ruid": _c(0, int), "euid": _c(1, int), "suid": _c(2, int)},
    "setresgid": {"res": _res, "rgid": _c(0, int), "egid": _c(1, int), "sgid": _c(2, int)},
    "capset": {
        "res": _res,
        "cap_inheritable": lambda r: r.sec.creds[8] if r.sec.creds else 0,
        "cap_permitted": lambda r: r.sec.creds[9] if r.sec.creds else 0,
        "cap_effective": lambda r: r.sec.creds[10] if r.sec.creds else 0,
    },
    "setsid": {"res": _res},
    "setpgid": {"res": _res, "pid": _a(0), "pgid": _a(1)},
    "unshare": {"res": _res, "flags": _c(0, convert.clone_flags)},
    "setns": {"res": _res, "fd": _a(0), "nstype": _c(1, convert.clone_flags)},
    "chdir": {"res": _res, "path": _s(0)},
    "fchdir": {"res": _res, "fd": _a(0)},
    "chroot": {"res": _res, "path": _s(0)},
    "bpf": {"fd": _res, "cmd": _a(0)},
    "userfaultfd": {"res": _res, "flags": _c(0, convert.open_flags)},
    "mount": {
        "res": _res,
        "dev": _s(0),
        "dir": _s(1),
        "type": _s(2),
        "flags": _c(3, convert.mount_flags),
        "data": _s(4),
    },
    "splice": {"res": _res, "fd_in": _a(0), "fd_out": _a(2), "size": _u(4), "flags": _c(5, int)},
    "tee": {"res": _res, "fd_in": _a(0), "fd_out": _a(1), "size": _u(2), "flags": _c(3, int)},
    "vmsplice": {"res": _res, "fd": _a(0), "nr_segs": _u(2), "flags": _c(3, int)},
    "fsopen": {"fd": _res, "fsname": _s(0), "flags": _c(1, int)},
    "fsconfig": {
        "res": _res,
        "fd": _a(0),
        "cmd": _c(1, int),  # the FSCONFIG_* numbers are the PPM ones
        "key": _s(2),
        "value_bytebuf": lambda r: (
            r.sec.blobs.get(3, b"") if r.arg(1) == _FSCONFIG_SET_BINARY else b""
        ),
        "value_charbuf": lambda r: "" if r.arg(1) == _FSCONFIG_SET_BINARY else _s(3)(r),
        "aux": _a(4),
    },
    "fsmount": {"fd": _res, "fs_fd": _a(0), "flags": _c(1, int), "attr_flags": _c(2, int)},
    "move_mount": {
        "res": _res,
        "from_dirfd": _a(0),
        "from_path": _s(1),
        "to_dirfd": _a(2),
        "to_path": _s(3),
        "flags": _c(4, int),
    },
    "open_tree": {"fd": _res, "dirfd": _a(0), "path": _s(1), "flags": _c(2, int)},
    "setxattr": _XATTR_PATH,
    "lsetxattr": _XATTR_PATH,
    "fsetxattr": {**_XATTR_PATH, "fd": _a(0)},
    "setsockopt": {
        "res": _res,
        "fd": _a(0),
        "level": lambda r: convert.sockopt_level(r.arg(1)),
        "optname": lambda r: convert.sockopt_optname(r.arg(1), r.arg(2)),
        "val": lambda r: r.sec.blobs.get(3, b""),
        "optlen": _u(4),
        "level_num": _a(1),
        "optname_num": _a(2),
    },
    "keyctl": {
        "res": _res,
        "operation": _a(0),  # the KEYCTL_* numbers are the PPM ones
        "arg2": _u(1),
        "arg3": _u(2),
        "arg4": _u(3),
        "arg5": _u(4),
    },
    "umount2": {"res": _res, "name": _s(0), "flags": _u(1)},
    "kill": {"res": _res, "pid": _a(0), "sig": _a(1)},
}


def process_params(rec: Rec, proc: ProcessView | None) -> dict[str, Any]:
    """The parameters of a process event (exec, clone, exit), and of a failed exec, from the
    process as the state knows it (Falco fills them from its thread table)."""
    p = proc
    if p is None:
        return {}
    values: dict[str, Any] = {
        "res": rec.res if rec.name != "procexit" else 0,
        "exe": p.exe,
        "args": "\0".join(p.args),
        "env": "\0".join(p.env),
        "tid": rec.tid,
        "pid": rec.pid,
        "ptid": p.ptid,
        "cwd": p.cwd,
        "fdlimit": p.fdlimit,
        "comm": p.comm,
        "cgroups": p.cgroup,
        "tty": p.tty,
        "vpgid": p.vpgid,
        "loginuid": p.loginuid,
        "flags": p.exe_flags,
        "cap_inheritable": p.cap_inheritable,
        "cap_permitted": p.cap_permitted,
        "cap_effective": p.cap_effective,
        "exe_ino": p.exe_ino,
        "exe_ino_ctime": p.exe_ctime,
        "exe_ino_mtime": p.exe_mtime,
        "uid": p.uid,
        "trusted_exepath": p.exepath,
        "pgid": p.pgid,
        "gid": p.gid,
        "vpid": p.vpid,
        "status": rec.args[0] if rec.name == "procexit" else 0,
    }
    if rec.name in ("clone", "fork", "vfork", "clone3"):
        values["flags"] = convert.clone_flags(_PROC.unpack_from(rec.data, 80)[7])
    elif rec.evt == L.EVT_EXEC:
        # the path the exec was asked for (the kernel's bprm->filename), as Falco's exit event
        # gives it: /proc/self/fd/7/../../bin/sh where proc.exepath is the file it reached
        values["filename"] = proc_section(rec.data, 1)[1][0].decode("utf-8", "surrogateescape")
    return {name: values[name] for name, *_ in param_defs(rec.name) if name in values}


def event_params(rec: Rec, proc: ProcessView | None = None) -> dict[str, Any]:
    """Parameter name -> raw value (PPM-converted) for ``rec``, in the driver's order.

    Built once per record; ``proc`` is the record's process, for the
    parameters Falco fills from its thread table.
    """
    params = rec._params
    if params is not None:
        return params
    getters = _GETTERS.get(rec.name) if rec.evt == L.EVT_SYSCALL else None
    if getters is None or rec.name in EXEC_NAMES:
        # process events (and failed execs, which Falco fills from the calling process)
        params = process_params(rec, proc)
        if getters is not None:
            params["res"] = rec.res
            if "filename" in getters:
                params["filename"] = getters["filename"](rec)
    else:
        params = {}
        for pname, *_ in param_defs(rec.name):
            get = getters.get(pname)
            if get is not None:
                params[pname] = get(rec)
    rec._params = params
    return params
