"""The Redis Streams client of the fleet: ``XADD`` in pipelines, a consumer group that ``XACK``s.

Built on ``redis.asyncio`` (the ``redis`` package), imported only when a
Redis output or source is built (the ``fleet`` extra). The library's own
retries are turned off: the publisher and the consumer retry with their own
backoff, so that a wrong password fails at once and a dead server is a
quick :class:`~secengine.fleet.transport.BrokerUnavailable`.

An entry has two fields, ``id`` (``<node>:<spool>:<seq>``, what a consumer
deduplicates on: Redis has no duplicate window, so a pipeline sent again
after a lost reply may add an entry twice) and ``body``.

The consumer reads its own pending entries first (those it was given but
had not acknowledged when it stopped), then new ones (``>``), and claims
entries another consumer of the group left unacknowledged for
``claim_idle`` seconds (``XAUTOCLAIM``): a consumer that died does not hold
its entries for ever.

Redis must persist to keep "at least once" across its own restart
(``appendonly yes``; ``docs/fleet.md``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from secengine.fleet.settings import RedisConnection, RedisSourceSettings
from secengine.fleet.transport import (
    BrokerRefused,
    BrokerUnavailable,
    Delivery,
    InMessage,
    OutRecord,
)

__all__ = ["RedisConsumer", "RedisPublisher", "import_redis"]


def import_redis() -> Any:
    """The ``redis.asyncio`` module, or a one-sentence error saying how to install it."""
    try:
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
    except ImportError as e:  # pragma: no cover - the extra is installed in tests
        raise BrokerRefused(
            "the Redis output and source need redis: pip install 'secengine[fleet]'"
        ) from e
    return redis


class _Connection:
    def __init__(self, settings: RedisConnection, name: str) -> None:
        self.settings = settings
        self.name = name
        self.where = settings.url.split("@")[-1]  # never show a password in the URL
        self.client: Any = None

    async def open(self) -> Any:
        redis = import_redis()
        s = self.settings
        kwargs: dict[str, Any] = {
            "socket_connect_timeout": s.connect_timeout,
            "socket_timeout": None,
            "retry": redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0),
            "client_name": self.name,
        }
        if s.username:
            kwargs["username"] = s.username
        if s.password:
            kwargs["password"] = s.password
        url = s.url
        if s.tls or s.ca_cert or s.client_cert:
            url = url.replace("redis://", "rediss://", 1)
        if url.startswith("rediss://"):
            kwargs["ssl_ca_certs"] = s.ca_cert or None
            kwargs["ssl_certfile"] = s.client_cert or None
            kwargs["ssl_keyfile"] = s.client_key or None
            if s.insecure:
                kwargs["ssl_cert_reqs"] = "none"
                kwargs["ssl_check_hostname"] = False
        try:
            client = redis.asyncio.from_url(url, **kwargs)
            await client.ping()
        except Exception as e:  # noqa: BLE001 - translated at the boundary, by kind
            raise self.translate(e, "cannot connect to") from None
        self.client = client
        return client

    def translate(self, e: BaseException, doing: str) -> BrokerRefused | BrokerUnavailable:
        redis = import_redis()
        text = str(e) or type(e).__name__
        if isinstance(
            e,
            redis.exceptions.AuthenticationError
            | redis.exceptions.AuthorizationError
            | redis.exceptions.NoPermissionError
            | redis.exceptions.AuthenticationWrongNumberOfArgsError,
        ) or any(w in text.lower() for w in ("noauth", "wrongpass", "noperm", "certificate")):
            return BrokerRefused(f"Redis {self.where} refused {self.name}: {text}")
        return BrokerUnavailable(f"{doing} Redis {self.where}: {text}")

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()


def _errors() -> tuple[type[BaseException], ...]:
    redis = import_redis()
    return (redis.exceptions.RedisError, OSError, TimeoutError)


class RedisPublisher:
    """Adds spooled records to Redis streams (a :class:`PublishTransport`)."""

    def __init__(
        self, settings: RedisConnection, *, name: str, maxlen: int, ack_timeout: float
    ) -> None:
        self._conn = _Connection(settings, name)
        self.where = self._conn.where
        self.maxlen = maxlen or None
        self.ack_timeout = ack_timeout

    async def connect(self) -> None:
        await self._conn.open()

    async def publish(self, records: Sequence[OutRecord]) -> int:
        client = self._conn.client
        if client is None:
            raise BrokerUnavailable(f"not connected to Redis {self.where}")
        try:
            async with client.pipeline(transaction=False) as pipe:
                for r in records:
                    pipe.xadd(
                        r.key, {"id": r.id, "body": r.body}, maxlen=self.maxlen, approximate=True
                    )
                results = await pipe.execute(raise_on_error=False)
        except _errors() as e:
            raise self._conn.translate(e, "publishing to") from None
        acked = 0
        for res in results:
            if isinstance(res, BaseException):
                refused = self._conn.translate(res, "publishing to")
                if isinstance(refused, BrokerRefused):
                    raise refused
                break
            acked += 1
        return acked

    async def close(self) -> None:
        await self._conn.close()


class RedisConsumer:
    """A member of a Redis Streams consumer group (a :class:`ConsumeTransport`)."""

    def __init__(self, settings: RedisSourceSettings, *, name: str, consumer: str) -> None:
        self.settings = settings
        self.consumer = consumer
        self._conn = _Connection(settings, name)
        self.where = self._conn.where
        self._own_pending = True  # read our own unacknowledged entries first
        self._next_claim = 0.0

    async def connect(self) -> None:
        redis = import_redis()
        client = await self._conn.open()
        s = self.settings
        try:
            for stream in s.streams:
                try:
                    await client.xgroup_create(stream, s.group, id="0", mkstream=True)
                except redis.exceptions.ResponseError as e:
                    if "BUSYGROUP" not in str(e):
                        raise
        except _errors() as e:
            await self._conn.close()
            raise self._conn.translate(e, "cannot create the group on") from None
        self._own_pending = True

    async def fetch(self, batch: int, timeout: float) -> list[InMessage]:
        client = self._conn.client
        if client is None:
            raise BrokerUnavailable(f"not connected to Redis {self.where}")
        s = self.settings
        try:
            if self._own_pending:
                got = await client.xreadgroup(
                    s.group, self.consumer, dict.fromkeys(s.streams, "0"), count=batch
                )
                out = self._messages(got, redelivered=True)
                if out:
                    return out
                self._own_pending = False
            if time.monotonic() >= self._next_claim:
                self._next_claim = time.monotonic() + s.claim_idle / 2
                out = await self._claim(batch)
                if out:
                    return out
            got = await client.xreadgroup(
                s.group,
                self.consumer,
                dict.fromkeys(s.streams, ">"),
                count=batch,
                block=max(1, int(timeout * 1000)),
            )
        except _errors() as e:
            raise self._conn.translate(e, "reading from") from None
        return self._messages(got, redelivered=False)

    async def _claim(self, batch: int) -> list[InMessage]:
        s = self.settings
        out: list[InMessage] = []
        for stream in s.streams:
            res = await self._conn.client.xautoclaim(
                stream, s.group, self.consumer, int(s.claim_idle * 1000), "0-0", count=batch
            )
            entries = res[1] if len(res) > 1 else []
            out += self._messages([[stream, entries]], redelivered=True)
        return out

    @staticmethod
    def _messages(got: Any, *, redelivered: bool) -> list[InMessage]:
        out = []
        for stream, entries in got or ():
            key = stream.decode() if isinstance(stream, bytes) else str(stream)
            for entry_id, fields in entries:
                if fields is None:  # trimmed away while pending
                    continue
                eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                body = fields.get(b"body", b"")
                mid = fields.get(b"id", b"").decode(errors="replace") or f"{key}/{eid}"
                out.append(InMessage(mid, body, 2 if redelivered else 1, (key, eid, fields)))
        return out

    async def settle(self, done: Sequence[Delivery]) -> None:
        client = self._conn.client
        if client is None:
            raise BrokerUnavailable(f"not connected to Redis {self.where}")
        s = self.settings
        try:
            async with client.pipeline(transaction=False) as pipe:
                for d in done:
                    stream, eid, fields = d.message.handle
                    if d.poison is not None:
                        pipe.xadd(
                            s.dead_letter_stream,
                            {**fields, b"reason": d.poison[:200], b"stream": stream, b"entry": eid},
                        )
                    pipe.xack(stream, s.group, eid)
                await pipe.execute()
        except _errors() as e:
            raise self._conn.translate(e, "acknowledging to") from None

    async def close(self) -> None:
        await self._conn.close()
