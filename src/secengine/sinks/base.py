"""The sink contract: one bounded queue and one worker thread per sink, drops counted.

The evaluation loop must never wait for an output. It hands each alert to
:meth:`Sink.submit`, which only appends to the sink's bounded queue: when the
queue is full the alert is dropped and counted (``stats.dropped``), and the
loop goes on. The sink's own worker thread takes alerts off the queue and
calls :meth:`Sink.deliver`; a sink that is slow, hangs or fails therefore
delays only itself. Failures are counted and logged, at most once per
``failure_log_interval`` seconds per kind of message, so that a dead receiver
does not flood the log.

A plugin implements :meth:`deliver` (raise on failure) and optionally
:meth:`open`, :meth:`flush`, :meth:`close` and :meth:`reopen`. ``open``
runs in :meth:`start`, in the caller's thread, so that a sink that cannot
work at all (an unwritable file) fails when the agent starts, not later.
Sinks that retry (http) wait with :meth:`wait_or_abandon`, which returns
early when a shutdown deadline has passed.

Shutdown (:meth:`stop`) drains the queue, flushes and closes; when the
deadline passes first, the worker gives up, and what is left is counted as
dropped.
"""

from __future__ import annotations

import abc
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from secengine.alert import Alert
from secengine.errors import SecengineError
from secengine.sinks.render import AlertRenderer

__all__ = ["DEFAULT_QUEUE_CAPACITY", "RateLimitedLog", "Sink", "SinkError", "SinkStats"]

#: The per-sink queue bound when none is configured.
DEFAULT_QUEUE_CAPACITY = 10_000

_log = logging.getLogger("secengine.sinks")


class SinkError(SecengineError):
    """A delivery failed; the message says why (raised by :meth:`Sink.deliver`)."""


@dataclass(slots=True)
class SinkStats:
    """Counters of one sink, read by the agent's metrics."""

    #: Alerts accepted into the queue.
    submitted: int = 0
    #: Alerts the receiver took.
    delivered: int = 0
    #: Alerts lost: queue full, or still queued when shutdown gave up.
    dropped: int = 0
    #: Alerts whose delivery failed for good (after the sink's own retries).
    failed: int = 0
    #: Retried attempts (http) or restarts of the receiving program.
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_dropped(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n


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

    def __init__(self, *, label: str | None = None, renderer: AlertRenderer | None = None,
                 queue_capacity: int = DEFAULT_QUEUE_CAPACITY, buffered: bool = False,
                 failure_log_interval: float = 10.0) -> None:
        if queue_capacity < 1:
            raise ValueError("queue_capacity must be at least 1")
        self.label = label or self.name
        self._renderer_given = renderer is not None
        self.renderer = renderer if renderer is not None else AlertRenderer(
            json_output=bool(self.default_json_output))
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

    # -- what a plugin implements --------------------------------------------------------
    def open(self) -> None:
        """Prepare to deliver (open a file, spawn a program); raise if impossible."""

    @abc.abstractmethod
    def deliver(self, alert: Alert) -> None:
        """Deliver one alert; raise (preferably :class:`SinkError`) if it failed for good."""

    def flush(self) -> None:
        """Push buffered output out."""

    def close(self) -> None:
        """Release what :meth:`open` acquired; called once on the worker thread at the end."""

    def reopen(self) -> None:
        """Close and open again (Falco's SIGUSR1: log rotation by an outside tool)."""
        self.close()
        self.open()

    # -- the machinery ---------------------------------------------------------------------
    def adopt_renderer(self, renderer: AlertRenderer) -> None:
        """Render with the agent's choices, unless this sink was given its own renderer."""
        if not self._renderer_given:
            self.renderer = renderer.with_json(self.default_json_output)
            self._renderer_given = True

    def start(self) -> None:
        """Open the sink (in this thread, so errors surface) and start its worker."""
        if self._started:
            return
        self.open()
        self._started = True
        self._thread = threading.Thread(target=self._work, name=f"secengine-sink-{self.label}",
                                        daemon=True)
        self._thread.start()

    def submit(self, alert: Alert) -> bool:
        """Queue an alert without blocking; False (and a counted drop) when the queue is full."""
        if self._stopping.is_set():
            self.stats.add_dropped()
            return False
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.stats.add_dropped()
            self._failures.log(logging.WARNING, "queue-full",
                               f"sink {self.label}: queue full ({self.queue_capacity} alerts), "
                               "dropping alerts")
            return False
        self.stats.submitted += 1
        return True

    def put(self, alert: Alert, timeout: float | None = None) -> bool:
        """Queue an alert, waiting up to ``timeout`` for room (for offline replay, which can wait).

        False (and a counted drop) when there was no room in time.
        """
        if self._stopping.is_set():
            self.stats.add_dropped()
            return False
        try:
            self._queue.put(alert, timeout=timeout)
        except queue.Full:
            self.stats.add_dropped()
            return False
        self.stats.submitted += 1
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

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Deliver what is queued, flush and close; give up after ``timeout`` seconds.

        Returns True when everything queued was delivered (or failed) in time.
        """
        self.begin_stop()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if not self._thread.is_alive():
            return True
        self._abandon.set()
        self._thread.join(2.0)
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

    def _work(self) -> None:
        q = self._queue
        while True:
            try:
                alert = q.get(timeout=0.1)
            except queue.Empty:
                if self._stopping.is_set():
                    break
                continue
            if alert is None:  # begin_stop's wake-up: everything before it is done
                break
            if self._abandon.is_set():
                self.stats.add_dropped(1 + self._discard())
                break
            if self._reopen.is_set():
                self._reopen.clear()
                self._guard("reopen", self.reopen)
            try:
                self.deliver(alert)
            except Exception as e:  # noqa: BLE001 - a plugin failure must not kill the worker
                self.stats.failed += 1
                self.report_failure("deliver", f"delivery failed: {_describe(e)}")
            else:
                self.stats.delivered += 1
            if not self.buffered or q.empty():
                self._guard("flush", self.flush)
        self._guard("flush", self.flush)
        self._guard("close", self.close)

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
