"""The broker output keys: ``nats_output`` and ``redis_output`` (``docs/fleet.md``).

Each block is a :class:`~secengine.config.outputs.SinkBlock` (``enabled``,
``json_output``, ``queue_capacity``) plus the broker's own settings, which
live beside the client in :mod:`secengine.fleet.settings` so that the
``sinks:`` form (``{plugin: nats, ...}``) and the library API validate the
same keys.
"""

from __future__ import annotations

from secengine.config.outputs import SinkBlock
from secengine.fleet.settings import NatsOutputSettings, RedisOutputSettings

__all__ = ["NatsOutput", "RedisOutput"]


class NatsOutput(SinkBlock, NatsOutputSettings):
    """Alerts (and, with ``events``, evaluated events) to NATS JetStream, spooled on disk."""


class RedisOutput(SinkBlock, RedisOutputSettings):
    """Alerts (and, with ``events``, evaluated events) to Redis Streams, spooled on disk."""
