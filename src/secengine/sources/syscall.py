"""The ``syscall`` source: live events from the eBPF probe, with process/fd/container state.

:class:`SyscallSource` loads the probe (:mod:`secengine.bpf`), configures its
in-kernel interest map from the loaded rules' event types plus what the
state tracker needs, seeds the state from ``/proc`` and then, per batch:
reads records from the ring buffer (:mod:`secengine.bpf.ringbuf`), applies
each to the state (:mod:`secengine.state.tracker`) and makes an
:class:`~secengine.events.Event` whose fields are computed on demand
(:class:`~secengine.state.extract.SyscallFieldValues`).

Records of types no rule needs (the state-only ones: ``close``, ``clone``,
``procexit``...) update the state and are not turned into events at all.
Kernel drops (ring buffer full) are read from the probe's counters by
:meth:`SyscallSource.kernel_stats`.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from secengine.events import Event
from secengine.sources.base import EventQueue, Source, SourceStats

if TYPE_CHECKING:  # pragma: no cover
    from secengine.bpf.loader import Probe
    from secengine.bpf.ringbuf import RingReader
    from secengine.state.tracker import StateTracker

__all__ = ["SOURCE_NAME", "SyscallSource", "SyscallStats"]

SOURCE_NAME = "syscall"

#: pid, res and the first argument of a record header (se_hdr), for the close fast path
_CLOSE_VIEW = struct.Struct("<12xI8xqi")
_NR_CLOSE = 3
_EVT_SYSCALL = 1


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

    def __init__(self, *, ring_bytes: int = 16 * 1024 * 1024, batch_size: int = 4096,
                 poll_interval: float = 0.02, max_processes: int = 32768,
                 seed: bool = True, container_sockets: Iterable[str] | None = None) -> None:
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
        self.poll_interval = poll_interval
        self.max_processes = max_processes
        self.seed = seed
        self.container_sockets = container_sockets
        self._interest: frozenset[str] | None = None
        self._skip_stream: frozenset[str] = frozenset()
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

    # -- configuration -------------------------------------------------------
    def set_interest(self, evttypes: Iterable[str] | None) -> None:  # type: ignore[override]
        self._interest = None if evttypes is None else frozenset(evttypes)
        self._emit_all = evttypes is None
        if self.probe is not None:
            self.captured = self.probe.set_interest(self._interest, self._skip_stream)

    def use_rules(self, rules: Iterable[object] | None) -> None:
        """Let the probe drop socket I/O on stream sockets where none of ``rules`` can match
        (see :mod:`.syscall_interest`); ``None`` turns that off. Call after set_interest,
        before or after open."""
        from secengine.sources.syscall_interest import stream_skippable

        self._skip_stream = frozenset() if rules is None else stream_skippable(rules)
        if self.probe is not None:
            self.captured = self.probe.set_interest(self._interest, self._skip_stream)

    # -- lifecycle -----------------------------------------------------------
    def open(self) -> None:
        """Load and attach the probe and seed the state; raises BpfError if it cannot."""
        if self.probe is not None:
            return
        from secengine.bpf.loader import Probe
        from secengine.state.containers import DEFAULT_SOCKETS, ContainerResolver
        from secengine.state.tracker import StateTracker

        self.probe = probe = Probe(ring_bytes=self.ring_bytes)
        try:
            self.captured = probe.set_interest(self._interest, self._skip_stream)
            containers = ContainerResolver(tuple(self.container_sockets)
                                           if self.container_sockets is not None
                                           else DEFAULT_SOCKETS)
            self.tracker = StateTracker(max_processes=self.max_processes, containers=containers)
            self.reader = probe.reader()
            if self.seed:
                self.seeded = self.tracker.seed()
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
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if self.probe is not None:
            self.probe.close()
            self.probe = None

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

        self._thread = threading.Thread(target=run, name="secengine-source-syscall",
                                        daemon=True)
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

    def table_stats(self) -> dict[str, int]:
        """The process table's size and how entries left it (metrics and the run summary):
        ``entries``, ``exited``, ``evicted_full`` (the bound), ``evicted_inactive``,
        ``reparented`` (orphans given their new parent)."""
        tracker = self.tracker
        if tracker is None:
            return {}
        st = tracker.procs.stats
        return {"entries": len(tracker.procs), "exited": st.exited,
                "evicted_full": st.evicted_full, "evicted_inactive": st.evicted_inactive,
                "reparented": st.reparented}

    def describe_end(self) -> str | None:
        t = self.table_stats()
        if not t:
            return None
        return (f"process table: {t['entries']} processes, {t['exited']} exited, "
                f"{t['evicted_full']} evicted at the bound, {t['evicted_inactive']} evicted "
                f"inactive, {t['reparented']} orphans reparented")

    def describe_start(self, rules: int) -> str:
        return (f"watching {len(self.captured)} syscall types with {rules} rules "
                f"(seeded {self.seeded} processes)")

    def stop(self, timeout: float | None = None) -> None:
        """Stop reading; wait up to ``timeout`` (5 s) for the reader thread. The probe is
        closed now, or by the reader thread as it ends if it is still busy (evaluating a
        long batch): closing it under the reader would fail it mid-read."""
        self._stopping.set()
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
        buffer was full: the reader fell behind) and ``dropped_busy`` (the ring's lock gave
        up under contention, which kernels >= 6.15 allow); truncated; wakeups."""
        with self._close_lock:  # not while the reader thread closes the probe
            if self.probe is None:
                return dict(self._final_kernel_stats)
            emitted, full, truncated, wakeups, busy = self.probe.stats()
        # stats.dropped counts only what userspace lost (a full event queue), so that
        # "stats.dropped + kernel_stats()['dropped']" is every loss, each counted once
        return {"emitted": emitted, "dropped": full + busy, "dropped_full": full,
                "dropped_busy": busy, "truncated": truncated, "wakeups": wakeups}

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
        from secengine.state.decode import Rec
        from secengine.state.extract import SyscallFieldValues

        tracker.flush_exited()
        raw = reader.read(self.batch_size)
        self._last_raw = len(raw)
        if not raw:
            return []
        boot_ns = tracker.boot_ns
        new_event = Event.__new__
        apply = tracker.apply
        wanted = self._interest
        emit_all = self._emit_all
        out: list[Event] = []
        append = out.append
        num = self._num
        fast_close = None if emit_all or "close" in wanted else tracker.close_fd  # type: ignore
        close_view = _CLOSE_VIEW.unpack_from
        for data in raw:
            if fast_close is not None and data[16] == _NR_CLOSE and data[17] == 0 \
                    and data[18] == _EVT_SYSCALL:
                pid, res, fd = close_view(data)
                fast_close(pid, fd, res)
                continue
            rec = Rec(data, boot_ns)
            proc, fdnum, fd, changed = apply(rec)
            if not emit_all and rec.name not in wanted:  # type: ignore[operator]
                continue
            num += 1
            # Event's constructor checks and converts its arguments; these are right by
            # construction, so the slots are filled directly on this hot path
            ev = new_event(Event)
            ev.source = SOURCE_NAME
            ev.ts = rec.ts
            ev.type = rec.name
            ev.fields = SyscallFieldValues(rec, proc, fdnum, fd, changed, tracker)
            ev.num = num
            append(ev)
            if on_event is not None:
                on_event(ev)
        self._num = num
        self.records += len(raw)
        self.stats.records += len(raw)
        self.stats.add(events=len(out))
        return out

    def wait_if_idle(self, timeout: float | None = None) -> None:
        """Sleep until the probe wakes us or ``timeout`` passes, unless the last read found
        records (then more are probably pending)."""
        if not self._last_raw and self.reader is not None:
            self.reader.wait(self.poll_interval if timeout is None else timeout)

    def batches(self, timeout: float | None = None) -> Iterator[list[Event]]:
        """Batches as they come; an empty batch after ``timeout`` (default: the poll
        interval) without records, so a caller can do periodic work. Ends on stop()."""
        wait = self.poll_interval if timeout is None else timeout
        while not self.stopped and self.reader is not None:
            batch = self.read_batch()
            if not self._last_raw and self.reader is not None:
                self.reader.wait(wait)
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
