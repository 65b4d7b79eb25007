"""The ``nats`` output: alerts to NATS JetStream subjects, at least once, spooled on disk.

Configured under ``nats_output`` (or ``sinks: {name: {plugin: nats, ...}}``):
servers, credentials (``.creds``, NKey seed, user and password, token),
TLS, the subject template (default
``secengine.alerts.{node}.{priority}.{rule}``) and the stream that holds it
(created with file storage when missing), the spool's directory and bound.
See :class:`~secengine.sinks.broker.BrokerSink` for the ledger and
:mod:`secengine.fleet.nats` for the client; ``docs/fleet.md`` for topology.
"""

from __future__ import annotations

from typing import Any, ClassVar

from secengine.fleet.nats import NatsPublisher
from secengine.fleet.settings import NatsOutputSettings
from secengine.fleet.transport import PublishTransport
from secengine.sinks.broker import BrokerSink

__all__ = ["NatsSink"]

_COMMON = ("label", "renderer", "queue_capacity", "buffered", "failure_log_interval")


class NatsSink(BrokerSink):
    """Publishes alert JSON to JetStream; ``settings`` or the same keys as keyword arguments."""

    name: ClassVar[str] = "nats"
    settings: NatsOutputSettings

    def __init__(self, settings: NatsOutputSettings | None = None, **options: Any) -> None:
        common = {k: options.pop(k) for k in _COMMON if k in options}
        super().__init__(settings or NatsOutputSettings(**options), **common)

    def alert_template(self) -> str:
        return self.settings.subject

    def events_template(self) -> str:
        return self.settings.events_subject

    def transport(self, what: str) -> PublishTransport:
        s = self.settings
        stream, subject = (
            (s.stream, s.subject) if what == "alerts" else (s.events_stream, s.events_subject)
        )
        return NatsPublisher(
            s,
            name=f"secengine {self.node} {what}",
            streams={stream: subject},
            create_streams=s.create_stream,
            ack_timeout=s.ack_timeout,
        )
