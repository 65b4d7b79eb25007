"""The ``syscall`` source: live events from the eBPF probe, with process/fd/container state.

:class:`SyscallSource` loads the probe (:mod:`secengine.bpf`), configures its
in-kernel interest map from the loaded rules' event types plus what the
state tracker needs, seeds the state from ``/proc`` and then, per batch:
reads records from the ring buffer (:mod:`secengine.bpf.ringbuf`), applies
each to the state (:mod:`secengine.state.tracker`) and makes an
:class:`~secengine.events.Event` whose fields are computed on demand
(:class:`~secengine.fields.live.LiveFieldValues`).

Records of types no rule needs (the state-only ones: ``close``, ``clone``,
``procexit``...) update the state and are not turned into events at all.
Kernel drops are read from the probe's counters by
:meth:`SyscallSource.kernel_stats`, per reason (:meth:`SyscallSource.drop_reasons`).

Flooding: each producer (thread group) has a budget in the kernel
(:class:`~secengine.bpf.loader.Budget`); past it its events are counted
instead of sent and ``flood`` events name it. The source remembers who was
throttled (:meth:`SyscallSource.take_throttled`, for the drop alert) and, at
close, what the probe counted per producer (:meth:`SyscallSource.describe_end`).
"""

from __future__ import annotations

import argparse
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

from secengine.argtypes import non_negative, share
from secengine.events import Event
from secengine.fields import catalog
from secengine.ruleset.paths import default_rules_files
from secengine.sources.base import EventQueue, Source, SourceSpec, SourceStats

if TYPE_CHECKING:  # pragma: no cover
    from secengine.bpf.kill import KillReport, KillSettings
    from secengine.bpf.loader import Budget, Probe, ProducerCount
    from secengine.bpf.ringbuf import RingReader
    from secengine.capture.spool import CaptureSpool
    from secengine.ruleset.model import Rule
    from secengine.sources.syscall_kill import KillPlan
    from secengine.state.containers.discovery import EngineSettings
    from secengine.state.decode import Rec
    from secengine.state.tracker import StateTracker

__all__ = ["SOURCE_NAME", "SPEC", "SyscallSource", "SyscallStats"]

SOURCE_NAME = "syscall"

#: The syscall source: libsinsp's syscall field classes, rules indexed by ``evt.type``
#: (driver event names), the shipped rules; replayed from field-map JSON lines.
SPEC = SourceSpec(
    name=SOURCE_NAME,
    field_classes=catalog.syscall_classes,
    event_index=catalog.syscall_event_index,
    default_rules=default_rules_files,
    drop_noun="system calls",
    drop_fields=(("ebpf_enabled", "1"),),
)

#: pid, res and the first argument of a record header (se_hdr), for the close fast path
_CLOSE_VIEW = struct.Struct("<12xI8xqi")
_NR_CLOSE = 3
_EVT_SYSCALL = 1
_EVT_KILL = 6
#: Names of flooding producers remembered (oldest forgotten first).
_MAX_COMMS: Final = 4096
#: Producers listed by describe_end.
_SUMMARY_PRODUCERS: Final = 10
#: The in-kernel kill's rate when the caller gives none: the user-space responder's defaults
#: (``ResponseSettings.rate``/``max_burst``).
DEFAULT_KILL_RATE: Final = 10.0
DEFAULT_KILL_BURST: Final = 20
#: Kill rule ids a load may use (the probe's slots: ``bpf.layout.KILL_RULES``).
L_KILL_RULES: Final = 16
#: In-kernel kill reports kept until taken (the oldest are dropped past it, and counted).
_MAX_KILLS: Final = 4096

_log = logging.getLogger("secengine.sources.syscall")


def ring_buffer_mb(text: str) -> int:
    """``--ring-buffer-mb``: a power of two of at least 1 (the kernel's ring buffer must be)."""
    try:
        mb = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of megabytes: {text!r}") from None
    if mb < 1 or mb & (mb - 1):
        raise argparse.ArgumentTypeError(
            f"{mb} is not a power of two of at least 1 (try 8, 16 or 64)"
        )
    return mb


@dataclass(slots=True)
class SyscallStats(SourceStats):
    """Source counters plus the records read (events are the records some rule needs)."""

    records: int = 0
    queue_drops: int = 0


class SyscallSource(Source):
    """Live syscall events from this host (needs root and a BTF kernel).

    Use it either threaded (``start(queue)`` / ``stop()``, as ``secengine
    run`` does) or directly (``open()``, then ``batches()`` or
    ``read_batch()``, then ``close()``).
    """

    name: ClassVar[str] = SOURCE_NAME
    spec: ClassVar[SourceSpec | None] = SPEC

    @classmethod
    def add_flags(cls, parser: argparse.ArgumentParser) -> None:
        """``secengine run``'s options of the probe: ring buffer size and producer budgets."""
        g = parser.add_argument_group("syscall source (the default)")
        g.add_argument(
            "--ring-buffer-mb",
            type=ring_buffer_mb,
            default=16,
            metavar="MB",
            help="kernel ring buffer size, a power of two (default: 16)",
        )
        g.add_argument(
            "--producer-rate",
            type=non_negative,
            default=20_000.0,
            metavar="EVENTS",
            help="each process's budget of syscall events per second, per class; "
            "past it the kernel counts its events and reports a flood "
            "(0: no budget; default: 20000)",
        )
        g.add_argument(
            "--producer-burst",
            type=non_negative,
            default=100_000,
            metavar="EVENTS",
            help="events a process may send at once above its rate (default: 100000)",
        )
        g.add_argument(
            "--capture",
            default=None,
            metavar="OUT.scap",
            help="also write every event the probe delivers to this .scap capture "
            "(sysdig and Falco read it; .gz: compressed)",
        )
        g.add_argument(
            "--capture-max-mb",
            type=non_negative,
            default=0,
            metavar="MB",
            help="bound each capture file to this many megabytes (0: no bound); past it, "
            "events are counted, not written, unless --capture-files rotates",
        )
        g.add_argument(
            "--capture-files",
            type=int,
            default=1,
            metavar="N",
            help="rotate the capture over N files (OUT.scap, OUT.scap.1, ...) when "
            "--capture-max-mb is reached (default: 1, no rotation)",
        )
        g.add_argument(
            "--priority-headroom",
            type=share,
            default=0.25,
            metavar="SHARE",
            help="share of the ring buffer only priority events (exec, credential "
            "and namespace changes, connects, opens of files rules name) may "
            "use (0: none; default: 0.25)",
        )

    @classmethod
    def from_flags(cls, args: argparse.Namespace) -> SyscallSource:
        """``secengine run``'s syscall source: ``--ring-buffer-mb`` and the producer budget."""
        source = cls(
            ring_bytes=args.ring_buffer_mb * 1024 * 1024,
            producer_rate=getattr(args, "producer_rate", 20_000.0),
            producer_burst=int(getattr(args, "producer_burst", 100_000)),
            priority_headroom=getattr(args, "priority_headroom", 0.25),
        )
        capture = getattr(args, "capture", None)
        if capture:
            source.record_to(
                capture,
                max_bytes=int(getattr(args, "capture_max_mb", 0) * 1024 * 1024),
                files=max(1, int(getattr(args, "capture_files", 1))),
            )
        return source

    def preflight(self) -> None:
        """Open the probe now: without the privilege or a BTF kernel, fail before the run."""
        self.open()

    def __init__(
        self,
        *,
        ring_bytes: int = 16 * 1024 * 1024,
        batch_size: int = 4096,
        batch_window: float = 0.02,
        idle_timeout: float = 1.0,
        max_processes: int = 32768,
        seed: bool = True,
        producer_rate: float = 20_000.0,
        producer_burst: int = 100_000,
        flood_interval: float = 1.0,
        priority_headroom: float = 0.25,
    ) -> None:
        # start-up: the probe side (ctypes, libbpf, process state) loads when a probe runs
        from secengine.bpf.loader import Budget

        if not 0 <= priority_headroom < 1:
            raise ValueError("priority_headroom must be a share of the ring from 0 to below 1")
        #: share of the ring buffer kept for priority records (0: none)
        self.priority_headroom = priority_headroom
        #: each producer's budget in the kernel (``producer_rate`` 0 turns budgets off)
        self.budget: Budget = Budget(producer_rate, producer_burst, flood_interval)
        self.stats = SyscallStats()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: guards the hand-over of close() between stop() and the reader thread
        self._close_lock = threading.RLock()
        self._reading = False
        self._close_pending = False
        self.error: BaseException | None = None
        self.ring_bytes = ring_bytes
        self.batch_size = batch_size
        #: after a wake-up, let records gather this long since the last ones were read (s):
        #: sparse records are read at once, a steady trickle about once per window
        self.batch_window = batch_window
        #: the longest sleep without a wake-up (s): what a loop's periodic work waits at most
        self.idle_timeout = idle_timeout
        self.max_processes = max_processes
        self.seed = seed
        #: the runtime APIs that enrich container metadata (None: every kind, discovered)
        self.container_engines: Sequence[EngineSettings] | None = None
        self._interest: frozenset[str] | None = None
        self._skip_stream: frozenset[str] = frozenset()
        self._netlink_only: frozenset[str] = frozenset()
        self._compat_only: frozenset[str] = frozenset()
        #: opens whose failed read-only calls the probe drops, with the path prefixes it keeps
        self._failed_write_only: dict[str, frozenset[str]] = {}
        self._success_only: frozenset[str] = frozenset()
        self._priority_paths: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        self._reported: dict[int, int] = {}  # pid -> suppressed at the last take_throttled
        self._comms: dict[int, str] = {}  # pid -> comm, from flood records
        self._final_producers: list[ProducerCount] = []
        self.captured: frozenset[str] = frozenset()
        self.probe: Probe | None = None
        self.reader: RingReader | None = None
        self.tracker: StateTracker | None = None
        self._emit_all = True
        self.records = 0
        self._last_raw = 0
        self.seeded = 0
        self._num = 0
        self._final_kernel_stats: dict[str, int] = {}
        #: where the live stream is also written as a .scap capture (record_to)
        self.recorder: CaptureSpool | None = None
        #: the in-kernel kill: its settings (None: off), the rules it holds, what it did
        self._kill_settings: KillSettings | None = None
        self._kill_rules: list[Rule] | None = None
        #: thread id -> (rule name, epoch ns) of the probe's kills, for killed()
        self._killed_tids: dict[int, tuple[str, int]] = {}
        self.kill_plan: KillPlan | None = None
        self._kills: list[tuple[str, KillReport]] = []
        self._kill_ids = 1
        self._final_kill_stats: dict[str, int] = {}

    # -- configuration -------------------------------------------------------
    def set_interest(self, evttypes: Iterable[str] | None) -> None:
        self._interest = None if evttypes is None else frozenset(evttypes)
        self._emit_all = evttypes is None
        self._apply_interest()

    def use_rules(self, rules: Iterable[object] | None) -> None:
        """Push what ``rules`` allow down into the probe (see :mod:`.syscall_interest`): drop
        socket I/O on stream sockets, failed calls and x86_64 calls where none of them can
        match, and make opens of the files they name priority records. ``None`` turns the
        filters off. Call after set_interest, before or after open."""
        # start-up: the probe side (ctypes, libbpf, process state) loads when a probe runs
        from secengine.bpf.syscalls import FAILURE_STATELESS
        from secengine.sources.syscall_interest import (
            compat_only_types,
            failed_write_only_types,
            netlink_only_types,
            priority_paths,
            stream_skippable,
            success_only_types,
        )

        if rules is None:
            self._skip_stream = self._success_only = self._netlink_only = frozenset()
            self._compat_only = frozenset()
            self._failed_write_only = {}
        else:
            rules = list(rules)
            self._skip_stream = stream_skippable(rules)
            self._netlink_only = netlink_only_types(rules)
            self._compat_only = compat_only_types(rules)
            self._failed_write_only = failed_write_only_types(rules)
            self._success_only = success_only_types(rules, FAILURE_STATELESS)
            self._priority_paths = priority_paths(rules)
        self._apply_interest()

    def use_container_engines(self, engines: Sequence[EngineSettings] | None) -> None:
        """The container engines to ask (``container_engines``); applies when the probe opens."""
        self.container_engines = None if engines is None else list(engines)

    def record_to(self, path: str, *, max_bytes: int = 0, files: int = 1) -> CaptureSpool:
        """Also write every record the probe delivers to the ``.scap`` capture ``path``: the
        state tables first, then the records, each file bounded by ``max_bytes`` and rotating
        over ``files`` (:mod:`secengine.capture.recorder`). The records are spooled raw and
        converted by another process (:mod:`secengine.capture.spool`), which close() waits
        for. Call before open."""
        # start-up: the capture writer loads only when a capture is asked for
        from secengine.capture.spool import CaptureSpool

        self.recorder = CaptureSpool(path, max_bytes=max_bytes, files=files)
        return self.recorder

    def set_budget(self, budget: Budget) -> None:
        """Change every producer's budget, now if the probe is loaded."""
        self.budget = budget
        if self.probe is not None:
            self.probe.set_budget(budget)

    def use_kernel_kills(
        self,
        rules: Iterable[Rule] | None,
        allow_names: Sequence[tuple[str, bool]] = (),
        protected_pid: int = 0,
        *,
        rate: float = DEFAULT_KILL_RATE,
        burst: int = DEFAULT_KILL_BURST,
        dry_run: bool = False,
    ) -> SyscallSource:
        """Let the probe kill for those of ``rules`` (the ones the configuration allows: see
        ``secengine.response.kernel.kernel_kill_rules``) whose condition it can decide (see
        :mod:`.syscall_kill`); the rest are user space's (:attr:`kill_plan` says why).

        ``allow_names``: process names the probe never kills, ``(name, is_prefix)``; pid 1,
        kernel threads, this process, ``protected_pid`` and their children are never killed
        either. ``rate``: kills a second at most on average (0: no limit), ``burst`` at once;
        past it the probe reports ``rate_limited`` (and user space decides). ``dry_run``:
        report ``dry_run``, kill nothing. ``None`` or no rule: the probe kills nothing.
        Applies now if the probe is loaded. Returns this source, whose :meth:`killed` tells
        the responder what the probe did (``secengine.response.kernel.KernelKills``)."""
        # start-up: the probe side loads when a probe runs
        from secengine.bpf.kill import KillSettings

        self._kill_rules = None if rules is None else list(rules)
        self._kill_settings = KillSettings(
            enabled=bool(self._kill_rules),
            dry_run=dry_run,
            rate=rate,
            burst=burst,
            allow_comms=tuple(allow_names),
            protected_pid=protected_pid,
        )
        self._apply_interest()
        return self

    def killed(self, rule: Any, event: Event) -> bool:
        """Whether the probe killed the process of ``event`` for ``rule`` before the syscall
        returned (the responder then reports the kill as done in the kernel): its kill record
        came, for this thread and this rule, at or before the event."""
        tracker = self.tracker
        if tracker is not None and tracker.kills:  # records of this batch not yet taken
            self._note_kills(tracker.take_kills())
        name = getattr(rule, "name", rule)
        tid = event.fields.get("thread.tid")
        found = self._killed_tids.get(tid) if isinstance(tid, int) else None
        return found is not None and found[0] == name and found[1] <= event.ts

    def _apply_interest(self) -> None:
        if self.probe is not None:
            failed_write_only = self._failed_write_only
            keep = frozenset(p for prefixes in failed_write_only.values() for p in prefixes)
            if keep and not self.probe.set_failed_read_paths(keep):
                # the trie is full: a type filtered by path could lose what a rule reads
                failed_write_only = {t: p for t, p in failed_write_only.items() if not p}
            self.captured = self.probe.set_interest(
                self._interest,
                self._skip_stream,
                self._success_only,
                self._netlink_only,
                failed_write_only,
                [t for t, p in failed_write_only.items() if p],
                self._compat_only,
            )
            self.probe.set_priority_paths(*self._priority_paths)
            self._apply_kill(self.probe)

    def _apply_kill(self, probe: Probe) -> None:
        """Compile the kill rules of the current rules into the probe (or unload them)."""
        # start-up: the probe side loads when a probe runs
        from secengine.sources.syscall_kill import KillPlan, kill_plan
        from secengine.state.procfs import host_namespaces

        settings = self._kill_settings
        if settings is None or not settings.enabled or not self._kill_rules:
            self.kill_plan = KillPlan()
            probe.set_kill([])
            return
        # ids never repeat within a run, so a record of a replaced rule names no other rule
        plan = kill_plan(self._kill_rules, first_id=self._kill_ids)
        self._kill_ids += L_KILL_RULES
        self.kill_plan = plan
        missing = probe.set_kill(list(plan.rules), settings, host_namespaces()[1])
        if plan.rules:
            _log.info(
                "%d rules killed in the kernel: %s",
                len(plan.rules),
                ", ".join(r.name for r in plan.rules),
            )
        for name, why in plan.fallback.items():
            _log.info("rule %r is killed from user space: %s", name, why)
        for path in missing:
            _log.warning(
                "the kill allow-list names %s, which does not exist: it protects nothing", path
            )

    # -- lifecycle -----------------------------------------------------------
    def open(self) -> None:
        """Load and attach the probe and seed the state; raises BpfError if it cannot."""
        if self.probe is not None:
            return
        # start-up: the probe side (ctypes, libbpf, process state) loads when a probe runs
        from secengine.bpf.loader import Probe
        from secengine.state.containers import ContainerResolver
        from secengine.state.containers.discovery import build_engines
        from secengine.state.tracker import StateTracker

        self.probe = probe = Probe(
            ring_bytes=self.ring_bytes, budget=self.budget, priority_headroom=self.priority_headroom
        )
        try:
            self._apply_interest()
            containers = ContainerResolver(engines=build_engines(self.container_engines))
            self.tracker = StateTracker(max_processes=self.max_processes, containers=containers)
            self.reader = probe.reader()
            if self.seed:
                self.seeded = self.tracker.seed()
            if self.recorder is not None:
                self.recorder.start(
                    self.tracker.procs.values(), self.tracker.boot_ns, self.max_processes
                )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Detach the probe and unmap the ring; while the reader thread still runs (a stop()
        that stopped waiting for it), that thread does it when it ends."""
        with self._close_lock:
            if self._reading:
                self._close_pending = True
                return
            self._close_now()

    def _close_now(self) -> None:
        if self.probe is not None:
            self._final_kernel_stats = self.kernel_stats()  # still readable after close
            self._final_kill_stats = self.probe.kill_stats()
            try:
                self._final_producers = self.producers()
            except Exception:  # noqa: BLE001 - a summary must not fail the close
                self._final_producers = []
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        if self.tracker is not None:
            self.tracker.containers.close()  # the engines' sockets; its counters stay readable
        if self.recorder is not None:
            self.recorder.close()

    def start(self, out: EventQueue) -> None:
        """Open (if needed) and read on a thread of its own into ``out``; a full queue drops
        the batch and counts it."""
        self._run_reader(lambda: self._pump(out))

    def _run_reader(self, body: Callable[[], None]) -> None:
        """Open (if needed) and run ``body`` on the reader thread, which owns the probe from
        then on: close() waits for it to end (see :meth:`close`)."""
        previous = self._thread
        if previous is not None:  # a reader that outlived its stop(): let it finish first
            previous.join()
        self.open()
        self._stopping.clear()
        self._reading = True

        def run() -> None:
            try:
                body()
            except BaseException as e:  # noqa: BLE001 - kept for stop(); a thread must not raise
                self.error = e
            finally:
                with self._close_lock:
                    self._reading = False
                    if self._close_pending:
                        self._close_pending = False
                        self._close_now()

        self._thread = threading.Thread(target=run, name="secengine-source-syscall", daemon=True)
        self._thread.start()

    def start_inline(self, evaluate: Callable[[Sequence[Event]], object]) -> bool:
        """Read on a thread of its own, evaluating each event before the next record is applied.

        This is what the agent uses: an event's fields are computed from the
        process and fd tables, which the next records change (an exit, a close).
        """

        def one(ev: Event) -> None:
            evaluate((ev,))

        def loop() -> None:
            while not self.stopped and self.reader is not None:
                self.read_batch(one)
                self.wait_if_idle()

        self._run_reader(loop)
        return True

    def _pump(self, out: EventQueue) -> None:
        for batch in self.batches():
            if batch and not out.offer(self.name, batch):
                self.stats.add(dropped=len(batch))
                self.stats.queue_drops += len(batch)

    def container_stats(self) -> dict[str, Any]:
        """The container metadata resolver's counters (metrics: ``secengine_container_*``)."""
        return {} if self.tracker is None else self.tracker.containers.stats()

    def table_stats(self) -> dict[str, int]:
        """The process table's size and how entries left it (metrics and the run summary):
        ``entries``, ``exited``, ``evicted_full`` (the bound), ``evicted_inactive``,
        ``reparented`` (orphans given their new parent)."""
        tracker = self.tracker
        if tracker is None:
            return {}
        st = tracker.procs.stats
        return {
            "entries": len(tracker.procs),
            "exited": st.exited,
            "evicted_full": st.evicted_full,
            "evicted_inactive": st.evicted_inactive,
            "reparented": st.reparented,
        }

    def describe_end(self) -> str | None:
        """The process table's counters, the kernel's drops per reason, and the producers the
        budgets throttled most (one line each)."""
        lines = []
        t = self.table_stats()
        if t:
            lines.append(
                f"process table: {t['entries']} processes, {t['exited']} exited, "
                f"{t['evicted_full']} evicted at the bound, {t['evicted_inactive']} "
                f"evicted inactive, {t['reparented']} orphans reparented"
            )
        kernel = self._describe_kernel_drops()
        if kernel:
            lines.append(kernel)
        return "\n".join(lines) or None

    def _describe_kernel_drops(self) -> str | None:
        k = self.kernel_stats()
        if not k:
            return None
        line = (
            f"kernel drops: {k['dropped_full']} ring full, {k['dropped_busy']} ring busy, "
            f"{k['dropped_headroom']} refused to keep the priority headroom, "
            f"{k['dropped_budget']} over a producer's budget "
            f"({k['floods']} flood events); {k['filtered']} filtered out in the kernel "
            f"(no loaded rule could match)"
        )
        throttled = [p for p in self._final_producers if p.suppressed]
        if throttled:
            line += "; throttled: " + "; ".join(
                f"pid {p.pid} ({self._comm(p.pid)}): {p.suppressed} suppressed, "
                f"{p.admitted} admitted"
                for p in throttled
            )
        return line

    def producers(self) -> list[ProducerCount]:
        """What the budgets counted for the producers the probe has seen (throttled ones first,
        at most ten); after close, what they were at close."""
        if self.probe is None:
            return list(self._final_producers)
        counts = sorted(self.probe.producers(), key=lambda p: -p.suppressed)
        return counts[:_SUMMARY_PRODUCERS]

    def take_throttled(self) -> list[tuple[int, str, int]]:
        """(pid, comm, events suppressed) of the producers whose budget suppressed events since
        the last call, most throttled first. Read from the probe's table, not from flood
        records: those queue behind the ring's backlog, the counters do not."""
        if self.probe is None:
            return []
        counts = {p.pid: p.suppressed for p in self.probe.producers() if p.suppressed}
        out = []
        for pid, n in counts.items():
            before = self._reported.get(pid, 0)
            delta = n - before if n >= before else n  # a smaller count: the pid was reused
            if delta:
                out.append((pid, self._comm(pid), delta))
        self._reported = counts
        out.sort(key=lambda t: -t[2])
        return out

    def _comm(self, pid: int) -> str:
        comm = self._comms.get(pid)
        if comm is None and self.tracker is not None:
            proc = self.tracker.procs.peek(pid)
            comm = proc.comm if proc is not None else None
        return comm or "?"

    def _note_kills(self, records: list[Rec]) -> None:
        """Keep what the probe's kill records say, with the name of the rule that matched."""
        from secengine.bpf.kill import kill_report

        plan = self.kill_plan
        for rec in records:
            try:
                report = kill_report(rec.data)
            except ValueError:
                self.stats.add(rejected=1)
                continue
            name = (plan.rule_named(report.rule_id) if plan is not None else None) or (
                f"#{report.rule_id}"
            )
            if len(self._kills) >= _MAX_KILLS:
                self._kills.pop(0)
            self._kills.append((name, report))
            if report.outcome == "killed":
                tids = self._killed_tids
                if len(tids) >= _MAX_KILLS:
                    tids.pop(next(iter(tids)))
                tids[report.tid] = (name, rec.ts)

    def take_kills(self) -> list[tuple[str, KillReport]]:
        """(rule name, what the probe did) for each in-kernel kill rule match since the last
        call: killed, dry run, rate limited, failed or protected (the allow-list...)."""
        kills, self._kills = self._kills, []
        return kills

    def kill_stats(self) -> dict[str, int]:
        """The in-kernel kill's counters (``checked`` and one per outcome); after close, what
        they were at close; empty when no probe was loaded."""
        with self._close_lock:
            if self.probe is None:
                return dict(self._final_kill_stats)
            return self.probe.kill_stats()

    def _note_floods(self, floods: list[Rec]) -> None:
        """Remember the names flood records give (the process may be gone by the summary)."""
        # start-up: the probe side (ctypes, libbpf, process state) loads when a probe runs
        from secengine.state.decode import flood_section

        comms = self._comms
        for rec in floods:
            if len(comms) >= _MAX_COMMS:
                comms.pop(next(iter(comms)))
            comms[rec.pid] = flood_section(rec)[0]

    def describe_start(self, rules: int) -> str:
        return (
            f"watching {len(self.captured)} syscall types with {rules} rules "
            f"(seeded {self.seeded} processes; {self._describe_engines()})"
        )

    def _describe_engines(self) -> str:
        """Which runtime APIs enrich container metadata (what discovery found), for the
        start line: a user sees at once whether their runtime's socket was found."""
        engines = self.tracker.containers.engines if self.tracker is not None else ()
        found = [f"{e.name} at {getattr(e, 'socket', '?')}" for e in engines]
        return "container APIs: " + (", ".join(found) if found else "none")

    def stop(self, timeout: float | None = None) -> None:
        """Stop reading; wait up to ``timeout`` (5 s) for the reader thread. The probe is
        closed now, or by the reader thread as it ends if it is still busy (evaluating a
        long batch): closing it under the reader would fail it mid-read."""
        self._stopping.set()
        with self._close_lock:
            if self.reader is not None:
                self.reader.interrupt()
        thread = self._thread
        if thread is not None:
            thread.join(timeout if timeout is not None else 5.0)
            if not thread.is_alive():
                self._thread = None
        self.close()

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    # -- events --------------------------------------------------------------
    def kernel_stats(self) -> dict[str, int]:
        """The probe's counters: emitted; dropped, split into ``dropped_full`` (the ring
        buffer was full: the reader fell behind), ``dropped_busy`` (the ring's lock gave
        up under contention, which kernels >= 6.15 allow), ``dropped_headroom`` (a bulk
        record refused to keep the ring's priority headroom free) and ``dropped_budget``
        (a producer over its budget); ``filtered`` (pushed-down filters: not a loss);
        ``floods`` (flood records); truncated; wakeups."""
        with self._close_lock:  # not while the reader thread closes the probe
            if self.probe is None:
                return dict(self._final_kernel_stats)
            (emitted, full, truncated, wakeups, busy, budget, filtered, floods, headroom) = (
                self.probe.stats()
            )
        # stats.dropped counts only what userspace lost (a full event queue), so that
        # "stats.dropped + kernel_stats()['dropped']" is every loss, each counted once.
        # Filtered events are not losses: no loaded rule could have matched them.
        return {
            "emitted": emitted,
            "dropped": full + busy + headroom + budget,
            "dropped_full": full,
            "dropped_busy": busy,
            "dropped_headroom": headroom,
            "dropped_budget": budget,
            "filtered": filtered,
            "floods": floods,
            "truncated": truncated,
            "wakeups": wakeups,
        }

    def drop_reasons(self) -> dict[str, int]:
        """Events the kernel did not send, by reason (metrics label them so)."""
        k = self.kernel_stats()
        if not k:
            return {}
        return {
            "ring_full": k["dropped_full"],
            "ring_busy": k["dropped_busy"],
            "priority_headroom": k["dropped_headroom"],
            "budget": k["dropped_budget"],
            "filtered": k["filtered"],
            "queue_full": self.stats.queue_drops,
        }

    def read_batch(self, on_event: Callable[[Event], object] | None = None) -> list[Event]:
        """Whatever records are pending now, applied to the state, as events (no waiting).

        With ``on_event``, each event is also handed to it right after its record
        was applied, before the next record changes the state: evaluation then sees
        the state exactly as Falco's would (the parent of a process that exits in
        the same batch is still there, a closed fd is still named).
        """
        reader, tracker = self.reader, self.tracker
        if reader is None or tracker is None:
            return []
        # start-up: the probe side (ctypes, libbpf, process state) loads when a probe runs
        from secengine.capture.probe_events import EVENTS_PER_RECORD
        from secengine.fields.live import LiveFieldValues
        from secengine.state.decode import Rec, RecordFormatError

        tracker.flush_exited()
        raw = reader.read(self.batch_size)
        self._last_raw = len(raw)
        if not raw:
            return []
        if self.recorder is not None:
            self.recorder.append(raw)
        boot_ns = tracker.boot_ns
        new_event = Event.__new__
        apply = tracker.apply
        apply_syscall = tracker.apply_syscall  # apply() of the most frequent records, direct
        wanted = self._interest
        emit_all = self._emit_all
        out: list[Event] = []
        append = out.append
        num = self._num
        fast_close = None if emit_all or "close" in wanted else tracker.close_fd  # type: ignore
        close_view = _CLOSE_VIEW.unpack_from
        malformed = 0
        for data in raw:
            try:
                if (
                    fast_close is not None
                    and data[16] == _NR_CLOSE
                    and data[17] == 0
                    and data[18] == _EVT_SYSCALL
                ):
                    pid, res, fd = close_view(data)
                    fast_close(pid, fd, res)
                    num += 2
                    continue
                rec = Rec(data, boot_ns)
                proc, fdnum, fd, changed = (
                    apply_syscall(rec) if rec.evt == _EVT_SYSCALL else apply(rec)
                )
            except (RecordFormatError, IndexError, struct.error):
                malformed += 1  # a short record (probe/agent version skew): counted, skipped
                continue
            # evt.num counts every event the probe delivered, enter and exit as a capture of
            # the run holds them (libsinsp numbers every event, filtered or not)
            num += EVENTS_PER_RECORD[rec.evt]
            if not emit_all:
                if rec.name not in wanted:  # type: ignore[operator]
                    continue
            elif rec.evt == _EVT_KILL:
                continue  # what the in-kernel kill did: reported by take_kills, not an event
            # Event's constructor checks and converts its arguments; these are right by
            # construction, so the slots are filled directly on this hot path
            ev = new_event(Event)
            ev.source = SOURCE_NAME
            ev.ts = rec.ts
            ev.type = rec.name
            values = ev.fields = LiveFieldValues(rec, proc, fdnum, fd, changed, tracker)
            values.num = ev.num = num  # evt.num derives from the values' number
            append(ev)
            if on_event is not None:
                on_event(ev)
        self._num = num
        if tracker.floods:
            self._note_floods(tracker.take_floods())
        if tracker.kills:
            self._note_kills(tracker.take_kills())
        self.records += len(raw)
        self.stats.records += len(raw)
        self.stats.add(events=len(out), rejected=malformed)
        return out

    def wait_if_idle(self, timeout: float | None = None) -> None:
        """Unless the last read found records (more are probably pending), sleep until the
        probe wakes the reader and a batch has gathered (``RingReader.wait_batch``: at most
        the batch window after records were last read; a priority record at once), stop(),
        or ``timeout`` (default: the idle timeout) without a wake-up."""
        if not self._last_raw and self.reader is not None:
            self.reader.wait_batch(
                self.idle_timeout if timeout is None else timeout, self.batch_window
            )

    def batches(self, timeout: float | None = None) -> Iterator[list[Event]]:
        """Batches as they come; an empty batch after ``timeout`` (default: the idle
        timeout) without records, so a caller can do periodic work. Ends on stop()."""
        while not self.stopped and self.reader is not None:
            batch = self.read_batch()
            if not self._last_raw and self.reader is not None:
                self.wait_if_idle(timeout)
                batch = self.read_batch()
            yield batch

    def drain(self, deadline: float = 1.0) -> list[Event]:
        """Every event pending now and for up to ``deadline`` seconds more (tests, tools)."""
        end = time.monotonic() + deadline
        out: list[Event] = []
        while time.monotonic() < end:
            batch = self.read_batch()
            out.extend(batch)
            if not self._last_raw:
                if self.reader is None:
                    break
                self.reader.wait(0.01)
        return out
