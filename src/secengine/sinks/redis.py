"""The ``redis`` output: alerts to Redis streams (``XADD``), at least once, spooled on disk.

Configured under ``redis_output`` (or ``sinks: {name: {plugin: redis, ...}}``):
the URL (``rediss://`` for TLS), ACL user and password, TLS files, the
stream-key template (default ``secengine:alerts``; ``{node}``, ``{rule}``,
``{priority}``, ``{source}`` may shard it), approximate trimming
(``maxlen``), the spool's directory and bound. See
:class:`~secengine.sinks.broker.BrokerSink` for the ledger and
:mod:`secengine.fleet.redis` for the client; ``docs/fleet.md`` for topology.
"""

from __future__ import annotations

from typing import Any, ClassVar

from secengine.fleet.redis import RedisPublisher
from secengine.fleet.settings import RedisOutputSettings
from secengine.fleet.transport import PublishTransport
from secengine.sinks.broker import BrokerSink

__all__ = ["RedisSink"]

_COMMON = ("label", "renderer", "queue_capacity", "buffered", "failure_log_interval")


class RedisSink(BrokerSink):
    """Adds alert JSON to Redis streams; ``settings`` or the same keys as keyword arguments."""

    name: ClassVar[str] = "redis"
    settings: RedisOutputSettings

    def __init__(self, settings: RedisOutputSettings | None = None, **options: Any) -> None:
        common = {k: options.pop(k) for k in _COMMON if k in options}
        super().__init__(settings or RedisOutputSettings(**options), **common)

    def alert_template(self) -> str:
        return self.settings.stream

    def events_template(self) -> str:
        return self.settings.events_stream

    def transport(self, what: str) -> PublishTransport:
        s = self.settings
        return RedisPublisher(
            s, name=f"secengine-{self.node}-{what}", maxlen=s.maxlen, ack_timeout=s.ack_timeout
        )
