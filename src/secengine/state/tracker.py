"""Apply the probe's records to the state tables, the way libsinsp's parsers do.

:meth:`StateTracker.apply` takes one decoded record, updates the process
and fd tables (exec replaces the image and drops close-on-exec fds, fork
copies the parent, exit removes the process when its last thread is gone,
open/socket/accept/dup/pipe add fds, close removes them, connect/bind/send
set socket ends, chdir/setuid/capset/setsid update the process) and returns
what field extraction needs: the event's process and the fd the event is
about (taken *before* a close removes it).
"""

from __future__ import annotations

import errno as _errno
import posixpath
import stat
from typing import Final

from secengine.bpf import layout as L
from secengine.state import convert, procfs
from secengine.state.containers import HOST, ContainerResolver, container_id_from_cgroup
from secengine.state.decode import FileInfo, Rec, proc_section, render_sockaddr
from secengine.state.fds import FdInfo, fd_link, l4proto_name
from secengine.state.threads import (
    INACTIVE_TIMEOUT,
    MAX_PROCESSES,
    REUSE_MARGIN_NS,
    Process,
    ProcessTable,
)
from secengine.state.users import UserTable

__all__ = ["AT_FDCWD", "StateTracker", "resolve_path"]

AT_FDCWD: Final = -100
_EVT_SYSCALL: Final = L.EVT_SYSCALL
_EINPROGRESS: Final = -_errno.EINPROGRESS
_CLONE_FILES: Final = 0x400
_CLONE_THREAD: Final = 0x10000

#: Event types whose fd is the returned one; the others use argument 0.
_RES_FD: Final = frozenset(
    {
        "open",
        "openat",
        "openat2",
        "creat",
        "socket",
        "accept",
        "accept4",
        "memfd_create",
        "bpf",
        "userfaultfd",
    }
)
_ARG0_FD: Final = frozenset(
    {
        "close",
        "connect",
        "bind",
        "listen",
        "sendto",
        "sendmsg",
        "recvfrom",
        "recvmsg",
        "dup",
        "dup2",
        "dup3",
        "fchmod",
        "fchdir",
        "finit_module",
        "setns",
        "splice",
        "tee",
        "vmsplice",
        "fsetxattr",
        "setsockopt",
    }
)
_DUPS: Final = frozenset({"dup", "dup2", "dup3"})
_SOCKET_IO: Final = frozenset({"connect", "bind", "sendto", "sendmsg", "recvfrom", "recvmsg"})
#: Event types whose records carry the caller's namespaces after the call (X_NS).
_NS_CHANGES: Final = frozenset({"unshare", "setns"})
_OPEN_NAME_ARG: Final = {"open": 0, "openat": 1, "openat2": 1, "creat": 0}
_DIRFD_ARG: Final = {"openat": 0, "openat2": 0}


def split_nul(text: str) -> list[str]:
    """NUL-separated strings (an exec's environment), without the empty tail."""
    items = text.split("\0")
    if items and items[-1] == "":
        items.pop()
    return items


def resolve_path(name: str, base: str) -> str:
    """``name`` made absolute against ``base`` and normalised lexically, as libsinsp does."""
    if not name:
        return base
    if name[0] == "/" and "/." not in name and "//" not in name and name[-1] != "/":
        return name  # already absolute and normal: the common case
    path = name if name.startswith("/") else (base.rstrip("/") + "/" + name if base else name)
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm.startswith("/") else norm


def _typechar(f: FileInfo | None, default: str = "f") -> str:
    if f is None or not f.mode:
        return default
    fmt = stat.S_IFMT(f.mode)
    if fmt == stat.S_IFDIR:
        return "d"
    if fmt == stat.S_IFSOCK:
        return {2: "4", 10: "6", 1: "u", 16: "n"}.get(f.family, "o")
    if fmt == stat.S_IFIFO:
        return "p"
    if f.path.startswith("memfd:"):
        return "m"
    return default


def socket_info(f: FileInfo, is_server: bool) -> FdInfo:
    """An FdInfo for the socket the probe described."""
    char = _typechar(f, "o")
    info = FdInfo(char, f.path if char == "u" else "", l4proto=f.l4proto)
    if char in ("4", "6"):
        info.set_tuple(f.lip(), f.lport, f.rip(), f.rport, is_server)
    return info


#: Flood records kept until the source takes them (it does after every batch).
_MAX_FLOODS = 4096


class StateTracker:
    """The process/fd tables and how records change them."""

    def __init__(
        self,
        *,
        max_processes: int = MAX_PROCESSES,
        containers: ContainerResolver | None = None,
        users: UserTable | None = None,
        boot_ns: int | None = None,
        inactive_timeout: float = INACTIVE_TIMEOUT,
    ) -> None:
        self.boot_ns = procfs.boot_time_ns() if boot_ns is None else boot_ns
        self.procs = ProcessTable(
            max_processes,
            loader=self._load,
            reaper=self._reaper,
            alive=self._alive,
            inactive_timeout=inactive_timeout,
        )
        #: the initial namespaces' inodes (user, mnt, net, pid): proc.is_host_*ns compare
        self.host_ns = procfs.host_namespaces()
        self.containers = containers if containers is not None else ContainerResolver()
        self.users = users if users is not None else UserTable()
        self.loaded_from_proc = 0
        #: processes that exited, removed at the next flush (their events may still be read)
        self._exited: list[int] = []
        #: (process, tid) of exited threads with a user of their own, forgotten at the next flush
        self._exited_threads: list[tuple[Process, int]] = []
        #: containers whose init exited, forgotten at the next flush
        self._exited_containers: list[str] = []
        self._last_pid = -1
        self._last_proc: Process | None = None
        #: flood records applied since the source last took them (see take_floods)
        self.floods: list[Rec] = []
        #: kill records applied since the source last took them (see take_kills)
        self.kills: list[Rec] = []
        #: the table's clock, copied here once per batch for the per-record path
        self._now = self.procs.now

    def take_kills(self) -> list[Rec]:
        """The kill records (the in-kernel kill's) applied since the last call."""
        kills, self.kills = self.kills, []
        return kills

    def take_floods(self) -> list[Rec]:
        """The flood records applied since the last call."""
        floods, self.floods = self.floods, []
        return floods

    def _load(self, pid: int) -> Process | None:
        proc = procfs.read_process(pid, self.boot_ns)
        if proc is not None:
            self.loaded_from_proc += 1
        return proc

    def _now_in_proc(self, proc: Process) -> tuple[int, int] | None:
        """(parent pid, start) of ``proc`` per /proc, or None if it is gone (or its pid is
        another process's now)."""
        now = procfs.parent_and_start(proc.pid, self.boot_ns)
        if now is None or (proc.start_ts and abs(now[1] - proc.start_ts) > REUSE_MARGIN_NS):
            return None
        return now

    def _reaper(self, orphan: Process, gone: Process | None) -> int:
        """The kernel's choice of new parent (it knows child subreapers); 0 while it has not
        reparented ``orphan`` yet (the table then picks the pid namespace's init)."""
        now = self._now_in_proc(orphan)
        if now is None or (gone is not None and now[0] == gone.pid):
            return 0
        return now[0]

    def _alive(self, proc: Process) -> bool:
        return self._now_in_proc(proc) is not None

    def seed(self) -> int:
        """Read every running process from /proc; returns how many."""
        n = 0
        for proc in procfs.scan(self.boot_ns):
            self.procs.put(proc)
            n += 1
        for proc in self.procs.values():  # a parent listed after its child (pids wrap)
            self.procs.link(proc)
        return n

    # -- records -------------------------------------------------------------
    def apply(self, rec: Rec) -> tuple[Process | None, int, FdInfo | None, bool]:
        """Update the tables; returns (process, fd number, fd info, fd name changed)."""
        evt = rec.evt
        if evt == _EVT_SYSCALL:
            return self.apply_syscall(rec)
        self._last_pid = -1
        if evt == L.EVT_EXEC:
            return self._exec(rec), -1, None, False
        if evt == L.EVT_CLONE:
            return self._clone(rec), -1, None, False
        if evt == L.EVT_FLOOD:
            # no state change: the source collects these to name throttled producers
            if len(self.floods) < _MAX_FLOODS:
                self.floods.append(rec)
            return self.procs.get(rec.pid), -1, None, False
        if evt == L.EVT_KILL:
            # no state change (the exit record follows): the source reports what was done
            self.kills.append(rec)
            return self.procs.get(rec.pid), -1, None, False
        proc = self.procs.peek(rec.pid)
        if proc is not None and rec.tid != rec.pid and proc.thread_users is not None:
            self._exited_threads.append((proc, rec.tid))  # its exit event still reads it
        if rec.args[1]:  # the whole thread group is gone
            self._exited.append(rec.pid)
            if proc is not None and proc.vpid == 1 and proc.container_id != HOST:
                # a container's init: the kernel kills the rest of its pid namespace
                self._exited_containers.append(proc.container_id)
        return proc, -1, None, False

    def flush_exited(self, now: float | None = None) -> None:
        """Forget the processes that exited before now (called between batches, so that
        events of the same batch still find their parents), reparenting their children,
        and advance the table's clock (``now``, monotonic seconds)."""
        self.procs.tick(now)
        self._now = self.procs.now
        if self._exited_containers:
            for cid in self._exited_containers:
                self.containers.forget(cid)
            self._exited_containers.clear()
        if self._exited_threads:
            for proc, tid in self._exited_threads:
                proc.forget_thread(tid)
            self._exited_threads.clear()
        exited = self._exited
        if exited:
            remove = self.procs.remove
            for pid in exited:
                remove(pid)
            exited.clear()

    def touch(self, pid: int) -> Process | None:
        """What :meth:`apply` does with a record of a type it has no rule for (a capture's
        ``read``, ``mmap``, ...): find the process, keeping it recent in the table. (The
        per-record path, ``apply_syscall``, does the same inline: it is the hottest call.)"""
        if pid == self._last_pid:
            return self._last_proc
        proc = self.procs.get(pid)
        self._last_pid, self._last_proc = pid, proc
        if proc is not None:
            proc.last_seen = self._now
        return proc

    def close_fd(self, pid: int, fd: int, res: int) -> None:
        """The state effect of a ``close`` record, without decoding it (the hot path when no
        rule reads close events)."""
        if res < 0:
            return
        # a burst's next record is the same process's: the test touch() starts with, without
        # the call (half the records of a dup/close storm come here)
        proc = self._last_proc if pid == self._last_pid else self.touch(pid)
        if proc is not None:
            proc.fds.fds.pop(fd, None)

    def _exec(self, rec: Rec) -> Process:
        p, blobs = proc_section(rec.data, 7)
        procs = self.procs
        proc = procs.peek(rec.pid)
        if proc is None:
            proc = Process(rec.pid)
            procs.put(proc)
        filename, args, exepath, cwd, comm, cgroup, env = (
            b.decode("utf-8", "surrogateescape") for b in blobs
        )
        if filename.startswith("/dev/fd/"):
            # execveat(fd, "", AT_EMPTY_PATH) and execveat(dirfd, relative): the kernel names
            # the file /dev/fd/N[/path]; the syscall number is not reliable at this point
            rec.name = "execveat"
        argv = args.split("\0")
        if argv and argv[-1] == "":
            argv.pop()
        # an exec with an empty argv gets {""} from the kernel (>= 5.18): exe "", no arguments
        proc.exe = argv[0] if argv else filename
        proc.args = argv[1:]
        proc.env = split_nul(env)
        proc.exepath = exepath
        proc.cwd = cwd
        proc.cwd_outside_root = bool(rec.flags & L.F_CWD_OUTSIDE_ROOT)
        proc.exe_outside_root = bool(rec.flags & L.F_EXE_OUTSIDE_ROOT)
        proc.comm = comm
        self._set_proc(proc, p)
        procs.link(proc)
        proc.last_seen = procs.now
        proc.exe_flags = p[7]
        proc.exe_ino, proc.exe_ctime, proc.exe_mtime = p[8], p[9], p[10]
        proc.exe_mode, proc.exe_uid, proc.exe_gid = p[25], p[26], p[27]
        if cgroup != proc.cgroup:
            proc.cgroup = cgroup
            proc.container_id = container_id_from_cgroup(cgroup)
        if proc.container_id != HOST:
            # the runtime wrote its files before it started the container: read them now,
            # so that this exec (often the container's entrypoint) has the metadata
            self.containers.on_exec(proc.container_id)
        proc.fds.drop_cloexec()
        proc.thread_users = None  # the exec ended every other thread
        proc.from_proc = False
        return proc

    def _set_proc(self, proc: Process, p: tuple[int, ...]) -> None:
        (proc.ptid, proc.sid, proc.pgid, proc.vpgid, proc.vpid, _vtid, proc.tty) = p[:7]
        proc.start_ts = p[11] + self.boot_ns
        proc.pidns_init_start = p[12] + self.boot_ns if p[12] else 0
        proc.fdlimit = p[13]
        (
            proc.uid,
            proc.gid,
            proc.euid,
            proc.egid,
            _suid,
            _sgid,
            proc.loginuid,
            _pad,
            proc.cap_inheritable,
            proc.cap_permitted,
            proc.cap_effective,
        ) = p[14:25]
        proc.ns = (p[29], p[30], p[31], p[32])

    def _clone(self, rec: Rec) -> Process | None:
        p, blobs = proc_section(rec.data, 1)
        procs = self.procs
        if rec.tid != rec.pid:  # a new thread of an existing process
            proc = procs.get(rec.pid)
            if proc is not None:  # its user is the clone's (libsinsp parse_clone_exit_child)
                proc.set_thread_user(rec.tid, p[14], p[15])
            return proc
        parent = procs.get(p[0])
        if parent is not None:
            child = parent.fork(rec.pid)
            if p[7] & _CLONE_FILES:
                child.fds = parent.fds
        else:
            child = Process(rec.pid)
        child.comm = blobs[0].decode("utf-8", "surrogateescape")
        self._set_proc(child, p)
        procs.put(child)
        return child

    def apply_syscall(self, rec: Rec) -> tuple[Process | None, int, FdInfo | None, bool]:
        """:meth:`apply` for a syscall record (``rec.evt`` is ``EVT_SYSCALL``): the live
        source calls it directly for those, the most frequent records by far."""
        pid = rec.pid
        if pid == self._last_pid:  # bursts come from one process: skip the LRU bookkeeping
            proc = self._last_proc
        else:
            proc = self.procs.get(pid)
            self._last_pid, self._last_proc = pid, proc
            if proc is not None:
                proc.last_seen = self._now
        name = rec.name
        res = rec.res
        if proc is None:
            return None, -1, None, False
        if name in _NS_CHANGES and res >= 0:
            ns = rec.sec.ns
            if ns is not None:
                proc.ns = ns
        fds = proc.fds
        if name in _RES_FD:
            fdnum = res
            if res < 0:
                if name in _OPEN_NAME_ARG:
                    return proc, -1, self._failed_open(rec, proc), False
                return proc, -1, None, False
            info = self._new_fd(rec, proc)
            if info is not None:
                fds.set(res, info)
            return proc, fdnum, info, info is not None
        if name in _ARG0_FD:
            fdnum = rec.args[0] & 0xFFFFFFFF  # rec.arg(0), a C int, without the call
            if fdnum & 0x80000000:
                fdnum -= 0x100000000
            info = fds.fds.get(fdnum)
            changed = False
            f0 = None
            if info is None or name in _SOCKET_IO:
                f0 = (
                    rec.sec.file0
                    if rec.spec is not None and rec.spec.extras & L.X_FILE_ARG0
                    else None
                )
                if info is None and f0 is not None and f0.is_open:
                    info = socket_info(f0, False) if f0.is_socket else FdInfo(_typechar(f0))
                    fds.set(fdnum, info)
            if name == "close":
                if res >= 0:
                    fds.close(fdnum)
            elif name in _DUPS:
                if res >= 0 and info is not None:
                    new = info.copy()
                    new.cloexec = name == "dup3" and bool(rec.args[2] & convert.O_CLOEXEC)
                    fds.set(res, new)
            elif name in _SOCKET_IO:
                changed = self._socket_io(rec, info, f0)
            elif name == "fchdir" and res == 0 and rec.sec.cwd is not None:
                proc.cwd = rec.sec.cwd
                proc.cwd_outside_root = bool(rec.flags & L.F_CWD_OUTSIDE_ROOT)
            return proc, fdnum, info, changed
        if res < 0:
            return proc, -1, None, False
        if name == "chdir":
            if rec.sec.cwd is not None:
                proc.cwd = rec.sec.cwd
                proc.cwd_outside_root = bool(rec.flags & L.F_CWD_OUTSIDE_ROOT)
        elif name in ("pipe", "pipe2", "socketpair"):
            raw = rec.sec.blobs.get(0 if name != "socketpair" else 3, b"")
            if len(raw) >= 8:
                fd1 = int.from_bytes(raw[:4], "little", signed=True)
                fd2 = int.from_bytes(raw[4:8], "little", signed=True)
                char = "p" if name != "socketpair" else ("u" if rec.arg(0) == 1 else "o")
                for fd in (fd1, fd2):
                    fds.set(fd, FdInfo(char, ""))
                if char == "p":  # the event's fd is the last made (libsinsp parse_pipe_exit)
                    return proc, fd2, fds.get(fd2), True
        elif name == "close_range":
            fds.close_range(rec.args[0] & 0xFFFFFFFF, rec.args[1] & 0xFFFFFFFF)
        elif rec.spec is not None and rec.spec.extras & L.X_CREDS:
            c = rec.sec.creds
            if c is not None:
                main_uid, main_gid = proc.uid, proc.gid
                (
                    proc.uid,
                    proc.gid,
                    proc.euid,
                    proc.egid,
                    _suid,
                    _sgid,
                    proc.loginuid,
                    _pad,
                    proc.cap_inheritable,
                    proc.cap_permitted,
                    proc.cap_effective,
                ) = c
                if rec.tid != rec.pid:
                    # the user is the calling thread's (libsinsp set_evt_thread_user)
                    proc.uid, proc.gid = main_uid, main_gid
                    proc.set_thread_user(rec.tid, c[0], c[1])
        elif name == "setsid":
            proc.sid = proc.pgid = res
        elif name == "setpgid":
            target = rec.arg(0)
            if target in (0, rec.pid):
                proc.pgid = rec.arg(1) or rec.pid
        return proc, -1, None, False

    def _open_path(self, rec: Rec, proc: Process) -> tuple[str, str]:
        """(absolute path, name as passed) of an open-family record. A path through one of
        the process's own fds (``/proc/self/fd/N[/rest]``) is named by the file that fd is."""
        raw = rec.sec.text(_OPEN_NAME_ARG[rec.name]) or ""
        base = proc.cwd
        dirarg = _DIRFD_ARG.get(rec.name)
        if dirarg is not None and not raw.startswith("/"):
            dirfd = rec.arg(dirarg)
            if dirfd != AT_FDCWD:
                dinfo = proc.fds.get(dirfd)
                base = dinfo.name if dinfo is not None else ""
        link = fd_link(raw if raw.startswith("/") else base.rstrip("/") + "/" + raw)
        if link is not None:
            who, fd, rest = link
            if who == "self" or int(who) in (proc.pid, proc.vpid, rec.tid):
                name = proc.fds.resolve_link(fd, rest)
                if name is not None:
                    return name, raw
        return resolve_path(raw, base), raw

    def _failed_open(self, rec: Rec, proc: Process) -> FdInfo:
        path, raw = self._open_path(rec, proc)
        return FdInfo("f", path, nameraw=raw, outside_root=bool(rec.flags & L.F_FILE_OUTSIDE_ROOT))

    def _new_fd(self, rec: Rec, proc: Process) -> FdInfo | None:
        name = rec.name
        f = rec.sec.fileres if rec.spec is not None and rec.spec.extras & L.X_FILE_RES else None
        if name in _OPEN_NAME_ARG:
            path, raw = self._open_path(rec, proc)
            flags = rec.args[2 if name == "openat" else 1] if name != "openat2" else 0
            info = FdInfo(
                _typechar(f),
                path,
                nameraw=raw,
                cloexec=bool(flags & convert.O_CLOEXEC),
                outside_root=bool(rec.flags & L.F_FILE_OUTSIDE_ROOT),
            )
            if f is not None:
                info.dev, info.ino = f.dev, f.ino
            return info
        if name in ("accept", "accept4"):
            return socket_info(f, True) if f is not None else FdInfo("o")
        if name == "socket":
            domain = rec.arg(0)
            char = {2: "4", 10: "6", 1: "u", 16: "n"}.get(domain, "o")

            stype = rec.args[1] & 0xF
            return FdInfo(
                char,
                "",
                # a netlink protocol number is no IP protocol (6 is NETLINK_XFRM, not tcp)
                l4proto=l4proto_name(rec.args[2] & 0xFF, stype) if domain != 16 else "",
                cloexec=bool(rec.args[1] & convert.O_CLOEXEC),
            )
        if name == "memfd_create":
            return FdInfo("m", "memfd:" + (rec.sec.text(0) or ""), cloexec=bool(rec.args[1] & 1))
        if name == "bpf":
            return FdInfo("b", "")
        if name == "userfaultfd":
            return FdInfo("u", "")
        return None

    def _socket_io(self, rec: Rec, info: FdInfo | None, f0: FileInfo | None) -> bool:
        """connect/bind/send*/recv*: record the socket's ends; True if the fd's name changed."""
        if info is not None and rec.name == "bind":
            before = info.name
            return self._bind(rec, info, f0) and info.name != before
        if info is None or f0 is None:
            return False
        name = rec.name
        res = rec.res
        before = info.name
        if f0.family in (2, 10):
            if name == "connect" and not (res >= 0 or res == _EINPROGRESS):
                return False
            rip, rport = f0.rip(), f0.rport
            if name == "sendto" and not rport:
                dest = render_sockaddr(rec.sec.blobs.get(4, b""))
                if dest:
                    host, _, port = dest.rpartition(":")
                    rip, rport = host, int(port)
            info.l4proto = f0.l4proto or info.l4proto
            if info.typechar not in ("4", "6"):
                info.typechar = "4" if f0.family == 2 else "6"
            info.set_tuple(f0.lip(), f0.lport, rip, rport, info.is_server)
            if name == "connect":
                info.connected = True
        elif f0.family == 1:
            path = f0.path or render_sockaddr(rec.sec.blobs.get(1, b""))
            if path:
                info.name = info.nameraw = path
            if name == "connect" and res >= 0:
                info.connected = True
        return info.name != before

    @staticmethod
    def _bind(rec: Rec, info: FdInfo, f0: FileInfo | None) -> bool:
        """A bind of an IP socket, as libsinsp's ``parse_bind_exit``: named by the address
        bind was given (the kernel's choice for port 0 is not in the event, so a capture
        carries the same), a server when that has a port; False when it failed or is not
        an IP address (a unix bind is named by its path, as a connect's)."""
        raw = rec.sec.blobs.get(1, b"")
        family = raw[0] | raw[1] << 8 if len(raw) >= 2 else 0
        addr = render_sockaddr(raw) if rec.res >= 0 and family in (2, 10) else ""
        if not addr:
            if f0 is not None and f0.family == 1 and rec.res >= 0:
                path = f0.path or render_sockaddr(raw)
                if path:
                    info.name = info.nameraw = path
                return True
            return False
        host, _, port = addr.rpartition(":")
        if info.typechar not in ("4", "6"):
            info.typechar = "4" if family == 2 else "6"
        if f0 is not None:
            info.l4proto = info.l4proto or f0.l4proto
        info.bind(addr, host, int(port))
        return True
