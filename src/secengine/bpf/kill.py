"""The probe's kill rules as its maps hold them, and the records a kill leaves.

A rule whose kill response the probe can decide from the event alone is
compiled (by :mod:`secengine.sources.syscall_kill`) into a :class:`KillRule`:
the syscalls it looks at (entry keys: the native number, or
``MAX_SYSCALLS`` + the ia32 number), facts the event must have (flags
``KR_*``: in a container or on the host, the call succeeded, the opened
file is regular / opened for reading or writing), and sets of names the
process name, the opened file's path or the executable's path must be in
(or not in). This module turns those into map entries
(:func:`rule_entries`) and decodes the record the probe leaves when one
matches (:func:`kill_report`). The probe's side is in ``probe.bpf.c``
("in-kernel kill"); what the target can still do before it dies is in
``docs/response.md``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from secengine.bpf import layout as L

__all__ = [
    "OUTCOMES",
    "KillReport",
    "KillRule",
    "KillSettings",
    "PathSet",
    "allow_comm_key",
    "comm_key",
    "exe_key",
    "kill_report",
    "path_keys",
    "rule_entries",
]

#: A kill record's outcome code -> its name (``SE_KILL_*``).
OUTCOMES: Final = {
    L.KILL_KILLED: "killed",
    L.KILL_DRY_RUN: "dry_run",
    L.KILL_RATE_LIMITED: "rate_limited",
    L.KILL_FAILED: "failed",
    L.KILL_PROTECTED: "protected",
}

#: Longest process name the kernel keeps (task->comm without its NUL).
COMM_MAX: Final = 15


@dataclass(frozen=True, slots=True)
class PathSet:
    """Exact paths and path prefixes (a prefix matches every path that starts with it)."""

    exact: frozenset[str] = frozenset()
    prefixes: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes)

    def __or__(self, other: PathSet) -> PathSet:
        return PathSet(self.exact | other.exact, self.prefixes | other.prefixes)


@dataclass(frozen=True, slots=True)
class KillRule:
    """One rule as the probe checks it; every part must hold for the kill."""

    #: user space's number for the rule, echoed in its kill records
    id: int
    name: str
    #: entry keys: native syscall numbers, and ``MAX_SYSCALLS`` + ia32 numbers
    keys: frozenset[int]
    #: ``KR_*`` bits (facts, dry run); the name/path bits are set from the sets below
    flags: int = 0
    comms: frozenset[str] | None = None
    not_comms: frozenset[str] = frozenset()
    files: PathSet | None = None
    not_files: PathSet = field(default_factory=PathSet)
    exes: PathSet | None = None
    not_exes: PathSet = field(default_factory=PathSet)

    def all_flags(self) -> int:
        """:attr:`flags` with the bit of each set this rule checks."""
        f = self.flags
        if self.comms is not None:
            f |= L.KR_COMM
        if self.not_comms:
            f |= L.KR_NOT_COMM
        if self.files is not None:
            f |= L.KR_FILE
        if self.not_files:
            f |= L.KR_NOT_FILE
        if self.exes is not None:
            f |= L.KR_EXE
        if self.not_exes:
            f |= L.KR_NOT_EXE
        return f


@dataclass(frozen=True, slots=True)
class KillSettings:
    """What governs every in-kernel kill: on/off, dry run, the rate, the allow-list."""

    enabled: bool = True
    dry_run: bool = False
    #: kills a second on average (0: no limit) and how many may come at once
    rate: float = 0.0
    burst: int = 1
    #: process names (comm) never killed: (name, whether it is a prefix); and executables
    #: (paths, resolved to inodes at load)
    allow_comms: tuple[tuple[str, bool], ...] = ()
    allow_exes: frozenset[str] = frozenset()
    #: a process the probe spares, with its children, besides its own (the agent's pid)
    protected_pid: int = 0
    #: the probe times each check (``kill_stats()["ns"]``): for the benchmark
    timing: bool = False

    def packed(self, nrules: int, host_mnt_ns: int) -> bytes:
        rate_ns = int(1e9 / self.rate) if self.rate > 0 else 0
        return L.KILL_CONFIG.pack(
            int(self.enabled),
            int(self.dry_run),
            nrules,
            host_mnt_ns,
            rate_ns,
            rate_ns * max(0, self.burst - 1),
            int(self.timing),
            self.protected_pid,
        )


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def comm_key(slot: int, kind: int, comm: str) -> bytes:
    """The ``se_kill_comms`` key of ``comm`` under ``(slot, kind)``."""
    return L.KILL_COMM_KEY.pack(slot, kind, _raw(comm)[:16])


def allow_comm_key(name: str, prefix: bool) -> bytes:
    """The ``se_kill_allow_comm`` trie key of a process name: an exact name keeps its NUL."""
    raw = _raw(name)[:COMM_MAX] + (b"" if prefix else b"\0")
    return L.KILL_COMM_PREFIX.pack(len(raw) * 8, raw)


def path_keys(slot: int, kind: int, paths: PathSet) -> list[bytes]:
    """The ``se_kill_paths`` trie keys of ``paths`` under ``(slot, kind)``: an exact path
    carries its NUL byte, a prefix does not (as the priority trie's keys)."""
    out = []
    for text, exact in [(p, True) for p in sorted(paths.exact)] + [
        (p, False) for p in sorted(paths.prefixes)
    ]:
        raw = _raw(text) + (b"\0" if exact else b"")
        if not raw or len(raw) > L.KILL_PATH:
            raise ValueError(f"path {text!r} is longer than the probe compares")
        out.append(L.KILL_PATH_KEY.pack(16 + len(raw) * 8, slot, kind, raw))
    return out


def rule_entries(slot: int, rule: KillRule) -> tuple[bytes, list[bytes], list[bytes]]:
    """(the ``se_kill_rules`` value, its ``se_kill_comms`` keys, its ``se_kill_paths`` keys)."""
    sys = bytearray(L.KILL_SYS_BYTES)
    for key in rule.keys:
        sys[key >> 3] |= 1 << (key & 7)
    value = L.KILL_RULE.pack(rule.id, rule.all_flags(), bytes(sys))
    comms = [comm_key(slot, L.KK_IN, c) for c in sorted(rule.comms or ())]
    comms += [comm_key(slot, L.KK_NOT, c) for c in sorted(rule.not_comms)]
    paths = path_keys(slot, L.KK_FILE, rule.files or PathSet())
    paths += path_keys(slot, L.KK_NOT_FILE, rule.not_files)
    paths += path_keys(slot, L.KK_EXE, rule.exes or PathSet())
    paths += path_keys(slot, L.KK_NOT_EXE, rule.not_exes)
    return value, comms, paths


def exe_key(path: str) -> bytes | None:
    """The ``se_kill_allow_exe`` key of the executable at ``path`` (None if there is none):
    its inode, with the device numbered as the kernel does (major << 20 | minor)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    dev = (os.major(st.st_dev) << 20) | os.minor(st.st_dev)
    return L.KILL_EXE_KEY.pack(st.st_ino, dev, 0)


@dataclass(frozen=True, slots=True)
class KillReport:
    """What a kill record says: which rule matched whom at which syscall, and what was done."""

    slot: int
    rule_id: int
    outcome: str
    pid: int
    tid: int
    comm: str
    #: the syscall's entry key (native number, or MAX_SYSCALLS + the ia32 number) and result
    key: int
    res: int
    #: boot-time ns: a rule passed the cheap checks (at the syscall's exit), the probe called
    #: bpf_send_signal (0: it did not), the probe was done
    ts: int
    signal_start: int
    signal_ts: int
    #: bpf_send_signal's result (0, or a negative errno) when it was called
    signal_error: int
    file: str
    exe: str


def _blobs(data: bytes, off: int, n: int) -> Iterable[str]:
    for _ in range(n):
        size = data[off] | (data[off + 1] << 8)
        yield data[off + 2 : off + 2 + size].decode("utf-8", "surrogateescape")
        off += 2 + size


def kill_report(data: bytes) -> KillReport:
    """Decode a kill record (``se_hdr.evt == EVT_KILL``); raises ValueError if it is short."""
    if len(data) < L.HDR_SIZE + 6:
        raise ValueError(f"a kill record of {len(data)} bytes is too short")
    ts, tid, pid, nr, _evt, _len, flags, res, *args = L.HDR.unpack_from(data)
    try:
        comm, file, exe = _blobs(data, L.HDR_SIZE, 3)
    except IndexError:
        raise ValueError(f"a kill record of {len(data)} bytes ends inside a section") from None
    signal_error = args[4] - (1 << 64) if args[4] >= 1 << 63 else args[4]
    return KillReport(
        slot=args[0],
        rule_id=args[2],
        outcome=OUTCOMES.get(args[1], f"unknown({args[1]})"),
        pid=pid,
        tid=tid,
        comm=comm,
        key=nr + (L.MAX_SYSCALLS if flags & L.F_COMPAT else 0),
        res=res,
        ts=ts,
        signal_start=args[5],
        signal_ts=args[3],
        signal_error=signal_error,
        file=file,
        exe=exe,
    )
