"""The ``nats`` source: events from a durable JetStream pull consumer (``secengine run --source nats``).

Configured under ``sources: {nats: {...}}`` or by the ``--nats-*`` flags:
servers, credentials, TLS, the stream and subject filter (default
``SECENGINE_EVENTS``, ``secengine.events.>``: what the nodes' ``nats_output``
with ``events: true`` publishes), the durable consumer's name (several
central agents with the same durable share the work) and the dead-letter
subject. See :class:`~secengine.sources.broker.BrokerSource`.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any, ClassVar

from secengine.fleet.nats import NatsConsumer
from secengine.fleet.settings import NatsSourceSettings
from secengine.fleet.transport import ConsumeTransport
from secengine.sources.broker import BrokerSource

__all__ = ["NatsSource"]

_FLAGS = {
    "nats_server": "servers",
    "nats_stream": "stream",
    "nats_subjects": "subjects",
    "nats_durable": "durable",
    "nats_creds": "credentials",
    "nats_user": "user",
    "nats_password": "password",
    "nats_token": "token",
    "nats_ca_cert": "ca_cert",
    "nats_client_cert": "client_cert",
    "nats_client_key": "client_key",
}


class NatsSource(BrokerSource):
    """Consumes forwarded events from JetStream, acknowledging each after evaluation."""

    name: ClassVar[str] = "nats"
    settings: NatsSourceSettings

    def __init__(self, settings: NatsSourceSettings | None = None, **options: Any) -> None:
        super().__init__(settings or NatsSourceSettings(**options))

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> NatsSource:
        return cls(NatsSourceSettings(**settings))

    @classmethod
    def add_flags(cls, parser: argparse.ArgumentParser) -> None:
        g = parser.add_argument_group("nats source (--source nats)")
        g.add_argument(
            "--nats-server",
            action="append",
            metavar="URL",
            help="NATS server URL (repeatable; default nats://127.0.0.1:4222)",
        )
        g.add_argument(
            "--nats-stream",
            metavar="STREAM",
            help="JetStream stream of the events (default SECENGINE_EVENTS)",
        )
        g.add_argument(
            "--nats-subjects", metavar="FILTER", help="subject filter (default secengine.events.>)"
        )
        g.add_argument(
            "--nats-durable",
            metavar="NAME",
            help="durable consumer name (default secengine-central)",
        )
        g.add_argument("--nats-creds", metavar="FILE", help="NATS credentials (.creds) file")
        g.add_argument("--nats-user", metavar="USER", help="NATS user")
        g.add_argument("--nats-password", metavar="PASSWORD", help="NATS password")
        g.add_argument("--nats-token", metavar="TOKEN", help="NATS token")
        g.add_argument("--nats-ca-cert", metavar="FILE", help="CA certificate to verify the server")
        g.add_argument("--nats-client-cert", metavar="FILE", help="client certificate (mutual TLS)")
        g.add_argument("--nats-client-key", metavar="FILE", help="client key (mutual TLS)")

    @classmethod
    def from_flags(cls, args: argparse.Namespace) -> NatsSource:
        given = {
            key: getattr(args, flag) for flag, key in _FLAGS.items() if getattr(args, flag, None)
        }
        return cls(NatsSourceSettings(**given))

    def transport(self) -> ConsumeTransport:
        return NatsConsumer(self.settings, name=f"secengine central {socket.gethostname()}")

    def describe_consumer(self) -> str:
        s = self.settings
        return f"stream {s.stream} ({s.subjects}) as durable {s.durable} on {','.join(s.servers)}"
