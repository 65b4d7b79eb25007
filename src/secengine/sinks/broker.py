"""What the NATS and Redis outputs share: spool first, publish from the spool, count honestly.

:meth:`BrokerSink.deliver` renders the alert (Falco's JSON unless told
otherwise), names its subject or stream from the template (node, rule,
priority, source) and appends it to the output's on-disk
:class:`~secengine.sinks.spool.Spool`; it never waits for the network. A
:class:`~secengine.fleet.publisher.Publisher` thread publishes from the
spool and commits what the broker acknowledged, so alerts leave in order
and wait on disk while the broker is away.

The ledger (:class:`~secengine.sinks.base.Sink`): an alert is *delivered*
once the broker acknowledged it; until then it awaits confirmation
(:meth:`flush` says how many still do); one evicted from a full spool is
*dropped*, and an internal alert says so (:meth:`internal_alerts`). At exit
the output has ``output_timeout`` to empty its spool; what the broker has
not taken by then is counted as dropped for this run, and stays in the
spool: the next start publishes it first.

With ``events: true`` the output also forwards every evaluated event
(:class:`~secengine.fleet.forward.EventForwarder`), through a spool and a
connection of its own.
"""

from __future__ import annotations

import abc
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from secengine.alert import Alert
from secengine.events import Event
from secengine.fleet.forward import EventForwarder
from secengine.fleet.naming import NameTemplate, safe_token
from secengine.fleet.publisher import Publisher
from secengine.fleet.settings import SpoolSettings
from secengine.fleet.transport import BrokerRefused, PublishTransport
from secengine.internal_alerts import internal_alert
from secengine.sinks.base import Sink, SinkError
from secengine.sinks.spool import Spool, SpoolError

__all__ = ["BrokerSink"]

#: The rule of the internal alert a broker output raises when its spool evicted records.
SPOOL_FULL_RULE = "Falco internal: output spool full"


class BrokerSink(Sink):
    """The shared body of :class:`~secengine.sinks.nats.NatsSink` and
    :class:`~secengine.sinks.redis.RedisSink`."""

    default_json_output: ClassVar[bool | None] = True

    def __init__(self, settings: SpoolSettings, **common: Any) -> None:
        super().__init__(**common)
        self.settings = settings
        self.node = settings.node or socket.gethostname()
        self.forwards_events = bool(getattr(settings, "events", False))
        self._template = NameTemplate(self.alert_template())
        self._spool: Spool | None = None
        self._publisher: Publisher | None = None
        self._forwarder: EventForwarder | None = None
        self._unreported = {"alerts": 0, "events": 0}
        self._closed = False

    # -- what each broker says ------------------------------------------------------------------
    @abc.abstractmethod
    def alert_template(self) -> str:
        """The subject or stream-key template of alerts."""

    @abc.abstractmethod
    def events_template(self) -> str:
        """The subject or stream-key template of forwarded events."""

    @abc.abstractmethod
    def transport(self, what: str) -> PublishTransport:
        """A new client publishing ``what`` (``alerts`` or ``events``)."""

    # -- the sink ----------------------------------------------------------------------------------
    def _spool_dir(self, what: str) -> Path:
        return Path(self.settings.spool_dir) / f"{self.name}-{safe_token(self.label)}" / what

    def _start_publisher(self, what: str, spool: Spool) -> Publisher:
        s = self.settings
        publisher = Publisher(
            spool,
            self.transport(what),
            label=f"{self.label} ({what})",
            node=self.node,
            batch=s.batch,
            backoff_max=s.retry_backoff_max,
        )
        try:
            publisher.start(connect_timeout=max(10.0, 3 * s.ack_timeout))
        except BrokerRefused as e:
            raise SinkError(str(e)) from None
        return publisher

    def open(self) -> None:
        if self._publisher is not None and not self._closed:
            return
        self._closed = False
        s = self.settings
        try:
            self._spool = Spool(
                self._spool_dir("alerts"), s.spool_max_bytes, on_evict=self._evicted
            )
        except SpoolError as e:
            raise SinkError(str(e)) from None
        self._publisher = self._start_publisher("alerts", self._spool)
        if self.forwards_events:
            try:
                spool = Spool(self._spool_dir("events"), s.spool_max_bytes)
                publisher = self._start_publisher("events", spool)
            except (SpoolError, SinkError) as e:
                self._publisher.stop()
                self._publisher = None
                raise SinkError(str(e)) from None
            self._forwarder = EventForwarder(
                publisher, NameTemplate(self.events_template()), self.node
            )
            self._forwarder.start()

    def _evicted(self, n: int) -> None:
        assert self._publisher is not None
        self._publisher.ledger.removed(n, evicted=True)
        self._unreported["alerts"] += n

    def deliver(self, alert: Alert) -> None:
        assert self._spool is not None and self._publisher is not None
        key = self._template.render(
            node=self.node, rule=alert.rule, priority=alert.priority.title, source=alert.source
        )
        try:
            self._spool.append(key, self.renderer.line(alert))
        except SpoolError as e:
            raise SinkError(str(e)) from None
        self._publisher.ledger.appended += 1
        self._publisher.wake()

    def flush(self) -> int:
        """Settle what the broker acknowledged or the spool evicted since the last flush; the
        rest still waits. (The answer is an upper bound the base class clamps: the publisher
        may acknowledge more meanwhile, which the next flush settles, never twice.)"""
        if self._publisher is None:
            return 0
        ledger = self._publisher.ledger
        acked, evicted = ledger.take()
        self.settle_pending(acked, evicted)
        return ledger.appended

    def forward(self, batch: Sequence[Event]) -> None:
        if self._forwarder is not None:
            self._forwarder.offer(batch)

    def internal_alerts(self, hostname: str) -> list[Alert]:
        out = []
        forwarder = self._forwarder
        if forwarder is not None:
            lost = forwarder.stats.dropped - self._unreported["events"]
            if lost > 0:
                self._unreported["events"] = forwarder.stats.dropped
                out.append(self._spool_alert("events", lost, hostname))
        lost = self._unreported["alerts"]
        if lost:
            self._unreported["alerts"] = 0
            out.append(self._spool_alert("alerts", lost, hostname))
        return out

    def _spool_alert(self, what: str, n: int, hostname: str) -> Alert:
        return internal_alert(
            SPOOL_FULL_RULE,
            f"{SPOOL_FULL_RULE}. Output {self.label} dropped {n} {what} its broker had not "
            "taken (spool full).",
            {"output": self.label, "n_drops": str(n), "what": what, "node": self.node},
            hostname,
        )

    def close(self) -> None:
        """Give the broker what is spooled until shutdown gives up, then stop publishing."""
        publisher, forwarder = self._publisher, self._forwarder
        if self._closed or publisher is None:
            return
        self._closed = True
        if forwarder is not None:
            forwarder.stop(lambda: self.abandoned)
        publisher.drain(lambda: self.abandoned)
        acked, evicted = publisher.ledger.take()
        self.settle_pending(acked, evicted)
        publisher.stop()

    def reopen(self) -> None:
        """Nothing to reopen: the publisher reconnects by itself."""

    # -- reports -----------------------------------------------------------------------------------
    def spool_stats(self) -> list[dict[str, Any]]:
        """Per spool (``alerts``, ``events``): what it holds, evicted, published; for metrics."""
        out = []
        pairs = [("alerts", self._publisher)]
        if self._forwarder is not None:
            pairs.append(("events", self._forwarder.publisher))
        for what, publisher in pairs:
            if publisher is None:
                continue
            sp = publisher.spool.stats
            out.append(
                {
                    "what": what,
                    "records": sp.records,
                    "bytes": sp.bytes,
                    "evicted": sp.evicted,
                    "published": publisher.stats.published,
                    "connected": int(publisher.stats.connected),
                }
            )
        return out

    @property
    def spool(self) -> Spool | None:
        return self._spool

    @property
    def publisher(self) -> Publisher | None:
        return self._publisher

    def describe_events(self) -> str | None:
        """One line about the forwarded events, or None when this output forwards none."""
        return None if self._forwarder is None else self._forwarder.describe()
