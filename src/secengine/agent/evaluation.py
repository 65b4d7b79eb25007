"""The evaluation side of the agent: the current engine, a batch's way to the sinks, the loop.

The engine is a single reference: a reload builds a complete new engine and
swaps the reference, so a batch is evaluated entirely by the old rules or
entirely by the new ones. Each alert passes Falco's optional rate limiter
(``outputs.rate``/``outputs.max_burst``, a token bucket per event source) and
is offered to every sink; :meth:`Sink.submit` never blocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from secengine.agent.counters import AgentCounters
from secengine.agent.ratelimit import TokenBucket
from secengine.alert import Alert
from secengine.config import OutputsRate
from secengine.engine import Engine
from secengine.events import Event
from secengine.response.responder import Responder
from secengine.sinks.base import Sink
from secengine.sources.base import EventQueue, Source

__all__ = ["Evaluator", "evaluation_loop"]

_log = logging.getLogger("secengine.agent")


class Evaluator:
    """Evaluates batches with the current engine, counts them and fans the alerts out.

    Sources evaluating inline call :meth:`process` from their own threads, so
    the engine is used under a lock (uncontended in the common case of one
    source).
    """

    def __init__(
        self, counters: AgentCounters, outputs: OutputsRate, engine: Engine | None = None
    ) -> None:
        self.counters = counters
        self.engine_or_none: Engine | None = engine
        #: The sinks alerts go to (the agent sets the final list at start).
        self.sinks: list[Sink] = []
        self._outputs = outputs
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        #: Carries out the responses rules ask for (the agent sets it at start).
        self.responder: Responder | None = None
        #: Source plugin names whose events are recorded, not live: their matches are dry runs.
        self.recorded_sources: frozenset[str] = frozenset()

    @property
    def engine(self) -> Engine:
        """The engine evaluating events now (replaced as a whole by :meth:`set_engine`)."""
        if self.engine_or_none is None:
            raise RuntimeError("the agent has no engine yet: call start() first")
        return self.engine_or_none

    def set_engine(self, engine: Engine, load_seconds: float | None = None) -> None:
        """Evaluate with ``engine`` from the next batch on, and render with its formatter.

        The engine's formatter makes each alert (its text, time key and
        hostname); the sinks' renderers that follow the engine (the agent's
        own, not one a caller gave a sink) hold the same formatter for the
        ``json_include_*`` keys. Both change together, between two batches,
        so every alert of the new engine renders with the new options (an
        alert still queued in a sink from before renders with them too).
        """
        with self._lock:
            old = self.engine_or_none
            self.engine_or_none = engine
            if self.responder is not None:
                engine.on_response = self.responder.on_match
                self.responder.use_rules(engine.rules)
            if old is not None and old.formatter is not engine.formatter:
                for sink in self.sinks:
                    if sink.renderer.formatter is old.formatter:
                        sink.renderer.formatter = engine.formatter
        self.counters.rules_loaded = len(engine.rules)
        if load_seconds is not None:
            self.counters.rules_load_seconds = load_seconds

    def set_outputs(self, outputs: OutputsRate) -> None:
        """Use new ``outputs.rate`` settings; the buckets start afresh when they changed."""
        if outputs != self._outputs:
            self._buckets = {}
        self._outputs = outputs

    def use_responder(self, responder: Responder) -> None:
        """Respond with ``responder`` from the next batch on (the current engine included)."""
        with self._lock:
            self.responder = responder
            if self.engine_or_none is not None:
                self.engine_or_none.on_response = responder.on_match
                responder.use_rules(self.engine_or_none.rules)

    def process(self, name: str, batch: Sequence[Event]) -> None:
        """Evaluate a batch from source ``name`` and publish its alerts (then the responses')."""
        with self._lock:
            engine = self.engine_or_none
            assert engine is not None
            responder = self.responder
            if responder is not None:
                responder.recorded_batch = name in self.recorded_sources
            try:
                alerts = engine.process_batch(batch)
            except Exception:  # noqa: BLE001 - one bad batch must not stop detection
                _log.exception("evaluating a batch of %d events from %s failed", len(batch), name)
                alerts = []
            self.counters.events[name] += len(batch)
            if alerts:
                self.publish(alerts)
                if responder is not None:
                    self.publish(responder.flush())
            for sink in self.sinks:
                if sink.forwards_events:  # a broker output sending events on (docs/fleet.md)
                    sink.forward(batch)

    def publish_locked(self, alerts: list[Alert]) -> None:
        """:meth:`publish` from another thread (the responder's workers), between two batches."""
        with self._lock:
            self.publish(alerts)

    def publish_sink_alerts(self) -> None:
        """Send the sinks' alerts about themselves (a broker output's full spool) to every sink."""
        for sink in self.sinks:
            alerts = sink.internal_alerts(self.engine.formatter.hostname)
            if alerts:
                with self._lock:
                    self.publish(alerts)

    def process_inline(self, batch: Sequence[Event]) -> None:
        """What a source evaluating on its own thread calls (the batch names its source)."""
        if batch:
            self.process(batch[0].source, batch)

    def publish(self, alerts: list[Alert]) -> None:
        """Offer each alert that passes the rate limiter to every sink."""
        rate = self._outputs.rate
        counters = self.counters
        sinks = self.sinks
        for alert in alerts:
            if rate > 0:
                bucket = self._buckets.get(alert.source)
                if bucket is None:
                    bucket = self._buckets[alert.source] = TokenBucket(
                        rate, self._outputs.max_burst
                    )
                if not bucket.claim():
                    counters.rate_limited[alert.source] += 1
                    _log.debug("skipping rate-limited notification for rule %s", alert.rule)
                    continue
            counters.alerts[(alert.rule, alert.priority.title, alert.source)] += 1
            for sink in sinks:
                sink.submit(alert)


def evaluation_loop(
    evaluator: Evaluator,
    queue: EventQueue,
    sources: Sequence[Source],
    *,
    sources_stopped: threading.Event,
    every_second: Callable[[], None],
    exhausted: Callable[[], None],
) -> None:
    """Take batches off ``queue`` until the sources stopped and the queue is empty.

    ``every_second`` runs about once a second (the drop check); ``exhausted``
    is called when every source is finite and finished and nothing is queued.
    """
    next_check = time.monotonic() + 1.0
    while True:
        # woken by a batch or by EventQueue.wake (a source ran out, the sources stopped);
        # else at next_check (never more than a second away) for every_second: an idle agent
        # does not poll
        item = queue.get(timeout=max(0.0, next_check - time.monotonic()))
        if item is not None:
            name, batch = item
            evaluator.process(name, batch)
        now = time.monotonic()
        if now >= next_check:
            next_check = now + 1.0
            every_second()
        if item is None:
            if sources_stopped.is_set():
                return
            if sources and all(s.finished for s in sources) and queue.depth() == 0:
                exhausted()
