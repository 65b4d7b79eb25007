"""The sink contract: one bounded queue and one worker thread per sink; every alert accounted.

The evaluation loop must never wait for an output. It hands each alert to
:meth:`Sink.submit`, which only appends to the sink's bounded queue: when the
queue is full the alert is dropped and counted (``stats.dropped``), and the
loop goes on. The sink's own worker thread takes alerts off the queue and
calls :meth:`Sink.deliver`; a sink that is slow, hangs or fails therefore
delays only itself. Failures are counted and logged, at most once per
``failure_log_interval`` seconds per kind of message, so that a dead receiver
does not flood the log.

Accounting: every alert offered to a sink ends in exactly one of
``delivered``, ``failed`` or ``dropped`` (``SinkStats.settled``), so that
``delivered + failed + dropped == offered`` once the sink has stopped.
An alert counts as delivered only once :meth:`deliver` returned *and* the
following :meth:`flush` succeeded: a write that a buffer accepted but the
disk or pipe refused later (``/dev/full``, a closed pipe) is a failure. A
sink may keep alerts awaiting confirmation past the flush
(:meth:`resolve_pending`: a program that has not read its pipe yet).

A plugin implements :meth:`deliver` (raise on failure) and optionally
:meth:`open`, :meth:`flush`, :meth:`close`, :meth:`reopen` and
:meth:`interrupt`. ``open`` runs in :meth:`start`, in the caller's thread, so
that a sink that cannot work at all (an unwritable file) fails when the agent
starts, not later. Sinks that retry (http) wait with :meth:`wait_or_abandon`,
which returns early when shutdown gave up.

Shutdown (:meth:`stop`, or :func:`secengine.sinks.drain.drain` for several
sinks sharing one deadline) drains the queue, flushes and closes. When the
deadline passes first, shutdown *gives up*: it calls :meth:`interrupt` from
its own thread (the program is killed, the connection shut) so that a
blocked delivery returns, waits a short grace, then counts what the worker
still holds (the alert in delivery, those written but not flushed, the rest
of the queue) as dropped. A worker that never returns (a plugin stuck in a
call nobody can interrupt) is left behind as a daemon thread; its alerts
are already counted and nothing it reports later is counted again.

``start(threaded=False)`` runs a sink inline instead: :meth:`put_many`
delivers in the caller's thread. Offline replay uses it for standard output,
where waiting on the reader is the back-pressure a pipe gives.
"""

from __future__ import annotations

import abc
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from secengine.alert import Alert
from secengine.errors import SecengineError
from secengine.events import Event
from secengine.sinks.render import AlertRenderer

__all__ = ["DEFAULT_QUEUE_CAPACITY", "RateLimitedLog", "Sink", "SinkError", "SinkStats"]

#: The per-sink queue bound when none is configured.
DEFAULT_QUEUE_CAPACITY = 10_000

#: Seconds a worker gets, after :meth:`Sink.interrupt`, to notice that shutdown gave up.
INTERRUPT_GRACE = 0.5

_log = logging.getLogger("secengine.sinks")


class SinkError(SecengineError):
    """A delivery failed; the message says why (raised by :meth:`Sink.deliver`)."""


@dataclass(slots=True)
class SinkStats:
    """Counters of one sink, read by the agent's metrics and the end-of-run summaries.

    Once the sink stopped, ``delivered + failed + dropped == offered``.
    """

    #: Alerts handed to the sink (accepted into its queue or not).
    offered: int = 0
    #: Alerts accepted into the queue.
    submitted: int = 0
    #: Alerts the receiver took (delivered and flushed).
    delivered: int = 0
    #: Alerts lost without a delivery attempt that failed: queue full, refused after
    #: shutdown began, or still held when shutdown gave up.
    dropped: int = 0
    #: Alerts whose delivery failed for good (after the sink's own retries).
    failed: int = 0
    #: Retried attempts (http) or restarts of the receiving program.
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_dropped(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n

    @property
    def lost(self) -> int:
        """Alerts that did not reach the receiver: failed plus dropped."""
        return self.failed + self.dropped

    @property
    def settled(self) -> int:
        """Alerts whose fate is known: delivered, failed or dropped."""
        return self.delivered + self.failed + self.dropped


class RateLimitedLog:
    """Logs a message of a given kind at most once per ``interval`` seconds.

    Later messages of the same kind are counted, and the next one logged
    says how many were suppressed.
    """

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def log(self, level: int, kind: str, message: str) -> bool:
        """Log ``message`` unless a ``kind`` message was logged recently; True if logged."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.interval:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return False
            self._last[kind] = now
            suppressed = self._suppressed.pop(kind, 0)
        if suppressed:
            message += f" ({suppressed} similar messages suppressed)"
        self.logger.log(level, message)
        return True


class Sink(abc.ABC):
    """An alert output plugin. Registered in the ``secengine.sinks`` entry-point group.

    ``label`` names this sink instance in logs and metrics (default: the
    plugin ``name``); ``renderer`` decides text or JSON (default: text lines
    with default formatter options); ``queue_capacity`` bounds the queue;
    ``buffered`` (Falco's ``buffered_outputs``) lets a sink flush only when
    its queue runs empty instead of after every alert.
    """

    #: The plugin's name (``stdout``, ``http``...).
    name: ClassVar[str]
    #: The ``json_output`` this kind of sink uses when not told (None: follow the agent's).
    default_json_output: ClassVar[bool | None] = None

    def __init__(
        self,
        *,
        label: str | None = None,
        renderer: AlertRenderer | None = None,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        buffered: bool = False,
        failure_log_interval: float = 10.0,
    ) -> None:
        if queue_capacity < 1:
            raise ValueError("queue_capacity must be at least 1")
        self.label = label or self.name
        self._renderer_given = renderer is not None
        self.renderer = (
            renderer
            if renderer is not None
            else AlertRenderer(json_output=bool(self.default_json_output))
        )
        self.buffered = buffered
        self.stats = SinkStats()
        self.queue_capacity = queue_capacity
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=queue_capacity)
        self._logger = logging.getLogger(f"secengine.sinks.{self.name}")
        self._failures = RateLimitedLog(self._logger, failure_log_interval)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._abandon = threading.Event()
        self._reopen = threading.Event()
        self._started = False
        self._inline = False
        self._closed = False
        # the worker's alerts in hand: in delivery (0 or 1) and delivered but not yet flushed
        self._in_delivery = 0
        self._unflushed = 0
        self._settled_all = False
        # alerts the worker finished; put() stops waiting on a sink that makes no progress
        self._progress = 0
        self._stalled_at: int | None = None

    # -- what a plugin implements --------------------------------------------------------
    def open(self) -> None:
        """Prepare to deliver (open a file, spawn a program); raise if impossible."""

    @abc.abstractmethod
    def deliver(self, alert: Alert) -> None:
        """Deliver one alert; raise (preferably :class:`SinkError`) if it failed for good."""

    def flush(self) -> int | None:
        """Push buffered output out; raise if it could not be (the unflushed alerts failed).

        A sink that learns only later whether the receiver took an alert (a
        program reading its pipe) returns how many of the newest unflushed
        alerts still await that; it settles them with :meth:`resolve_pending`.
        None (or 0) confirms them all.
        """
        return None

    def close(self) -> None:
        """Release what :meth:`open` acquired; called once on the worker thread at the end."""

    def reopen(self) -> None:
        """Close and open again (Falco's SIGUSR1: log rotation by an outside tool)."""
        self.close()
        self.open()

    def resolve_pending(self, delivered: int) -> None:
        """Of the alerts awaiting confirmation, the oldest ``delivered`` reached the receiver
        and the others failed (called on the worker thread by a plugin whose flush returned
        a count)."""
        stats = self.stats
        with stats._lock:
            if self._settled_all:
                return
            done = max(0, min(delivered, self._unflushed))
            stats.delivered += done
            stats.failed += self._unflushed - done
            self._unflushed = 0

    def settle_pending(self, delivered: int, dropped: int = 0) -> None:
        """Of the alerts awaiting confirmation, the oldest ``dropped`` were lost after all (a
        spool evicted them) and the next ``delivered`` reached the receiver; the others still
        wait. For sinks whose receiver confirms long after the flush (a broker's
        acknowledgement); called on the worker thread."""
        stats = self.stats
        with stats._lock:
            if self._settled_all:
                return
            dropped = max(0, min(dropped, self._unflushed))
            stats.dropped += dropped
            self._unflushed -= dropped
            delivered = max(0, min(delivered, self._unflushed))
            stats.delivered += delivered
            self._unflushed -= delivered

    def internal_alerts(self, hostname: str) -> list[Alert]:
        """Alerts about this sink itself that the agent should send to every output (a
        spool that evicted alerts); asked about once a second. The default has none."""
        return []

    #: True for sinks that also take the events the agent evaluates (:meth:`forward`).
    forwards_events: bool = False

    def forward(self, batch: Sequence[Event]) -> None:
        """Take a batch of evaluated events to send on (never blocks; a sink with
        ``forwards_events`` counts what it cannot take)."""

    def interrupt(self) -> None:
        """Make a blocked :meth:`deliver` return; called from another thread when shutdown
        gives up (kill the program, shut the connection). The default does nothing."""

    # -- the machinery ---------------------------------------------------------------------
    def adopt_renderer(self, renderer: AlertRenderer) -> None:
        """Render with the agent's choices, unless this sink was given its own renderer."""
        if not self._renderer_given:
            self.renderer = renderer.with_json(self.default_json_output)
            self._renderer_given = True

    def start(self, *, threaded: bool = True) -> None:
        """Open the sink (in this thread, so errors surface) and start its worker.

        With ``threaded=False`` no worker runs: :meth:`put_many` delivers in
        the caller's thread.
        """
        if self._started:
            return
        self.open()
        self._started = True
        if not threaded:
            self._inline = True
            return
        self._thread = threading.Thread(
            target=self._work, name=f"secengine-sink-{self.label}", daemon=True
        )
        self._thread.start()

    def submit(self, alert: Alert) -> bool:
        """Queue an alert without blocking; False (and a counted drop) when the queue is full."""
        return self._enqueue(alert, False, None)

    def put(self, alert: Alert, timeout: float | None = None) -> bool:
        """Queue an alert, waiting up to ``timeout`` for room (for offline replay, which can wait).

        False (and a counted drop) when there was no room in time. Once a wait
        timed out, later calls do not wait again until the worker has
        finished another alert: a stuck receiver costs one ``timeout``, not
        one per alert.
        """
        if self._inline:
            return self._deliver_inline([alert]) == 1
        return self._enqueue(alert, True, timeout)

    def put_many(self, alerts: Sequence[Alert], timeout: float | None = None) -> int:
        """:meth:`put` each alert (inline: deliver them, then flush once); how many were taken."""
        if self._inline:
            return self._deliver_inline(alerts)
        return sum(self._enqueue(a, True, timeout) for a in alerts)

    def _enqueue(self, alert: Alert, wait: bool, timeout: float | None) -> bool:
        stats = self.stats
        with stats._lock:
            stats.offered += 1
        if self._stopping.is_set():
            stats.add_dropped()
            return False
        try:
            if wait and self._stalled_at != self._progress:
                self._queue.put(alert, timeout=timeout)
            else:
                self._queue.put_nowait(alert)
        except queue.Full:
            stats.add_dropped()
            if wait:
                self._stalled_at = self._progress
                self._failures.log(
                    logging.WARNING,
                    "stalled",
                    f"sink {self.label}: no progress for {timeout}s, dropping "
                    "alerts until it delivers again",
                )
            else:
                self._failures.log(
                    logging.WARNING,
                    "queue-full",
                    f"sink {self.label}: queue full ({self.queue_capacity} "
                    "alerts), dropping alerts",
                )
            return False
        with stats._lock:
            stats.submitted += 1
        return True

    def request_reopen(self) -> None:
        """Ask the worker to :meth:`reopen` before its next delivery."""
        self._reopen.set()

    def begin_stop(self) -> None:
        """Refuse new alerts and let the worker finish the queue (:meth:`stop` waits for it)."""
        if not self._stopping.is_set():
            self._stopping.set()
            try:
                self._queue.put_nowait(None)  # wakes the worker once the queue is done
            except queue.Full:
                pass  # the worker sees _stopping when the queue runs empty

    def wait_stopped(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds for the worker to finish; True if it did."""
        if self._thread is None:
            if self._inline and not self._closed:
                self._closed = True
                self._flush_unflushed()
                self._guard("close", self.close)
            self._settle()
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def give_up(self) -> None:
        """Tell the worker shutdown gave up and :meth:`interrupt` its delivery (no waiting)."""
        self._abandon.set()
        self._guard("interrupt", self.interrupt)

    def settle(self, grace: float = 0.0) -> None:
        """After :meth:`give_up`: wait ``grace`` seconds for the worker, then count as dropped
        whatever it still holds."""
        if self._thread is not None:
            self._thread.join(grace)
        self._settle()

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Deliver what is queued, flush and close; give up after ``timeout`` seconds.

        Returns True when everything queued was delivered (or failed) in time;
        otherwise what was left is counted as dropped.
        """
        self.begin_stop()
        if self.wait_stopped(timeout):
            return True
        self.give_up()
        self.settle(INTERRUPT_GRACE)
        return False

    @property
    def abandoned(self) -> bool:
        """True once shutdown gave up waiting: retry loops must end now."""
        return self._abandon.is_set()

    def wait_or_abandon(self, seconds: float) -> bool:
        """Sleep ``seconds`` (a retry backoff); False if shutdown gave up meanwhile."""
        return not self._abandon.wait(seconds)

    def depth(self) -> int:
        """Alerts waiting in the queue."""
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def report_failure(self, kind: str, message: str) -> None:
        """Log a delivery problem, rate-limited per ``kind``."""
        self._failures.log(logging.ERROR, kind, f"sink {self.label}: {message}")

    # -- the worker and the ledger ---------------------------------------------------------
    def _work(self) -> None:
        q = self._queue
        while True:
            try:
                # woken by an alert or by begin_stop's None: the timeout is only a backstop, so
                # an idle sink wakes its thread once a second, not ten times
                alert = q.get(timeout=1.0)
            except queue.Empty:
                if self._stopping.is_set():
                    break
                continue
            if alert is None:
                break  # begin_stop's wake-up: everything before it is done
            if self._reopen.is_set():
                self._reopen.clear()
                self._guard("reopen", self.reopen)
            if not self._take():
                break
            self._attempt(alert)
            if not self.buffered or q.empty():
                self._flush_unflushed()
            if self._stopping.is_set() and q.empty():
                break  # begin_stop found the queue full, so no None follows: it is done
        self._flush_unflushed()
        self._guard("close", self.close)
        self._settle()

    def _deliver_inline(self, alerts: Sequence[Alert]) -> int:
        stats = self.stats
        with stats._lock:
            stats.offered += len(alerts)
        if self._stopping.is_set():
            stats.add_dropped(len(alerts))
            return 0
        with stats._lock:
            stats.submitted += len(alerts)
        before = stats.failed
        for alert in alerts:
            self._take()
            self._attempt(alert)
            if not self.buffered:
                self._flush_unflushed()
        if self.buffered:
            self._flush_unflushed()
        return len(alerts) - (stats.failed - before)

    def _take(self) -> bool:
        """Mark the alert just taken off the queue as in delivery; False (and counted as
        dropped) when shutdown gave up."""
        stats = self.stats
        with stats._lock:
            if self._settled_all or self._abandon.is_set():
                stats.dropped += 1
                return False
            self._in_delivery = 1
            return True

    def _attempt(self, alert: Alert) -> None:
        """Deliver one alert; it waits in ``_unflushed`` until the next flush decides."""
        try:
            self.deliver(alert)
        except Exception as e:  # noqa: BLE001 - a plugin failure must not kill the worker
            self._count(failed=1)
            self.report_failure("deliver", f"delivery failed: {_describe(e)}")
        else:
            self._count(unflushed=1)

    def _flush_unflushed(self) -> None:
        try:
            waiting = self.flush()
        except Exception as e:  # noqa: BLE001 - reported and counted, never raised
            self._count(flush_failed=True)
            self.report_failure("flush", f"flush failed: {_describe(e)}")
        else:
            self._count(flushed=True, waiting=waiting or 0)

    def _count(
        self,
        *,
        failed: int = 0,
        unflushed: int = 0,
        flushed: bool = False,
        waiting: int = 0,
        flush_failed: bool = False,
    ) -> None:
        """Move the worker's alerts to their final counter, unless shutdown already did."""
        stats = self.stats
        with stats._lock:
            if self._settled_all:
                return
            if failed or unflushed:
                self._in_delivery = 0
                self._progress += 1
            stats.failed += failed
            self._unflushed += unflushed
            if flushed:
                waiting = max(0, min(waiting, self._unflushed))
                stats.delivered += self._unflushed - waiting
                self._unflushed = waiting
            elif flush_failed:
                stats.failed += self._unflushed
                self._unflushed = 0

    def _settle(self) -> None:
        """Count what is still queued or in the worker's hands as dropped; once."""
        left = self._discard()
        stats = self.stats
        with stats._lock:
            if not self._settled_all:
                self._settled_all = True
                stats.dropped += left + self._in_delivery + self._unflushed
                self._in_delivery = self._unflushed = 0
            else:
                stats.dropped += left

    def _discard(self) -> int:
        n = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return n
            n += item is not None

    def _guard(self, what: str, fn: Any) -> None:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported, never raised through the worker
            self.report_failure(what, f"{what} failed: {_describe(e)}")

    # -- context manager: start and stop --------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r}>"


def _describe(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
