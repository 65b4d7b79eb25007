"""The events a node evaluates, sent on to a broker for a central evaluator.

A broker output with ``events: true`` owns one :class:`EventForwarder`: the
evaluation loop hands it each evaluated batch (:meth:`offer`, which never
blocks: a full queue drops the batch and counts its events), and its thread
writes the events (:mod:`secengine.fleet.wire`) to a spool of their own,
which a :class:`~secengine.fleet.publisher.Publisher` drains into the
events subject or stream, in order. Events evicted from a full spool are
counted as dropped too.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from secengine.events import Event
from secengine.fleet.naming import NameTemplate
from secengine.fleet.publisher import Publisher
from secengine.fleet.wire import encode_event
from secengine.sinks.spool import SpoolError

__all__ = ["EventForwarder", "ForwardStats"]

_log = logging.getLogger("secengine.fleet")


@dataclass(slots=True)
class ForwardStats:
    """Events offered, spooled, and dropped (queue full, unspoolable, evicted)."""

    offered: int = 0
    spooled: int = 0
    dropped: int = 0


class EventForwarder:
    """Queues evaluated batches and spools their events for ``publisher``."""

    def __init__(
        self,
        publisher: Publisher,
        template: NameTemplate,
        node: str,
        *,
        max_batches: int = 1024,
    ) -> None:
        self.publisher = publisher
        self.template = template
        self.node = node
        self.stats = ForwardStats()
        self._queue: queue.Queue[Sequence[Event] | None] = queue.Queue(maxsize=max_batches)
        self._thread: threading.Thread | None = None
        publisher.spool.on_evict = self._evicted

    def _evicted(self, n: int) -> None:
        self.publisher.ledger.removed(n, evicted=True)
        self.stats.dropped += n

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._work, name=f"secengine-forward-{self.publisher.label}", daemon=True
        )
        self._thread.start()

    def offer(self, batch: Sequence[Event]) -> bool:
        """Queue a batch without blocking; False (its events counted dropped) when full."""
        self.stats.offered += len(batch)
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self.stats.dropped += len(batch)
            return False
        return True

    def _work(self) -> None:
        spool = self.publisher.spool
        render = self.template.render
        node = self.node
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            for event in batch:
                try:
                    spool.append(render(node=node, source=event.source), encode_event(event))
                except (SpoolError, TypeError, ValueError) as e:
                    self.stats.dropped += 1
                    _log.warning("%s: an event cannot be spooled: %s", self.publisher.label, e)
                    continue
                self.stats.spooled += 1
            self.publisher.wake()

    def stop(self, give_up: Callable[[], bool]) -> None:
        """Spool what is queued, publish what the broker takes before ``give_up()``, stop."""
        if self._thread is not None:
            self._queue.put(None)
            while self._thread.is_alive() and not give_up():
                self._thread.join(0.05)
        self.publisher.drain(give_up)
        self.publisher.stop()

    def describe(self) -> str:
        s = self.stats
        waiting = self.publisher.spool.stats.records
        return (
            f"{self.publisher.label}: {s.offered} events offered, "
            f"{self.publisher.stats.published} published, {s.dropped} dropped, "
            f"{waiting} left in the spool"
        )
