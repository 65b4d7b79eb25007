"""The ``redis`` source: events from a Redis Streams consumer group (``secengine run --source redis``).

Configured under ``sources: {redis: {...}}`` or by the ``--redis-*`` flags:
the URL, credentials, TLS, the stream keys (default ``secengine:events``:
what the nodes' ``redis_output`` with ``events: true`` adds to), the group
(several central agents in one group share the work), this consumer's name
and the dead-letter stream. See :class:`~secengine.sources.broker.BrokerSource`.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any, ClassVar

from secengine.fleet.redis import RedisConsumer
from secengine.fleet.settings import RedisSourceSettings
from secengine.fleet.transport import ConsumeTransport
from secengine.sources.broker import BrokerSource

__all__ = ["RedisSource"]

_FLAGS = {
    "redis_url": "url",
    "redis_stream": "streams",
    "redis_group": "group",
    "redis_consumer": "consumer",
    "redis_username": "username",
    "redis_password": "password",
    "redis_ca_cert": "ca_cert",
    "redis_client_cert": "client_cert",
    "redis_client_key": "client_key",
}


class RedisSource(BrokerSource):
    """Consumes forwarded events from Redis streams, acknowledging each after evaluation."""

    name: ClassVar[str] = "redis"
    settings: RedisSourceSettings

    def __init__(self, settings: RedisSourceSettings | None = None, **options: Any) -> None:
        super().__init__(settings or RedisSourceSettings(**options))
        self.consumer = self.settings.consumer or socket.gethostname()

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> RedisSource:
        return cls(RedisSourceSettings(**settings))

    @classmethod
    def add_flags(cls, parser: argparse.ArgumentParser) -> None:
        g = parser.add_argument_group("redis source (--source redis)")
        g.add_argument(
            "--redis-url",
            metavar="URL",
            help="redis:// or rediss:// URL (default redis://127.0.0.1:6379/0)",
        )
        g.add_argument(
            "--redis-stream",
            action="append",
            metavar="KEY",
            help="stream key to consume (repeatable; default secengine:events)",
        )
        g.add_argument(
            "--redis-group", metavar="GROUP", help="consumer group (default secengine-central)"
        )
        g.add_argument(
            "--redis-consumer", metavar="NAME", help="this consumer's name (default: hostname)"
        )
        g.add_argument("--redis-username", metavar="USER", help="Redis ACL user")
        g.add_argument("--redis-password", metavar="PASSWORD", help="Redis password")
        g.add_argument(
            "--redis-ca-cert", metavar="FILE", help="CA certificate to verify the server"
        )
        g.add_argument(
            "--redis-client-cert", metavar="FILE", help="client certificate (mutual TLS)"
        )
        g.add_argument("--redis-client-key", metavar="FILE", help="client key (mutual TLS)")

    @classmethod
    def from_flags(cls, args: argparse.Namespace) -> RedisSource:
        given = {
            key: getattr(args, flag) for flag, key in _FLAGS.items() if getattr(args, flag, None)
        }
        return cls(RedisSourceSettings(**given))

    def transport(self) -> ConsumeTransport:
        return RedisConsumer(
            self.settings, name=f"secengine-central-{self.consumer}", consumer=self.consumer
        )

    def describe_consumer(self) -> str:
        s = self.settings
        return f"{', '.join(s.streams)} in group {s.group} as {self.consumer} on {s.url.split('@')[-1]}"
