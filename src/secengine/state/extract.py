"""Live field values: :class:`SyscallFieldValues`, computed on demand from a record and the state.

A live event's ``fields`` holds only ``evt.type`` (the engine indexes on
it); every other key is computed the first time a rule or an output reads
it, by ``__missing__``, and cached in the dict, so each field costs one call
per event at most. A key is parsed once per process into (extractor,
argument) and memoised (:func:`_resolve`); an extractor is a plain function
``(values, arg) -> value | MISSING`` returning the declared type of its
field (strings, ints, bools, lists for ``proc.aname`` without an index).

Keys with no extractor here fall back to the field registry's derivers
(:class:`secengine.events.FieldValues`), which compute fields such as
``fd.directory`` from the ones below.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from secengine.bpf import layout as L
from secengine.bpf.syscalls import BY_NR
from secengine.events import MISSING, FieldExtractionError, FieldValues
from secengine.state.caps import render_caps
from secengine.state.containers import HOST
from secengine.state.convert import FMODE_CREATED as _FMODE_CREATED
from secengine.state.convert import open_flags as _ppm_open_flags
from secengine.state.decode import event_params, flood_section, param_defs

if TYPE_CHECKING:  # pragma: no cover
    from secengine.state.decode import Rec
    from secengine.state.fds import FdInfo
    from secengine.state.threads import Process
    from secengine.state.tracker import StateTracker

__all__ = ["EXTRACTORS", "SyscallFieldValues", "render_param"]

Extractor = Callable[["SyscallFieldValues", "str | None"], Any]

_OPEN_TYPES: Final = frozenset({"open", "openat", "openat2"})
_NO_UID: Final = 0xFFFFFFFF


class SyscallFieldValues(FieldValues):
    """Field values of one live syscall event."""

    __slots__ = ("rec", "proc", "fdnum", "fd", "name_changed", "tracker")

    def __init__(self, rec: Rec, proc: Process | None, fdnum: int, fd: FdInfo | None,
                 name_changed: bool, tracker: StateTracker) -> None:
        dict.__init__(self)
        self["evt.type"] = rec.name
        self.rec = rec
        self.proc = proc
        self.fdnum = fdnum
        self.fd = fd
        self.name_changed = name_changed
        self.tracker = tracker

    def __missing__(self, key: str) -> Any:
        resolved = _RESOLVED.get(key)
        if resolved is None:
            resolved = _resolve(key)
        fn, arg = resolved
        if fn is None:
            return FieldValues.__missing__(self, key)
        try:
            value = fn(self, arg)
        except Exception as e:  # counted by the engine, never a silent no-match
            raise FieldExtractionError(key, e) from e
        if value is not MISSING:
            self[key] = value
        return value

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        # compiled rules read through ``get``; a cached value is one C-level lookup
        value = _dict_get(self, key, _ABSENT)
        if value is _ABSENT:
            value = self.__missing__(key)
        return default if value is MISSING else value


_ABSENT: Final = object()
_dict_get: Final = dict.get
_RESOLVED: dict[str, tuple[Extractor | None, str | None]] = {}
_KEY: Final = re.compile(r"([a-z0-9_.]+?)(?:\[(.*)\])?")


def _resolve(key: str) -> tuple[Extractor | None, str | None]:
    m = _KEY.fullmatch(key)
    out: tuple[Extractor | None, str | None] = (None, None)
    if m is not None:
        base, arg = m.group(1), m.group(2)
        fn = EXTRACTORS.get(base)
        if fn is not None:
            out = (fn, arg)
        else:
            for prefix in ("evt.arg.", "evt.rawarg."):
                if base.startswith(prefix) and arg is None:
                    out = (EXTRACTORS[prefix[:-1]], base[len(prefix):])
                    break
    _RESOLVED[key] = out
    return out


# ---------------------------------------------------------------------------
# evt
# ---------------------------------------------------------------------------

def _res_value(v: SyscallFieldValues) -> int | None:
    rec = v.rec
    return None if rec.evt == 4 else rec.res


def _evt_res(v: SyscallFieldValues, arg: str | None) -> Any:
    res = _res_value(v)
    if res is None:
        return MISSING
    if res >= 0:
        return "SUCCESS"
    from secengine.fields.evt import errno_name
    return errno_name(res)


def _evt_rawres(v: SyscallFieldValues, arg: str | None) -> Any:
    res = _res_value(v)
    return MISSING if res is None else res


def _evt_failed(v: SyscallFieldValues, arg: str | None) -> Any:
    res = _res_value(v)
    return False if res is None else res < 0


def _params(v: SyscallFieldValues) -> dict[str, Any]:
    return event_params(v.rec, _proc_params(v))


def _proc_params(v: SyscallFieldValues) -> Callable[[Rec], dict[str, Any]]:
    def build(rec: Rec) -> dict[str, Any]:
        p = v.proc
        if p is None:
            return {}
        values: dict[str, Any] = {
            "res": rec.res if rec.name != "procexit" else 0, "exe": p.exe,
            "args": "\0".join(p.args), "tid": rec.tid, "pid": rec.pid, "ptid": p.ptid,
            "cwd": p.cwd, "fdlimit": p.fdlimit, "comm": p.comm, "cgroups": p.cgroup,
            "tty": p.tty, "vpgid": p.vpgid, "loginuid": p.loginuid, "flags": p.exe_flags,
            "cap_inheritable": p.cap_inheritable, "cap_permitted": p.cap_permitted,
            "cap_effective": p.cap_effective, "exe_ino": p.exe_ino,
            "exe_ino_ctime": p.exe_ctime, "exe_ino_mtime": p.exe_mtime, "uid": p.uid,
            "trusted_exepath": p.exepath, "pgid": p.pgid, "gid": p.gid, "vpid": p.vpid,
            "status": rec.args[0] if rec.name == "procexit" else 0,
        }
        if rec.name in ("clone", "fork", "vfork", "clone3"):
            from secengine.bpf.layout import PROC
            from secengine.state.convert import clone_flags
            values["flags"] = clone_flags(PROC.unpack_from(rec.data, 80)[7])
        return {name: values[name] for name, *_ in param_defs(rec.name) if name in values}
    return build


def render_param(v: SyscallFieldValues, pname: str, ptype: str, fmt: str, info: Any,
                 value: Any) -> str:
    """A parameter as ``evt.arg.NAME`` shows it (libsinsp ``get_param_as_str``)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).replace(b"\0", b" ").decode("utf-8", "replace").rstrip()
    if isinstance(value, str):
        if pname == "args" and ptype == "BYTEBUF":
            return value.replace("\0", " ")
        return value
    if not isinstance(value, int):
        return str(value)
    if ptype == "ERRNO" or (pname in ("res", "fd") and value < 0):
        if value < 0:
            from secengine.fields.evt import errno_name
            return errno_name(value)
        return str(value)
    if isinstance(info, str) and (ptype.startswith(("FLAGS", "ENUMFLAGS")) or ptype == "MODE"):
        from secengine.fields.flags import render_flags
        text = render_flags(info, value)
        return text if text else str(value)
    if ptype == "UID":
        if value == _NO_UID or value == -1:
            return "-1"
        acct = _user_db(v).user(value)
        return acct.name if acct is not None else str(value)
    if ptype == "GID":
        name = _user_db(v).group(value)
        return name if name is not None else str(value)
    if ptype == "FD" and value >= 0 and v.proc is not None:
        fd = v.proc.fds.get(value)
        if fd is not None and fd.name:
            return f"{value}(<{fd.typechar}>{fd.name})"
        return str(value)
    if fmt == "OCT":
        return "0" + format(value, "o") if value else "0"
    if fmt == "HEX":
        return hex(value)
    return str(value)


def _evt_arg(v: SyscallFieldValues, arg: str | None) -> Any:
    if arg is None:
        return MISSING
    params = _params(v)
    defs = param_defs(v.rec.name)
    if arg.isdigit():
        i = int(arg)
        if i >= len(defs):
            return MISSING
        d = defs[i]
    else:
        for d in defs:
            if d[0] == arg:
                break
        else:
            return MISSING
    if d[0] not in params:
        return MISSING
    return render_param(v, d[0], d[1], d[2], d[3], params[d[0]])


def _evt_rawarg(v: SyscallFieldValues, arg: str | None) -> Any:
    if arg is None:
        return MISSING
    value = _params(v).get(arg, MISSING)
    if isinstance(value, str) and any(d[0] == arg and d[1] == "BYTEBUF"
                                      for d in param_defs(v.rec.name)):
        return value.encode("utf-8", "surrogateescape")
    return value


def _evt_args(v: SyscallFieldValues, arg: str | None) -> Any:
    params = _params(v)
    return " ".join(f"{d[0]}={render_param(v, *d, params[d[0]])}"
                    for d in param_defs(v.rec.name) if d[0] in params)


_OPEN_FLAGS_ARG: Final = {"open": 1, "openat": 2}


def _open_flags_ppm(v: SyscallFieldValues) -> int | None:
    """The PPM open flags of an open/openat/openat2 event (with O_F_CREATED), else None."""
    rec = v.rec
    i = _OPEN_FLAGS_ARG.get(rec.name)
    if i is None:
        if rec.name != "openat2":
            return None
        flags = _params(v).get("flags")
        return flags if isinstance(flags, int) else None
    flags = _ppm_open_flags(rec.args[i] & 0xFFFFFFFF)
    f = rec.sec.fileres
    if f is not None and f.fmode & _FMODE_CREATED:
        flags |= 16384  # PPM_O_F_CREATED
    return flags


def _is_open_read(v: SyscallFieldValues, arg: str | None) -> Any:
    f = _open_flags_ppm(v)
    return False if f is None else bool(f & 1)


def _is_open_write(v: SyscallFieldValues, arg: str | None) -> Any:
    f = _open_flags_ppm(v)
    return False if f is None else bool(f & 2)


def _is_open_exec(v: SyscallFieldValues, arg: str | None) -> Any:
    name = v.rec.name
    params = _params(v) if name in _OPEN_TYPES or name == "creat" else {}
    mode = params.get("mode", 0)
    if name == "creat":
        return bool(mode & 0o111)
    f = _open_flags_ppm(v)
    if f is None or not f & (4 | 8192):
        return False
    return bool(mode & 0o111)


def _is_open_create(v: SyscallFieldValues, arg: str | None) -> Any:
    f = _open_flags_ppm(v)
    if f is None:
        return False
    return bool(f & 16384) or bool(f & 8192 and v.rec.res >= 0)


# ---------------------------------------------------------------------------
# proc / thread / user / group
# ---------------------------------------------------------------------------

def _p(attr: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else getattr(p, attr)
    return get


def _proc_args(v: SyscallFieldValues, arg: str | None) -> Any:
    p = v.proc
    return MISSING if p is None else " ".join(p.args)


def _proc_cmdline(v: SyscallFieldValues, arg: str | None) -> Any:
    p = v.proc
    return MISSING if p is None else p.cmdline


def _parent(v: SyscallFieldValues) -> Process | None:
    p = v.proc
    return None if p is None else v.tracker.procs.parent(p)


def _pp(attr: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        pp = _parent(v)
        if pp is None:
            return MISSING
        return pp.cmdline if attr == "cmdline" else getattr(pp, attr)
    return get


def _ancestor_field(attr: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        p = v.proc
        if p is None:
            return MISSING
        procs = v.tracker.procs
        if arg is None:
            values = [a.cmdline if attr == "cmdline" else getattr(a, attr)
                      for a in procs.ancestors(p)]
            return values if values else MISSING
        try:
            n = int(arg)
        except ValueError:
            return MISSING
        a = procs.ancestor(p, n)
        if a is None:
            return MISSING
        return a.cmdline if attr == "cmdline" else getattr(a, attr)
    return get


def _leader(attr: str, which: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        p = v.proc
        if p is None:
            return MISSING
        leader = v.tracker.procs.peek(getattr(p, which))
        return MISSING if leader is None else getattr(leader, attr)
    return get


def _duration(v: SyscallFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None or not p.start_ts:
        return MISSING
    return max(0, v.rec.ts - p.start_ts)


def _pduration(v: SyscallFieldValues, arg: str | None) -> Any:
    pp = _parent(v)
    if pp is None or not pp.start_ts:
        return MISSING
    return max(0, v.rec.ts - pp.start_ts)


def _exe_flag(bit: int) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else bool(p.exe_flags & bit)
    return get


def _ctime_duration(v: SyscallFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None or not p.exe_ctime or not p.start_ts:
        return MISSING
    return max(0, p.start_ts - p.exe_ctime)


def _caps(attr: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else render_caps(getattr(p, attr))
    return get


def _user_db(v: SyscallFieldValues) -> Any:
    p = v.proc
    users = v.tracker.users
    if p is None:
        return users.host
    return users.db(p.container_id, p.pid)


def _user_name(v: SyscallFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None:
        return MISSING
    acct = _user_db(v).user(p.uid)
    return acct.name if acct is not None else MISSING


def _user_attr(attr: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        p = v.proc
        if p is None:
            return MISSING
        acct = _user_db(v).user(p.uid)
        return MISSING if acct is None else getattr(acct, attr)
    return get


def _loginuid(v: SyscallFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None:
        return MISSING
    return -1 if p.loginuid == _NO_UID else p.loginuid


def _loginname(v: SyscallFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None or p.loginuid == _NO_UID:
        return MISSING
    acct = _user_db(v).user(p.loginuid)
    return acct.name if acct is not None else MISSING


def _group_name(v: SyscallFieldValues, arg: str | None) -> Any:
    p = v.proc
    if p is None:
        return MISSING
    name = _user_db(v).group(p.gid)
    return name if name is not None else MISSING


def _is_leader(which: str, vattr: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        p = v.proc
        return MISSING if p is None else getattr(p, which) == getattr(p, vattr)
    return get


# ---------------------------------------------------------------------------
# fd
# ---------------------------------------------------------------------------

def _fd_num(v: SyscallFieldValues, arg: str | None) -> Any:
    if v.fd is None and v.fdnum < 0 and v.rec.name not in _OPEN_TYPES | {"creat"}:
        return MISSING
    return v.fdnum


def _fd_attr(attr: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        fd = v.fd
        if fd is None:
            return MISSING
        value = getattr(fd, attr)
        return MISSING if value is None or value == "" else value
    return get


def _fd_typechar(v: SyscallFieldValues, arg: str | None) -> Any:
    fd = v.fd
    if fd is not None:
        return fd.typechar
    name = v.rec.name
    if name in _OPEN_TYPES or name == "creat":
        return "f"
    if name == "socket":
        return {2: "4", 10: "6", 1: "u"}.get(v.rec.arg(0), MISSING)
    return MISSING


def _fd_type(v: SyscallFieldValues, arg: str | None) -> Any:
    fd = v.fd
    return MISSING if fd is None else fd.type


def _sock_only(attr: str, port: bool = False) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        fd = v.fd
        if fd is None or fd.typechar not in ("4", "6"):
            return MISSING
        value = getattr(fd, attr)
        if port:
            return value
        return MISSING if value is None else value
    return get


def _both(a: str, b: str) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        fd = v.fd
        if fd is None or fd.typechar not in ("4", "6"):
            return MISSING
        out = [x for x in (getattr(fd, a), getattr(fd, b)) if x is not None]
        return out or MISSING
    return get


def _fd_sockfamily(v: SyscallFieldValues, arg: str | None) -> Any:
    fd = v.fd
    if fd is None:
        return MISSING
    return {"4": "ip", "6": "ip", "u": "unix"}.get(fd.typechar, MISSING)


def _fd_l4proto(v: SyscallFieldValues, arg: str | None) -> Any:
    fd = v.fd
    if fd is None or fd.typechar not in ("4", "6"):
        return MISSING
    return fd.l4proto or MISSING


def _fd_connected(v: SyscallFieldValues, arg: str | None) -> Any:
    fd = v.fd
    return MISSING if fd is None else fd.connected


def _fd_name_changed(v: SyscallFieldValues, arg: str | None) -> Any:
    return v.name_changed if v.fd is not None else MISSING


def _fd_path_part(which: str) -> Extractor:
    from secengine.fields.fd import fd_directory, fd_filename

    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        fd = v.fd
        if fd is None or fd.typechar not in ("f", "d") or not fd.name:
            return MISSING
        if which == "directory":
            return fd_directory(fd.name, is_directory=fd.typechar == "d")
        if fd.typechar == "d":
            return MISSING
        return fd_filename(fd.name)
    return get


def _no_value(v: SyscallFieldValues, arg: str | None) -> Any:
    return MISSING


# ---------------------------------------------------------------------------
# container / k8s
# ---------------------------------------------------------------------------

def _cid(v: SyscallFieldValues) -> str | None:
    p = v.proc
    return None if p is None else p.container_id


def _container(v: SyscallFieldValues) -> Any:
    cid = _cid(v)
    if cid is None or cid == HOST:
        return None
    return v.tracker.containers.get(cid)


def _container_id(v: SyscallFieldValues, arg: str | None) -> Any:
    cid = _cid(v)
    if cid is None:
        return MISSING
    return cid if cid == HOST else cid[:12]


def _container_full_id(v: SyscallFieldValues, arg: str | None) -> Any:
    cid = _cid(v)
    return MISSING if cid is None else cid


def _c(attr: str, host: Any = MISSING) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        cid = _cid(v)
        if cid is None:
            return MISSING
        if cid == HOST:
            return host
        info = v.tracker.containers.get(cid)
        if not info.resolved:
            return MISSING
        value = getattr(info, attr)
        return MISSING if value is None else value
    return get


def _c_mounts(v: SyscallFieldValues, arg: str | None) -> Any:
    info = _container(v)
    if info is None or not info.resolved:
        return MISSING
    return " ".join(f"{m.get('Source', '')}:{m.get('Destination', '')}:{m.get('Mode', '')}:"
                    f"{str(bool(m.get('RW', True))).lower()}:{m.get('Propagation', '')}"
                    for m in info.mounts)


def _c_mount_dest(v: SyscallFieldValues, arg: str | None) -> Any:
    """The destination of the mount whose source matches the glob ``arg`` (or number ``arg``);
    ``N/A`` when none does and ``<NA>`` while the metadata is not known, as libsinsp's container
    fields answer (the sandbox rules test ``not ... in ("<NA>","N/A")``)."""
    if arg is None or _cid(v) is None:
        return MISSING
    info = _container(v)
    if info is None or not info.resolved:
        return "<NA>"
    if arg.isdigit():
        i = int(arg)
        return info.mounts[i].get("Destination", "N/A") if i < len(info.mounts) else "N/A"
    for m in info.mounts:
        if fnmatch.fnmatchcase(m.get("Source", ""), arg):
            return m.get("Destination", "N/A")
    return "N/A"


def _c_label(prefix: str | None = None) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        info = _container(v)
        if info is None or not info.resolved:
            return MISSING
        key = prefix if prefix is not None else arg
        if key is None:
            return MISSING
        value = info.labels.get(key)
        return MISSING if value is None else value
    return get


def _c_duration(v: SyscallFieldValues, arg: str | None) -> Any:
    info = _container(v)
    if info is None or not info.resolved or not info.start_ts:
        return MISSING
    return max(0, v.rec.ts - info.start_ts)


# ---------------------------------------------------------------------------
# flood (secengine's flood events: a producer over its budget)
# ---------------------------------------------------------------------------

def _flood_arg(i: int) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        rec = v.rec
        return rec.args[i] if rec.evt == L.EVT_FLOOD else MISSING
    return get


def _flood_evttype(v: SyscallFieldValues, arg: str | None) -> Any:
    rec = v.rec
    if rec.evt != L.EVT_FLOOD:
        return MISSING
    spec = BY_NR.get(rec.nr)
    return spec.name if spec is not None else "syscall"


def _flood_class(v: SyscallFieldValues, arg: str | None) -> Any:
    rec = v.rec
    if rec.evt != L.EVT_FLOOD:
        return MISSING
    return "priority" if rec.args[3] == L.CLASS_PRIORITY else "bulk"


def _flood_text(i: int) -> Extractor:
    def get(v: SyscallFieldValues, arg: str | None) -> Any:
        rec = v.rec
        return flood_section(rec)[i] if rec.evt == L.EVT_FLOOD else MISSING
    return get


#: Field name (without argument) -> extractor.
EXTRACTORS: Final[dict[str, Extractor]] = {
    # evt
    "evt.res": _evt_res,
    "evt.rawres": _evt_rawres,
    "evt.failed": _evt_failed,
    "evt.dir": lambda v, a: "<",
    "evt.arg": _evt_arg,
    "evt.rawarg": _evt_rawarg,
    "evt.args": _evt_args,
    "evt.info": _evt_args,
    "evt.is_open_read": _is_open_read,
    "evt.is_open_write": _is_open_write,
    "evt.is_open_exec": _is_open_exec,
    "evt.is_open_create": _is_open_create,
    "evt.buffer": _no_value,
    "evt.count": lambda v, a: 1,
    # every record but a process exit is a syscall's (exec and clone records included)
    "syscall.type": lambda v, a: v.rec.name if v.rec.evt != 4 else MISSING,
    # proc / thread
    "proc.name": _p("comm"),
    "proc.exe": _p("exe"),
    "proc.exepath": _p("exepath"),
    "proc.args": _proc_args,
    "proc.cmdline": _proc_cmdline,
    "proc.cwd": _p("cwd"),
    "proc.tty": _p("tty"),
    "proc.pid": _p("pid"),
    "proc.ppid": _p("ptid"),
    "proc.vpid": _p("vpid"),
    "proc.sid": _p("sid"),
    "proc.pgid": _p("pgid"),
    "proc.vpgid": _p("vpgid"),
    "proc.env": lambda v, a: MISSING if v.proc is None else " ".join(v.proc.env),
    "proc.pname": _pp("comm"),
    "proc.pexe": _pp("exe"),
    "proc.pexepath": _pp("exepath"),
    "proc.pcmdline": _pp("cmdline"),
    "proc.pvpid": _pp("vpid"),
    "proc.aname": _ancestor_field("comm"),
    "proc.aexe": _ancestor_field("exe"),
    "proc.aexepath": _ancestor_field("exepath"),
    "proc.apid": _ancestor_field("pid"),
    "proc.acmdline": _ancestor_field("cmdline"),
    "proc.sname": _leader("comm", "sid"),
    "proc.sid.exe": _leader("exe", "sid"),
    "proc.sid.exepath": _leader("exepath", "sid"),
    "proc.vpgid.name": _leader("comm", "pgid"),
    "proc.vpgid.exe": _leader("exe", "pgid"),
    "proc.vpgid.exepath": _leader("exepath", "pgid"),
    "proc.pgid.name": _leader("comm", "pgid"),
    "proc.pgid.exe": _leader("exe", "pgid"),
    "proc.pgid.exepath": _leader("exepath", "pgid"),
    "proc.duration": _duration,
    "proc.ppid.duration": _pduration,
    "proc.is_exe_writable": _exe_flag(1),
    "proc.is_exe_upper_layer": _exe_flag(2),
    "proc.is_exe_from_memfd": _exe_flag(4),
    "proc.is_exe_lower_layer": _exe_flag(8),
    "proc.is_sid_leader": _is_leader("pid", "sid"),
    "proc.is_pgid_leader": _is_leader("pid", "pgid"),
    "proc.is_vpgid_leader": _is_leader("vpid", "vpgid"),
    "proc.exe_ino": _p("exe_ino"),
    "proc.exe_ino.ctime": _p("exe_ctime"),
    "proc.exe_ino.mtime": _p("exe_mtime"),
    "proc.exe_ino.ctime_duration_proc_start": _ctime_duration,
    "proc.pidns_init_start_ts": _p("pidns_init_start"),
    "proc.fdlimit": _p("fdlimit"),
    "proc.fdopencount": lambda v, a: MISSING if v.proc is None else len(v.proc.fds),
    "proc.is_container_healthcheck": lambda v, a: False,
    "proc.is_container_liveness_probe": lambda v, a: False,
    "proc.is_container_readiness_probe": lambda v, a: False,
    "thread.tid": lambda v, a: v.rec.tid,
    "thread.vtid": lambda v, a: v.rec.tid if v.proc is None or v.proc.vpid == v.proc.pid
    else MISSING,
    "thread.ismain": lambda v, a: v.rec.tid == v.rec.pid,
    "thread.cap_effective": _caps("cap_effective"),
    "thread.cap_permitted": _caps("cap_permitted"),
    "thread.cap_inheritable": _caps("cap_inheritable"),
    "thread.cgroups": _p("cgroup"),
    # user / group
    "user.uid": _p("uid"),
    "user.name": _user_name,
    "user.homedir": _user_attr("home"),
    "user.shell": _user_attr("shell"),
    "user.loginuid": _loginuid,
    "user.loginname": _loginname,
    "group.gid": _p("gid"),
    "group.name": _group_name,
    # fd
    "fd.num": _fd_num,
    "fd.type": _fd_type,
    "fd.typechar": _fd_typechar,
    "fd.name": _fd_attr("name"),
    "fd.nameraw": _fd_attr("nameraw"),
    "fd.directory": _fd_path_part("directory"),
    "fd.filename": _fd_path_part("filename"),
    "fd.cip": _sock_only("cip"),
    "fd.sip": _sock_only("sip"),
    "fd.lip": _sock_only("lip"),
    "fd.rip": _sock_only("rip"),
    "fd.cport": _sock_only("cport", port=True),
    "fd.sport": _sock_only("sport", port=True),
    "fd.lport": _sock_only("lport", port=True),
    "fd.rport": _sock_only("rport", port=True),
    "fd.ip": _both("cip", "sip"),
    "fd.port": _both("cport", "sport"),
    "fd.net": _both("cip", "sip"),
    "fd.cnet": _sock_only("cip"),
    "fd.snet": _sock_only("sip"),
    "fd.lnet": _sock_only("lip"),
    "fd.rnet": _sock_only("rip"),
    "fd.l4proto": _fd_l4proto,
    "fd.sockfamily": _fd_sockfamily,
    "fd.is_server": lambda v, a: MISSING if v.fd is None else v.fd.is_server,
    "fd.connected": _fd_connected,
    "fd.name_changed": _fd_name_changed,
    "fd.dev": lambda v, a: MISSING if v.fd is None else v.fd.dev,
    "fd.ino": lambda v, a: MISSING if v.fd is None else v.fd.ino,
    # the driver's device numbers are the kernel's dev_t: major << 20 | minor
    "fd.dev.major": lambda v, a: MISSING if v.fd is None else v.fd.dev >> 20,
    "fd.dev.minor": lambda v, a: MISSING if v.fd is None else v.fd.dev & 0xFFFFF,
    "fd.cip.name": _no_value,
    "fd.sip.name": _no_value,
    "fd.lip.name": _no_value,
    "fd.rip.name": _no_value,
    # container / k8s
    "container.id": _container_id,
    "container.full_id": _container_full_id,
    "container.name": _c("name", host=HOST),
    "container.type": _c("type", host=HOST),
    "container.image": _c("image"),
    "container.image.id": _c("image_id"),
    "container.image.repository": _c("image_repository"),
    "container.image.tag": _c("image_tag"),
    "container.image.digest": _c("image_digest"),
    "container.privileged": _c("privileged", host=False),
    "container.mounts": _c_mounts,
    "container.mount.dest": _c_mount_dest,
    "container.start_ts": _c("start_ts"),
    "container.duration": _c_duration,
    "container.label": _c_label(),
    "k8s.ns.name": _c_label("io.kubernetes.pod.namespace"),
    "k8s.pod.name": _c_label("io.kubernetes.pod.name"),
    "k8s.pod.uid": _c_label("io.kubernetes.pod.uid"),
    # flood
    "flood.count": _flood_arg(0),
    "flood.total": _flood_arg(1),
    "flood.admitted": _flood_arg(2),
    "flood.evttype": _flood_evttype,
    "flood.class": _flood_class,
    "flood.comm": _flood_text(0),
    "flood.cgroup": _flood_text(1),
}
