"""Write a ``.scap`` capture: the pcapng-style blocks libscap reads, one call per block.

A capture is a section header, the state blocks (machine, interfaces, users,
processes, one fd list per thread) and then one block per event. The layouts
are the ones libscap's own writer produces (``scap_savefile.c``: section
version 1.2, process list v9, fd list v2, event block v2, interface list v2,
user list v2), which both the libs of sysdig 0.29.3 (Debian 12) and current
Falco read. Every block is padded to four bytes and ends with its length.

The entries are the capture reader's own types (:mod:`.tables`), so what a
capture's tables read as is what they write back as. This module knows the
format, not where the values come from:
:mod:`.state_blocks` fills the state blocks from secengine's tables and
:mod:`.probe_events` turns probe records into events. Event parameters are
passed already encoded (:mod:`.params`), so a block is one ``struct.pack``
and one write.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
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
from secengine.capture.tables import (
    FD_DIRECTORY,
    FD_EVENT,
    FD_EVENTPOLL,
    FD_FIFO,
    FD_FILE,
    FD_FILE_V2,
    FD_INOTIFY,
    FD_IPV4_SERVSOCK,
    FD_IPV4_SOCK,
    FD_IPV6_SERVSOCK,
    FD_IPV6_SOCK,
    FD_NETLINK,
    FD_SIGNALFD,
    FD_TIMERFD,
    FD_UNIX_SOCK,
    FD_UNSUPPORTED,
    FdEntry,
    Interface,
    MachineInfo,
    ThreadEntry,
    UserEntry,
)

__all__ = ["MAX_NAME", "MAX_PATH", "ScapWriter", "fd_body"]

#: fd types whose body is a name, in the libs of sysdig 0.29.3 (later ones are not written)
_NAMED_029: Final = frozenset(
    {
        FD_FILE,
        FD_DIRECTORY,
        FD_FIFO,
        FD_EVENT,
        FD_UNSUPPORTED,
        FD_SIGNALFD,
        FD_EVENTPOLL,
        FD_INOTIFY,
        FD_TIMERFD,
        FD_NETLINK,
    }
)

#: ``scap_ifinfo`` entry types (``SCAP_II_IPV4``/``SCAP_II_IPV6``: with the link speed).
_II_IPV4: Final = 1
_II_IPV6: Final = 2
#: libscap's SCAP_MAX_PATH_SIZE less the NUL: longer strings are cut (its reader refuses them).
MAX_PATH: Final = 1023
#: an interface or user/group name (MAX_CREDENTIALS_STR_LEN)
MAX_NAME: Final = 255
#: the driver's cap of args, env and cgroups
MAX_LIST: Final = 4096

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


def _nul_list(items: Sequence[str], limit: int = MAX_LIST) -> bytes:
    """Strings as libscap keeps args/env/cgroups: each NUL-terminated, the whole cut at
    ``limit`` bytes (the driver's cap)."""
    return b"".join(_text(s, limit) + b"\0" for s in items)[:limit]


def _ip(text: str | None, size: int) -> bytes:
    """An address as the tables hold it (text) in network order; zeros when absent."""
    if not text:
        return b"\0" * size
    addr = ipaddress.ip_address(text)
    if size == 16 and addr.version == 4:
        addr = ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + addr.packed)
    return addr.packed[:size].ljust(size, b"\0")


def fd_body(e: FdEntry) -> bytes:
    """The on-disk body of an fd list entry after its fd, inode and type (per type)."""
    t = e.type
    if t == FD_FILE_V2:
        return struct.pack("<I", e.open_flags & 0xFFFFFFFF) + _str16(e.name) + _U32.pack(e.dev)
    if t == FD_IPV4_SOCK:
        return _ip(e.sip, 4) + _ip(e.dip, 4) + struct.pack("<HHB", e.sport, e.dport, e.l4proto)
    if t == FD_IPV6_SOCK:
        return _ip(e.sip, 16) + _ip(e.dip, 16) + struct.pack("<HHB", e.sport, e.dport, e.l4proto)
    if t == FD_IPV4_SERVSOCK:
        return _ip(e.sip, 4) + struct.pack("<HB", e.sport, e.l4proto)
    if t == FD_IPV6_SERVSOCK:
        return _ip(e.sip, 16) + struct.pack("<HB", e.sport, e.l4proto)
    if t == FD_UNIX_SOCK:
        return struct.pack("<QQ", e.source, e.destination) + _str16(e.name)
    if t in _NAMED_029:
        return _str16(e.name)
    raise ValueError(f"fd type {t} is not one sysdig 0.29.3 reads")


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
        body = struct.pack(
            "<IQQ128sQQQQ", m.num_cpus, m.memory_bytes, m.max_pid, host, m.boot_ts, m.flags, 0, 0
        )
        self.block(MI_BLOCK_TYPE, body)

    def interfaces(self, items: Sequence[Interface]) -> None:
        """The interface list: IPv4 entries, then IPv6 ones (by the address's version)."""
        parts = []
        for version, kind, size in ((4, _II_IPV4, 4), (6, _II_IPV6, 16)):
            for i in items:
                if ipaddress.ip_address(i.addr).version != version:
                    continue
                name = _text(i.name, MAX_NAME)
                entry = (
                    struct.pack("<HH", kind, len(name))
                    + _ip(i.addr, size)
                    + _ip(i.netmask, size)
                    + _ip(i.bcast, size)
                    + struct.pack("<Q", 0)  # link speed: not known
                    + name
                )
                parts.append(_U32.pack(len(entry)) + entry)
        self.block(IL_BLOCK_TYPE_V2, b"".join(parts))

    def users(self, entries: Sequence[UserEntry]) -> None:
        """The user list: users, then groups."""
        parts = []
        for u in entries:
            if not u.is_group:
                entry = (
                    struct.pack("<BII", 0, u.uid & 0xFFFFFFFF, u.gid & 0xFFFFFFFF)
                    + _str16(u.name, MAX_NAME)
                    + _str16(u.home)
                    + _str16(u.shell)
                )
                parts.append(_U32.pack(len(entry) + 4) + entry)
        for g in entries:
            if g.is_group:
                entry = struct.pack("<BI", 1, g.gid & 0xFFFFFFFF) + _str16(g.name, MAX_NAME)
                parts.append(_U32.pack(len(entry) + 4) + entry)
        self.block(UL_BLOCK_TYPE_V2, b"".join(parts))

    def processes(self, threads: Sequence[ThreadEntry]) -> None:
        """The process list block (layout v9)."""
        self.block(PL_BLOCK_TYPE_V9, b"".join(self._thread(t) for t in threads))

    @staticmethod
    def _thread(t: ThreadEntry) -> bytes:
        args = _nul_list(t.args)
        env = _nul_list(t.env)
        cgroups = _nul_list(t.cgroups)
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
                    t.flags & 0xFFFFFFFF,
                    t.uid & 0xFFFFFFFF,
                    t.gid & 0xFFFFFFFF,
                    0,  # vm size, rss, swap (kB) and page faults: not kept
                    0,
                    0,
                    0,
                    0,
                ),
                _U16.pack(len(env)) + env,
                struct.pack("<qq", t.vtid, t.vpid),
                _U16.pack(len(cgroups)) + cgroups,
                _str16(t.root),
                struct.pack("<IB", t.loginuid & 0xFFFFFFFF, 1 if t.exe_writable else 0),
            )
        )
        return _U32.pack(len(entry) + 4) + entry

    def fds(self, tid: int, entries: Sequence[FdEntry]) -> None:
        """One fd list block (layout v2) for thread ``tid``."""
        parts = [struct.pack("<q", tid)]
        for e in entries:
            entry = struct.pack("<qQB", e.fd, e.ino, e.type) + fd_body(e)
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
