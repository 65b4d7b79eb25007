"""The state blocks at the start of a capture, from secengine's tables and the host.

libscap writes, before any event, what it knows of the machine: its CPUs,
memory and host name, its interfaces' addresses, its users and groups, and
every thread with its fds. A reader rebuilds its tables from them before the
first event. Here they come from the live source's process table (seeded from
``/proc`` and kept by the records since), the threads of each process from
``/proc/PID/task`` (the table is per process; the capture's is per thread, and
threads share their process's fds, which are written once, with the main
thread), and the host's ``/etc/passwd``, ``/etc/group`` and interfaces.
"""

from __future__ import annotations

import dataclasses
import fcntl
import grp
import ipaddress
import os
import pwd
import socket
import struct
from collections.abc import Iterable
from typing import Final

from secengine.capture.tables import (
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
    Interface,
    MachineInfo,
    ThreadEntry,
    UserEntry,
)
from secengine.capture.writer import ScapWriter
from secengine.state.fds import FdInfo
from secengine.state.threads import Process

__all__ = ["fd_entry", "interfaces", "machine_info", "thread_entry", "users", "write_state"]

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


def fd_entry(tid: int, fd: int, info: FdInfo) -> FdEntry:
    """One fd of the state as an fd list entry. A connected socket is written client end
    first (``sip``/``sport`` the client), so that its name reads as secengine names it."""
    c = info.typechar
    if c in ("f", "m"):  # memfd: a file to the libs of sysdig 0.29.3
        return FdEntry(
            tid, fd, info.ino, FD_FILE_V2, info.name, open_flags=info.flags, dev=info.dev
        )
    if c in ("4", "6"):
        l4 = _L4.get(info.l4proto, 0)
        if info.is_server and not info.rip and not info.rport:  # listening: one end
            kind = FD_IPV4_SERVSOCK if c == "4" else FD_IPV6_SERVSOCK
            return FdEntry(tid, fd, info.ino, kind, sip=info.lip, sport=info.lport, l4proto=l4)
        kind = FD_IPV4_SOCK if c == "4" else FD_IPV6_SOCK
        return FdEntry(
            tid,
            fd,
            info.ino,
            kind,
            sip=info.cip,
            dip=info.sip,
            sport=info.cport,
            dport=info.sport,
            l4proto=l4,
        )
    if c == "u":
        return FdEntry(tid, fd, info.ino, FD_UNIX_SOCK, info.name)
    return FdEntry(tid, fd, info.ino, _NAMED.get(c, FD_UNSUPPORTED), info.name)


def _threads_of(pid: int) -> list[int]:
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if t.isdigit())
    except OSError:
        return [pid]
    return tids if pid in tids else [pid, *tids]


def thread_entry(p: Process) -> ThreadEntry:
    """The main thread of ``p`` as a process list entry."""
    return ThreadEntry(
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
        uid=p.uid,
        gid=p.gid,
        env=list(p.env),
        vtid=p.vpid,
        vpid=p.vpid,
        cgroups=[f"cpuset={p.cgroup}"] if p.cgroup else [],
        root="/",
        tty=p.tty,
        loginuid=p.loginuid,
        exe_writable=bool(p.exe_flags & 1),
        cap_inheritable=p.cap_inheritable,
        cap_permitted=p.cap_permitted,
        cap_effective=p.cap_effective,
        pgid=p.pgid,
    )


def machine_info() -> MachineInfo:
    mem = 0
    max_pid = 4194304
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
                    break
        with open("/proc/sys/kernel/pid_max", encoding="ascii") as f:
            max_pid = int(f.read().strip())
    except (OSError, ValueError):
        pass
    return MachineInfo(os.cpu_count() or 1, mem, max_pid, socket.gethostname(), 0, 0)


def _ioctl_addr(sock: socket.socket, request: int, name: str) -> str | None:
    packed = struct.pack("256s", name.encode()[:15])
    try:
        return socket.inet_ntoa(fcntl.ioctl(sock.fileno(), request, packed)[20:24])
    except OSError:
        return None


def interfaces() -> list[Interface]:
    """The host's IPv4 addresses (one per interface) and IPv6 addresses."""
    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _i, name in socket.if_nameindex():
            addr = _ioctl_addr(s, _SIOCGIFADDR, name)
            if addr:
                mask = _ioctl_addr(s, _SIOCGIFNETMASK, name) or "0.0.0.0"
                out.append(Interface(name, addr, mask, "0.0.0.0"))
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6:
                    addr = str(ipaddress.IPv6Address(bytes.fromhex(parts[0])))
                    out.append(Interface(parts[5], addr, "::", "::"))
    except (OSError, ValueError):
        pass
    return out


def users() -> list[UserEntry]:
    """The host's users and groups."""
    out = [UserEntry(u.pw_uid, u.pw_gid, u.pw_name, u.pw_dir, u.pw_shell) for u in pwd.getpwall()]
    out += [UserEntry(0, g.gr_gid, g.gr_name, is_group=True) for g in grp.getgrall()]
    return out


def write_state(writer: ScapWriter, procs: Iterable[Process]) -> None:
    """Section header and every state block, from ``procs`` and the host."""
    writer.section_header()
    writer.machine_info(machine_info())
    writer.interfaces(interfaces())
    writer.users(users())
    procs = list(procs)
    threads = []
    for p in procs:
        main = thread_entry(p)
        threads.append(main)
        threads.extend(
            dataclasses.replace(main, tid=tid) for tid in _threads_of(p.pid) if tid != p.pid
        )
    writer.processes(threads)
    for p in procs:
        fds = [fd_entry(p.pid, n, info) for n, info in list(p.fds.fds.items())]
        if fds:
            writer.fds(p.pid, fds)
