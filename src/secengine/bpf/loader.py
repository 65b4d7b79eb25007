"""Load the compiled probe, configure it through maps, attach it, read its counters.

:class:`Probe` owns one ``bpf_object``: it checks the preconditions first so
that each failure is one clear sentence (not root, no BTF, no libbpf, no
compiled object), sizes the ring buffer, loads (the verifier log is kept
for the error message), writes the configuration and the interest map
*through maps* (libbpf 1.1 without a skeleton does not carry writes to
``.bss``/``.rodata`` into the kernel after load), and attaches the programs.

Usage::

    with Probe() as probe:
        probe.set_interest({"openat", "execve"})
        reader = probe.reader()
        ...
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Self

from secengine.bpf import _libbpf, kill, preflight, syscalls
from secengine.bpf import layout as L
from secengine.bpf.errors import BpfError
from secengine.bpf.ringbuf import RingReader

_log = logging.getLogger("secengine.bpf")

__all__ = ["DEFAULT_RING_BYTES", "Budget", "Probe", "ProducerCount", "object_path"]

OBJECT_NAME: Final = "probe.bpf.o"
DEFAULT_RING_BYTES: Final = 16 * 1024 * 1024
#: Default share of the ring kept for priority records: bulk records are refused past the rest.
PRIORITY_HEADROOM: Final = 0.25

#: Programs attached for live capture; ``se_noop`` only for the overhead benchmark.
#: io_uring operations as the syscall events they stand for (optional: the tracepoint's
#: shape is the one of Linux >= 6.3; an older kernel loads the probe without it)
URING_PROGRAM: Final = "se_uring_complete"
#: keeps an io_uring open's path from its submission to its completion (with URING_PROGRAM)
URING_SUBMIT_PROGRAM: Final = "se_uring_submit"
URING_PROGRAMS: Final = (URING_PROGRAM, URING_SUBMIT_PROGRAM)
CAPTURE_PROGRAMS: Final = (
    "se_sys_exit",
    "se_exec",
    "se_fork",
    "se_exit",
    URING_PROGRAM,
    URING_SUBMIT_PROGRAM,
)
NOOP_PROGRAM: Final = "se_noop"
#: The global holding one byte per syscall number, 1 if captured (section ``.data.interest``).
INTEREST_MAP: Final = ".data.interest"
#: The in-kernel kill's maps (``probe.bpf.c``, "in-kernel kill"; :mod:`secengine.bpf.kill`).
KILL_MAPS: Final = (
    "se_kill_conf",
    "se_kill_rules",
    "se_kill_comms",
    "se_kill_paths",
    "se_kill_allow_comm",
    "se_kill_allow_exe",
    "se_kill_stats",
)


@dataclass(frozen=True, slots=True)
class Budget:
    """Each producer's (thread group's) budget, per class: ``rate`` events a second on average,
    bursts of ``burst``; past it, events are counted in the kernel instead of sent and a flood
    record names the producer at most once per ``report_interval`` seconds. ``rate`` 0: off."""

    rate: float = 20_000.0
    burst: int = 100_000
    report_interval: float = 1.0

    def __post_init__(self) -> None:
        values = (self.rate, self.burst, self.report_interval)
        if (
            not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
            or self.rate < 0
            or self.burst < 0
            or self.report_interval <= 0
        ):
            raise ValueError(
                "a producer budget needs finite numbers: producer_rate >= 0, "
                "producer_burst >= 0 and flood_interval > 0"
            )

    def packed(self) -> tuple[int, int, int]:
        """(ns per event, burst tolerance in ns, report interval in ns) as the probe wants."""
        if self.rate <= 0:
            return 0, 0, 0
        per_event = max(1, int(1e9 / self.rate))
        return per_event, int(per_event * self.burst), int(self.report_interval * 1e9)


@dataclass(frozen=True, slots=True)
class ProducerCount:
    """What the probe counted for one producer: events its budget admitted and suppressed."""

    pid: int
    admitted: int
    suppressed: int
    last_nr: int


def object_path() -> Path:
    """Where the compiled probe is: next to this module (built into the wheel)."""
    override = os.environ.get("SECENGINE_BPF_OBJECT")
    return Path(override) if override else Path(__file__).with_name(OBJECT_NAME)


def _preflight(obj: Path) -> None:
    preflight.check(
        obj,
        what="probe",
        needed_by="the syscall source",
        instead="run 'sudo secengine run ...', or use 'secengine replay' to "
        "evaluate recorded events",
    )


def load_object(lib: Any, obj: Any, programs: Iterable[str], wanted: Iterable[str]) -> None:
    """Load an opened BPF object with only the ``wanted`` of its ``programs`` autoloaded.

    A failure is re-raised with the tail of libbpf's log (the verifier's
    reasons), which is what a user needs to see.
    """
    keep = set(wanted)
    for name in programs:
        prog = lib.bpf_object__find_program_by_name(obj, name.encode())
        lib.bpf_program__set_autoload(prog, name in keep)
    try:
        lib.bpf_object__load(obj)
    except BpfError as e:
        log = [line for line in _libbpf.log_lines() if line.strip()]
        tail = "\n".join(log[-25:])
        raise type(e)(
            f"{e}\nlibbpf said:\n{tail}" if tail else str(e), errno=e.errno, call=e.call
        ) from None


class BpfObjectOwner:
    """Owns an opened BPF object, its maps and attached links: unloads them once, on close or
    exit. The probe and the profile recorder share this map and link handling.

    Subclasses implement :meth:`_load` (load the object, :meth:`_find_maps`, configure,
    :meth:`_attach`) and set what it needs before calling this constructor.
    """

    #: map name -> its fd
    _fds: dict[str, int]

    def __init__(self, path: Path, programs: Iterable[str]) -> None:
        """Open the object at ``path`` and :meth:`_load` it; closed again if that fails."""
        self._lib: Any = _libbpf.lib()
        self._links: list[int] = []
        self._obj: int | None = None
        #: the programs :meth:`_attach` attaches
        self.programs = tuple(programs)
        _libbpf.clear_log()
        # CO-RE against the kernel's BTF file by name: libbpf then needs no CAP_SYS_ADMIN
        # (see _libbpf.ObjectOpenOpts); a kernel without it fails in preflight instead
        btf = preflight.BTF_PATH
        opts = _libbpf.open_opts(str(btf) if btf.is_file() else None)
        self._obj = self._lib.bpf_object__open_file(str(path).encode(), ctypes.addressof(opts))
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    def _load(self) -> None:
        raise NotImplementedError

    def _find_maps(self, names: Iterable[str]) -> None:
        assert self._obj is not None
        find = self._lib.bpf_object__find_map_by_name
        self._fds = {name: self._lib.bpf_map__fd(find(self._obj, name.encode())) for name in names}

    def _attach(self) -> None:
        assert self._obj is not None
        for name in self.programs:
            prog = self._lib.bpf_object__find_program_by_name(self._obj, name.encode())
            self._links.append(self._lib.bpf_program__attach(prog))

    def _put(self, name: str, key: bytes, value: bytes) -> None:
        """Write ``value`` at ``key`` of map ``name`` (both as the map's raw bytes)."""
        k = ctypes.create_string_buffer(key, len(key))
        v = ctypes.create_string_buffer(value, len(value))
        self._lib.bpf_map_update_elem(self._fds[name], k, v, 0)

    def _percpu_sums(self, name: str, count: int) -> list[int]:
        """Entries 0 to ``count - 1`` of per-CPU array map ``name``, each summed over CPUs."""
        ncpu = self._lib.libbpf_num_possible_cpus()
        values = (ctypes.c_uint64 * ncpu)()
        out = []
        for idx in range(count):
            k = ctypes.c_uint32(idx)
            self._lib.bpf_map_lookup_elem(self._fds[name], ctypes.byref(k), values)
            out.append(int(sum(values)))
        return out

    def attach(self) -> None:
        """Attach the programs again after :meth:`detach` (nothing while they are attached)."""
        if not self._links:
            self._attach()

    def detach(self) -> None:
        """Detach the programs, keeping the object and its maps, settings included: nothing is
        seen until :meth:`attach` (the redis benchmark's turns, ``bench/redis_switch.py``)."""
        while self._links:
            link = self._links.pop()
            try:
                self._lib.bpf_link__destroy(link)
            except BpfError:
                pass

    def close(self) -> None:
        """Detach and unload (idempotent)."""
        self.detach()
        if self._obj is not None:
            self._lib.bpf_object__close(self._obj)
            self._obj = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Probe(BpfObjectOwner):
    """The loaded probe. ``programs`` selects what gets attached."""

    def __init__(
        self,
        *,
        ring_bytes: int = DEFAULT_RING_BYTES,
        programs: Iterable[str] = CAPTURE_PROGRAMS,
        obj_path: Path | None = None,
        budget: Budget | None = None,
        priority_headroom: float = PRIORITY_HEADROOM,
    ) -> None:
        path = obj_path or object_path()
        _preflight(path)
        if ring_bytes & (ring_bytes - 1) or ring_bytes < 4096:
            raise ValueError("ring_bytes must be a power of two of at least one page")
        self.ring_bytes = ring_bytes
        self.budget = Budget() if budget is None else budget
        if not 0 <= priority_headroom < 1:
            raise ValueError("priority_headroom must be a share of the ring from 0 to below 1")
        #: share of the ring that only priority records may use (0: none)
        self.priority_headroom = priority_headroom
        self._wakeup_bytes = ring_bytes // 4
        self._urgent = True
        programs = tuple(programs)
        #: why io_uring operations are not visible ("" when they are or were not asked for)
        self.uring_unavailable = ""
        try:
            super().__init__(path, programs)
        except BpfError as e:
            if URING_PROGRAM not in programs:
                raise
            # a kernel whose io_uring_complete tracepoint has another shape (or none); any
            # other fault fails the second load too, and that error is the one raised
            super().__init__(path, tuple(p for p in programs if p not in URING_PROGRAMS))
            self.uring_unavailable = str(e).splitlines()[0]
            _log.warning(
                "io_uring operations will not be visible on this kernel: %s",
                self.uring_unavailable,
            )

    # -- lifecycle -------------------------------------------------------------
    def _load(self) -> None:
        lib = self._lib
        assert self._obj is not None
        events = lib.bpf_object__find_map_by_name(self._obj, b"events")
        lib.bpf_map__set_max_entries(events, self.ring_bytes)
        load_object(lib, self._obj, (*CAPTURE_PROGRAMS, NOOP_PROGRAM), self.programs)
        self._find_maps(
            (
                "events",
                "specs",
                "se_config_map",
                "stats",
                "se_budget",
                "se_paths",
                "se_fail_paths",
                INTEREST_MAP,
            )
            + KILL_MAPS
        )
        self._self_tgid = os.getpid()
        self._want: list[int] = [0] * L.MAX_SYSCALLS
        self._kill_keys: frozenset[int] = frozenset()
        self._write_config()
        self._attach()

    # -- configuration through maps ----------------------------------------------
    def _update(self, name: str, index: int, value: bytes) -> None:
        """Write ``value`` at ``index`` of array map ``name``."""
        self._put(name, index.to_bytes(4, "little"), value)

    def configure(
        self,
        *,
        self_tgid: int = 0,
        wakeup_bytes: int | None = None,
        urgent: bool = True,
    ) -> None:
        """Set the pid whose events are dropped, the wake-up threshold (bytes pending) and
        whether priority records force a wake-up (at most one per batch the reader reads)."""
        self._self_tgid = self_tgid
        self._wakeup_bytes = self.ring_bytes // 4 if wakeup_bytes is None else wakeup_bytes
        self._urgent = urgent
        self._write_config()

    def set_budget(self, budget: Budget) -> None:
        """Change every producer's budget (``Budget(rate=0)`` turns budgets off)."""
        self.budget = budget
        self._write_config()

    def _write_config(self) -> None:
        per_event, tau, interval = self.budget.packed()
        headroom = int(self.ring_bytes * self.priority_headroom)
        bulk_limit = self.ring_bytes - headroom if headroom else 0
        self._update(
            "se_config_map",
            0,
            L.CONFIG.pack(
                self._self_tgid,
                self._wakeup_bytes,
                per_event,
                tau,
                interval,
                bulk_limit,
                int(self._urgent),
                0,
            ),
        )

    def set_priority_paths(self, names: Iterable[str], prefixes: Iterable[str]) -> int:
        """Opens of these files (exact ``names``) or below these ``prefixes`` are priority
        records. Adds to what is there (the trie only grows while the probe lives; an entry
        no rule names any more costs nothing but priority). Returns the entries written;
        past the trie's capacity the rest are left out (those opens stay bulk)."""
        return self._put_paths("se_paths", names, prefixes)

    def set_failed_read_paths(self, prefixes: Iterable[str]) -> bool:
        """Failed read-only opens whose path (as passed) starts with one of ``prefixes`` are
        kept where ``set_interest``'s ``failed_read_paths`` says so. Adds to what is there
        (keeping more is safe). False when the trie could not take them all: then no type
        may be filtered by path."""
        prefixes = list(prefixes)
        return self._put_paths("se_fail_paths", (), prefixes) == len([p for p in prefixes if p])

    def _put_paths(self, name: str, names: Iterable[str], prefixes: Iterable[str]) -> int:
        """Store exact ``names`` (with their NUL) and ``prefixes`` in the path trie ``name``;
        the entries written (stops when it is full)."""
        n = 0
        for text, exact in [(p, True) for p in names] + [(p, False) for p in prefixes]:
            raw = text.encode("utf-8", "surrogateescape")
            if exact and len(raw) < L.PATH_KEY_BYTES:
                raw += b"\0"
            raw = raw[: L.PATH_KEY_BYTES]
            if not raw:
                continue
            try:
                self._put(name, L.PATH_KEY.pack(len(raw) * 8, raw), b"\1")
            except BpfError:
                break  # full
            n += 1
        return n

    def producers(self) -> list[ProducerCount]:
        """What the budgets counted per producer still in the probe's table (LRU: the least
        recently active are forgotten past 32,768 producers)."""
        lib, fd = self._lib, self._fds["se_budget"]
        key, nxt = ctypes.c_uint32(0), ctypes.c_uint32(0)
        value = ctypes.create_string_buffer(L.BUDGET.size)
        out = []
        first = True
        for _ in range(1 << 20):
            try:
                lib.bpf_map_get_next_key(
                    fd, None if first else ctypes.byref(key), ctypes.byref(nxt)
                )
            except BpfError:
                break  # ENOENT: the end
            first = False
            key.value = nxt.value
            try:
                lib.bpf_map_lookup_elem(fd, ctypes.byref(key), value)
            except BpfError:
                continue  # evicted meanwhile
            _t0, _t1, admitted, suppressed, _rep, _last, last_nr, _cls = L.BUDGET.unpack(value.raw)
            out.append(ProducerCount(key.value, admitted, suppressed, last_nr))
        return out

    def set_interest(
        self,
        event_types: Iterable[str] | None,
        skip_stream: Iterable[str] = (),
        success_only: Iterable[str] = (),
        netlink_only: Iterable[str] = (),
        failed_write_only: Iterable[str] = (),
        failed_read_paths: Iterable[str] = (),
        compat_only: Iterable[str] = (),
    ) -> frozenset[str]:
        """Capture these event types (plus the state set); ``None`` = everything supported.

        ``skip_stream``: socket I/O calls (sendto, sendmsg, recvfrom, recvmsg)
        to drop in the kernel when their fd is a stream socket; ``success_only``:
        event types whose failed calls to drop there; ``netlink_only``: sends to drop
        there unless their fd is a netlink socket; ``failed_write_only``: opens whose
        failures to drop there unless they were for writing, and of those
        ``failed_read_paths`` keep the ones whose path starts with a prefix given to
        :meth:`set_failed_read_paths` (set those first); ``compat_only``: event types whose
        x86_64 call to leave out, capturing only the ia32 one. Returns the event types now
        captured. Syscalls not listed are disabled in the kernel.
        """
        entries = syscalls.spec_entries(
            event_types,
            skip_stream,
            success_only,
            netlink_only,
            failed_write_only,
            failed_read_paths,
            compat_only,
        )
        off = L.SPEC.pack(0, bytes(L.NARGS), 0, 0, 0)
        compat_keys = [L.MAX_SYSCALLS + nr for nr in syscalls.COMPAT_BY_NR]
        for key in (*syscalls.BY_NR, *compat_keys):
            self._update("specs", key, entries.get(key, off))
        # the program's first test; set after the specs, so that a syscall it lets through
        # always finds its spec
        self._want = list(syscalls.interest_bytes(entries))
        self._write_interest()
        return frozenset(syscalls.entry_name(key) for key in entries)

    def _write_interest(self) -> None:
        """``se_interest``: what is captured, with the kill rules' bits on top."""
        kill_keys = self._kill_keys
        want = bytes(
            w
            | (L.WANT_KILL if nr in kill_keys else 0)
            | (L.WANT_KILL_COMPAT if L.MAX_SYSCALLS + nr in kill_keys else 0)
            for nr, w in enumerate(self._want)
        )
        self._update(INTEREST_MAP, 0, want)

    # -- in-kernel kill ------------------------------------------------------------
    def set_kill(
        self,
        rules: list[kill.KillRule],
        settings: kill.KillSettings | None = None,
        host_mnt_ns: int = 0,
    ) -> list[str]:
        """Load these kill rules (at most ``layout.KILL_RULES``; an empty list unloads them)
        under ``settings``; ``host_mnt_ns`` is the host's mount namespace inode (a task in any
        other is in a container; 0: this process's own). The probe stops looking at the old rules first and at the new ones
        last, so no syscall is checked against a half-written table. Returns the allow-listed
        executables that were not found (they protect nothing)."""
        if len(rules) > L.KILL_RULES:
            raise ValueError(f"the probe holds at most {L.KILL_RULES} kill rules")
        settings = settings or kill.KillSettings()
        entries = [kill.rule_entries(slot, rule) for slot, rule in enumerate(rules)]
        self._update("se_kill_conf", 0, kill.KillSettings(enabled=False).packed(0, 0))
        self._kill_keys = frozenset()
        self._write_interest()
        for name, size in (
            ("se_kill_comms", L.KILL_COMM_KEY.size),
            ("se_kill_paths", L.KILL_PATH_KEY.size),
            ("se_kill_allow_comm", L.KILL_COMM_PREFIX.size),
            ("se_kill_allow_exe", L.KILL_EXE_KEY.size),
        ):
            self._clear(name, size)
        for slot, (value, comms, paths) in enumerate(entries):
            self._update("se_kill_rules", slot, value)
            for key in comms:
                self._put("se_kill_comms", key, b"\1")
            for key in paths:
                self._put("se_kill_paths", key, b"\1")
        for comm, prefix in sorted(settings.allow_comms):
            self._put("se_kill_allow_comm", kill.allow_comm_key(comm, prefix), b"\1")
        missing: list[str] = []
        for path in sorted(settings.allow_exes):
            exe = kill.exe_key(path)
            if exe is None:
                missing.append(path)
            else:
                self._put("se_kill_allow_exe", exe, b"\1")
        host_mnt_ns = host_mnt_ns or os.stat("/proc/self/ns/mnt").st_ino
        self._update("se_kill_conf", 0, settings.packed(len(rules), host_mnt_ns))
        self._kill_keys = frozenset().union(*(r.keys for r in rules))
        self._write_interest()
        return missing

    def _clear(self, name: str, key_size: int) -> None:
        """Delete every entry of hash or trie map ``name``."""
        lib, fd = self._lib, self._fds[name]
        key = ctypes.create_string_buffer(key_size)
        while True:
            try:
                lib.bpf_map_get_next_key(fd, None, key)
            except BpfError:
                return  # empty
            lib.bpf_map_delete_elem(fd, key)

    def kill_stats(self) -> dict[str, int]:
        """The in-kernel kill's counters: ``checked`` (syscalls a kill rule looked at) and one
        per outcome (``killed``, ``dry_run``, ``rate_limited``, ``failed``, ``protected``), and
        ``ns`` spent checking while ``KillSettings.timing`` was on."""
        sums = self._percpu_sums("se_kill_stats", L.KILL_OUTCOMES)
        out = {"checked": sums[L.KILL_CHECKED]}
        out.update({name: sums[code] for code, name in kill.OUTCOMES.items()})
        out["ns"] = sums[L.KILL_NS]
        return out

    # -- data --------------------------------------------------------------------
    @property
    def ring_fd(self) -> int:
        return self._fds["events"]

    def reader(self) -> RingReader:
        return RingReader(self.ring_fd, self.ring_bytes)

    def stats(self) -> list[int]:
        """The per-CPU counters summed, indexed by ``layout.STAT_*``: emitted, dropped (ring
        full), truncated, wake-ups, busy (the ring's lock gave up under contention), budget
        (suppressed over a producer's budget), filtered (pushed-down filters), flood records,
        headroom (bulk records refused to keep the priority headroom free)."""
        return self._percpu_sums("stats", L.STAT_COUNT)
