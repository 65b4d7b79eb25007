"""A capture's events as the probe's records, so the live state machine replays them.

The live path is probe record → :class:`~secengine.state.decode.Rec` →
:meth:`StateTracker.apply <secengine.state.tracker.StateTracker.apply>` →
:class:`~secengine.fields.live.LiveFieldValues`. A capture is replayed through
that same path: :class:`RecordBuilder` turns each scap event into the bytes
the probe would have written for the same syscall (``se_hdr``, the argument
blobs and the file/creds/cwd sections its spec asks for, the exec and clone
process sections), with the PPM flags turned back into Linux values, so the
state tracker, the parameter getters and every field extractor run unchanged.

What the probe does not capture (``read``, ``mmap``, a clone seen in the
parent, ...) becomes a record with no spec: the tracker finds its process,
and the event's parameters are the capture's own (``evt.arg.*``), already in
the driver's PPM form. Enter events are folded into their exit (an old
capture's ``read`` exit has no fd: the enter has it); only events with no
exit (``procexit``, ``signaldeliver``, ...) stand alone.
"""

from __future__ import annotations

import functools
import re
import socket as _socket
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from secengine.bpf import layout as L
from secengine.bpf.syscalls import BY_NR, SyscallSpec
from secengine.capture.events import param_value
from secengine.capture.eventtable import EVENTS, EventInfo
from secengine.state import convert
from secengine.state.decode import FileInfo, Rec, Sections
from secengine.state.threads import Process
from secengine.state.tracker import resolve_path

__all__ = ["NO_SPEC_NR", "RecordBuilder", "stands_alone"]

#: the sections built from the caller's process
_NEEDS_PROC: Final = L.X_CREDS | L.X_CWD | L.X_NS
#: The syscall number of a record built for an event the probe has no spec for.
NO_SPEC_NR: Final = 0xFFFF
_BY_NAME: Final[dict[str, SyscallSpec]] = {s.name: s for s in BY_NR.values()}
_EXEC_NR: Final = {"execve": _BY_NAME["execve"].nr, "execveat": _BY_NAME["execveat"].nr}
_CLONE_NR: Final = {"clone": 56, "fork": 57, "vfork": 58, "clone3": 435}
_S_IFREG, _S_IFDIR, _S_IFSOCK = 0o100000, 0o040000, 0o140000
_O_DIRECTORY: Final = 0o200000
_PPM_O_F_CREATED: Final = 16384
_PPM_O_CLOEXEC: Final = 4096
_EC_INTERNAL: Final = 256
_MAX_PENDING: Final = 65536
_MAX_THREADS: Final = 1 << 20

#: Register sources per syscall the probe captures: a parameter name, with an optional
#: conversion after a colon (``open``: PPM open flags to Linux, ``clone``: PPM clone flags,
#: ``mount``: PPM mount flags, ``cloexec``: PPM O_CLOEXEC to Linux); None when the capture
#: has no such value (the register is 0, its blob empty).
_REGS: Final[dict[str, tuple[str | None, ...]]] = {
    "open": ("name", "flags:open", "mode"),
    "openat": ("dirfd", "name", "flags:open", "mode"),
    "openat2": ("dirfd", "name", "how", None),
    "creat": ("name", "mode"),
    "close": ("fd",),
    "close_range": ("first", "last", "flags"),
    "socket": ("domain", "type", "proto"),
    "socketpair": ("domain", "type", "proto", "fds"),
    "bind": ("fd", "addr", None),
    "connect": ("fd", "addr", None),
    "listen": ("fd", "backlog"),
    "accept": ("fd_in", None, None),
    "accept4": ("fd_in", None, None, "flags:open"),
    "sendto": ("fd", None, "size", None, None, None),
    "sendmsg": ("fd", None, None),
    "recvfrom": ("fd", None, "size", None),
    "recvmsg": ("fd", None, None),
    "dup": ("oldfd",),
    "dup2": ("oldfd", "newfd"),
    "dup3": ("oldfd", "newfd", "flags:cloexec"),
    "pipe": ("fds",),
    "pipe2": ("fds", "flags:open"),
    "execve": ("filename",),
    "execveat": ("dirfd", "pathname", "flags"),
    "symlink": ("target", "linkpath"),
    "symlinkat": ("target", "linkdirfd", "linkpath"),
    "link": ("oldpath", "newpath"),
    "linkat": ("olddir", "oldpath", "newdir", "newpath", "flags"),
    "unlink": ("path",),
    "unlinkat": ("dirfd", "name", "flags"),
    "rename": ("oldpath", "newpath"),
    "renameat": ("olddirfd", "oldpath", "newdirfd", "newpath"),
    "renameat2": ("olddirfd", "oldpath", "newdirfd", "newpath", "flags"),
    "mkdir": ("path", "mode"),
    "mkdirat": ("dirfd", "path", "mode"),
    "rmdir": ("path",),
    "chmod": ("filename", "mode"),
    "fchmod": ("fd", "mode"),
    "fchmodat": ("dirfd", "filename", "mode"),
    "memfd_create": ("name", "flags"),
    "setuid": ("uid",),
    "setgid": ("gid",),
    "setreuid": ("ruid", "euid"),
    "setregid": ("rgid", "egid"),
    "setresuid": ("ruid", "euid", "suid"),
    "setresgid": ("rgid", "egid", "sgid"),
    "setsid": (),
    "setpgid": ("pid", "pgid"),
    "unshare": ("flags:clone",),
    "setns": ("fd", "nstype:clone"),
    "chdir": ("path",),
    "fchdir": ("fd",),
    "chroot": ("path",),
    "mount": ("dev", "dir", "type", "flags:mount", None),
    "umount2": ("name", "flags"),
    "kill": ("pid", "sig"),
    "userfaultfd": ("flags",),
}


# PPM flags → Linux flags: few distinct values in a capture, each converted once
_open_to_linux: Final = functools.lru_cache(maxsize=4096)(convert.open_flags_to_linux)
_clone_to_linux: Final = functools.lru_cache(maxsize=4096)(convert.clone_flags_to_linux)
_mount_to_linux: Final = functools.lru_cache(maxsize=4096)(convert.mount_flags_to_linux)


def _cloexec_to_linux(n: int) -> int:
    return convert.O_CLOEXEC if n & _PPM_O_CLOEXEC else 0


_CONVERSIONS: Final[dict[str, Callable[[int], int]]] = {
    "open": _open_to_linux,
    "clone": _clone_to_linux,
    "mount": _mount_to_linux,
    "cloexec": _cloexec_to_linux,
}


#: a syscall's plan: its integer arguments (index, capture parameter, conversion) and its
#: other arguments (index, kind, capture parameter; empty: none), which become blobs
_Plan = tuple[
    tuple[tuple[int, str, Callable[[int], int] | None], ...],
    tuple[tuple[int, int, str], ...],
]


def _make_plan(spec: SyscallSpec) -> _Plan:
    """Per argument of the probe's spec: the capture parameter it comes from (empty: none,
    the register is 0 or the blob empty) and, for an integer, the conversion of its value
    (:data:`_REGS`)."""
    regs = _REGS.get(spec.name, ())
    ints, blobs = [], []
    for i, kind in enumerate(spec.args):
        src = regs[i] if i < len(regs) else None
        key, _, conv = (src or "").partition(":")
        if kind == L.ARG_INT:
            if key:
                ints.append((i, key, _CONVERSIONS[conv] if conv else None))
        else:
            blobs.append((i, kind, key))
    return tuple(ints), tuple(blobs)


#: each syscall's plan, by name (read once per syscall, not per record)
_PLANS: Final[dict[str, _Plan]] = {name: _make_plan(spec) for name, spec in _BY_NAME.items()}
#: per event type number: the probe's spec when its events always become that syscall's
#: record (an exit of a syscall the probe captures, other than an exec: a successful exec
#: is a process record)
_SPECS: Final[tuple[SyscallSpec | None, ...]] = tuple(
    _BY_NAME.get(e.name) if e.direction == "<" and e.name not in _EXEC_NR else None for e in EVENTS
)


def stands_alone(info: EventInfo) -> bool:
    """Whether an event is evaluated by itself: an exit, or an enter event that has no exit
    (``procexit``, ``signaldeliver``, ...); internal events (``procinfo``) never are."""
    if info.category & _EC_INTERNAL:
        return False
    if info.direction == "<":
        return True
    nxt = info.code + 1
    return nxt >= len(EVENTS) or EVENTS[nxt].name == "NA"


def _blob(b: bytes) -> bytes:
    b = b[: L.ARGS_MAX]
    return struct.pack("<H", len(b)) + b


def _text(v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape")
    if isinstance(v, bytes):
        return v
    return b""


def _linux_sockaddr(v: Any) -> bytes:
    """A PPM sockaddr (family, address, port) as the Linux ``struct sockaddr`` the probe copies."""
    if not isinstance(v, tuple):
        return b""
    fam, addr, port = v
    if fam == 2 and addr:
        return struct.pack("<H", 2) + struct.pack(">H", port) + _socket.inet_aton(addr) + bytes(8)
    if fam == 10 and addr:
        raw = _socket.inet_pton(_socket.AF_INET6, addr)
        return struct.pack("<H", 10) + struct.pack(">HI", port, 0) + raw + bytes(4)
    if fam == 1:
        return struct.pack("<H", 1) + _text(addr) + b"\0"
    return struct.pack("<H", fam)


def _file(*fields: Any, path: bytes = b"") -> FileInfo:
    """An ``se_file`` section as the record's decoder gives it (``L.FILE`` checks the
    fields' widths, the path is cut at ``ARGS_MAX``)."""
    raw = L.FILE.unpack(L.FILE.pack(*fields))
    return FileInfo(raw, path[: L.ARGS_MAX].decode("utf-8", "surrogateescape"))


def _int(v: Any) -> int:
    return v if isinstance(v, int) else 0


def _as_u64(v: int) -> int:
    return v & 0xFFFFFFFFFFFFFFFF


def _pick_cgroup(raw: Any) -> str:
    """The process's cgroup path out of the capture's ``subsys=path`` list, as the probe
    picks one: the unified (v2, empty subsystem) line first, then the first non-root."""
    items = [x for x in _text(raw).decode("utf-8", "surrogateescape").split("\0") if x]
    pairs = [x.partition("=") for x in items]
    pairs.sort(key=lambda p: p[0] != "")
    for _sub, _eq, path in pairs:
        if path not in ("", "/"):
            return path
    return "/"


def _make_socket_file(tup: Any, inbound: bool, stream: bool) -> FileInfo:
    """:meth:`RecordBuilder._socket_file`, made."""
    if isinstance(tup, tuple) and tup[0] in (2, 10):
        fam, sip, sport, dip, dport = tup
        if inbound:
            sip, sport, dip, dport = dip, dport, sip, sport
        conv = _socket.AF_INET if fam == 2 else _socket.AF_INET6
        la = _socket.inet_pton(conv, sip).ljust(16, b"\0")
        ra = _socket.inet_pton(conv, dip).ljust(16, b"\0")
        stype, proto = (_socket.SOCK_STREAM, 6) if stream else (0, 0)
        return _file(_S_IFSOCK, 0, 0, 0, fam, stype, proto, sport, dport, 0, la, ra)
    if isinstance(tup, tuple) and tup[0] == 1:
        z = bytes(16)
        return _file(_S_IFSOCK, 0, 0, 0, 1, 0, 0, 0, 0, 0, z, z, path=_text(tup[3]))
    return _file(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, bytes(16), bytes(16))


def _open_file(flags: int, dev: int, ino: int) -> FileInfo:
    """The ``se_file`` of the file an open made, from its PPM flags, device and inode."""
    linux = _open_to_linux(flags)
    mode = _S_IFDIR if linux & _O_DIRECTORY else _S_IFREG
    fmode = convert.FMODE_CREATED if flags & _PPM_O_F_CREATED else 0
    return _file(mode, dev & _U32, ino & _U64, fmode, 0, 0, 0, 0, 0, 0, bytes(16), bytes(16))


#: the sections the builder made, by what they were made of: a capture repeats a few
#: sockets and files, and nothing changes a record's sections once built (bounded)
_SECTIONS: Final[dict[tuple[Any, ...], FileInfo]] = {}
_MAX_SECTIONS: Final = 4096


def _kept(key: tuple[Any, ...], make: Callable[..., FileInfo]) -> FileInfo:
    """The section ``make(*key[1:])`` (``key[0]`` names the maker), made once."""
    f = _SECTIONS.get(key)
    if f is None:
        if len(_SECTIONS) >= _MAX_SECTIONS:
            _SECTIONS.clear()
        f = _SECTIONS[key] = make(*key[1:])
    return f


#: a syscall's record builder: (builder, ts, tid, pid, result, values, process) → record
_Builder = Callable[["RecordBuilder", int, int, int, int, dict[str, Any], "Process | None"], Rec]


def _arg_expr(i: int, kind: int, key: str, conv: Callable[[int], int] | None) -> str:
    """The source of argument ``i``'s value (:data:`_REGS`: its parameter and conversion)."""
    if kind == L.ARG_INT:
        if not key:
            return "0"
        n = f"(n if isinstance(n := get({key!r}), int) else 0)"
        return f"conv{i}({n}) & _U64" if conv is not None else f"{n} & _U64"
    if kind in (L.ARG_STR, L.ARG_BUF):
        return f"_text(get({key!r}))[:_ARGS_MAX]" if key else 'b""'
    if kind == L.ARG_SOCKADDR:
        return f"_linux_sockaddr(get({key!r}))[:_ARGS_MAX]" if key else 'b""'
    if kind == L.ARG_INT2 and key == "fds":
        # a capture's fd is 64 bits; the record's, as the kernel's, 32
        return '_pack_fds(_int(get("fd1", -1)) & _U32, _int(get("fd2", -1)) & _U32)'
    if kind == L.ARG_OPENHOW:
        return (
            '_pack_how(_open_to_linux(_int(get("flags"))), _int(get("mode")), '
            '_int(get("resolve")))[:_ARGS_MAX]'
        )
    return 'b""'


def _compile_builder(spec: SyscallSpec) -> _Builder:
    """The builder of ``spec``'s records, written out for its arguments and sections: each
    argument read from its capture parameter (:data:`_REGS`) and converted, each blob made,
    each section the spec asks for built, with no loop over the spec and no test of what is
    known when the syscall is (the replay's hottest step after decoding)."""
    env: dict[str, Any] = {
        "Rec": Rec,
        "Sections": Sections,
        "spec": spec,
        "isinstance": isinstance,
        "int": int,
        "_U32": _U32,
        "_U64": _U64,
        "_ARGS_MAX": L.ARGS_MAX,
        "_text": _text,
        "_int": _int,
        "_linux_sockaddr": _linux_sockaddr,
        "_pack_fds": struct.Struct("<II").pack,
        "_pack_how": L.OPEN_HOW.pack,
        "_open_to_linux": _open_to_linux,
        "_creds_unpack": L.CREDS.unpack,
        "_ns": L.NS,
    }
    name, extras = spec.name, spec.extras
    lines = ["def build(self, ts, tid, pid, res, values, proc):"]
    if name in ("accept", "accept4"):
        lines.append('    values = dict(values, fd_in=values.get("fd_in", -1))')
    lines.append("    get = values.get")
    args, blobs = ["0"] * L.NARGS, []
    ints, others = _PLANS[name]
    for i, key, conv in ints:
        if conv is not None:
            env[f"conv{i}"] = conv
        args[i] = f"a{i}"
        lines.append(f"    a{i} = {_arg_expr(i, L.ARG_INT, key, conv)}")
    for i, kind, key in others:
        blobs.append(f"{i}: {_arg_expr(i, kind, key, None)}")
    lines.append("    sec = Sections()")
    lines.append(f"    sec.blobs = {{{', '.join(blobs)}}}")
    if not extras & _NEEDS_PROC:
        lines.append("    proc = None")
    if extras & L.X_FILE_ARG0:
        lines.append(f"    sec.file0 = self._file_arg0({name!r}, values)")
    if extras & L.X_FILE_RES:
        lines.append(f"    sec.fileres = self._file_res({name!r}, values)")
    if extras & L.X_CREDS:
        lines.append(f"    sec.creds = _creds_unpack(self._creds({name!r}, res, values, proc))")
    if extras & L.X_CWD:
        lines.append(
            f"    sec.cwd = _text(self._cwd({name!r}, values, proc))[:_ARGS_MAX]"
            '.decode("utf-8", "surrogateescape")'
        )
    if extras & (L.X_NL_BUF | L.X_NL_MSG):
        lines.append('    sec.nlhead = b""')
    if extras & L.X_NS:
        lines.append(
            "    sec.ns = _ns.unpack(_ns.pack(*(proc.ns if proc is not None else (0, 0, 0, 0))))"
        )
    lines += [
        "    rec = Rec.__new__(Rec)",
        "    rec.ts = ts & _U64",
        "    rec.tid = tid & _U32",
        "    rec.pid = pid & _U32",
        f"    rec.nr = {spec.nr}",
        f"    rec.evt = {L.EVT_SYSCALL}",
        "    rec.flags = 0",
        "    r = res & _U64",
        "    rec.res = r - (1 << 64) if r >> 63 else r",
        f"    rec.args = ({', '.join(args)},)",
        '    rec.data = b""  # its sections are decoded already',
        "    rec.spec = spec",
        f"    rec.name = {name!r}",
        "    rec._sec = sec",
        "    rec._params = None",
        "    return rec",
    ]
    exec(compile("\n".join(lines), f"<capture record builder {name}>", "exec"), env)  # noqa: S102
    fn: _Builder = env["build"]
    return fn


#: each syscall's compiled record builder, made on first use
_BUILDERS: Final[dict[str, _Builder]] = {}


def _builder(spec: SyscallSpec) -> _Builder:
    """``spec``'s record builder, compiled now (:data:`_BUILDERS` keeps it)."""
    build = _BUILDERS[spec.name] = _compile_builder(spec)
    return build


class RecordBuilder:
    """Scap events in, probe records out, with the capture's own bookkeeping:
    which process a thread belongs to, and each thread's pending enter event.

    ``procs`` is the tracker's process table (read, never changed here: the
    tracker changes it when it applies the records built).
    """

    def __init__(self, procs: Any) -> None:
        self.procs = procs
        #: thread id → thread group id (bounded; the oldest forgotten first)
        self.tgid: OrderedDict[int, int] = OrderedDict()
        #: thread id → its enter event's table entry, parameter bytes and their lengths,
        #: until the exit (decoded then, and only if the exit lacks some of them)
        #: (a plain dict: it keeps the order of insertion, and a thread's new enter goes last)
        self.pending: dict[int, tuple[EventInfo, bytes, tuple[int, ...]]] = {}

    # -- bookkeeping ------------------------------------------------------------------
    def note_thread(self, tid: int, pid: int) -> None:
        tg = self.tgid
        tg[tid] = pid
        if len(tg) > _MAX_THREADS:
            tg.popitem(last=False)

    def pid_of(self, tid: int) -> int:
        return self.tgid.get(tid, tid)

    def enter(self, tid: int, info: EventInfo, raw: bytes, lens: tuple[int, ...]) -> None:
        """Keep an enter event's parameters for its exit (a thread has one at a time)."""
        p = self.pending
        p.pop(tid, None)
        p[tid] = (info, raw, lens)
        if len(p) > _MAX_PENDING:
            del p[next(iter(p))]  # the oldest

    # -- records ----------------------------------------------------------------------
    def build(
        self,
        ts: int,
        tid: int,
        info: EventInfo,
        values: dict[str, Any],
        res: int,
        proc: Process | None,
    ) -> Rec:
        """The probe record for a stand-alone event of thread ``tid`` at ``ts`` (``values``
        merged with its enter's; ``res`` its result, 0 when it has none), decoded; ``proc``
        is the thread's process in the table, which the caller has just looked up."""
        spec = _SPECS[info.code]
        if spec is not None:  # the common case: a syscall the probe has a spec for
            build = _BUILDERS.get(spec.name) or _builder(spec)
            return build(self, ts, tid, self.tgid.get(tid, tid), res, values, proc)
        name = info.name
        if name in _EXEC_NR and info.direction == "<" and _int(values.get("res", -1)) == 0:
            return Rec(self._exec(ts, tid, name, values), 0)
        if name in _CLONE_NR and info.direction == "<" and _int(values.get("res", -1)) == 0:
            return Rec(self._clone(ts, tid, name, values), 0)
        pid = self.pid_of(tid)
        if name == "procexit":
            self.tgid.pop(tid, None)
            status = _int(values.get("status", 0))
            return Rec(_hdr(ts, tid, pid, 0, L.EVT_EXIT, 0, (status, int(pid == tid))), 0)
        spec = _BY_NAME.get(name) if info.direction == "<" else None
        if spec is None or name in ("execve", "execveat") and res == 0:
            return Rec(_hdr(ts, tid, pid, NO_SPEC_NR, L.EVT_SYSCALL, res), 0)
        return self._syscall(ts, tid, spec, pid, res, values, proc)

    def _syscall(
        self,
        ts: int,
        tid: int,
        spec: SyscallSpec,
        pid: int,
        res: int,
        values: dict[str, Any],
        proc: Process | None,
    ) -> Rec:
        """The record of a syscall the probe has a spec for, decoded: what ``Rec(data)``
        of the bytes the probe would write gives, built without the bytes (the header's
        fields wrapped to their widths, each blob cut at ``ARGS_MAX``), by the syscall's
        compiled builder (:func:`_compile_builder`)."""
        build = _BUILDERS.get(spec.name) or _builder(spec)
        return build(self, ts, tid, pid, res, values, proc)

    # -- sections -----------------------------------------------------------------------
    @staticmethod
    def _socket_file(tup: Any, inbound: bool = False, stream: bool = False) -> FileInfo:
        """An ``se_file`` of a socket from a capture's tuple (source → destination; for an
        ``inbound`` receive or accept the destination is the local end). The protocol is
        left unknown (the socket's own stays) unless the call is one only ``stream`` (TCP)
        sockets make."""
        if isinstance(tup, tuple) and tup[0] in (2, 10):  # a few addresses, each small
            return _kept(("socket", tup, inbound, stream), _make_socket_file)
        return _make_socket_file(tup, inbound, stream)  # a unix path can be long: not kept

    def _file_arg0(self, name: str, values: dict[str, Any]) -> FileInfo:
        # the driver writes a receive's tuple from the peer's side (is_inbound)
        return self._socket_file(values.get("tuple"), inbound=name in ("recvfrom", "recvmsg"))

    def _file_res(self, name: str, values: dict[str, Any]) -> FileInfo:
        if name in ("accept", "accept4"):
            return self._socket_file(values.get("tuple"), inbound=True, stream=True)
        get = values.get
        flags, dev, ino = get("flags"), get("dev"), get("ino")
        return _kept(
            (
                "open",
                flags if isinstance(flags, int) else 0,
                dev if isinstance(dev, int) else 0,
                ino if isinstance(ino, int) else 0,
            ),
            _open_file,
        )

    @staticmethod
    def _creds(name: str, res: int, values: dict[str, Any], proc: Process | None) -> bytes:
        if proc is None:
            return L.CREDS.pack(0, 0, 0, 0, 0, 0, 0xFFFFFFFF, 0, 0, 0, 0)
        uid, gid, euid, egid = proc.uid, proc.gid, proc.euid, proc.egid
        ci, cp, ce = proc.cap_inheritable, proc.cap_permitted, proc.cap_effective
        if res >= 0:
            if name == "setuid":
                uid = euid = _int(values.get("uid"))
            elif name == "setgid":
                gid = egid = _int(values.get("gid"))
            elif name in ("setreuid", "setresuid"):
                uid, euid = _keep(values.get("ruid"), uid), _keep(values.get("euid"), euid)
            elif name in ("setregid", "setresgid"):
                gid, egid = _keep(values.get("rgid"), gid), _keep(values.get("egid"), egid)
            elif name == "capset":
                ci = _int(values.get("cap_inheritable", ci))
                cp = _int(values.get("cap_permitted", cp))
                ce = _int(values.get("cap_effective", ce))
        return _pack_wrapped(
            L.CREDS, uid, gid, euid, egid, euid, egid, proc.loginuid, 0, ci, cp, ce
        )

    @staticmethod
    def _cwd(name: str, values: dict[str, Any], proc: Process | None) -> str:
        if proc is None:
            return ""
        if name == "fchdir":
            info = proc.fds.get(_int(values.get("fd", -1)))
            return info.name if info is not None else proc.cwd
        return resolve_path(_text(values.get("path")).decode("utf-8", "surrogateescape"), proc.cwd)

    # -- process records ----------------------------------------------------------------
    def _proc_section(
        self, values: dict[str, Any], proc: Process | None, flags: int, ptid: int
    ) -> bytes:
        def get(key: str, default: int) -> int:
            v = values.get(key)
            return v if isinstance(v, int) else default

        # a process the capture never described has no known user (libsinsp: -1)
        uid = get("uid", proc.uid if proc is not None else 0xFFFFFFFF)
        gid = get("gid", proc.gid if proc is not None else 0xFFFFFFFF)
        euid = proc.euid if proc is not None and "uid" not in values else uid
        egid = proc.egid if proc is not None and "gid" not in values else gid
        return _pack_wrapped(
            L.PROC,
            ptid,
            (proc.sid if proc is not None else 0) & 0xFFFFFFFF,
            get("pgid", proc.pgid if proc is not None else 0) & 0xFFFFFFFF,
            get("vpgid", proc.vpgid if proc is not None else 0) & 0xFFFFFFFF,
            get("vpid", proc.vpid if proc is not None else 0) & 0xFFFFFFFF,
            get("vtid", 0) & 0xFFFFFFFF,
            get("tty", proc.tty if proc is not None else 0) & 0xFFFFFFFF,
            flags & 0xFFFFFFFF,
            get("exe_ino", 0),
            get("exe_ino_ctime", 0),
            get("exe_ino_mtime", 0),
            proc.start_ts if proc is not None else 0,
            get("pidns_init_start_ts", 0),
            _as_u64(get("fdlimit", proc.fdlimit if proc is not None else 0)),
            uid,
            gid,
            euid,
            egid,
            euid,
            egid,
            get("loginuid", proc.loginuid if proc is not None else 0xFFFFFFFF) & 0xFFFFFFFF,
            0,
            get("cap_inheritable", proc.cap_inheritable if proc is not None else 0),
            get("cap_permitted", proc.cap_permitted if proc is not None else 0),
            get("cap_effective", proc.cap_effective if proc is not None else 0),
            proc.exe_mode if proc is not None else 0,
            proc.exe_uid if proc is not None else 0,
            proc.exe_gid if proc is not None else 0,
            0,
            *(proc.ns if proc is not None else (0, 0, 0, 0)),
        )

    def _exec(self, ts: int, tid: int, name: str, values: dict[str, Any]) -> bytes:
        pid = _int(values.get("pid", self.pid_of(tid))) or self.pid_of(tid)
        self.note_thread(tid, pid)
        proc = self.procs.peek(pid)
        exe = _text(values.get("exe"))
        args = _text(values.get("args"))
        argv = exe + b"\0" + args if args else exe + b"\0"
        cwd = _text(values.get("cwd")) or _text(proc.cwd if proc is not None else "")
        filename = _text(values.get("filename") or values.get("pathname"))
        exepath = _text(values.get("trusted_exepath"))
        if not exepath:
            base = cwd.decode("utf-8", "surrogateescape")
            fn = filename.decode("utf-8", "surrogateescape")
            # no path to the file run: unknown (a bare argv[0] is no path), as sysdig leaves it
            exepath = _text(resolve_path(fn, base)) if fn else b""
        ptid = _int(values.get("ptid", proc.ptid if proc is not None else 0))
        section = self._proc_section(values, proc, _int(values.get("flags", 0)), ptid)
        blobs = (
            filename or exepath,
            argv,
            exepath,
            cwd,
            _text(values.get("comm")),
            _text(_pick_cgroup(values.get("cgroups"))) if "cgroups" in values else b"",
            _text(values.get("env")),
        )
        hdr = _hdr(ts, tid, pid, _EXEC_NR[name], L.EVT_EXEC)
        return hdr + section + b"".join(_blob(b) for b in blobs)

    def _clone(self, ts: int, tid: int, name: str, values: dict[str, Any]) -> bytes:
        pid = _int(values.get("pid", tid)) or tid
        self.note_thread(tid, pid)
        parent = self.procs.peek(_int(values.get("ptid", 0)))
        flags = convert.clone_flags_to_linux(_int(values.get("flags", 0)))
        section = self._proc_section(values, parent, flags, _int(values.get("ptid", 0)))
        hdr = _hdr(ts, tid, pid, _CLONE_NR[name], L.EVT_CLONE)
        return hdr + section + _blob(_text(values.get("comm")))


_U32: Final = 0xFFFFFFFF
_U64: Final = 0xFFFFFFFFFFFFFFFF


def _pack_wrapped(s: struct.Struct, *values: int) -> bytes:
    """``s.pack`` with every value wrapped to its field's width (a capture's numbers are not
    checked against the widths of the probe's structs)."""
    widths = _expand(s.format)
    return s.pack(*(v & ((1 << (8 * w)) - 1) for w, v in zip(widths, values, strict=True)))


def _expand(fmt: str) -> list[int]:
    sizes = {"B": 1, "H": 2, "I": 4, "Q": 8}
    widths: list[int] = []
    for count, code in re.findall(r"(\d*)([BHIQ])", fmt):
        widths.extend([sizes[code]] * int(count or 1))
    return widths


def _i64(v: int) -> int:
    v &= _U64
    return v - (1 << 64) if v >> 63 else v


def _hdr(ts: int, tid: int, pid: int, nr: int, evt: int, res: int = 0, args: Any = ()) -> bytes:
    """An ``se_hdr``; a capture's values wrap to the header's widths as the kernel's would."""
    regs = [a & _U64 for a in args] + [0] * (L.NARGS - len(args))
    return L.HDR.pack(ts & _U64, tid & _U32, pid & _U32, nr, evt, 0, 0, _i64(res), *regs)


def _keep(v: Any, old: int) -> int:
    """A set*id argument: -1 (0xFFFFFFFF) keeps the old id."""
    n = _int(v)
    return old if n in (-1, 0xFFFFFFFF) or v is None else n


def decoded(info: EventInfo, params: list[bytes]) -> dict[str, Any]:
    """An event's parameters by name, decoded by their table types."""
    return {p.name: param_value(p.type, raw) for p, raw in zip(info.params, params, strict=False)}
