"""The probe's records as capture events: which event type each becomes, with what values.

The probe sends one record per syscall, at its exit, with the enter
arguments merged in (:mod:`secengine.state.decode`); a capture holds what the
kernel driver sends: an enter event and an exit event per syscall. Each
record becomes an enter event (one nanosecond before the exit: the record
has no enter time) and an exit event, each with every parameter of its
entry in the event table (:mod:`.eventtable`), valued from the same
parameters the live field extractors read (:func:`~secengine.state.decode.event_params`).

Only event types the libs of sysdig 0.29.3 know are written
(:mod:`._sysdig029`): older readers take the parameters their table has
and skip the ones appended since, so current Falco and that sysdig read the
same file. Where that libs had no event of its own for a syscall, the driver
of its time sent the nearest one (``dup2``/``dup3`` as ``dup``, ``pipe2``
as ``pipe``, ``accept4`` under the ``accept`` name, ``umount2`` as
``umount``) or a generic ``syscall`` event naming it by its ``ppm_sc``
number (a syscall that libs had no number for gets ``ppm_sc`` 0 and its
native number, by which current libs name it; sysdig 0.29.3 calls it
``unknown``); this writer does the same (:data:`EVENT_OF`, docs/capture-format.md).
``bpf`` is written as a generic event too: sysdig 0.29.3 crashes reading
``evt.res`` of its own ``bpf`` exit event (a ``res_or_fd`` and no ``fd``).

Exec records become the exec's enter (``filename``) and exit events with the
new process image; clone records the child's exit event of ``clone``/``fork``
/``vfork``/``clone3``; exit records ``procexit``. Flood records (secengine's
own) have no capture event and are counted in :attr:`ProbeEvents.skipped`.
(The ``ppm_sc`` numbers of 0.29.3's libs are the current ones: later libs only
appended.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from secengine.bpf import layout as L
from secengine.capture import _sysdig029
from secengine.capture.eventtable import EventInfo, codes_named
from secengine.capture.params import encode, nul_list, sockaddr, socktuple
from secengine.capture.writer import ScapWriter
from secengine.fields.live import ProcessView
from secengine.state.decode import FileInfo, Rec, event_params, proc_section, process_params

__all__ = ["EVENTS_PER_RECORD", "EVENT_OF", "ProbeEvents"]

#: How many capture events :meth:`ProbeEvents.write` writes for a record, by the record's
#: ``evt`` (a syscall, exec or kill record: enter and exit; clone and exit records: one; a
#: flood record: none). The live source numbers its events (``evt.num``) by these, so that a
#: capture of the run, read by sysdig or replayed, gives each event the live number.
EVENTS_PER_RECORD: Final = bytes(
    (0, 2, 2, 1, 1, 0, 2)  # 0, SYSCALL, EXEC, CLONE, EXIT, FLOOD, KILL
)

#: probe event type -> the ``PPME_*`` event pair (without ``_E``/``_X``) written for it.
#: Probe types missing here are written as generic ``syscall`` events.
EVENT_OF: Final[dict[str, str]] = {
    "open": "PPME_SYSCALL_OPEN",
    "openat": "PPME_SYSCALL_OPENAT_2",
    "openat2": "PPME_SYSCALL_OPENAT2",
    "creat": "PPME_SYSCALL_CREAT",
    "close": "PPME_SYSCALL_CLOSE",
    "socket": "PPME_SOCKET_SOCKET",
    "socketpair": "PPME_SOCKET_SOCKETPAIR",
    "bind": "PPME_SOCKET_BIND",
    "connect": "PPME_SOCKET_CONNECT",
    "listen": "PPME_SOCKET_LISTEN",
    "accept": "PPME_SOCKET_ACCEPT_5",
    "accept4": "PPME_SOCKET_ACCEPT4_5",
    "sendto": "PPME_SOCKET_SENDTO",
    "sendmsg": "PPME_SOCKET_SENDMSG",
    "recvfrom": "PPME_SOCKET_RECVFROM",
    "recvmsg": "PPME_SOCKET_RECVMSG",
    "setsockopt": "PPME_SOCKET_SETSOCKOPT",
    "dup": "PPME_SYSCALL_DUP",
    "dup2": "PPME_SYSCALL_DUP",
    "dup3": "PPME_SYSCALL_DUP",
    "pipe": "PPME_SYSCALL_PIPE",
    "pipe2": "PPME_SYSCALL_PIPE",
    "execve": "PPME_SYSCALL_EXECVE_19",
    "execveat": "PPME_SYSCALL_EXECVEAT",
    "clone": "PPME_SYSCALL_CLONE_20",
    "fork": "PPME_SYSCALL_FORK_20",
    "vfork": "PPME_SYSCALL_VFORK_20",
    "clone3": "PPME_SYSCALL_CLONE3",
    "symlink": "PPME_SYSCALL_SYMLINK",
    "symlinkat": "PPME_SYSCALL_SYMLINKAT",
    "link": "PPME_SYSCALL_LINK_2",
    "linkat": "PPME_SYSCALL_LINKAT_2",
    "unlink": "PPME_SYSCALL_UNLINK_2",
    "unlinkat": "PPME_SYSCALL_UNLINKAT_2",
    "rename": "PPME_SYSCALL_RENAME",
    "renameat": "PPME_SYSCALL_RENAMEAT",
    "renameat2": "PPME_SYSCALL_RENAMEAT2",
    "mkdir": "PPME_SYSCALL_MKDIR_2",
    "mkdirat": "PPME_SYSCALL_MKDIRAT",
    "rmdir": "PPME_SYSCALL_RMDIR_2",
    "chmod": "PPME_SYSCALL_CHMOD",
    "fchmod": "PPME_SYSCALL_FCHMOD",
    "fchmodat": "PPME_SYSCALL_FCHMODAT",
    "ptrace": "PPME_SYSCALL_PTRACE",
    "setuid": "PPME_SYSCALL_SETUID",
    "setgid": "PPME_SYSCALL_SETGID",
    "setresuid": "PPME_SYSCALL_SETRESUID",
    "setresgid": "PPME_SYSCALL_SETRESGID",
    "setsid": "PPME_SYSCALL_SETSID",
    "setpgid": "PPME_SYSCALL_SETPGID",
    "unshare": "PPME_SYSCALL_UNSHARE",
    "setns": "PPME_SYSCALL_SETNS",
    "chdir": "PPME_SYSCALL_CHDIR",
    "fchdir": "PPME_SYSCALL_FCHDIR",
    "chroot": "PPME_SYSCALL_CHROOT",
    "userfaultfd": "PPME_SYSCALL_USERFAULTFD",
    "mount": "PPME_SYSCALL_MOUNT",
    "umount2": "PPME_SYSCALL_UMOUNT",
    "kill": "PPME_SYSCALL_KILL",
    "splice": "PPME_SYSCALL_SPLICE",
}

_EXEC_NAMES: Final = frozenset({"execve", "execveat"})
_CLONE_NAMES: Final = frozenset({"clone", "fork", "vfork", "clone3"})
#: the process-image parameters of exec and clone exits, as the driver sends them
_LISTS: Final = frozenset({"args", "env"})
_AT_FDCWD: Final = -100

Getter = Callable[[Rec, dict[str, Any]], Any]


def _known(info: EventInfo) -> EventInfo:
    """``info`` if the libs of sysdig 0.29.3 have that event number (else a ValueError)."""
    old = _sysdig029.EVENT_PARAMS.get(info.code)
    if old is None:
        raise ValueError(f"{info.enum} ({info.code}) is newer than sysdig 0.29.3's libs")
    return info


def _pair(prefix: str) -> tuple[EventInfo, EventInfo]:
    return _known(codes_named(prefix + "_E")), _known(codes_named(prefix + "_X"))


_GENERIC: Final = _pair("PPME_GENERIC")
_PROCEXIT: Final = _known(codes_named("PPME_PROCEXIT_1_E"))


#: calls whose tuple the driver writes from the peer's side (``is_inbound``: peer first)
_INBOUND: Final = frozenset({"accept", "accept4", "recvfrom", "recvmsg"})
#: calls whose tuple describes the fd they return (the others: the fd in argument 0)
_TUPLE_OF_RESULT: Final = frozenset({"accept", "accept4"})


def _file_tuple(f: FileInfo | None, inbound: bool) -> bytes:
    """The socket tuple of the probe's view of a socket, as the driver writes it: local end
    first, or the peer's first for an ``inbound`` call (accept, receives)."""
    if f is None or not f.family:
        return b""
    if f.family == 1:
        return socktuple(1, b"", 0, b"", 0, f.path)
    if inbound:
        return socktuple(f.family, f.raddr, f.rport, f.laddr, f.lport)
    return socktuple(f.family, f.laddr, f.lport, f.raddr, f.rport)


def _sockaddr_arg(rec: Rec) -> bytes:
    spec = rec.spec
    if spec is None:
        return b""
    for i, kind in enumerate(spec.args):
        if kind == L.ARG_SOCKADDR:
            return sockaddr(rec.sec.blobs.get(i, b""))
    return b""


def _dyn(rec: Rec, name: str, values: dict[str, Any]) -> bytes:
    """``PT_DYN`` values: an index byte saying the type, then the value."""
    if rec.name == "ptrace":
        return b"\0" + encode("UINT64", values.get(name, 0))
    if rec.name == "setsockopt":  # the value's bytes, type unknown (PPM_SOCKOPT_IDX_UNKNOWN)
        raw = values.get(name, b"")
        return b"\0" + (raw if isinstance(raw, bytes) else b"")
    return b""


class ProbeEvents:
    """Turns probe records (after the state applied them) into capture events."""

    def __init__(self, writer: ScapWriter) -> None:
        self.writer = writer
        #: records with no capture event (flood records, syscalls sysdig 0.29.3 cannot name)
        self.skipped = 0
        self._plans: dict[str, tuple[EventInfo, EventInfo] | None] = {}

    def _plan(self, name: str) -> tuple[EventInfo, EventInfo] | None:
        plan = self._plans.get(name, False)
        if plan is False:
            prefix = EVENT_OF.get(name)
            if prefix is not None:
                plan = _pair(prefix)
            else:
                plan = _GENERIC
            self._plans[name] = plan
        return plan  # type: ignore[return-value]

    def write(self, rec: Rec, proc: ProcessView | None) -> int:
        """Write the events of ``rec``; returns how many were written."""
        evt = rec.evt
        if evt == L.EVT_FLOOD:
            self.skipped += 1
            return 0
        if evt == L.EVT_EXIT:
            status = rec.args[0]
            self.writer.event(
                rec.ts,
                rec.tid,
                _PROCEXIT.code,
                self._params(
                    _PROCEXIT, rec, {"status": status, "ret": status >> 8, "sig": status & 0x7F}
                ),
            )
            return 1
        plan = self._plan(rec.name)
        if plan is None:
            self.skipped += 1
            return 0
        enter, exit_ = plan
        if evt == L.EVT_CLONE:
            values = self._process_values(rec, proc)
            values["res"] = 0  # the probe sees a new task in the child
            self.writer.event(rec.ts, rec.tid, exit_.code, self._params(exit_, rec, values))
            return 1
        if evt == L.EVT_EXEC or rec.name in _EXEC_NAMES:
            values = self._process_values(rec, proc)
            values["res"] = rec.res if evt == L.EVT_SYSCALL else 0
            filename = self._exec_filename(rec)
            values["filename"] = values["pathname"] = filename
            values.setdefault(
                "dirfd",
                rec.arg(0) if rec.name == "execveat" and evt == L.EVT_SYSCALL else _AT_FDCWD,
            )
        elif plan is _GENERIC:
            # a syscall 0.29.3 has no ppm_sc for: ID 0 (unknown) and its number, which current
            # libs name it by (for a native syscall: an ia32 number would name another one)
            sc = _sysdig029.PPM_SC.get(rec.name, 0)
            values = {"ID": sc, "nativeID": 0 if rec.is_compat else rec.nr}
        else:
            values = dict(event_params(rec, proc))
            if rec.name.startswith("dup"):
                values["fd"] = rec.arg(0)
        w = self.writer
        w.event(max(rec.ts - 1, 0), rec.tid, enter.code, self._params(enter, rec, values))
        w.event(rec.ts, rec.tid, exit_.code, self._params(exit_, rec, values))
        return 2

    def _params(self, info: EventInfo, rec: Rec, values: dict[str, Any]) -> list[bytes]:
        out = []
        for p in info.params:
            t = p.type
            if t == "SOCKTUPLE":
                name = rec.name
                f = rec.sec.fileres if name in _TUPLE_OF_RESULT else rec.sec.file0
                out.append(_file_tuple(f, name in _INBOUND))
            elif t == "SOCKADDR":
                out.append(_sockaddr_arg(rec))
            elif t == "DYN":
                out.append(_dyn(rec, p.name, values))
            elif p.name == "data" and t == "BYTEBUF":
                out.append(b"")
            else:
                out.append(encode(t, values.get(p.name)))
        return out

    @staticmethod
    def _exec_filename(rec: Rec) -> str:
        if rec.evt == L.EVT_EXEC:
            _p, blobs = proc_section(rec.data, 1)
            return blobs[0].decode("utf-8", "surrogateescape")
        return rec.sec.text(1 if rec.name == "execveat" else 0) or ""

    @staticmethod
    def _process_values(rec: Rec, proc: ProcessView | None) -> dict[str, Any]:
        values = dict(process_params(rec, proc))
        if proc is not None:
            values["args"] = nul_list(list(proc.args))
            values["env"] = nul_list(list(proc.env))
            values["cgroups"] = nul_list([proc.cgroup]) if proc.cgroup else b""
            values["exe"] = proc.exe
        for name in _LISTS:
            values.setdefault(name, b"")
        return values
