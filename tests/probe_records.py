"""Probe records built by hand, as the eBPF probe writes them, for the state and field tests.

:func:`exec_rec` is an exec (with its process section and the cgroup the
container id comes from), :func:`exit_rec` a thread group's exit;
:func:`fields` applies a record to a tracker and returns the event's live
field values.
"""

from __future__ import annotations

import os
import struct

from secengine.bpf import layout as L
from secengine.fields.live import LiveFieldValues
from secengine.state.decode import Rec
from secengine.state.tracker import StateTracker

__all__ = ["blob", "exec_rec", "exit_rec", "fields", "hdr", "proc"]


def blob(b: bytes | str) -> bytes:
    if isinstance(b, str):
        b = b.encode()
    return struct.pack("<H", len(b)) + b


def hdr(
    evt: int, nr: int, tid: int, pid: int, res: int = 0, args=(0,) * 6, hflags: int = 0
) -> bytes:
    return L.HDR.pack(1000, tid, pid, nr, evt, 0, hflags, res, *args)


def proc(
    ptid: int,
    *,
    flags: int = 0,
    uid: int = 0,
    caps: int = 0,
    vpid: int = 0,
    pidns_init_start: int = 0,
    exe_mode: int = 0o100755,
    ns: tuple[int, int, int, int] = (1, 2, 3, 4),
) -> bytes:
    return L.PROC.pack(
        ptid,
        1,
        1,
        1,
        vpid,
        vpid,
        0,
        flags,
        77,
        1,
        2,
        500,
        pidns_init_start,
        1024,
        uid,
        uid,
        uid,
        uid,
        uid,
        uid,
        0xFFFFFFFF,
        0,
        0,
        caps,
        caps,
        exe_mode,
        0,
        0,
        0,
        *ns,
    )


def exec_rec(
    pid: int,
    ptid: int,
    argv: list[str],
    *,
    cwd: str = "/",
    cgroup: str = "/",
    exepath: str | None = None,
    flags: int = 0,
    filename: str | None = None,
    vpid: int = 0,
    pidns_init_start: int = 0,
    hflags: int = 0,
) -> bytes:
    exe = exepath or argv[0]
    return (
        hdr(L.EVT_EXEC, 59, pid, pid, hflags=hflags)
        + proc(ptid, flags=flags, caps=1 << 16, vpid=vpid, pidns_init_start=pidns_init_start)
        + blob(filename or argv[0])
        + blob("\0".join(argv) + "\0")
        + blob(exe)
        + blob(cwd)
        + blob(os.path.basename(exe)[:15])
        + blob(cgroup)
    )


def exit_rec(pid: int) -> bytes:
    """The exit of ``pid``'s whole thread group."""
    return hdr(L.EVT_EXIT, 0, pid, pid, args=(0, 1, 0, 0, 0, 0))


def fields(tracker: StateTracker, data: bytes) -> LiveFieldValues:
    rec = Rec(data, 0)
    p, fdnum, fd, changed = tracker.apply(rec)
    return LiveFieldValues(rec, p, fdnum, fd, changed, tracker)
