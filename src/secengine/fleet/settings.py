"""What a broker output or source is configured with: connection, TLS, credentials, names, spool.

Pydantic models, so that a bad key or value is an error naming the key
(:mod:`secengine.config` builds the ``nats_output``/``redis_output`` blocks on
them; the sources validate their ``sources:`` block and flags with them).
The NATS and Redis models share what they can: :class:`TlsSettings`,
:class:`SpoolSettings`.
"""

from __future__ import annotations

import ssl
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from secengine.fleet.naming import NameTemplate

__all__ = [
    "DEFAULT_SPOOL_BYTES",
    "NatsConnection",
    "NatsOutputSettings",
    "NatsSourceSettings",
    "RedisConnection",
    "RedisOutputSettings",
    "RedisSourceSettings",
    "SpoolSettings",
    "TlsSettings",
]

#: The default bound of an output's spool: 64 MiB (about 100 000 alerts of JSON).
DEFAULT_SPOOL_BYTES: Final = 64 << 20


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, coerce_numbers_to_str=True)


class TlsSettings(_Strict):
    """TLS towards the broker (on when a CA, a client certificate or ``tls`` is given)."""

    tls: bool = Field(
        default=False, description="Connect with TLS (also implied by `tls://`, `rediss://`)."
    )
    ca_cert: str = Field(
        default="", description="CA certificate file the broker's certificate is checked against."
    )
    client_cert: str = Field(default="", description="Client certificate file (mutual TLS).")
    client_key: str = Field(default="", description="Client key file (mutual TLS).")
    insecure: bool = Field(default=False, description="Do not verify the broker's certificate.")

    def tls_context(self, implied: bool = False) -> ssl.SSLContext | None:
        """The client's TLS context, or None for plain TCP; raises ValueError naming the file."""
        if not (self.tls or implied or self.ca_cert or self.client_cert):
            return None
        try:
            ctx = ssl.create_default_context(cafile=self.ca_cert or None)
            if self.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if self.client_cert:
                ctx.load_cert_chain(self.client_cert, self.client_key or None)
        except (OSError, ssl.SSLError) as e:
            raise ValueError(f"TLS setup failed: {e}") from e
        return ctx


class SpoolSettings(_Strict):
    """Where an output keeps what the broker has not acknowledged yet, and how much of it."""

    spool_dir: str = Field(
        default="/var/lib/secengine/spool",
        description="Directory of the on-disk spool (one subdirectory per output and stream).",
    )
    spool_max_bytes: int = Field(
        default=DEFAULT_SPOOL_BYTES,
        ge=65536,
        description="Bound of the spool; when full, the oldest records are evicted and counted "
        "as dropped.",
    )
    node: str = Field(
        default="", description="This node's name in subjects, keys and ids (default: hostname)."
    )
    batch: int = Field(default=256, ge=1, le=65536, description="Records published per round.")
    ack_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for the broker's acknowledgements."
    )
    retry_backoff_max: float = Field(
        default=5.0, gt=0, description="Longest wait (s) between attempts while the broker is down."
    )


class NatsConnection(TlsSettings):
    """A NATS connection: servers, credentials, TLS."""

    servers: list[str] = Field(
        default_factory=lambda: ["nats://127.0.0.1:4222"], description="NATS server URLs."
    )
    credentials: str = Field(default="", description="A `.creds` file (JWT and NKey seed).")
    nkeys_seed: str = Field(default="", description="An NKey seed file.")
    user: str = Field(default="", description="User name.")
    password: str = Field(default="", description="Password.")
    token: str = Field(default="", description="Authentication token.")
    connect_timeout: float = Field(default=2.0, gt=0, description="Seconds per connection attempt.")

    @field_validator("servers", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class RedisConnection(TlsSettings):
    """A Redis connection: URL, credentials, TLS."""

    url: str = Field(
        default="redis://127.0.0.1:6379/0", description="`redis://` or `rediss://` URL."
    )
    username: str = Field(default="", description="ACL user name.")
    password: str = Field(default="", description="Password.")
    connect_timeout: float = Field(default=2.0, gt=0, description="Seconds per connection attempt.")


def _template(value: str) -> str:
    NameTemplate(value)  # raises ValueError naming the bad placeholder
    return value


class _NatsNames(_Strict):
    subject: str = Field(
        default="secengine.alerts.{node}.{priority}.{rule}",
        description="Subject template of alerts: `{node}`, `{rule}`, `{priority}`, `{source}`.",
    )
    stream: str = Field(default="SECENGINE_ALERTS", description="JetStream stream of the alerts.")
    events: bool = Field(
        default=False, description="Also forward every evaluated event (for a central evaluator)."
    )
    events_subject: str = Field(
        default="secengine.events.{node}", description="Subject template of forwarded events."
    )
    events_stream: str = Field(default="SECENGINE_EVENTS", description="Stream of the events.")
    create_stream: bool = Field(
        default=True, description="Create the streams (file storage) when they do not exist."
    )

    _check = field_validator("subject", "events_subject")(_template)


class NatsOutputSettings(NatsConnection, SpoolSettings, _NatsNames):
    """Everything the ``nats`` output takes."""


class _RedisNames(_Strict):
    stream: str = Field(
        default="secengine:alerts",
        description="Stream key template of alerts: `{node}`, `{rule}`, `{priority}`, `{source}`.",
    )
    events: bool = Field(
        default=False, description="Also forward every evaluated event (for a central evaluator)."
    )
    events_stream: str = Field(
        default="secengine:events", description="Stream key template of events."
    )
    maxlen: int = Field(
        default=0, ge=0, description="Trim each stream to about this many entries; 0: never trim."
    )

    _check = field_validator("stream", "events_stream")(_template)


class RedisOutputSettings(RedisConnection, SpoolSettings, _RedisNames):
    """Everything the ``redis`` output takes."""


class _ConsumerSettings(_Strict):
    batch: int = Field(default=256, ge=1, le=65536, description="Messages fetched per round.")
    dedup_window: int = Field(
        default=100_000,
        ge=0,
        description="Event ids remembered to skip redeliveries (0: no deduplication).",
    )
    max_message_bytes: int = Field(
        default=1 << 20, ge=64, description="A larger message is poison: dead-lettered."
    )


class NatsSourceSettings(NatsConnection, _ConsumerSettings):
    """The ``nats`` source: a durable JetStream pull consumer."""

    stream: str = Field(default="SECENGINE_EVENTS", description="Stream to consume.")
    subjects: str = Field(default="secengine.events.>", description="Subject filter.")
    durable: str = Field(default="secengine-central", description="Durable consumer name.")
    ack_wait: float = Field(
        default=30.0, gt=0, description="Seconds before an unacknowledged message is redelivered."
    )
    create_stream: bool = Field(default=True, description="Create the stream when missing.")
    dead_letter_subject: str = Field(
        default="secengine.deadletter.events",
        description="Where poison messages go (kept in the stream `<stream>_DLQ`).",
    )


class RedisSourceSettings(RedisConnection, _ConsumerSettings):
    """The ``redis`` source: a Redis Streams consumer group."""

    streams: list[str] = Field(
        default_factory=lambda: ["secengine:events"], description="Stream keys to consume."
    )
    group: str = Field(default="secengine-central", description="Consumer group.")
    consumer: str = Field(default="", description="This consumer's name (default: hostname).")
    claim_idle: float = Field(
        default=30.0,
        gt=0,
        description="Seconds after which another consumer's unacknowledged entries are claimed.",
    )
    dead_letter_stream: str = Field(
        default="secengine:deadletter", description="Stream where poison entries go."
    )

    @field_validator("streams", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value
