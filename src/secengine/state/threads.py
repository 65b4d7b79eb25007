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

The table is an LRU bounded by ``max_processes``; an exit record removes the
process when its last thread is gone. Exited processes whose entries are
evicted are counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Final

from cachetools import LRUCache

from secengine.state.fds import FdTable

__all__ = ["MAX_ANCESTORS", "MAX_PROCESSES", "Process", "ProcessTable"]

MAX_PROCESSES: Final = 32768
MAX_ANCESTORS: Final = 64
#: Seconds before /proc is asked again about a pid it did not know.
UNKNOWN_RETRY: Final = 5.0


class Process:
    """One process (thread group)."""

    __slots__ = (
        "pid", "ptid", "comm", "exe", "exepath", "args", "cwd", "env", "tty",
        "uid", "gid", "euid", "egid", "loginuid", "cap_inheritable", "cap_permitted",
        "cap_effective", "sid", "pgid", "vpgid", "vpid", "start_ts", "exe_flags", "exe_ino",
        "exe_ctime", "exe_mtime", "cgroup", "container_id", "pidns_init_start", "fdlimit",
        "fds", "from_proc", "__weakref__",
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
        self.cgroup = ""
        self.container_id = "host"
        self.pidns_init_start = 0
        self.fdlimit = 0
        self.fds = FdTable()
        #: True when this entry was read from /proc rather than built from records
        self.from_proc = False

    def fork(self, pid: int) -> Process:
        """The child of a fork: a copy of this process with its own pid and fd numbering."""
        child = Process.__new__(Process)
        for slot in Process.__slots__[:-1]:
            setattr(child, slot, getattr(self, slot))
        child.pid = pid
        child.ptid = self.pid
        child.fds = self.fds.copy()
        child.from_proc = False
        return child

    @property
    def cmdline(self) -> str:
        return self.comm + (" " + " ".join(self.args) if self.args else "")

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, comm={self.comm!r}, ptid={self.ptid})"


class ProcessTable:
    """pid -> Process, LRU-bounded; ``loader`` fills misses from /proc (or returns None)."""

    def __init__(self, max_processes: int = MAX_PROCESSES,
                 loader: Callable[[int], Process | None] | None = None) -> None:
        self._procs: LRUCache[int, Process] = LRUCache(maxsize=max_processes)
        self._loader = loader
        #: pids /proc did not know (gone already): not read again for a while
        self._unknown: LRUCache[int, float] = LRUCache(maxsize=4096)
        self.lookups_failed = 0
        self.removed = 0

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
                self._procs[pid] = proc
        return proc

    def put(self, proc: Process) -> None:
        self._procs[proc.pid] = proc
        self._unknown.pop(proc.pid, None)

    def remove(self, pid: int) -> None:
        if self._procs.pop(pid, None) is not None:
            self.removed += 1

    def parent(self, proc: Process) -> Process | None:
        if proc.ptid <= 0 or proc.ptid == proc.pid:
            return None
        return self.get(proc.ptid)

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
