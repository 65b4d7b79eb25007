"""A process as ``/proc/PID/stat`` shows it now: what a kill must check before it signals.

Everything a response decides about a live process comes from one read of
its stat line (its start time, parent, process group, flags and name),
taken *after* a pidfd for it is open: if the line matches what the event
saw, the pidfd names that very process, and a signal through it can never
reach a process that later reuses the pid.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = [
    "PF_KTHREAD",
    "START_TOLERANCE_NS",
    "ProcStat",
    "boot_time_ns",
    "exe_of",
    "group_members",
    "read_stat",
]

#: ``PF_KTHREAD`` of the stat line's flags: a kernel thread.
PF_KTHREAD: Final = 0x00200000
#: /proc gives start times in clock ticks: two starts closer than this are the same process
#: (pids wrap after millions of forks, never within this window).
_TICKS: Final = os.sysconf("SC_CLK_TCK")
START_TOLERANCE_NS: Final = 50_000_000 + 1_000_000_000 // _TICKS
_PROC: Final = "/proc"


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/PID/stat`` a response reads."""

    pid: int
    comm: str
    state: str
    ppid: int
    pgrp: int
    flags: int
    #: Start time, ns since the epoch (from the boot-relative ticks of the stat line).
    start_ts: int

    @property
    def kernel_thread(self) -> bool:
        return bool(self.flags & PF_KTHREAD) or self.pid == 2 or self.ppid == 2

    def same_start(self, start_ts: int) -> bool:
        """This is the process that started at ``start_ts`` (ns since the epoch)."""
        return abs(self.start_ts - start_ts) <= START_TOLERANCE_NS


def boot_time_ns() -> int:
    """Epoch time of boot in ns (the same clock the probe's start times are on)."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def read_stat(pid: int, boot_ns: int | None = None) -> ProcStat | None:
    """``pid``'s stat line now, or None if there is no such process (or it cannot be read)."""
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    close = raw.rfind(b")")
    rest = raw[close + 2 :].split()
    try:
        comm = raw[raw.index(b"(") + 1 : close].decode("utf-8", "replace")
        ticks = int(rest[19])
        stat = ProcStat(
            pid=pid,
            comm=comm,
            state=rest[0].decode("ascii", "replace"),
            ppid=int(rest[1]),
            pgrp=int(rest[2]),
            flags=int(rest[6]),
            start_ts=(boot_time_ns() if boot_ns is None else boot_ns)
            + ticks * 1_000_000_000 // _TICKS,
        )
    except (ValueError, IndexError):
        return None
    return stat


def exe_of(pid: int) -> str:
    """The executable ``pid`` runs (``""`` when it cannot be read: a kernel thread, gone)."""
    try:
        return os.readlink(f"{_PROC}/{pid}/exe")
    except OSError:
        return ""


def group_members(pgid: int, boot_ns: int) -> Iterator[ProcStat]:
    """Every process whose process group is ``pgid`` now (a scan of /proc)."""
    try:
        names = os.listdir(_PROC)
    except OSError:
        return
    for name in names:
        if name.isdigit():
            st = read_stat(int(name), boot_ns)
            if st is not None and st.pgrp == pgid:
                yield st
