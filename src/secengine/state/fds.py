"""File descriptors: what an fd refers to, per process, bounded.

An :class:`FdInfo` is what Falco's ``fd.*`` fields read: the type character
(``f`` file, ``d`` directory, ``4``/``6`` IP sockets, ``u`` unix, ``p`` pipe,
``m`` memfd, ...), the name (an absolute path, or ``cip:cport->sip:sport``
for a socket, or the unix path), the socket's ends and protocol, and whether
the fd is close-on-exec (dropped at exec, as the kernel does).

An :class:`FdTable` maps fd numbers to infos and holds at most
``MAX_FDS`` entries (the oldest entry is evicted first, and counted).

:func:`fd_link` recognises a path through a descriptor's magic link
(``/proc/self/fd/N``, ``/dev/fd/N``, ...): opening one reopens the file that
descriptor refers to, so :meth:`FdTable.resolve_link` names it by the table's
entry instead of the path as given (an evasion otherwise: a rule on
``/proc/<pid>/exe`` or ``core_pattern`` would not see the reopen).
"""

from __future__ import annotations

import functools
import ipaddress
import posixpath
import re
import socket as _socket
from typing import Final

__all__ = ["MAX_FDS", "TYPE_NAMES", "FdInfo", "FdTable", "fd_link", "format_addr"]

#: At most this many fds are remembered per process.
MAX_FDS: Final = 4096

#: fd.typechar -> fd.type
TYPE_NAMES: Final = {
    "f": "file",
    "d": "directory",
    "4": "ipv4",
    "6": "ipv6",
    "u": "unix",
    "p": "pipe",
    "e": "event",
    "s": "signalfd",
    "l": "eventpoll",
    "i": "inotify",
    "t": "timerfd",
    "n": "netlink",
    "b": "bpf",
    "r": "io_uring",
    "m": "memfd",
    "P": "pidfd",
    "o": "unknown",
}

_L4: Final = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp", 255: "raw"}

#: ``/proc/{self,thread-self,<pid>}/fd/N[/rest]`` and ``/dev/fd/N[/rest]`` (group 1: who, 2: N,
#: 3: the rest). ``/proc/<pid>/task/<tid>/fd/N`` is a thread's view of the same table.
_FD_LINK: Final = re.compile(
    r"/(?:proc/(self|thread-self|\d+)(?:/task/\d+)?|dev)/fd/(\d+)(/.*)?", re.ASCII | re.DOTALL
)


class FdInfo:
    """One open file descriptor."""

    __slots__ = (
        "typechar",
        "name",
        "nameraw",
        "cloexec",
        "l4proto",
        "lip",
        "lport",
        "rip",
        "rport",
        "is_server",
        "has_role",
        "connected",
        "dev",
        "ino",
        "flags",
        "outside_root",
    )

    def __init__(
        self,
        typechar: str,
        name: str = "",
        *,
        nameraw: str | None = None,
        cloexec: bool = False,
        l4proto: str = "",
        lip: str | None = None,
        lport: int = 0,
        rip: str | None = None,
        rport: int = 0,
        is_server: bool = False,
        has_role: bool = False,
        connected: bool = False,
        dev: int = 0,
        ino: int = 0,
        flags: int = 0,
        outside_root: bool = False,
    ) -> None:
        self.typechar = typechar
        self.name = name
        self.nameraw = name if nameraw is None else nameraw
        self.cloexec = cloexec
        self.l4proto = l4proto
        self.lip = lip
        self.lport = lport
        self.rip = rip
        self.rport = rport
        self.is_server = is_server
        #: client or server (libsinsp's fd role): a socket with neither has no ends and no
        #: protocol yet (libsinsp ``sinsp_fdinfo::is_role_none``)
        self.has_role = has_role or is_server
        self.connected = connected
        self.dev = dev
        self.ino = ino
        self.flags = flags
        #: the probe found the file outside the opening process's root (an openat relative
        #: to a directory fd of the host's, leaked into a container); False: not known
        self.outside_root = outside_root

    @property
    def type(self) -> str:
        return TYPE_NAMES.get(self.typechar, "unknown")

    @property
    def is_socket(self) -> bool:
        return self.typechar in ("4", "6", "u")

    # client / server ends, as libsinsp names them
    @property
    def cip(self) -> str | None:
        return self.rip if self.is_server else self.lip

    @property
    def sip(self) -> str | None:
        return self.lip if self.is_server else self.rip

    @property
    def cport(self) -> int:
        return self.rport if self.is_server else self.lport

    @property
    def sport(self) -> int:
        return self.lport if self.is_server else self.rport

    def bind(self, addr: str, ip: str | None, port: int) -> None:
        """A successful ``bind`` to ``addr`` (``ip:port`` or a unix path), as libsinsp's
        ``parse_bind_exit``: the fd is named by the address; a port makes an IP socket a
        server on that address and port (a port of 0 names it and gives it no role)."""
        self.name = self.nameraw = addr
        if port and self.typechar in ("4", "6"):
            self.lip, self.lport, self.rip, self.rport = ip, port, None, 0
            self.is_server = self.has_role = True

    def set_tuple(
        self, lip: str | None, lport: int, rip: str | None, rport: int, is_server: bool
    ) -> None:
        """Record the socket's ends and rename it ``cip:cport->sip:sport``."""
        self.lip, self.lport, self.rip, self.rport = lip, lport, rip, rport
        self.is_server = is_server
        self.has_role = True
        if self.typechar in ("4", "6"):
            self.name = f"{format_addr(self.cip, self.cport)}->{format_addr(self.sip, self.sport)}"
            self.nameraw = self.name

    def copy(self) -> FdInfo:
        new = _new_info(FdInfo)
        new.typechar = self.typechar
        new.name = self.name
        new.nameraw = self.nameraw
        new.cloexec = self.cloexec
        new.l4proto = self.l4proto
        new.lip = self.lip
        new.lport = self.lport
        new.rip = self.rip
        new.rport = self.rport
        new.is_server = self.is_server
        new.has_role = self.has_role
        new.connected = self.connected
        new.dev = self.dev
        new.ino = self.ino
        new.flags = self.flags
        new.outside_root = self.outside_root
        return new

    def __repr__(self) -> str:
        return f"FdInfo({self.typechar!r}, {self.name!r})"


_new_info: Final = FdInfo.__new__


def format_addr(ip: str | None, port: int) -> str:
    """``ip:port`` as libsinsp prints it (IPv6 without brackets)."""
    return f"{ip or '0.0.0.0'}:{port}"


def l4proto_name(proto: int, stype: int) -> str:
    if proto in _L4:
        return _L4[proto]
    if stype == _socket.SOCK_STREAM:
        return "tcp"
    if stype == _socket.SOCK_DGRAM:
        return "udp"
    if stype == _socket.SOCK_RAW:
        return "raw"
    return ""


@functools.lru_cache(maxsize=8192)
def ip_text(raw: bytes, family: int) -> str:
    if family == _socket.AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    addr = ipaddress.IPv6Address(raw[:16])
    mapped = addr.ipv4_mapped
    return str(mapped) if mapped is not None else str(addr)


def fd_link(path: str) -> tuple[str, int, str] | None:
    """(whose table: ``self`` or a pid as text, fd number, the rest of the path) when ``path``
    goes through an fd's magic link, else None. Cheap for ordinary paths (a prefix test)."""
    if not path.startswith(("/proc/", "/dev/fd/")):
        return None
    m = _FD_LINK.fullmatch(path)
    if m is None:
        return None
    who = m.group(1) or "self"
    return ("self" if who == "thread-self" else who), int(m.group(2)), m.group(3) or ""


class FdTable:
    """fd number -> FdInfo for one process (or several sharing CLONE_FILES)."""

    __slots__ = ("fds", "evicted")

    def __init__(self, fds: dict[int, FdInfo] | None = None) -> None:
        self.fds: dict[int, FdInfo] = fds if fds is not None else {}
        self.evicted = 0

    def get(self, fd: int) -> FdInfo | None:
        return self.fds.get(fd)

    def set(self, fd: int, info: FdInfo) -> None:
        fds = self.fds
        if fd not in fds and len(fds) >= MAX_FDS:
            del fds[next(iter(fds))]
            self.evicted += 1
        fds[fd] = info

    def resolve_link(self, fd: int, rest: str) -> str | None:
        """The name of the file ``/proc/self/fd/<fd><rest>`` opens, from this table: the fd's
        own name, or ``rest`` taken from it lexically (the fd is a directory); None when the fd
        is unknown or has no path (a pipe or a socket: the kernel opens those by inode)."""
        info = self.fds.get(fd)
        if info is None or not info.name.startswith("/") or info.is_socket:
            return None
        if not rest:
            return info.name
        norm = posixpath.normpath(info.name + "/" + rest)
        return "/" + norm.lstrip("/")

    def close(self, fd: int) -> FdInfo | None:
        return self.fds.pop(fd, None)

    def close_range(self, first: int, last: int) -> None:
        for fd in [f for f in self.fds if first <= f <= last]:
            del self.fds[fd]

    def drop_cloexec(self) -> None:
        for fd in [f for f, info in self.fds.items() if info.cloexec]:
            del self.fds[fd]

    def copy(self) -> FdTable:
        """A child's table after fork: the same open files (the infos are shared, as the
        kernel shares the open file descriptions), but its own numbering."""
        return FdTable(dict(self.fds))

    def __len__(self) -> int:
        return len(self.fds)
