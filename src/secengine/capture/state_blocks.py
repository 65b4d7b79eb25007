"""The state blocks at the start of a capture, from secengine's tables and the host.

libscap writes, before any event, what it knows of the machine: its CPUs,
memory and host name, its interfaces' addresses, its users and groups, and
every thread with its fds. A reader rebuilds its tables from them before the
first event. Here they come from the live source's process table
(:class:`~secengine.state.tracker.StateTracker`, seeded from ``/proc`` and
kept by the records since), the threads of each process from
``/proc/PID/task`` (the table is per process; the capture's is per thread),
and the host's ``/etc/passwd``, ``/etc/group`` and interfaces.
"""

from __future__ import annotations

import dataclasses
import fcntl
import grp
import os
import pwd
import socket
import struct
from collections.abc import Iterable
from typing import Final

from secengine.capture.params import socktuple_of_names
from secengine.capture.writer import (
    FD_DIRECTORY,
    FD_EVENT,
    FD_EVENTPOLL,
    FD_FIFO,
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
    Group,
    Interface,
    MachineInfo,
    ScapWriter,
    ThreadEntry,
    User,
)
from secengine.state.fds import FdInfo
from secengine.state.threads import Process

__all__ = ["fd_entry", "machine_info", "thread_entries", "write_state"]

#: fd.typechar -> the scap fd type whose body is just the name
_NAMED: Final = {
    "d": FD_DIRECTORY,
    "p": FD_FIFO,
    "e": FD_EVENT,
    "s": FD_SIGNALFD,
    "l": FD_EVENTPOLL,
    "i": FD_INOTIFY,
    "t": FD_TIMERFD,
    "n": FD_NETLINK,
}
#: fd.l4proto -> scap_l4_proto
_L4: Final = {"tcp": 2, "udp": 3, "icmp": 4, "raw": 5}
_SIOCGIFADDR: Final = 0x8915
_SIOCGIFNETMASK: Final = 0x891B


def _name(s: str) -> bytes:
    b = s.encode("utf-8", "surrogateescape")[:1023]
    return struct.pack("<H", len(b)) + b


def fd_entry(fd: int, info: FdInfo) -> FdEntry:
    """One fd of the state as an fd list entry (its scap type and on-disk body)."""
    c = info.typechar
    if c in ("f", "m"):
        body = struct.pack("<I", info.flags & 0xFFFFFFFF) + _name(info.name)
        return FdEntry(fd, info.ino, FD_FILE_V2, body + struct.pack("<I", info.dev & 0xFFFFFFFF))
    if c in ("4", "6"):
        l4 = _L4.get(info.l4proto, 0)
        tup = socktuple_of_names(int(c), info.cip, info.cport, info.sip, info.sport)
        size = 4 if c == "4" else 16
        if info.is_server and not info.rip and not info.rport:  # listening: one end
            kind = FD_IPV4_SERVSOCK if c == "4" else FD_IPV6_SERVSOCK
            ip = tup[1 + size + 2 : 1 + 2 * size + 2]
            return FdEntry(fd, info.ino, kind, ip + struct.pack("<HB", info.lport, l4))
        kind = FD_IPV4_SOCK if c == "4" else FD_IPV6_SOCK
        src, sport = tup[1 : 1 + size], info.cport
        dst, dport = tup[3 + size : 3 + 2 * size], info.sport
        return FdEntry(fd, info.ino, kind, src + dst + struct.pack("<HHB", sport, dport, l4))
    if c == "u":
        return FdEntry(fd, info.ino, FD_UNIX_SOCK, struct.pack("<QQ", 0, 0) + _name(info.name))
    return FdEntry(fd, info.ino, _NAMED.get(c, FD_UNSUPPORTED), _name(info.name))


def _threads_of(pid: int) -> list[int]:
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if t.isdigit())
    except OSError:
        return [pid]
    return tids if pid in tids else [pid, *tids]


def thread_entries(procs: Iterable[Process], with_threads: bool = True) -> list[ThreadEntry]:
    """Every thread of ``procs`` (the main thread carries the fds, which threads share)."""
    out = []
    for p in procs:
        fds = [fd_entry(n, info) for n, info in list(p.fds.fds.items())]
        main = ThreadEntry(
            tid=p.pid,
            pid=p.pid,
            ptid=p.ptid,
            sid=p.sid,
            vpgid=p.vpgid,
            comm=p.comm,
            exe=p.exe,
            exepath=p.exepath,
            args=list(p.args),
            cwd=p.cwd,
            fdlimit=p.fdlimit,
            flags=0,
            uid=p.uid,
            gid=p.gid,
            env=list(p.env),
            vtid=p.vpid,
            vpid=p.vpid,
            cgroups=[f"cpuset={p.cgroup}"] if p.cgroup else [],
            loginuid=p.loginuid if p.loginuid < 0x80000000 else p.loginuid - 0x100000000,
            exe_writable=bool(p.exe_flags & 1),
            fds=fds,
        )
        out.append(main)
        if not with_threads:
            continue
        for tid in _threads_of(p.pid):
            if tid == p.pid:
                continue
            out.append(dataclasses.replace(main, tid=tid, fds=[]))
    return out


def machine_info() -> MachineInfo:
    mem = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
                    break
        with open("/proc/sys/kernel/pid_max", encoding="ascii") as f:
            max_pid = int(f.read().strip())
    except (OSError, ValueError):
        max_pid = 4194304
    return MachineInfo(os.cpu_count() or 1, mem, max_pid, socket.gethostname())


def _ioctl_addr(sock: socket.socket, request: int, name: str) -> bytes:
    packed = struct.pack("256s", name.encode()[:15])
    try:
        return fcntl.ioctl(sock.fileno(), request, packed)[20:24]
    except OSError:
        return b""


def interfaces() -> tuple[list[Interface], list[Interface]]:
    """The host's IPv4 addresses (one per interface) and IPv6 addresses."""
    v4, v6 = [], []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _i, name in socket.if_nameindex():
            addr = _ioctl_addr(s, _SIOCGIFADDR, name)
            if addr:
                v4.append(Interface(name, addr, _ioctl_addr(s, _SIOCGIFNETMASK, name)))
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6:
                    v6.append(Interface(parts[5], bytes.fromhex(parts[0])))
    except OSError:
        pass
    return v4, v6


def write_state(writer: ScapWriter, procs: Iterable[Process]) -> None:
    """Section header and every state block, from ``procs`` and the host."""
    writer.section_header()
    writer.machine_info(machine_info())
    writer.interfaces(*interfaces())
    users = [User(u.pw_uid, u.pw_gid, u.pw_name, u.pw_dir, u.pw_shell) for u in pwd.getpwall()]
    groups = [Group(g.gr_gid, g.gr_name) for g in grp.getgrall()]
    writer.users(users, groups)
    writer.processes(thread_entries(procs))
