"""Drain a spool into a broker, in order, on a thread of its own: at least once, never blocking.

Whatever a broker output sends is appended to its
:class:`~secengine.sinks.spool.Spool` first (by the sink's worker thread, or
the event forwarder's); the :class:`Publisher` thread runs an asyncio loop
that takes the oldest records, publishes them as one pipelined batch, and
commits (removes from the spool) exactly the prefix the broker
acknowledged. A batch that failed part-way is sent again from its first
unacknowledged record, so records leave in the order they were spooled
(per node: each node has its own spool). Every record carries the id
``<node>:<spool epoch>:<sequence>``: JetStream stores a resent record once
(``Nats-Msg-Id``), and the consuming source skips one it already evaluated.

While the broker is away the records wait in the spool (bounded; the oldest
evicted and counted) and the publisher tries again with backoff doubling
from 0.1 s up to ``retry_backoff_max``. A broker that *refuses* the
client (credentials, permissions) is reported the same way, rate-limited:
it may be fixed on the broker's side without restarting the agent; at start
it is an error (:meth:`Publisher.start`), so a typo in a password is one
sentence and the agent does not start.

The run ledger: the sink needs to know how many of *this run's* records
were acknowledged or evicted (records recovered from an earlier run leave
the spool first); :class:`RunLedger` keeps that arithmetic.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from secengine.fleet.transport import (
    BrokerError,
    BrokerRefused,
    BrokerUnavailable,
    OutRecord,
    PublishTransport,
)
from secengine.sinks.base import RateLimitedLog
from secengine.sinks.spool import Spool

__all__ = ["Publisher", "PublisherStats", "RunLedger"]

_log = logging.getLogger("secengine.fleet")


@dataclass(slots=True)
class RunLedger:
    """What became of this run's records, given that ``recovered`` older ones leave first."""

    recovered: int = 0
    appended: int = 0
    acked: int = 0
    evicted: int = 0
    _taken: tuple[int, int] = (0, 0)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def removed(self, n: int, *, evicted: bool) -> None:
        """``n`` records left the head of the spool (acknowledged, or evicted)."""
        with self._lock:
            old = min(n, self.recovered)
            self.recovered -= old
            if evicted:
                self.evicted += n - old
            else:
                self.acked += n - old

    def take(self) -> tuple[int, int]:
        """This run's records acknowledged and evicted since the last call."""
        with self._lock:
            acked, evicted = self._taken
            self._taken = (self.acked, self.evicted)
            return self.acked - acked, self.evicted - evicted

    @property
    def waiting(self) -> int:
        """This run's records still in the spool."""
        return self.appended - self.acked - self.evicted


@dataclass(slots=True)
class PublisherStats:
    """Counters of one publisher, read by metrics and the end-of-run lines."""

    published: int = 0
    attempts_failed: int = 0
    connected: bool = False
    last_error: str = ""


class Publisher:
    """The thread that publishes ``spool`` through ``transport`` (see the module docstring)."""

    def __init__(
        self,
        spool: Spool,
        transport: PublishTransport,
        *,
        label: str,
        node: str,
        batch: int = 256,
        backoff_max: float = 5.0,
        ledger: RunLedger | None = None,
        failure_log_interval: float = 10.0,
    ) -> None:
        self.spool = spool
        self.transport = transport
        self.label = label
        self.id_prefix = f"{node}:{spool.epoch}"
        self.batch = batch
        self.backoff_max = backoff_max
        self.stats = PublisherStats()
        self.ledger = ledger if ledger is not None else RunLedger()
        self.ledger.recovered = spool.stats.records
        self._failures = RateLimitedLog(_log, failure_log_interval)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._idle = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._connecting: asyncio.Lock | None = None
        self._committing = False

    # -- the caller's side ------------------------------------------------------------------
    def start(self, connect_timeout: float = 10.0) -> None:
        """Start the thread and connect once: a broker that refuses us raises
        :class:`BrokerRefused` (nothing keeps running); one that is away is logged and
        the records wait in the spool."""
        self._thread = threading.Thread(
            target=self._run, name=f"secengine-publish-{self.label}", daemon=True
        )
        self._thread.start()
        self._started.wait()
        assert self._loop is not None
        first = asyncio.run_coroutine_threadsafe(self._connect(), self._loop)
        try:
            first.result(connect_timeout)
        except BrokerRefused:
            self.stop(0)
            raise
        except BrokerUnavailable as e:
            _log.warning("%s: %s; alerts wait in the spool until it answers", self.label, e)
        except TimeoutError:
            first.cancel()
            _log.warning("%s: no answer from %s yet; spooling", self.label, self.transport.where)

    def wake(self) -> None:
        """Something was appended: wake the thread if it sleeps (cheap when it is busy)."""
        if self._idle and self._loop is not None and self._event is not None:
            self._idle = False
            try:
                self._loop.call_soon_threadsafe(self._event.set)
            except RuntimeError:  # the loop closed: stopping
                pass

    def drain(self, until: Callable[[], bool]) -> bool:
        """Wait until the spool is empty (True) or ``until()`` says to give up (False)."""
        # in this order: a commit empties the spool before it updates the ledger
        while self.spool.stats.records or self._committing:
            if until() or self._thread is None or not self._thread.is_alive():
                return False
            self.wake()
            time.sleep(0.02)
        return True

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the thread (what is still spooled stays on disk for the next start)."""
        self._stop = True
        if self._loop is not None and self._event is not None:
            try:
                self._loop.call_soon_threadsafe(self._event.set)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(timeout)
        self.spool.close()

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._event = asyncio.Event()
        self._started.set()
        try:
            loop.run_until_complete(self._main())
        except BaseException as e:  # noqa: BLE001 - said once; records stay in the spool
            self.stats.last_error = f"{type(e).__name__}: {e}"
            _log.error("%s: publishing stopped: %s", self.label, self.stats.last_error)
        finally:
            try:
                loop.run_until_complete(self.transport.close())
            finally:
                loop.close()

    async def _connect(self) -> None:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # start() and the loop may both ask at first
            if not self.stats.connected:
                await self.transport.connect()
                self.stats.connected = True

    async def _main(self) -> None:
        assert self._event is not None
        backoff = 0.1
        while not self._stop:
            records = self.spool.peek(self.batch)
            if not records:
                self._idle = True
                if self.spool.stats.records:  # appended between the peek and now
                    self._idle = False
                    continue
                try:
                    await asyncio.wait_for(self._event.wait(), 0.5)
                except TimeoutError:
                    pass
                self._event.clear()
                self._idle = False
                continue
            out = [OutRecord(r.key, f"{self.id_prefix}:{r.seq}", r.body) for r in records]
            try:
                await self._connect()
                acked = await self.transport.publish(out)
            except BrokerError as e:
                acked = 0
                await self._failed(e)
            except Exception as e:  # noqa: BLE001 - a client's surprise must not stop publishing
                acked = 0
                await self._failed(BrokerUnavailable(f"{type(e).__name__}: {e}"))
            if acked:
                self._committing = True  # drain() must not see an empty spool before the ledger
                removed = self.spool.commit(records[acked - 1])
                self.ledger.removed(removed, evicted=False)
                self.stats.published += removed
                self._committing = False
            if acked == len(records):
                backoff = 0.1
                continue
            if acked < len(records) and self.stats.connected:
                await self._failed(
                    BrokerUnavailable(f"{self.transport.where} stopped acknowledging")
                )
            await self._sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    async def _failed(self, e: BrokerError) -> None:
        self.stats.attempts_failed += 1
        self.stats.last_error = str(e)
        if self.stats.connected:
            self.stats.connected = False
            await self.transport.close()
        self._failures.log(
            logging.WARNING,
            type(e).__name__,
            f"{self.label}: {e}; {self.spool.stats.records} records wait in the spool",
        )

    async def _sleep(self, seconds: float) -> None:
        assert self._event is not None
        end = time.monotonic() + seconds
        while not self._stop and time.monotonic() < end:
            try:
                await asyncio.wait_for(self._event.wait(), end - time.monotonic())
            except TimeoutError:
                break
            self._event.clear()
