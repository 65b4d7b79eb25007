"""Load the least-privilege recorder (``profile.bpf.o``), point it at workloads, read its maps.

:class:`Recorder` owns one ``bpf_object`` loaded through our libbpf binding
(:mod:`secengine.bpf._libbpf`; every failure is a :class:`~secengine.bpf.errors.BpfError`).
A workload is a *slot*: either a process tree followed from a root pid
(:meth:`Recorder.follow`) or every task of a mount namespace
(:meth:`Recorder.watch_mntns`). The kernel fills the maps; :meth:`Recorder.read`
copies a slot's bitmaps and operations out when recording ends. Nothing is
read while the workload runs.

Usage::

    with Recorder(opspec=capabilities.opspec()) as rec:
        slot = rec.follow(pid, phase=L.PHASE_INIT, min_filters=1, exclude_mntns=host_mntns)
        ...
        raw = rec.read(slot)
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import secengine.bpf
from secengine.bpf import preflight as bpf_preflight
from secengine.bpf.errors import BpfError
from secengine.bpf.loader import BpfObjectOwner, load_object
from secengine.profile import layout as L

__all__ = [
    "CAPTURE_PROGRAMS",
    "NOOP_PROGRAM",
    "RawOp",
    "RawSlot",
    "Recorder",
    "mntns_of",
    "object_path",
    "preflight",
    "read_creds",
    "seccomp_filters",
]

OBJECT_NAME: Final = "profile.bpf.o"
#: Programs attached while recording; ``pf_noop`` only for the overhead benchmark.
CAPTURE_PROGRAMS: Final = ("pf_sys_exit", "pf_signal", "pf_fork", "pf_exit", "pf_exec")
NOOP_PROGRAM: Final = "pf_noop"
#: The global holding the mount namespaces recorded in place and their slots (``pf_gate``).
GATE_MAP: Final = ".data.pf_gate"
_MAPS: Final = (
    "pf_config_map",
    "slots",
    "tasks",
    "sets",
    "set_index",
    "creds",
    "opspec",
    "ops",
    "pf_stats",
    GATE_MAP,
)


def object_path() -> Path:
    """Where the compiled recorder is: next to the BPF sources (the wheel ships it)."""

    return Path(secengine.bpf.__file__).with_name(OBJECT_NAME)


def mntns_of(pid: int | str) -> int:
    """The mount namespace inode of process ``pid`` (``self`` works)."""
    return os.stat(f"/proc/{pid}/ns/mnt").st_ino


def _status(pid: int | str) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def seccomp_filters(pid: int | str) -> int:
    """How many seccomp filters process ``pid`` runs under (``Seccomp_filters``, Linux 5.9+)."""
    st = _status(pid)
    if "Seccomp_filters" in st:
        return int(st["Seccomp_filters"])
    return 1 if st.get("Seccomp") == "2" else 0


def read_creds(path: str) -> tuple[int, ...]:
    """A task's ``pf_creds`` from its ``status`` file: the eight ids and CapEff."""
    st = _status(path)
    uids = [int(x) for x in st["Uid"].split()]
    gids = [int(x) for x in st["Gid"].split()]
    return (*uids, *gids, int(st["CapEff"], 16))


def preflight(obj: Path | None = None) -> None:
    """Refuse early (BpfUnavailableError) what would stop the recorder from loading.

    Commands call it before anything else they check, so that a user without
    root hears that first.
    """
    bpf_preflight.check(
        obj or object_path(),
        what="recorder",
        needed_by="recording a profile",
        instead="run 'sudo secengine profile ...'",
    )


@dataclass(slots=True)
class RawOp:
    """One deduplicated operation from the ``ops`` map (``pf_op_key`` + ``pf_op_val``)."""

    op: int
    phase: int
    flags: int
    err: int
    nr: int
    cap_eff: int
    v: tuple[int, ...]
    count: int
    pid: int


@dataclass(slots=True)
class RawSlot:
    """What the kernel recorded for one workload."""

    #: mount namespace inode -> the pf_bits words (phase-major, then outcome, then word)
    bits: dict[int, tuple[int, ...]] = field(default_factory=dict)
    ops: list[RawOp] = field(default_factory=list)
    #: the per-CPU counters summed (whole recorder, not per slot), by L.STAT_NAMES
    stats: dict[str, int] = field(default_factory=dict)

    def words(self, phase: int, outcome: int) -> list[int]:
        """One bitmap, OR-ed over every mount namespace."""
        out = [0] * L.WORDS
        base = (phase * L.NSETS + outcome) * L.WORDS
        for words in self.bits.values():
            for i in range(L.WORDS):
                out[i] |= words[base + i]
        return out


class Recorder(BpfObjectOwner):
    """The loaded recorder. ``opspec`` maps syscall numbers to ``PF_OP_*`` kinds."""

    def __init__(
        self,
        *,
        opspec: Mapping[int, int] | None = None,
        programs: Iterable[str] = CAPTURE_PROGRAMS,
        obj_path: Path | None = None,
    ) -> None:
        path = obj_path or object_path()
        preflight(path)
        self._opspec = dict(opspec or {})
        self._slots: set[int] = set()
        self._mntns: dict[int, int] = {}
        self._catch: tuple[bytes, int] = (b"", 0)
        super().__init__(path, programs)

    # -- lifecycle ---------------------------------------------------------------
    def _load(self) -> None:
        lib = self._lib
        assert self._obj is not None
        load_object(lib, self._obj, (*CAPTURE_PROGRAMS, NOOP_PROGRAM), self.programs)
        self._find_maps(_MAPS)
        for nr, kind in self._opspec.items():
            self._put("opspec", nr.to_bytes(4, "little"), bytes([kind]))
        self._attach()

    # -- map access ----------------------------------------------------------------

    def _get(self, name: str, key: bytes, size: int) -> bytes | None:
        k = ctypes.create_string_buffer(key, len(key))
        v = ctypes.create_string_buffer(size)
        try:
            self._lib.bpf_map_lookup_elem(self._fds[name], k, v)
        except BpfError as e:
            if e.errno == _errno.ENOENT:
                return None
            raise
        return v.raw

    def _keys(self, name: str, size: int) -> Iterator[bytes]:
        fd = self._fds[name]
        prev: ctypes.Array[ctypes.c_char] | None = None
        while True:
            nxt = ctypes.create_string_buffer(size)
            try:
                self._lib.bpf_map_get_next_key(fd, prev, nxt)
            except BpfError as e:
                if e.errno == _errno.ENOENT:
                    return
                raise
            yield nxt.raw
            prev = nxt

    def _config(self) -> None:
        targets = list(self._mntns.items())
        mntns = [m for m, _ in targets] + [0] * (L.MAX_MNTNS - len(targets))
        slots = [s for _, s in targets] + [0] * (L.MAX_MNTNS - len(targets))
        comm, catch_slot = self._catch
        self._put(GATE_MAP, bytes(4), L.GATE.pack(len(targets), 0, *mntns, *slots))
        self._put(
            "pf_config_map",
            bytes(4),
            L.CONFIG.pack(1 if self._slots else 0, catch_slot, *comm.ljust(16, b"\0")),
        )

    def _new_slot(self, min_filters: int, exclude_mntns: int, live: int) -> int:
        free = [s for s in range(L.MAX_SLOTS) if s not in self._slots]
        if not free:
            raise BpfError(f"the recorder follows at most {L.MAX_SLOTS} workloads at once")
        slot = free[0]
        self._put(
            "slots", slot.to_bytes(4, "little"), L.SLOT.pack(1, min_filters, exclude_mntns, live)
        )
        self._slots.add(slot)
        return slot

    # -- workloads -----------------------------------------------------------------
    def follow(
        self, pid: int, *, phase: int = L.PHASE_WORK, min_filters: int = 0, exclude_mntns: int = 0
    ) -> int:
        """Record process ``pid`` and every task it starts from now on; returns the slot.

        Only tasks running under at least ``min_filters`` seccomp filters count as
        past the runtime's setup (before that they are in the PRE phase), and tasks
        in mount namespace ``exclude_mntns`` (the launcher's) are not recorded.
        Call this before ``pid`` does anything of interest (the caller holds it);
        ``pid`` must be single-threaded then.
        """
        slot = self._new_slot(min_filters, exclude_mntns, live=1)
        pidfd = os.pidfd_open(pid)
        try:  # a task-storage map is keyed by a pidfd from userspace
            self._put(
                "tasks", pidfd.to_bytes(4, "little"), L.TASK.pack(slot, phase, 1, 0, 0, 0, 0, 0)
            )
        finally:
            os.close(pidfd)
        self.seed_creds(pid)
        self._config()
        return slot

    def watch_mntns(self, mntns: int, *, min_filters: int = 0) -> int:
        """Record every task in mount namespace ``mntns`` (a running container); the slot."""
        if len(self._mntns) >= L.MAX_MNTNS:
            raise BpfError(f"the recorder records at most {L.MAX_MNTNS} mount namespaces at once")
        slot = self._new_slot(min_filters, 0, live=0)
        self._mntns[mntns] = slot
        self._config()
        return slot

    def seed_creds(self, pid: int, tid: int | None = None) -> None:
        """Tell the kernel the ids thread ``tid`` of ``pid`` runs with now (from /proc)."""
        tid = pid if tid is None else tid
        try:
            ids = read_creds(f"/proc/{pid}/task/{tid}")
        except (OSError, KeyError, ValueError):
            return
        self._put("creds", tid.to_bytes(4, "little"), L.CREDS.pack(*ids))

    def catch(self, slot: int, comm: str) -> None:
        """Also follow, in ``slot``, every task that execs a program named ``comm`` from now.

        For containers a daemon starts (dockerd, podman's API service): the
        runtime (``runc``) is not a descendant of the command, but its exec is seen.
        """
        name = comm.encode()[:15]
        if not name:
            raise ValueError("empty comm")
        self._catch = (name, slot)
        self._config()

    def followed(self, slot: int) -> int:
        """How many tasks (threads) of a followed tree are alive."""
        value = self._get("slots", slot.to_bytes(4, "little"), L.SLOT.size)
        return L.SLOT.unpack(value)[3] if value is not None else 0

    def stop(self, slot: int) -> None:
        """Stop recording ``slot`` (its data stays readable until :meth:`forget`)."""
        self._put("slots", slot.to_bytes(4, "little"), L.SLOT.pack(0, 0, 0, 0))

    # -- results -------------------------------------------------------------------
    def read(self, slot: int) -> RawSlot:
        """Everything the kernel recorded for ``slot``."""
        raw = RawSlot()
        for key in self._keys("set_index", L.KEY.size):
            kslot, _pad, mntns = L.KEY.unpack(key)
            if kslot != slot:
                continue
            idx = self._get("set_index", key, 4)
            value = self._get("sets", idx, L.BITS.size) if idx is not None else None
            if value is not None:
                raw.bits[mntns] = L.BITS.unpack(value)
        for key in self._keys("ops", L.OP_KEY.size):
            fields = L.OP_KEY.unpack(key)
            if fields[0] != slot:
                continue
            value = self._get("ops", key, L.OP_VAL.size)
            if value is None:
                continue
            count, pid, _pad = L.OP_VAL.unpack(value)
            _s, op, phase, flags, err, nr, cap_eff, *v = fields
            raw.ops.append(RawOp(op, phase, flags, err, nr, cap_eff, tuple(v), count, pid))
        raw.stats = self.stats()
        return raw

    def stats(self) -> dict[str, int]:
        """The per-CPU counters, summed."""
        return dict(
            zip(L.STAT_NAMES, self._percpu_sums("pf_stats", len(L.STAT_NAMES)), strict=True)
        )
