"""The state blocks of a capture: machine info, process list, fd lists, interfaces, users.

These are the tables libscap writes before the first event, the state a
capture's events start from. Each reader follows libscap's
``scap_savefile.c`` for every block version it knows (process list V1..V9,
fd list V1/V2, user and interface list V1/V2): entries of the V2 blocks carry
their own length, so fields a newer libs appends are skipped, never misread.
A bad length is a :class:`~secengine.capture.blocks.CaptureFormatError` at the
entry's offset.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Final

from secengine.capture import blocks as B
from secengine.capture.cursor import Cursor

__all__ = [
    "FdEntry",
    "Interface",
    "MachineInfo",
    "ThreadEntry",
    "UserEntry",
    "read_fdlist",
    "read_iflist",
    "read_machine_info",
    "read_proclist",
    "read_userlist",
]

MAX_PATH: Final = 1024
MAX_ARGS: Final = 4096
MAX_ENV: Final = 4096
MAX_CGROUPS: Final = 4096
MAX_CREDENTIALS: Final = 256

# scap_fd_type
FD_FILE, FD_DIRECTORY, FD_IPV4_SOCK, FD_IPV6_SOCK = 1, 2, 3, 4
FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK, FD_FIFO, FD_UNIX_SOCK = 5, 6, 7, 8
FD_EVENT, FD_UNSUPPORTED, FD_SIGNALFD, FD_EVENTPOLL, FD_INOTIFY = 9, 10, 11, 12, 13
FD_TIMERFD, FD_NETLINK, FD_FILE_V2, FD_BPF, FD_USERFAULTFD = 14, 15, 16, 17, 18
FD_IOURING, FD_MEMFD, FD_PIDFD = 19, 20, 21
#: fd types whose entry is just a name
_NAMED_FDS: Final = frozenset(
    {FD_FIFO, FD_FILE, FD_DIRECTORY, FD_UNSUPPORTED, FD_EVENT, FD_SIGNALFD, FD_EVENTPOLL,
     FD_INOTIFY, FD_TIMERFD, FD_NETLINK, FD_BPF, FD_USERFAULTFD, FD_IOURING, FD_MEMFD,
     FD_PIDFD}
)  # fmt: skip

_MI: Final = struct.Struct("<IQQ128sQQQQ")


@dataclass(slots=True)
class MachineInfo:
    """The machine info block (``scap_machine_info``)."""

    num_cpus: int
    memory_bytes: int
    max_pid: int
    hostname: str
    boot_ts: int
    flags: int


@dataclass(slots=True)
class ThreadEntry:
    """One thread of the process list (``scap_threadinfo``), fields as libscap names them."""

    tid: int
    pid: int
    ptid: int
    sid: int = -1
    vpgid: int = -1
    comm: str = ""
    exe: str = ""
    exepath: str = ""
    args: list[str] = field(default_factory=list)
    cwd: str = ""
    fdlimit: int = 0
    flags: int = 0
    uid: int = 0
    gid: int = 0
    env: list[str] = field(default_factory=list)
    vtid: int = -1
    vpid: int = -1
    cgroups: list[str] = field(default_factory=list)
    root: str = ""
    pidns_init_start_ts: int = 0
    tty: int = 0
    loginuid: int = 0xFFFFFFFF
    exe_writable: bool = False
    cap_inheritable: int = 0
    cap_permitted: int = 0
    cap_effective: int = 0
    exe_upper_layer: bool = False
    exe_ino: int = 0
    exe_ino_ctime: int = 0
    exe_ino_mtime: int = 0
    exe_from_memfd: bool = False
    exe_lower_layer: bool = False
    pgid: int = -1


@dataclass(slots=True)
class FdEntry:
    """One fd of a thread (``scap_fdinfo``): type, name, and for sockets the tuple."""

    tid: int
    fd: int
    ino: int
    type: int
    name: str = ""
    open_flags: int = 0
    dev: int = 0
    sip: str | None = None
    dip: str | None = None
    sport: int = 0
    dport: int = 0
    l4proto: int = 0
    source: int = 0
    destination: int = 0


@dataclass(slots=True)
class UserEntry:
    """A user (``gid`` is its primary group) or, with ``is_group``, a group."""

    uid: int
    gid: int
    name: str
    home: str = ""
    shell: str = ""
    is_group: bool = False


@dataclass(slots=True)
class Interface:
    """One interface address: IPv4 or IPv6, as text."""

    name: str
    addr: str
    netmask: str
    bcast: str


def _nul_list(raw: str) -> list[str]:
    items = raw.split("\0")
    if items and items[-1] == "":
        items.pop()
    return items


def read_machine_info(c: Cursor) -> MachineInfo:
    raw = c.take(_MI.size, "machine info")
    cpus, mem, maxpid, host, boot, flags, _r3, _r4 = _MI.unpack(raw)
    return MachineInfo(
        cpus, mem, maxpid, host.split(b"\0", 1)[0].decode("utf-8", "replace"), boot, flags
    )


def read_proclist(c: Cursor, version: int) -> list[ThreadEntry]:
    """Every thread of a process list block of layout ``version`` (1..9)."""
    out: list[ThreadEntry] = []
    while c.left() >= 4:
        start = c.pos
        sub_len = c.u32("process entry length") if version >= 9 else 0
        t = ThreadEntry(c.u64("tid"), c.u64("pid"), c.u64("ptid"))
        if version >= 6:
            t.sid = _signed(c.u64("sid"))
        if version >= 8:
            t.vpgid = _signed(c.u64("vpgid"))
        t.comm = c.string("comm", MAX_PATH)
        t.exe = c.string("exe", MAX_PATH)
        if version >= 7:
            t.exepath = c.string("exepath", MAX_PATH)
        t.args = _nul_list(c.string("args", MAX_ARGS))
        t.cwd = c.string("cwd", MAX_PATH)
        t.fdlimit = c.u64("fdlimit")
        t.flags = c.u32("flags")
        t.uid = c.u32("uid")
        t.gid = c.u32("gid")
        if version >= 2:
            c.take(4 * 3 + 8 * 2, "vm and page fault counters")
            if version >= 3:
                t.env = _nul_list(c.string("env", MAX_ENV))
            if version >= 4:
                t.vtid = _signed(c.u64("vtid"))
                t.vpid = _signed(c.u64("vpid"))
                t.cgroups = _nul_list(c.string("cgroups", MAX_CGROUPS))
                if version >= 5:
                    t.root = c.string("root", MAX_PATH)
        if sub_len:
            end = start + sub_len  # the length counts itself
            _optional_tail(c, t, end)
            c.skip_to(end, "process entry")
        out.append(t)
    return out


def _optional_tail(c: Cursor, t: ThreadEntry, end: int) -> None:
    """The fields a V9 entry may append, each present only if the entry is long enough
    (and libs < 0.10 wrote a shorter tail without pidns_init_start_ts and tty)."""

    def room(n: int) -> bool:
        return c.pos + n <= end

    if end - c.pos > 29:
        if room(8):
            t.pidns_init_start_ts = c.u64("pidns_init_start_ts")
        if room(4):
            t.tty = c.u32("tty")
    if room(4):
        t.loginuid = c.u32("loginuid")
    if room(1):
        t.exe_writable = bool(c.u8("exe_writable"))
    if room(8):
        t.cap_inheritable = c.u64("cap_inheritable")
    if room(8):
        t.cap_permitted = c.u64("cap_permitted")
    if room(8):
        t.cap_effective = c.u64("cap_effective")
    if room(1):
        t.exe_upper_layer = bool(c.u8("exe_upper_layer"))
    if room(8):
        t.exe_ino = c.u64("exe_ino")
    if room(8):
        t.exe_ino_ctime = c.u64("exe_ino_ctime")
    if room(8):
        t.exe_ino_mtime = c.u64("exe_ino_mtime")
    if room(1):
        t.exe_from_memfd = bool(c.u8("exe_from_memfd"))
    if room(1):
        t.exe_lower_layer = bool(c.u8("exe_lower_layer"))
    if room(8):
        t.pgid = _signed(c.u64("pgid"))


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _ip4(raw: int) -> str:
    return str(ipaddress.IPv4Address(struct.pack("<I", raw)))


def _ip6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


def read_fdlist(c: Cursor, btype: int) -> list[FdEntry]:
    """The fds of one thread (an fd list block)."""
    v2 = btype == B.FDL_BLOCK_TYPE_V2
    tid = c.u64("fd list tid")
    out: list[FdEntry] = []
    while c.left() >= 4:
        start = c.pos
        sub_len = c.u32("fd entry length") if v2 else 0
        e = FdEntry(tid, _signed(c.u64("fd")), c.u64("ino"), c.u8("fd type"))
        t = e.type
        if t == FD_IPV4_SOCK:
            e.sip, e.dip = _ip4(c.u32("sip")), _ip4(c.u32("dip"))
            e.sport, e.dport, e.l4proto = c.u16("sport"), c.u16("dport"), c.u8("l4proto")
        elif t == FD_IPV4_SERVSOCK:
            e.sip = _ip4(c.u32("ip"))
            e.sport, e.l4proto = c.u16("port"), c.u8("l4proto")
        elif t == FD_IPV6_SOCK:
            e.sip, e.dip = _ip6(c.take(16, "sip")), _ip6(c.take(16, "dip"))
            e.sport, e.dport, e.l4proto = c.u16("sport"), c.u16("dport"), c.u8("l4proto")
        elif t == FD_IPV6_SERVSOCK:
            e.sip = _ip6(c.take(16, "ip"))
            e.sport, e.l4proto = c.u16("port"), c.u8("l4proto")
        elif t == FD_UNIX_SOCK:
            e.source, e.destination = c.u64("source"), c.u64("destination")
            e.name = c.string("unix socket name", MAX_PATH)
        elif t == FD_FILE_V2:
            e.open_flags = c.u32("open flags")
            e.name = c.string("file name", MAX_PATH)
            if sub_len and c.pos + 4 <= start + sub_len:
                e.dev = c.u32("dev")
        elif t in _NAMED_FDS:
            e.name = c.string("fd name", MAX_PATH)
        else:  # a type from a newer libs: libscap keeps it as unsupported, named so
            e.type = FD_UNSUPPORTED
            e.name = f"unknown-type:[{t}]"
        if sub_len:
            c.skip_to(start + sub_len, "fd entry")
        out.append(e)
    return out


def read_userlist(c: Cursor, btype: int) -> list[UserEntry]:
    v2 = btype == B.UL_BLOCK_TYPE_V2
    out: list[UserEntry] = []
    while c.left() >= 4:
        start = c.pos
        sub_len = c.u32("user entry length") if v2 else 0
        kind = c.u8("user entry type")
        if kind == 0:
            u = UserEntry(c.u32("uid"), c.u32("gid"), c.string("user name", MAX_CREDENTIALS))
            u.home = c.string("home", MAX_CREDENTIALS)
            u.shell = c.string("shell", MAX_CREDENTIALS)
        else:
            gid = c.u32("gid")
            u = UserEntry(gid, gid, c.string("group name", MAX_CREDENTIALS), is_group=True)
        if sub_len:
            c.skip_to(start + sub_len, "user entry")
        out.append(u)
    return out


def read_iflist(c: Cursor, btype: int) -> list[Interface]:
    v2 = btype == B.IL_BLOCK_TYPE_V2
    out: list[Interface] = []
    while c.left() >= 4:
        start = c.pos
        entry = c.u32("interface entry length") + 4 if v2 else 0
        itype, namelen = c.u16("interface type"), c.u16("interface name length")
        if namelen >= MAX_PATH:
            raise c.error(f"interface name length {namelen} over {MAX_PATH}")
        if itype in (1, 3):
            a, m, b = (_ip4(c.u32(w)) for w in ("addr", "netmask", "bcast"))
        elif itype in (2, 4):
            a, m, b = (_ip6(c.take(16, w)) for w in ("addr", "netmask", "bcast"))
        else:
            raise c.error(f"unknown interface type {itype}", start)
        if itype in (1, 2):
            c.u64("linkspeed")
        name = c.take(namelen, "interface name").decode("utf-8", "replace")
        if entry:
            c.skip_to(start + entry, "interface entry")
        out.append(Interface(name, a, m, b))
    return out
