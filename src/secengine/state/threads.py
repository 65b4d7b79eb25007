"""Processes: the bounded table the ``proc.*``, ``thread.*``, ``user.*`` fields read.

Falco keeps a thread table; almost everything rules read is per process
(exe, args, cwd, ids, capabilities), so this table is keyed by process id
(the thread group id every record carries) and threads only show up as
``thread.tid`` from the record itself.

A :class:`Process` is filled by exec records (or from ``/proc`` for
processes that were running before the probe, or that a record names before
their own exec/fork was seen) and copied from the parent on fork. Ancestor
walks (``proc.aname[N]``) follow ``ptid`` through the table, stopping at a
missing entry, pid 0 or a loop.

The table is bounded by ``max_processes`` (least recently used entries go
first); an exit record removes the process when its last thread is gone,
and an entry no record touched for ``inactive_timeout`` seconds is removed
at the next sweep if it is gone from the system (its exit was missed, e.g.
dropped). :class:`TableStats` counts each way out.

When a process exits, its children are reparented as the kernel does
(``forget_original_parent``): to the new parent the ``reaper`` callback
names (the tracker asks /proc, which knows child subreapers,
``PR_SET_CHILD_SUBREAPER``), else to the pid namespace's init, the nearest
ancestor whose ``vpid`` is 1. libsinsp's thread manager does the same; without
it ``proc.pname`` of an orphan read whatever process later got the dead
parent's pid. A parent entry that started after its child is such a reused
pid, and is treated the same way.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from cachetools import LRUCache

from secengine.state.fds import FdTable

__all__ = [
    "INACTIVE_SCAN",
    "INACTIVE_TIMEOUT",
    "MAX_ANCESTORS",
    "MAX_PROCESSES",
    "REUSE_MARGIN_NS",
    "Process",
    "ProcessTable",
    "Reaper",
    "TableStats",
]

MAX_PROCESSES: Final = 32768
MAX_ANCESTORS: Final = 64
#: Seconds before /proc is asked again about a pid it did not know.
UNKNOWN_RETRY: Final = 5.0
#: Seconds without a record after which an entry is checked for being gone (libsinsp's
#: thread timeout), and how often that check runs (its inactive thread scan time).
INACTIVE_TIMEOUT: Final = 1800.0
INACTIVE_SCAN: Final = 1200.0
#: At most this many threads of one process have a user of their own (the rest report the
#: process's: bounded memory under a thread flood).
MAX_THREAD_USERS: Final = 1024
#: A parent entry that started this long after its child is another process with a reused
#: pid (/proc start times are in clock ticks, records in nanoseconds: leave a margin).
REUSE_MARGIN_NS: Final = 50_000_000

#: ``(orphan, exited parent or None) -> pid of its new parent`` (0: unknown).
Reaper = Callable[["Process", "Process | None"], int]


@dataclass(slots=True)
class TableStats:
    """How entries left the table, and orphans given a new parent (metrics, run summary)."""

    exited: int = 0
    evicted_full: int = 0
    evicted_inactive: int = 0
    reparented: int = 0


def vfs_cap_permitted(raw: bytes) -> int:
    """The permitted set of a ``security.capability`` value (``struct vfs_ns_cap_data``:
    revision 1 has 32 bits, revisions 2 and 3 (with a root uid) 64); 0 if empty or unknown."""
    if len(raw) < 12:
        return 0
    permitted = int.from_bytes(raw[4:8], "little")
    revision = int.from_bytes(raw[0:4], "little") & 0xFF000000
    if revision in (0x02000000, 0x03000000) and len(raw) >= 20:
        permitted |= int.from_bytes(raw[12:16], "little") << 32
    return permitted


class Process:
    """One process (thread group)."""

    __slots__ = (
        "pid",
        "ptid",
        "comm",
        "exe",
        "exepath",
        "args",
        "cwd",
        "env",
        "tty",
        "uid",
        "gid",
        "euid",
        "egid",
        "loginuid",
        "cap_inheritable",
        "cap_permitted",
        "cap_effective",
        "sid",
        "pgid",
        "vpgid",
        "vpid",
        "start_ts",
        "exe_flags",
        "exe_ino",
        "exe_ctime",
        "exe_mtime",
        "exe_mode",
        "exe_uid",
        "exe_gid",
        "ns",
        "fcaps",
        "cwd_outside_root",
        "exe_outside_root",
        "cgroup",
        "container_id",
        "pidns_init_start",
        "fdlimit",
        "fds",
        "thread_users",
        "from_proc",
        "children",
        "last_seen",
        "__weakref__",
    )

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ptid = 0
        self.comm = ""
        self.exe = ""
        self.exepath = ""
        self.args: list[str] = []
        self.cwd = ""
        self.env: list[str] = []
        self.tty = 0
        self.uid = self.gid = self.euid = self.egid = 0
        self.loginuid = 0xFFFFFFFF
        self.cap_inheritable = self.cap_permitted = self.cap_effective = 0
        self.sid = self.pgid = self.vpgid = 0
        self.vpid = pid
        self.start_ts = 0
        self.exe_flags = 0
        self.exe_ino = 0
        self.exe_ctime = self.exe_mtime = 0
        #: the executable's inode mode (set-uid/set-gid bits) and owner; 0 mode: not known
        self.exe_mode = self.exe_uid = self.exe_gid = 0
        #: namespace inodes (user, mnt, net, pid); 0: not known
        self.ns: tuple[int, int, int, int] = (0, 0, 0, 0)
        #: (exe inode, permitted file capabilities) once read (see file_caps)
        self.fcaps: tuple[int, int] | None = None
        #: the probe found the working directory / the executable not under the process's
        #: root (its walk up to the mount namespace's root never met fs->root: a host
        #: directory reached through a leaked fd); False when not known (read from /proc)
        self.cwd_outside_root = False
        self.exe_outside_root = False
        self.cgroup = ""
        self.container_id = "host"
        self.pidns_init_start = 0
        self.fdlimit = 0
        self.fds = FdTable()
        #: tid -> (uid, gid) of the threads whose user is not the process's (libsinsp keeps
        #: the user per thread, as the kernel keeps credentials); None when there are none
        self.thread_users: dict[int, tuple[int, int]] | None = None
        #: True when this entry was read from /proc rather than built from records
        self.from_proc = False
        #: pids of the children seen forking from (or loaded under) this process
        self.children: set[int] | None = None
        #: the table's clock (monotonic seconds) when a record last touched this entry
        self.last_seen = 0.0

    def fork(self, pid: int) -> Process:
        """The child of a fork: a copy of this process with its own pid and fd numbering."""
        child = Process.__new__(Process)
        for slot in Process.__slots__[:-1]:
            setattr(child, slot, getattr(self, slot))
        child.pid = pid
        child.ptid = self.pid
        child.fds = self.fds.copy()
        child.thread_users = None
        child.from_proc = False
        child.children = None
        return child

    def user_of(self, tid: int) -> tuple[int, int]:
        """(uid, gid) of the thread ``tid``: its own when it has one, else the process's."""
        users = self.thread_users
        if users is not None:
            own = users.get(tid)
            if own is not None:
                return own
        return self.uid, self.gid

    def set_thread_user(self, tid: int, uid: int, gid: int) -> None:
        """The user of thread ``tid`` (the main thread's is the process's)."""
        if tid == self.pid:
            self.uid, self.gid = uid, gid
            return
        users = self.thread_users
        if (uid, gid) == (self.uid, self.gid):
            if users is not None:
                users.pop(tid, None)
        elif users is None:
            self.thread_users = {tid: (uid, gid)}
        elif tid in users or len(users) < MAX_THREAD_USERS:
            users[tid] = (uid, gid)

    def forget_thread(self, tid: int) -> None:
        """Thread ``tid`` exited (or an exec ended it)."""
        if self.thread_users is not None:
            self.thread_users.pop(tid, None)

    def file_caps(self) -> int | None:
        """The permitted set of the executable's file capabilities (``security.capability``),
        0 for none; None when it cannot be read (the process is gone).

        Read from ``/proc/PID/exe`` (the very file the process runs, in whatever mount
        namespace) the first time a rule asks, and kept for this executable: the kernel gives a
        tracepoint program no way to read an extended attribute.
        """
        cached = self.fcaps
        if cached is not None and cached[0] == self.exe_ino:
            return cached[1]
        try:
            raw = os.getxattr(f"/proc/{self.pid}/exe", "security.capability")
        except OSError as e:
            if e.errno not in (errno.ENODATA, errno.EOPNOTSUPP):
                return None
            raw = b""
        caps = vfs_cap_permitted(raw)
        self.fcaps = (self.exe_ino, caps)
        return caps

    @property
    def cmdline(self) -> str:
        return self.comm + (" " + " ".join(self.args) if self.args else "")

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, comm={self.comm!r}, ptid={self.ptid})"


class _Lru(LRUCache[int, Process]):
    """The LRU that counts what it evicts to stay within its bound."""

    def __init__(
        self, maxsize: int, stats: TableStats, on_evict: Callable[[Process], None]
    ) -> None:
        super().__init__(maxsize=maxsize)
        self._stats = stats
        self._on_evict = on_evict

    def popitem(self) -> tuple[int, Process]:
        item = super().popitem()
        self._stats.evicted_full += 1
        self._on_evict(item[1])
        return item


class ProcessTable:
    """pid -> Process, LRU-bounded; ``loader`` fills misses from /proc (or returns None).

    ``reaper`` names the new parent of an orphan (see the module docstring);
    ``alive`` says whether an inactive entry's process still exists (without it
    inactive entries are dropped unchecked). :attr:`now` is the table's clock,
    advanced by :meth:`tick`.
    """

    def __init__(
        self,
        max_processes: int = MAX_PROCESSES,
        loader: Callable[[int], Process | None] | None = None,
        *,
        reaper: Reaper | None = None,
        alive: Callable[[Process], bool] | None = None,
        inactive_timeout: float = INACTIVE_TIMEOUT,
        inactive_scan: float = INACTIVE_SCAN,
    ) -> None:
        self.stats = TableStats()
        self._procs = _Lru(max_processes, self.stats, self._unlink)
        self._loader = loader
        self._reaper = reaper
        self._alive = alive
        self.inactive_timeout = inactive_timeout
        self.inactive_scan = inactive_scan
        self.now = time.monotonic()
        self._last_scan: float | None = None
        #: pids /proc did not know (gone already): not read again for a while
        self._unknown: LRUCache[int, float] = LRUCache(maxsize=4096)
        self.lookups_failed = 0

    @property
    def removed(self) -> int:
        """Entries removed because their process exited."""
        return self.stats.exited

    def __len__(self) -> int:
        return len(self._procs)

    def __contains__(self, pid: int) -> bool:
        return pid in self._procs

    def peek(self, pid: int) -> Process | None:
        return self._procs.get(pid)

    def get(self, pid: int) -> Process | None:
        """The process ``pid``; loaded from /proc on a miss when a loader is set."""
        proc = self._procs.get(pid)
        if proc is None and pid > 0 and self._loader is not None:
            now = time.monotonic()
            failed_at = self._unknown.get(pid)
            if failed_at is not None and now - failed_at < UNKNOWN_RETRY:
                return None
            proc = self._loader(pid)
            if proc is None:
                self.lookups_failed += 1
                self._unknown[pid] = now
            else:
                self.put(proc)
        return proc

    def put(self, proc: Process) -> None:
        """Add (or replace) an entry, and record it as a child of its parent."""
        proc.last_seen = self.now
        self._procs[proc.pid] = proc
        self._unknown.pop(proc.pid, None)
        self.link(proc)

    def link(self, proc: Process) -> None:
        """Record ``proc`` among its parent's children (call after its ``ptid`` changed)."""
        parent = self._procs.get(proc.ptid) if proc.ptid != proc.pid else None
        if parent is not None:
            if parent.children is None:
                parent.children = set()
            parent.children.add(proc.pid)

    def _unlink(self, proc: Process) -> None:
        """Drop a departing entry from its parent's children (which would grow without bound
        under a long-lived parent that forks many short-lived children)."""
        parent = self._procs.get(proc.ptid)
        if parent is not None and parent.children is not None:
            parent.children.discard(proc.pid)

    def remove(self, pid: int) -> None:
        """The process ``pid`` exited: forget it and reparent its children."""
        proc = self._procs.pop(pid, None)
        if proc is not None:
            self.stats.exited += 1
            self._unlink(proc)
            self._orphan_children(proc)

    def _orphan_children(self, gone: Process) -> None:
        for cpid in gone.children or ():
            child = self._procs.get(cpid)
            if child is not None and child.ptid == gone.pid:
                self._reparent(child, gone)

    def _reparent(self, child: Process, gone: Process | None) -> None:
        """Give ``child`` its new parent: the reaper's answer, else the pid namespace's init
        (0, no parent, when that is not known either)."""
        new = self._reaper(child, gone) if self._reaper is not None else 0
        if new <= 0:
            new = self._ns_init(gone if gone is not None else child)
        if new == child.ptid:
            return
        child.ptid = new
        if new > 0:
            self.stats.reparented += 1
            self.link(child)

    def _ns_init(self, proc: Process) -> int:
        """The init of ``proc``'s pid namespace: its nearest ancestor (or itself) with vpid 1;
        pid 1 for a host process whose ancestry is not known, else 0."""
        if proc.vpid == 1:
            return proc.pid
        for anc in self.ancestors(proc):
            if anc.vpid == 1:
                return anc.pid
        return 1 if proc.vpid == proc.pid else 0

    def parent(self, proc: Process) -> Process | None:
        if proc.ptid <= 0 or proc.ptid == proc.pid:
            return None
        parent = self.get(proc.ptid)
        if (
            parent is not None
            and proc.start_ts
            and parent.start_ts > proc.start_ts + REUSE_MARGIN_NS
        ):
            # the real parent is gone and its pid was reused: ask who adopted proc (once:
            # the answer, or 0 for "not known", replaces the reused pid)
            proc.ptid = 0
            self._reparent_reused(proc)
            parent = self.get(proc.ptid) if proc.ptid > 0 else None
        return parent

    def _reparent_reused(self, proc: Process) -> None:
        """``proc``'s parent pid was reused (its ptid now 0): the reaper's answer, else pid 1
        for a host process; a container process whose adopter is not known keeps none."""
        new = self._reaper(proc, None) if self._reaper is not None else 0
        if new <= 0:
            new = 1 if proc.vpid == proc.pid else 0
        if new > 0:
            proc.ptid = new
            self.stats.reparented += 1
            self.link(proc)

    def tick(self, now: float | None = None) -> None:
        """Advance the table's clock (once per batch of records) and, when due, drop the
        entries inactive for longer than ``inactive_timeout`` whose process is gone."""
        self.now = time.monotonic() if now is None else now
        if self._last_scan is None:
            self._last_scan = self.now
        if self.now - self._last_scan < self.inactive_scan:
            return
        self._last_scan = self.now
        limit = self.now - self.inactive_timeout
        alive = self._alive
        for proc in [p for p in self._procs.values() if p.last_seen < limit]:
            if alive is not None and alive(proc):
                proc.last_seen = self.now  # idle, not gone: look again after a timeout
                continue
            if self._procs.pop(proc.pid, None) is not None:
                self.stats.evicted_inactive += 1
                self._orphan_children(proc)

    def ancestors(self, proc: Process) -> Iterator[Process]:
        """Parent, grandparent, ... (not ``proc`` itself); stops at a gap or a loop."""
        seen = {proc.pid}
        cur = proc
        for _ in range(MAX_ANCESTORS):
            parent = self.parent(cur)
            if parent is None or parent.pid in seen:
                return
            seen.add(parent.pid)
            yield parent
            cur = parent

    def ancestor(self, proc: Process, n: int) -> Process | None:
        """The ``n``-th ancestor (0 = ``proc``)."""
        if n == 0:
            return proc
        for i, anc in enumerate(self.ancestors(proc), 1):
            if i == n:
                return anc
        return None

    def values(self) -> list[Process]:
        return list(self._procs.values())
