"""The live state machine, fed from a capture instead of the host.

:class:`CaptureTracker` is the live :class:`~secengine.state.tracker.StateTracker`
with the host taken out: a pid the capture never mentioned is unknown (not
read from this machine's ``/proc``), containers are named from the capture's
cgroups only (no runtime is asked), and user names come from the capture's
user list. :func:`seed` loads the capture's process, fd and user tables into
it, as libsinsp does before the first event.
"""

from __future__ import annotations

from cachetools import LRUCache

from secengine.capture import tables as T
from secengine.capture.records import RecordBuilder, _pick_cgroup
from secengine.state.containers import ContainerResolver, container_id_from_cgroup
from secengine.state.fds import FdInfo, l4proto_name
from secengine.state.threads import Process
from secengine.state.tracker import StateTracker
from secengine.state.users import Account, UserDb, UserTable

__all__ = [
    "CaptureTracker",
    "CaptureUsers",
    "seed_fds",
    "seed_threads",
    "seed_users",
    "unknown_process",
]

#: scap fd type → fd.typechar
_TYPECHAR = {
    T.FD_FILE: "f", T.FD_FILE_V2: "f", T.FD_DIRECTORY: "d", T.FD_IPV4_SOCK: "4",
    T.FD_IPV6_SOCK: "6", T.FD_IPV4_SERVSOCK: "4", T.FD_IPV6_SERVSOCK: "6", T.FD_FIFO: "p",
    T.FD_UNIX_SOCK: "u", T.FD_EVENT: "e", T.FD_SIGNALFD: "s", T.FD_EVENTPOLL: "l",
    T.FD_INOTIFY: "i", T.FD_TIMERFD: "t", T.FD_NETLINK: "n", T.FD_BPF: "b",
    T.FD_USERFAULTFD: "u", T.FD_IOURING: "r", T.FD_MEMFD: "m", T.FD_PIDFD: "P",
}  # fmt: skip
_L4 = {2: "tcp", 3: "udp", 4: "icmp", 5: "raw"}  # scap_l4_proto


class CaptureUserDb(UserDb):
    """A user database that is the capture's user list (never read from a file)."""

    def __init__(self, users: list[T.UserEntry]) -> None:
        super().__init__("")
        for u in users:
            if u.is_group:
                self._groups.setdefault(u.gid, u.name)
            else:
                self._users.setdefault(u.uid, Account(u.name, u.home, u.shell))

    def refresh(self) -> None:
        """Nothing to re-read: the capture is the source."""


class CaptureUsers(UserTable):
    """``user.name`` and friends from the capture's user list, for every container (the list
    a capture carries is the host's)."""

    def __init__(self, users: list[T.UserEntry] | None = None) -> None:
        self.host = CaptureUserDb(users or [])
        self._containers: LRUCache[str, UserDb] = LRUCache(maxsize=1)

    def db(self, container_id: str, pid: int) -> UserDb:
        return self.host

    def refresh(self) -> None:
        """Nothing to re-read."""


class CaptureTracker(StateTracker):
    """The state tracker with no host lookups: the capture is all there is."""

    def __init__(self) -> None:
        super().__init__(
            containers=ContainerResolver((), readers=(), engines=()),
            users=CaptureUsers(),
            boot_ns=0,
            inactive_timeout=float("inf"),
        )
        self.host_ns = (0, 0, 0, 0)

    def _load(self, pid: int) -> Process | None:
        return None  # never this machine's /proc

    def _reaper(self, orphan: Process, gone: Process | None) -> int:
        return 0  # the table picks the pid namespace's init, as without /proc

    def _alive(self, proc: Process) -> bool:
        return True


def unknown_process(pid: int) -> Process:
    """An entry for a thread the capture never described: named ``<NA>``, no parent, no user,
    as libsinsp's fake thread entry (thread_manager.cpp ``get_thread``: ``m_comm`` and
    ``m_exe`` ``"<NA>"``, ``m_ptid`` -1, ``m_uid``/``m_gid`` ``0xffffffff``)."""
    proc = Process(pid)
    proc.comm = proc.exe = "<NA>"
    proc.ptid = -1
    proc.uid = proc.gid = proc.euid = proc.egid = 0xFFFFFFFF
    return proc


def seed_threads(
    tracker: StateTracker, builder: RecordBuilder, threads: list[T.ThreadEntry]
) -> None:
    """The capture's process list into the tracker: one process per thread group."""
    procs = tracker.procs
    added: list[Process] = []
    others: list[T.ThreadEntry] = []
    for t in threads:
        builder.note_thread(t.tid, t.pid)
        if t.tid != t.pid and procs.peek(t.pid) is not None:
            others.append(t)
            continue
        proc = Process(t.pid)
        proc.ptid = t.ptid
        proc.comm = t.comm
        proc.exe = t.exe
        proc.exepath = t.exepath or (t.exe if t.exe.startswith("/") else "")
        proc.args = list(t.args)
        proc.cwd = t.cwd
        proc.env = list(t.env)
        proc.tty = t.tty
        proc.uid = proc.euid = t.uid
        proc.gid = proc.egid = t.gid
        proc.loginuid = t.loginuid
        proc.cap_inheritable = t.cap_inheritable
        proc.cap_permitted = t.cap_permitted
        proc.cap_effective = t.cap_effective
        proc.sid = max(t.sid, 0)
        proc.pgid = max(t.pgid, 0)
        proc.vpgid = max(t.vpgid, 0)
        proc.vpid = t.vpid if t.vpid >= 0 else t.pid
        proc.fdlimit = t.fdlimit
        proc.pidns_init_start = t.pidns_init_start_ts
        proc.exe_ino = t.exe_ino
        proc.exe_ctime, proc.exe_mtime = t.exe_ino_ctime, t.exe_ino_mtime
        proc.exe_flags = (
            (1 if t.exe_writable else 0)
            | (2 if t.exe_upper_layer else 0)
            | (4 if t.exe_from_memfd else 0)
            | (8 if t.exe_lower_layer else 0)
        )
        cgroup = _pick_cgroup("\0".join(t.cgroups)) if t.cgroups else ""
        proc.cgroup = cgroup
        proc.container_id = container_id_from_cgroup(cgroup) if cgroup else "host"
        procs.put(proc)
        added.append(proc)
    for proc in added:  # parents may come after their children
        procs.link(proc)
    for t in others:  # a thread's own user (libsinsp keeps one per thread)
        main = procs.peek(t.pid)
        if main is not None and main.pid != t.tid:
            main.set_thread_user(t.tid, t.uid, t.gid)


def seed_fds(tracker: StateTracker, builder: RecordBuilder, fds: list[T.FdEntry]) -> None:
    """One fd list block's fds into their process."""
    for e in fds:
        proc = tracker.procs.peek(builder.pid_of(e.tid))
        if proc is None:
            continue
        char = _TYPECHAR.get(e.type, "o")
        info = FdInfo(char, e.name, ino=e.ino, dev=e.dev, flags=e.open_flags)
        if e.type in (T.FD_IPV4_SOCK, T.FD_IPV6_SOCK):
            info.l4proto = _L4.get(e.l4proto, "")
            info.set_tuple(e.sip, e.sport, e.dip, e.dport, False)
        elif e.type in (T.FD_IPV4_SERVSOCK, T.FD_IPV6_SERVSOCK):
            info.l4proto = _L4.get(e.l4proto, "") or l4proto_name(0, 0)
            info.is_server = info.has_role = True
            info.lip, info.lport = e.sip, e.sport
            info.name = info.nameraw = f"{e.sip}:{e.sport}"
        proc.fds.set(e.fd, info)


def seed_users(tracker: StateTracker, users: list[T.UserEntry]) -> None:
    tracker.users = CaptureUsers(users)
