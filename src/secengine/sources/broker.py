"""What the NATS and Redis sources share: consume, evaluate, then acknowledge; skip what was seen.

A central ``secengine run --source nats`` (or ``redis``) evaluates the
events many nodes forward (:mod:`secengine.fleet.forward`). The source runs
its own thread and asyncio loop: it fetches a batch from the durable
consumer (JetStream) or the consumer group (Redis), decodes each message
(:mod:`secengine.fleet.wire`), hands the events to the agent's evaluation
*on this thread* (:meth:`Source.start_inline`), and only then acknowledges
them: an event the central agent had not evaluated when it died is
delivered again.

Redelivery is therefore normal, and so is a node publishing an event twice
after a lost acknowledgement (Redis keeps both): the last ``dedup_window``
event ids are remembered and an event seen before is acknowledged without
being evaluated again (:attr:`BrokerSourceStats.duplicates`). The window
lives in memory: after the central agent restarts, the few events it
evaluated but had not acknowledged are evaluated again (at least once).

A message that is not an event (bad JSON, a bad envelope, larger than
``max_message_bytes``) is *poison*: it is dead-lettered (JetStream subject
or Redis stream, with the reason), counted as rejected, logged
(rate-limited), and the batch goes on.

While the broker is away the source reconnects with backoff; the consumer
is durable, so nothing is lost meanwhile. A broker that refuses the
credentials at start is one sentence (:meth:`preflight`, and the agent's
start).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from secengine.events import Event
from secengine.fleet.transport import (
    BrokerError,
    BrokerRefused,
    ConsumeTransport,
    Delivery,
    InMessage,
)
from secengine.fleet.wire import WireError, decode_event
from secengine.sinks.base import RateLimitedLog
from secengine.sources.base import EventQueue, Source

__all__ = ["BrokerSource", "BrokerSourceStats", "SeenIds"]

_log = logging.getLogger("secengine.sources.broker")


@dataclass(slots=True)
class BrokerSourceStats:
    """Counters of a broker source (``events``, ``dropped``, ``rejected`` as every source has)."""

    events: int = 0
    dropped: int = 0
    #: poison messages, dead-lettered
    rejected: int = 0
    #: messages delivered again that were already evaluated (acknowledged, not evaluated)
    duplicates: int = 0
    #: messages the broker says it delivered more than once
    redelivered: int = 0
    reconnects: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class SeenIds:
    """The last ``size`` event ids, oldest forgotten first (size 0: remembers nothing)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def add(self, key: str) -> None:
        if not self.size:
            return
        self._ids[key] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)


class BrokerSource(Source):
    """Evaluates events from a broker; subclasses say which (see the module docstring)."""

    spec: ClassVar[Any] = None

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.stats = BrokerSourceStats()
        self.seen = SeenIds(settings.dedup_window)
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = False
        self._num = 0
        self._failures = RateLimitedLog(_log, 10.0)
        self._connected = threading.Event()
        self._start_error: BaseException | None = None

    @abc.abstractmethod
    def transport(self) -> ConsumeTransport:
        """A new client of the configured consumer."""

    @abc.abstractmethod
    def describe_consumer(self) -> str:
        """What is consumed, for the start line (``stream S (subjects) as durable D``)."""

    # -- starting ---------------------------------------------------------------------------------
    def preflight(self) -> None:
        """Connect once, so that refused credentials fail the run at once, in one sentence."""

        async def probe() -> None:
            t = self.transport()
            try:
                await t.connect()
            finally:
                await t.close()

        try:
            asyncio.run(probe())
        except BrokerRefused:
            raise
        except BrokerError as e:  # away: the run starts and waits for it
            _log.warning("%s; waiting for it", e)

    def start(self, out: EventQueue) -> None:
        """Queued mode: events are acknowledged once queued (the agent evaluates inline)."""

        def queue(batch: Sequence[Event]) -> object:
            while not out.put(self.name, batch, timeout=0.1):
                if self._stop:
                    return None
            return None

        self.start_inline(queue)

    def start_inline(self, evaluate: Callable[[Sequence[Event]], object]) -> bool:
        self._stop = False
        self._thread = threading.Thread(
            target=self._run, args=(evaluate,), name=f"secengine-source-{self.name}", daemon=True
        )
        self._thread.start()
        self._connected.wait(30.0)
        if isinstance(self._start_error, BrokerRefused):
            self.stop(5.0)
            raise self._start_error
        return True

    def stop(self, timeout: float | None = None) -> None:
        self._stop = True
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the thread -------------------------------------------------------------------------------
    def _run(self, evaluate: Callable[[Sequence[Event]], object]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._consume(evaluate))
        except BaseException as e:  # noqa: BLE001 - reported by the agent through .error
            self.error = e
        finally:
            self._connected.set()
            loop.close()

    async def _consume(self, evaluate: Callable[[Sequence[Event]], object]) -> None:
        backoff = 0.1
        first = True
        while not self._stop:
            t = self.transport()
            try:
                await t.connect()
            except BrokerError as e:
                if first:
                    self._start_error = e
                    if isinstance(e, BrokerRefused):
                        self._connected.set()
                        return
                    self._connected.set()
                    first = False
                self._failures.log(logging.WARNING, type(e).__name__, f"source {self.name}: {e}")
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not first:
                self.stats.reconnects += 1
                _log.info("source %s: connected to %s again", self.name, t.where)
            first = False
            self._connected.set()
            backoff = 0.1
            try:
                await self._batches(t, evaluate)
            except BrokerError as e:
                self._failures.log(logging.WARNING, type(e).__name__, f"source {self.name}: {e}")
            finally:
                await t.close()

    async def _batches(
        self, t: ConsumeTransport, evaluate: Callable[[Sequence[Event]], object]
    ) -> None:
        s = self.settings
        while not self._stop:
            msgs = await t.fetch(s.batch, 0.5)
            if not msgs:
                continue
            done, events = self._decode(msgs)
            for run in _runs_by_source(events):
                evaluate(run)
            # evaluated: remembered before the acknowledgement, which may be lost (the
            # broker going away now redelivers them, and they are skipped then)
            for d in done:
                if d.poison is None:  # poison is dead-lettered again if redelivered
                    self.seen.add(d.message.id)
            with self.stats._lock:
                self.stats.events += len(events)
            await t.settle(done)

    def _decode(self, msgs: Sequence[InMessage]) -> tuple[list[Delivery], list[Event]]:
        limit = self.settings.max_message_bytes
        done: list[Delivery] = []
        events: list[Event] = []
        here: set[str] = set()
        for m in msgs:
            if m.deliveries > 1:
                self.stats.redelivered += 1
            if m.id in self.seen or m.id in here:
                self.stats.duplicates += 1
                done.append(Delivery(m))
                continue
            here.add(m.id)
            try:
                if len(m.body) > limit:
                    raise WireError(f"message of {len(m.body)} bytes, the limit is {limit}")
                self._num += 1
                events.append(decode_event(m.body, self._num))
            except WireError as e:
                self.stats.rejected += 1
                self._failures.log(
                    logging.WARNING,
                    "poison",
                    f"source {self.name}: message {m.id} is not an event ({e}); dead-lettered",
                )
                done.append(Delivery(m, poison=str(e)))
                continue
            done.append(Delivery(m))
        return done, events

    async def _sleep(self, seconds: float) -> None:
        end = asyncio.get_running_loop().time() + seconds
        while not self._stop and asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.05)

    # -- reports ----------------------------------------------------------------------------------
    def describe_start(self, rules: int) -> str:
        return (
            f"source {self.name} started with {rules} rules, consuming {self.describe_consumer()}"
        )

    def describe_end(self) -> str | None:
        s = self.stats
        return (
            f"source {self.name}: {s.events} events evaluated, {s.duplicates} duplicates skipped, "
            f"{s.rejected} poison messages dead-lettered, {s.redelivered} redelivered, "
            f"{s.reconnects} reconnects"
        )


def _runs_by_source(events: list[Event]) -> list[list[Event]]:
    """The events in order, cut where the source changes (the evaluator counts per source)."""
    runs: list[list[Event]] = []
    for e in events:
        if runs and runs[-1][0].source == e.source:
            runs[-1].append(e)
        else:
            runs.append([e])
    return runs
