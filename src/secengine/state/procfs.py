"""Read processes and their fds from ``/proc``: the seed of the state tables.

At start every running process is read once (:func:`scan`); later a record
naming an unknown process reads just that one (:func:`read_process`). The
socket inode table (``/proc/net/{tcp,udp,unix}*``) turns ``socket:[ino]``
links into tuples. Everything tolerates processes vanishing mid-read.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from secengine.state.containers import container_id_from_cgroup
from secengine.state.fds import FdInfo, FdTable, ip_text
from secengine.state.threads import Process

__all__ = [
    "NS_KINDS",
    "PROC",
    "boot_time_ns",
    "host_namespaces",
    "namespaces",
    "parent_and_start",
    "read_fds",
    "read_process",
    "scan",
    "socket_table",
]

PROC: Final = Path("/proc")
_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: The namespaces the probe reports, in its order (``se_ns``).
NS_KINDS: Final = ("user", "mnt", "net", "pid")
#: The environment read from /proc is cut where the probe cuts it at exec.
_ENV_MAX: Final = 4094


def namespaces(pid: int | str) -> tuple[int, int, int, int]:
    """The namespace inodes of ``pid`` (user, mnt, net, pid), as ``/proc/PID/ns`` names them;
    0 for one that cannot be read."""
    out = []
    for kind in NS_KINDS:
        try:
            out.append(os.stat(PROC / str(pid) / "ns" / kind).st_ino)
        except OSError:
            out.append(0)
    return (out[0], out[1], out[2], out[3])


def host_namespaces() -> tuple[int, int, int, int]:
    """The initial namespaces' inodes (0 where none could be read).

    Kernel threads live in the initial namespaces by construction, so ``kthreadd`` (pid 2 in
    the host's pid namespace, where the agent must run to see the host's processes) is asked
    first; pid 1 only when that fails: an init may be denied to us (here an LSM refuses
    ``/proc/1/ns`` even to root) or may have moved namespaces itself.
    """
    if (_read(PROC / "2" / "comm") or b"").strip() == b"kthreadd":
        found = namespaces(2)
        if all(found):
            return found
    return namespaces(1)


def boot_time_ns() -> int:
    """Epoch time of boot in ns: add to boot-clock timestamps to get wall time."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _readlink(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _status(data: bytes) -> dict[str, str]:
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def parent_and_start(pid: int, boot_ns: int) -> tuple[int, int] | None:
    """(parent pid, start time in epoch ns) of ``pid`` from its stat line; None if it is gone.

    One small read: what reparenting an orphan and spotting a reused pid need."""
    raw = _read(PROC / str(pid) / "stat")
    if raw is None:
        return None
    rest = raw[raw.rfind(b")") + 2 :].split()
    try:
        return int(rest[1]), boot_ns + int(rest[19]) * 1_000_000_000 // _TICKS
    except (IndexError, ValueError):
        return None


def read_process(pid: int, boot_ns: int | None = None, with_fds: bool = True) -> Process | None:
    """The process ``pid`` as /proc shows it now, or None if it is gone."""
    base = PROC / str(pid)
    status_raw = _read(base / "status")
    stat_raw = _read(base / "stat")
    if status_raw is None or stat_raw is None:
        return None
    st = _status(status_raw)
    tgid = int(st.get("Tgid", pid) or pid)
    if tgid != pid:
        return None  # a thread: its process is the entry
    proc = Process(pid)
    proc.from_proc = True
    proc.comm = st.get("Name", "")
    proc.ptid = int(st.get("PPid", "0") or 0)
    uids = st.get("Uid", "0 0 0 0").split()
    gids = st.get("Gid", "0 0 0 0").split()
    proc.uid, proc.euid = int(uids[0]), int(uids[1])
    proc.gid, proc.egid = int(gids[0]), int(gids[1])
    proc.cap_inheritable = int(st.get("CapInh", "0"), 16)
    proc.cap_permitted = int(st.get("CapPrm", "0"), 16)
    proc.cap_effective = int(st.get("CapEff", "0"), 16)
    nspid = st.get("NSpid", "").split()
    proc.vpid = int(nspid[-1]) if nspid else pid
    nspgid = st.get("NSpgid", "").split()
    # stat: pid (comm) state ppid pgrp session tty_nr ... starttime(22)
    rest = stat_raw[stat_raw.rfind(b")") + 2 :].split()
    try:
        proc.pgid = int(rest[2])
        proc.sid = int(rest[3])
        proc.tty = int(rest[4])
        start_ticks = int(rest[19])
    except (IndexError, ValueError):
        start_ticks = 0
    proc.vpgid = int(nspgid[-1]) if nspgid else proc.pgid
    if boot_ns is None:
        boot_ns = boot_time_ns()
    proc.start_ts = boot_ns + start_ticks * 1_000_000_000 // _TICKS
    cmdline = _read(base / "cmdline") or b""
    args = [a.decode("utf-8", "surrogateescape") for a in cmdline.split(b"\0")]
    if args and args[-1] == "":
        args.pop()
    if args:
        proc.exe = args[0]
        proc.args = args[1:]
    proc.exepath = _readlink(base / "exe") or ""
    proc.exepath = proc.exepath.removesuffix(" (deleted)")
    proc.cwd = _readlink(base / "cwd") or ""
    login = _read(base / "loginuid")
    if login:
        try:
            proc.loginuid = int(login)
        except ValueError:
            pass
    cgroup = _read(base / "cgroup")
    if cgroup:
        proc.cgroup = _pick_cgroup(cgroup.decode("utf-8", "replace"))
        proc.container_id = container_id_from_cgroup(proc.cgroup)
    try:
        st_exe = os.stat(base / "exe")
    except OSError:
        pass
    else:
        proc.exe_ino = st_exe.st_ino
        proc.exe_mode, proc.exe_uid, proc.exe_gid = st_exe.st_mode, st_exe.st_uid, st_exe.st_gid
    environ = _read(base / "environ")
    if environ:
        env = environ[:_ENV_MAX].split(b"\0")
        proc.env = [e.decode("utf-8", "surrogateescape") for e in env if e]
    proc.ns = namespaces(pid)
    if with_fds:
        proc.fds = read_fds(pid)
    return proc


def _pick_cgroup(text: str) -> str:
    """The first non-root cgroup path (v2 line first), as the probe picks it."""
    paths = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            paths.append((parts[0] != "0", parts[2]))
    paths.sort(key=lambda p: p[0])
    for _, path in paths:
        if path not in ("", "/"):
            return path
    return "/"


def read_fds(pid: int, sockets: dict[int, FdInfo] | None = None) -> FdTable:
    """The fd table of ``pid`` from /proc/PID/fd (sockets resolved when a table is given)."""
    table = FdTable()
    base = PROC / str(pid) / "fd"
    try:
        names = os.listdir(base)
    except OSError:
        return table
    for name in names:
        try:
            fd = int(name)
        except ValueError:
            continue
        target = _readlink(base / name)
        if target is None:
            continue
        table.set(fd, _fd_from_link(target, sockets))
    return table


def _fd_from_link(target: str, sockets: dict[int, FdInfo] | None) -> FdInfo:
    if target.startswith("/"):
        if target.startswith("/memfd:"):
            return FdInfo("m", target[1:].removesuffix(" (deleted)"))
        try:
            is_dir = os.path.isdir(target)
        except OSError:
            is_dir = False
        return FdInfo("d" if is_dir else "f", target)
    if target.startswith("socket:["):
        ino = int(target[8:-1])
        if sockets is not None and ino in sockets:
            return sockets[ino].copy()
        return FdInfo("u", "")
    if target.startswith("pipe:["):
        return FdInfo("p", "")
    if target.startswith("anon_inode:"):
        kind = target[len("anon_inode:") :].strip("[]")
        char = {
            "eventfd": "e",
            "eventpoll": "l",
            "inotify": "i",
            "signalfd": "s",
            "timerfd": "t",
            "bpf-map": "b",
            "bpf-prog": "b",
            "bpf_link": "b",
            "io_uring": "r",
            "pidfd": "P",
            "userfaultfd": "u",
        }.get(kind, "o")
        return FdInfo(char, "")
    return FdInfo("o", target)


def socket_table() -> dict[int, FdInfo]:
    """Socket inode -> FdInfo from /proc/net (tcp, tcp6, udp, udp6, unix)."""
    out: dict[int, FdInfo] = {}
    for fname, family, proto in (
        ("tcp", socket.AF_INET, "tcp"),
        ("tcp6", socket.AF_INET6, "tcp"),
        ("udp", socket.AF_INET, "udp"),
        ("udp6", socket.AF_INET6, "udp"),
    ):
        data = _read(PROC / "net" / fname)
        if not data:
            continue
        for line in data.decode().splitlines()[1:]:
            cols = line.split()
            if len(cols) < 10:
                continue
            lip, lport = _hexaddr(cols[1], family)
            rip, rport = _hexaddr(cols[2], family)
            listening = cols[3] == "0A"
            info = FdInfo("4" if family == socket.AF_INET else "6", l4proto=proto)
            # a listening or accepted socket is the server end
            info.set_tuple(lip, lport, rip, rport, is_server=listening)
            info.connected = not listening and rport != 0
            out[int(cols[9])] = info
    data = _read(PROC / "net" / "unix")
    if data:
        for line in data.decode("utf-8", "replace").splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 7:
                out[int(cols[6])] = FdInfo("u", cols[7] if len(cols) > 7 else "")
    return out


def _hexaddr(text: str, family: int) -> tuple[str, int]:
    addr, _, port = text.partition(":")
    raw = bytes.fromhex(addr)
    if family == socket.AF_INET:
        raw = raw[::-1]
    else:
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return ip_text(raw, family), int(port, 16)


def scan(boot_ns: int | None = None) -> Iterator[Process]:
    """Every running process, with fds (sockets resolved)."""
    if boot_ns is None:
        boot_ns = boot_time_ns()
    sockets = socket_table()
    for entry in os.listdir(PROC):
        if not entry.isdigit():
            continue
        proc = read_process(int(entry), boot_ns, with_fds=False)
        if proc is None:
            continue
        proc.fds = read_fds(proc.pid, sockets)
        yield proc
