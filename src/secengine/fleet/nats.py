"""The NATS JetStream client of the fleet: publish with acknowledgements, consume a durable.

Built on ``nats-py`` (asyncio), imported only when a NATS output or source
is built: the ``fleet`` extra installs it, and its absence is one sentence.

Reconnection is ours, not the library's: the client connects with
``allow_reconnect=False`` and at most two attempts per server, so that a
wrong password is an ``Authorization Violation`` at once (the library would
otherwise retry it for ever) and a dead server a quick
:class:`~secengine.fleet.transport.BrokerUnavailable`; the publisher and the
consumer then reconnect with their own backoff. The library's own error
callback (which logs tracebacks) is replaced by one that remembers the last
error for the message.

Publishing is pipelined (``publish_async``: a whole batch is written, then
the acknowledgements awaited); each message carries ``Nats-Msg-Id``, so a
batch sent again after a lost acknowledgement is stored once (JetStream's
duplicate window). Streams are created with file storage when missing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from secengine.fleet.naming import subject_filter
from secengine.fleet.settings import NatsConnection, NatsSourceSettings
from secengine.fleet.transport import (
    BrokerRefused,
    BrokerUnavailable,
    Delivery,
    InMessage,
    OutRecord,
)

__all__ = ["NatsConsumer", "NatsPublisher", "import_nats"]

_MSG_ID = "Nats-Msg-Id"
#: JetStream's duplicate window for the streams we create (seconds): how long a resent
#: message is recognised. Longer than any outage the spool is sized for is not needed:
#: only a batch whose acknowledgement was lost is resent.
_DUPLICATE_WINDOW = 600.0


def import_nats() -> Any:
    """The ``nats`` package, or a one-sentence error saying how to install it."""
    try:
        import nats
        import nats.js.api
    except ImportError as e:  # pragma: no cover - the extra is installed in tests
        raise BrokerRefused(
            "the NATS output and source need nats-py: pip install 'secengine[fleet]'"
        ) from e
    return nats


def _describe(e: BaseException) -> str:
    text = str(e).removeprefix("nats: ").strip("'")
    return text or type(e).__name__


class _Connection:
    """One NATS connection made our way (see the module docstring)."""

    def __init__(self, settings: NatsConnection, name: str) -> None:
        self.settings = settings
        self.name = name
        self.where = ",".join(settings.servers)
        self.nc: Any = None
        self._last_error: BaseException | None = None

    async def open(self) -> Any:
        nats = import_nats()
        s = self.settings
        tls = s.tls_context(implied=any(u.startswith("tls://") for u in s.servers))

        async def on_error(e: BaseException) -> None:
            self._last_error = e

        kwargs: dict[str, Any] = {
            "servers": s.servers,
            "name": self.name,
            "allow_reconnect": False,
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0,
            "connect_timeout": s.connect_timeout,
            "error_cb": on_error,
            "tls": tls,
        }
        if s.credentials:
            kwargs["user_credentials"] = s.credentials
        if s.nkeys_seed:
            kwargs["nkeys_seed"] = s.nkeys_seed
        if s.user:
            kwargs["user"] = s.user
            kwargs["password"] = s.password
        if s.token:
            kwargs["token"] = s.token
        try:
            self.nc = await nats.connect(**kwargs)
        except Exception as e:  # noqa: BLE001 - translated at the boundary, by kind
            raise self.translate(e, "cannot connect to") from None
        return self.nc

    def translate(self, e: BaseException, doing: str) -> BrokerRefused | BrokerUnavailable:
        """The library's exception as ours: refused (credentials, permissions, TLS) or away."""
        nats = import_nats()
        cause = self._last_error if isinstance(e, nats.errors.NoServersError) else e
        cause = cause or e
        text = _describe(cause)
        lowered = text.lower()
        if (
            isinstance(cause, nats.errors.AuthorizationError)
            or "authorization" in lowered
            or "authentication" in lowered
            or "permissions violation" in lowered
            or "certificate" in lowered
            or isinstance(cause, FileNotFoundError)
        ):
            return BrokerRefused(f"NATS {self.where} refused {self.name}: {text}")
        return BrokerUnavailable(f"{doing} NATS {self.where}: {text}")

    async def close(self) -> None:
        nc, self.nc = self.nc, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()

    async def ensure_stream(self, stream: str, subjects: list[str]) -> None:
        """Create ``stream`` (file storage, our duplicate window) unless it exists."""
        nats = import_nats()
        js = self.nc.jetstream()
        try:
            await js.stream_info(stream)
            return
        except nats.js.errors.NotFoundError:
            pass
        config = nats.js.api.StreamConfig(
            name=stream,
            subjects=subjects,
            storage=nats.js.api.StorageType.FILE,
            duplicate_window=_DUPLICATE_WINDOW,
        )
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError as e:
            raise BrokerRefused(f"NATS {self.where}: cannot create stream {stream}: {e}") from None


class NatsPublisher:
    """Publishes spooled records to JetStream subjects (a :class:`PublishTransport`)."""

    def __init__(
        self,
        settings: NatsConnection,
        *,
        name: str,
        streams: dict[str, str],
        create_streams: bool,
        ack_timeout: float,
    ) -> None:
        self._conn = _Connection(settings, name)
        self.where = self._conn.where
        #: stream name → subject template, created when missing if asked
        self._streams = streams
        self._create = create_streams
        self.ack_timeout = ack_timeout
        self._js: Any = None
        self.max_payload = 1 << 20

    async def connect(self) -> None:
        nats = import_nats()
        nc = await self._conn.open()
        self.max_payload = nc.max_payload
        try:
            if self._create:
                for stream, template in self._streams.items():
                    await self._conn.ensure_stream(stream, [subject_filter(template)])
        except (TimeoutError, nats.errors.Error, OSError) as e:
            await self._conn.close()
            raise self._conn.translate(e, "cannot set up streams on") from None
        self._js = nc.jetstream(timeout=self.ack_timeout)

    async def publish(self, records: Sequence[OutRecord]) -> int:
        nats = import_nats()
        js = self._js
        if js is None or self._conn.nc is None or not self._conn.nc.is_connected:
            raise BrokerUnavailable(f"not connected to NATS {self.where}")
        futures = []
        try:
            for r in records:
                futures.append(
                    await js.publish_async(r.key, r.body, headers={_MSG_ID: r.id}, wait_stall=None)
                )
            await self._conn.nc.flush(timeout=self.ack_timeout)
        except (TimeoutError, nats.errors.Error, OSError) as e:
            for f in futures:
                f.cancel()
            raise self._conn.translate(e, "publishing to") from None
        acked = 0
        try:
            async with asyncio.timeout(self.ack_timeout):
                for f in futures:
                    await f
                    acked += 1
        except (nats.errors.Error, OSError, TimeoutError) as e:
            for f in futures[acked:]:
                f.cancel()
            if isinstance(e, nats.js.errors.APIError) and e.code in (401, 403):
                raise self._conn.translate(e, "publishing to") from None
        return acked

    async def close(self) -> None:
        self._js = None
        await self._conn.close()


class NatsConsumer:
    """A durable JetStream pull consumer (a :class:`ConsumeTransport`)."""

    def __init__(self, settings: NatsSourceSettings, *, name: str) -> None:
        self.settings = settings
        self._conn = _Connection(settings, name)
        self.where = self._conn.where
        self._sub: Any = None
        self._js: Any = None

    async def connect(self) -> None:
        nats = import_nats()
        s = self.settings
        nc = await self._conn.open()
        try:
            js = nc.jetstream()
            if s.create_stream:
                await self._conn.ensure_stream(s.stream, [s.subjects])
                await self._conn.ensure_stream(f"{s.stream}_DLQ", [s.dead_letter_subject])
            config = nats.js.api.ConsumerConfig(
                durable_name=s.durable,
                ack_policy=nats.js.api.AckPolicy.EXPLICIT,
                ack_wait=s.ack_wait,
                max_ack_pending=max(1000, s.batch * 4),
                filter_subject=s.subjects,
            )
            self._sub = await js.pull_subscribe(
                s.subjects, durable=s.durable, stream=s.stream, config=config
            )
            self._js = js
        except (TimeoutError, nats.errors.Error, OSError) as e:
            await self._conn.close()
            raise self._conn.translate(e, "cannot bind the consumer on") from None

    async def fetch(self, batch: int, timeout: float) -> list[InMessage]:
        nats = import_nats()
        if self._sub is None:
            raise BrokerUnavailable(f"not connected to NATS {self.where}")
        try:
            msgs = await self._sub.fetch(batch, timeout=timeout)
        except nats.errors.TimeoutError:
            if self._conn.nc is None or not self._conn.nc.is_connected:
                raise BrokerUnavailable(f"lost the connection to NATS {self.where}") from None
            return []
        except (nats.errors.Error, OSError) as e:
            raise self._conn.translate(e, "fetching from") from None
        out = []
        for m in msgs:
            headers = m.headers or {}
            try:
                deliveries = m.metadata.num_delivered
                seq = m.metadata.sequence.stream
            except (AttributeError, ValueError, TypeError):
                deliveries, seq = 1, 0
            out.append(InMessage(headers.get(_MSG_ID) or f"seq:{seq}", m.data, deliveries, m))
        return out

    async def settle(self, done: Sequence[Delivery]) -> None:
        nats = import_nats()
        try:
            for d in done:
                msg = d.message.handle
                if d.poison is not None:
                    await self._js.publish(
                        self.settings.dead_letter_subject,
                        msg.data,
                        headers={
                            _MSG_ID: f"dlq:{d.message.id}",
                            "Secengine-Reason": d.poison[:200],
                            "Secengine-Subject": msg.subject,
                        },
                    )
                    await msg.term()
                else:
                    await msg.ack()
            if self._conn.nc is not None:
                await self._conn.nc.flush(timeout=5)
        except (TimeoutError, nats.errors.Error, OSError) as e:
            raise self._conn.translate(e, "acknowledging to") from None

    async def close(self) -> None:
        self._sub = None
        await self._conn.close()
