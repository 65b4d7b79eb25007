"""Write a ``.scap`` capture: the pcapng-style blocks libscap reads, one call per block.

A capture is a section header, the state blocks (machine, interfaces, users,
processes, one fd list per thread) and then one block per event. The layouts
are the ones libscap's own writer produces (``scap_savefile.c``: section
version 1.2, process list v9, fd list v2, event block v2, interface list v2,
user list v2), which both the libs of sysdig 0.29.3 (Debian 12) and current
Falco read. Every block is padded to four bytes and ends with its length.

This module knows the format, not where the values come from:
:mod:`.state_blocks` fills the state blocks from secengine's tables and
:mod:`.probe_events` turns probe records into events. Event parameters are
passed already encoded (:mod:`.params`), so a block is one ``struct.pack``
and one write.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from secengine.capture.blocks import (
    CURRENT_MAJOR_VERSION,
    CURRENT_MINOR_VERSION,
    EV_BLOCK_TYPE_V2,
    FDL_BLOCK_TYPE_V2,
    IL_BLOCK_TYPE_V2,
    MI_BLOCK_TYPE,
    PL_BLOCK_TYPE_V9,
    SHB_BLOCK_TYPE,
    SHB_MAGIC,
    UL_BLOCK_TYPE_V2,
)

__all__ = [
    "FD_DIRECTORY",
    "FD_EVENT",
    "FD_EVENTPOLL",
    "FD_FIFO",
    "FD_FILE_V2",
    "FD_INOTIFY",
    "FD_IPV4_SERVSOCK",
    "FD_IPV4_SOCK",
    "FD_IPV6_SERVSOCK",
    "FD_IPV6_SOCK",
    "FD_NETLINK",
    "FD_SIGNALFD",
    "FD_TIMERFD",
    "FD_UNIX_SOCK",
    "FD_UNSUPPORTED",
    "FdEntry",
    "Group",
    "Interface",
    "MachineInfo",
    "ScapWriter",
    "ThreadEntry",
    "User",
]

#: ``scap_fd_type`` values (``scap.h``) of the fd list.
FD_DIRECTORY: Final = 2
FD_IPV4_SOCK: Final = 3
FD_IPV6_SOCK: Final = 4
FD_IPV4_SERVSOCK: Final = 5
FD_IPV6_SERVSOCK: Final = 6
FD_FIFO: Final = 7
FD_UNIX_SOCK: Final = 8
FD_EVENT: Final = 9
FD_UNSUPPORTED: Final = 10
FD_SIGNALFD: Final = 11
FD_EVENTPOLL: Final = 12
FD_INOTIFY: Final = 13
FD_TIMERFD: Final = 14
FD_NETLINK: Final = 15
FD_FILE_V2: Final = 16

#: ``scap_ifinfo`` entry types (``SCAP_II_IPV4``/``SCAP_II_IPV6``: with the link speed).
_II_IPV4: Final = 1
_II_IPV6: Final = 2
#: libscap's SCAP_MAX_PATH_SIZE: longer strings are cut (its reader refuses them).
MAX_PATH: Final = 1023
#: an interface or user/group name (MAX_CREDENTIALS_STR_LEN)
MAX_NAME: Final = 255

_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_BLOCK_HEAD: Final = struct.Struct("<II")
#: block header, cpuid, then the event header (ts, tid, len, type, nparams)
_EVENT_HEAD: Final = struct.Struct("<IIHQQIHI")
_EVT_HDR_SIZE: Final = 26
_PADS: Final = (b"", b"\0\0\0", b"\0\0", b"\0")


def _text(s: str | bytes, limit: int = MAX_PATH) -> bytes:
    b = s if isinstance(s, bytes) else s.encode("utf-8", "surrogateescape")
    return b[:limit]


def _str16(s: str | bytes, limit: int = MAX_PATH) -> bytes:
    b = _text(s, limit)
    return _U16.pack(len(b)) + b


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """The machine block (``scap_machine_info``)."""

    num_cpus: int
    memory_bytes: int
    max_pid: int
    hostname: str


@dataclass(frozen=True, slots=True)
class Interface:
    """One interface address (IPv4: 4-byte addresses, IPv6: 16-byte)."""

    name: str
    addr: bytes
    netmask: bytes = b""
    bcast: bytes = b""
    linkspeed: int = 0


@dataclass(frozen=True, slots=True)
class User:
    uid: int
    gid: int
    name: str
    homedir: str = ""
    shell: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    gid: int
    name: str


@dataclass(frozen=True, slots=True)
class FdEntry:
    """One fd of a thread: its ``scap_fd_type`` and the body that type has on disk.

    ``body`` is built by the helpers of :mod:`.state_blocks` (a name, or socket
    ends, or open flags + name + dev for a regular file)."""

    fd: int
    ino: int
    type: int
    body: bytes


@dataclass(slots=True)
class ThreadEntry:
    """One thread of the process list (v9 layout) with its fds."""

    tid: int
    pid: int
    ptid: int
    sid: int
    vpgid: int
    comm: str
    exe: str
    exepath: str
    args: Sequence[str]
    cwd: str
    fdlimit: int
    flags: int
    uid: int
    gid: int
    env: Sequence[str] = ()
    vtid: int = 0
    vpid: int = 0
    cgroups: Sequence[str] = ()
    root: str = "/"
    loginuid: int = -1
    exe_writable: bool = False
    fds: list[FdEntry] = field(default_factory=list)


def _nul_list(items: Sequence[str], limit: int) -> bytes:
    """Strings as libscap keeps args/env/cgroups: each NUL-terminated, the whole cut at
    ``limit`` bytes (the driver's cap)."""
    if not items:
        return b""
    return b"".join(_text(s, limit) + b"\0" for s in items)[:limit]


class ScapWriter:
    """Blocks of one capture, written to ``out`` (a binary file, plain or gzip).

    :attr:`bytes_written` counts what was handed to ``out`` (uncompressed).
    """

    __slots__ = ("bytes_written", "events", "out")

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.bytes_written = 0
        self.events = 0

    # -- blocks -------------------------------------------------------------
    def block(self, block_type: int, body: bytes) -> None:
        """One block: header, ``body``, padding to 4 bytes, trailing length."""
        total = 12 + len(body) + (-len(body) & 3)
        data = b"".join(
            (_BLOCK_HEAD.pack(block_type, total), body, _PADS[len(body) & 3], _U32.pack(total))
        )
        self.out.write(data)
        self.bytes_written += total

    def section_header(self) -> None:
        body = struct.pack("<IHHq", SHB_MAGIC, CURRENT_MAJOR_VERSION, CURRENT_MINOR_VERSION, -1)
        self.block(SHB_BLOCK_TYPE, body)

    def machine_info(self, m: MachineInfo) -> None:
        host = _text(m.hostname, 127).ljust(128, b"\0")
        body = struct.pack("<IQQ128s4Q", m.num_cpus, m.memory_bytes, m.max_pid, host, 0, 0, 0, 0)
        self.block(MI_BLOCK_TYPE, body)

    def interfaces(self, v4: Sequence[Interface], v6: Sequence[Interface]) -> None:
        parts = []
        for kind, items, size in ((_II_IPV4, v4, 4), (_II_IPV6, v6, 16)):
            for i in items:
                name = _text(i.name, MAX_NAME)
                fmt = f"<HH{size}s{size}s{size}sQ"
                entry = struct.pack(
                    fmt,
                    kind,
                    len(name),
                    i.addr.ljust(size, b"\0"),
                    i.netmask.ljust(size, b"\0"),
                    i.bcast.ljust(size, b"\0"),
                    i.linkspeed,
                )
                entry += name
                parts.append(_U32.pack(len(entry)) + entry)
        self.block(IL_BLOCK_TYPE_V2, b"".join(parts))

    def users(self, users: Sequence[User], groups: Sequence[Group]) -> None:
        parts = []
        for u in users:
            entry = (
                struct.pack("<BII", 0, u.uid & 0xFFFFFFFF, u.gid & 0xFFFFFFFF)
                + _str16(u.name, MAX_NAME)
                + _str16(u.homedir)
                + _str16(u.shell)
            )
            parts.append(_U32.pack(len(entry) + 4) + entry)
        for g in groups:
            entry = struct.pack("<BI", 1, g.gid & 0xFFFFFFFF) + _str16(g.name, MAX_NAME)
            parts.append(_U32.pack(len(entry) + 4) + entry)
        self.block(UL_BLOCK_TYPE_V2, b"".join(parts))

    def processes(self, threads: Sequence[ThreadEntry]) -> None:
        """The process list block, then one fd list block per thread that has fds."""
        self.block(PL_BLOCK_TYPE_V9, b"".join(self._thread(t) for t in threads))
        for t in threads:
            if t.fds:
                self.fds(t.tid, t.fds)

    def _thread(self, t: ThreadEntry) -> bytes:
        args = _nul_list(t.args, 4096)
        env = _nul_list(t.env, 4096)
        cgroups = _nul_list(t.cgroups, 4096)
        entry = b"".join(
            (
                struct.pack("<qqqqq", t.tid, t.pid, t.ptid, t.sid, t.vpgid),
                _str16(t.comm),
                _str16(t.exe),
                _str16(t.exepath),
                _U16.pack(len(args)) + args,
                _str16(t.cwd),
                struct.pack(
                    "<QIIIIIIQQ",
                    t.fdlimit & 0xFFFFFFFFFFFFFFFF,
                    t.flags,
                    t.uid & 0xFFFFFFFF,
                    t.gid & 0xFFFFFFFF,
                    0,
                    0,
                    0,
                    0,
                    0,
                ),
                _U16.pack(len(env)) + env,
                struct.pack("<qq", t.vtid, t.vpid),
                _U16.pack(len(cgroups)) + cgroups,
                _str16(t.root),
                struct.pack("<iB", t.loginuid, 1 if t.exe_writable else 0),
            )
        )
        return _U32.pack(len(entry) + 4) + entry

    def fds(self, tid: int, fds: Sequence[FdEntry]) -> None:
        parts = [struct.pack("<q", tid)]
        for f in fds:
            entry = struct.pack("<qQB", f.fd, f.ino, f.type) + f.body
            parts.append(_U32.pack(len(entry) + 4) + entry)
        self.block(FDL_BLOCK_TYPE_V2, b"".join(parts))

    # -- events -------------------------------------------------------------
    def event(self, ts: int, tid: int, code: int, params: Sequence[bytes], cpu: int = 0) -> int:
        """One event block (16-bit parameter lengths); returns the bytes written."""
        n = len(params)
        data = b"".join(params)
        evt_len = _EVT_HDR_SIZE + 2 * n + len(data)
        body_len = 2 + evt_len
        pad = -body_len & 3
        total = 12 + body_len + pad
        out = b"".join(
            (
                _EVENT_HEAD.pack(EV_BLOCK_TYPE_V2, total, cpu, ts, tid, evt_len, code, n),
                struct.pack(f"<{n}H", *map(len, params)),
                data,
                _PADS[body_len & 3],
                _U32.pack(total),
            )
        )
        self.out.write(out)
        self.bytes_written += total
        self.events += 1
        return total
