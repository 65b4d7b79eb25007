"""What a broker client does for the publisher and the consumer, and how its failures differ.

Two kinds of failure matter: the broker is *away* (refused, reset, timed
out: keep the records, try again later) and the broker *refuses us* (bad
credentials, no permission, a TLS certificate it rejects: trying again will
not help, and the user must be told in one sentence). Each client
translates its library's exceptions into :class:`BrokerUnavailable` or
:class:`BrokerRefused` at its boundary; nothing else leaves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from secengine.errors import SecengineError

__all__ = [
    "BrokerError",
    "BrokerRefused",
    "BrokerUnavailable",
    "ConsumeTransport",
    "Delivery",
    "InMessage",
    "OutRecord",
    "PublishTransport",
]


class BrokerError(SecengineError):
    """A broker could not be used; the message names the broker and why."""


class BrokerUnavailable(BrokerError):
    """The broker is away for now (refused, reset, timed out): try again later."""


class BrokerRefused(BrokerError):
    """The broker refuses this client (credentials, permissions, TLS): retrying will not help."""


@dataclass(frozen=True, slots=True)
class OutRecord:
    """One record to publish: where to (subject or stream key), its id and body."""

    key: str
    id: str
    body: bytes


class PublishTransport(Protocol):
    """A broker client as the publisher uses it (all calls on the publisher's event loop)."""

    #: How the broker is named in messages (``nats://127.0.0.1:4222``).
    where: str

    async def connect(self) -> None:
        """Connect (and create the streams if asked); raise BrokerUnavailable/BrokerRefused."""

    async def publish(self, records: Sequence[OutRecord]) -> int:
        """Publish in order; how many of the first records the broker acknowledged.

        Fewer than ``len(records)`` means the rest must be sent again (the
        broker went away); raises BrokerRefused when it refuses us.
        """

    async def close(self) -> None:
        """Close the connection (never raises)."""


@dataclass(frozen=True, slots=True)
class InMessage:
    """One message as a consumer received it: its id, body and how often it was delivered."""

    id: str
    body: bytes
    deliveries: int
    handle: Any  # the client's own message or entry id, for ack and dead-letter


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of a fetched message: acknowledged, or dead-lettered with a reason."""

    message: InMessage
    poison: str | None = None


class ConsumeTransport(Protocol):
    """A broker client as the consuming source uses it (all calls on the source's loop)."""

    where: str

    async def connect(self) -> None:
        """Connect and bind the durable consumer or group (creating it if needed)."""

    async def fetch(self, batch: int, timeout: float) -> list[InMessage]:
        """Up to ``batch`` messages, waiting up to ``timeout`` seconds for the first."""

    async def settle(self, done: Sequence[Delivery]) -> None:
        """Acknowledge evaluated messages; dead-letter (then acknowledge) poison ones."""

    async def close(self) -> None:
        """Close the connection (never raises)."""
