"""The webhook's HTTP side: the RSGI application that answers kube-apiserver's posts.

One request at a time runs on the server's event loop, so the counters and
event numbers here need no lock. The answers are what kube-apiserver needs
to neither lose nor duplicate events (see :mod:`secengine.sources.k8s_webhook`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

import orjson

from secengine.events import Event
from secengine.sources.base import EventQueue
from secengine.sources.k8s_audit import SOURCE, AuditPayloadError, decode_payload
from secengine.sources.k8s_webhook.auth import BearerAuth
from secengine.sources.k8s_webhook.config import WebhookConfig
from secengine.sources.k8s_webhook.stats import WebhookStats
from secengine.web.body import (
    BodyOverBudget,
    BodyReaders,
    BodyShed,
    BodyTimeout,
    BodyTooLarge,
    ClientGone,
)
from secengine.web.stats import ListenerStats

__all__ = ["HEALTH_PATH", "AuditHandler"]

HEALTH_PATH: Final = "/healthz"
_TEXT: Final = [("content-type", "text/plain; charset=utf-8")]

_log = logging.getLogger("secengine.sources.k8s_webhook")


class AuditHandler:
    """Routes requests (the audit path, ``/healthz``) and turns accepted batches into events.

    Accepted batches go on :attr:`queue` (queued mode) or, once answered 200,
    to :attr:`evaluate` (inline mode); the source sets one of them before the
    server starts.
    """

    def __init__(
        self, config: WebhookConfig, stats: WebhookStats, listener_stats: ListenerStats
    ) -> None:
        self.config = config
        self.stats = stats
        self.listener_stats = listener_stats
        self.queue: EventQueue | None = None
        self.evaluate: Callable[[Sequence[Event]], object] | None = None
        #: Audit requests in progress (the server's loop alone counts them).
        self.active = 0
        #: Set when the server stops: new requests are answered 503.
        self.draining = False
        self._auth = BearerAuth(config.bearer_token) if config.bearer_token is not None else None
        self._bodies = BodyReaders(config.body_timeout, config.max_buffered_bodies)
        self._num = 0

    def stop_taking(self) -> None:
        """Answer new requests on open keep-alive connections with 503; requests already
        being handled (their body possibly still arriving) finish and are queued or refused."""
        self.draining = True

    async def app(self, scope: Any, proto: Any) -> None:
        """The RSGI application: route by path (websockets are off: every scope is HTTP)."""
        path = scope.path
        if path == self.config.path:
            self.stats.requests += 1  # the server's loop is its only writer
            if self.draining:
                self._reply(
                    proto,
                    503,
                    "shutting down, retry later",
                    connection="close",
                    **{"retry-after": str(self.config.retry_after)},
                )
                return
            if (
                self.evaluate is not None
                and self.active >= self.config.max_in_progress
                and not self._bodies.shed_oldest()
            ):
                self._reply(
                    proto,
                    503,
                    "too many requests in progress, retry later",
                    **{"retry-after": str(self.config.retry_after)},
                )
                return
            self.active += 1
            try:
                await self._audit(scope, proto)
            except Exception:  # noqa: BLE001 - one bad request must not stop the server
                _log.exception("k8s audit webhook: request failed")
                self._reply(proto, 500, "internal error")
            finally:
                self.active -= 1
        elif path == HEALTH_PATH:
            if scope.method in ("GET", "HEAD"):
                proto.response_bytes(200, _TEXT, b"ok\n")
            else:
                proto.response_bytes(405, [*_TEXT, ("allow", "GET")], b"method not allowed\n")
        else:
            proto.response_bytes(404, _TEXT, b"not found\n")

    def _reply(self, proto: Any, status: int, text: str, **headers: str) -> None:
        self.stats.answered(status)
        proto.response_bytes(status, [*_TEXT, *headers.items()], text.encode("utf-8") + b"\n")

    async def _audit(self, scope: Any, proto: Any) -> None:
        method = scope.method
        if method != "POST":
            self._reply(proto, 405, f"{method} method not allowed", allow="POST")
            return
        headers = scope.headers
        if self._auth is not None:
            refused = self._auth.refusal(headers.get("authorization"))
            if refused is not None:
                self.listener_stats.request_rejected(refused, scope.client)
                self._reply(proto, 401, "unauthorized", **{"www-authenticate": "Bearer"})
                return
        if "application/json" not in headers.get("content-type", ""):
            self._reply(proto, 400, "wrong Content Type")
            return
        try:
            body = await self._bodies.read(scope, proto, self.config.max_body)
        except BodyTooLarge:
            self._reply(proto, 413, f"request body larger than {self.config.max_body} bytes")
            return
        except ClientGone:
            self.listener_stats.request_rejected("client_closed", scope.client)
            return
        except BodyOverBudget:
            self.listener_stats.request_rejected("bodies_over_budget", scope.client)
            self._reply(
                proto,
                503,
                "too much request data in progress, retry later",
                connection="close",
                **{"retry-after": str(self.config.retry_after)},
            )
            return
        except BodyShed:
            # given up, while still arriving, for a request that came later
            self.listener_stats.request_rejected("slow_body_shed", scope.client)
            self._reply(
                proto,
                503,
                "request body too slow while the server is full, retry later",
                connection="close",
                **{"retry-after": str(self.config.retry_after)},
            )
            return
        except BodyTimeout:
            self.listener_stats.request_rejected("body_timeout", scope.client)
            self._reply(proto, 408, "request body not received in time", connection="close")
            return
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            self._reply(proto, 400, f"bad request: malformed JSON: {e}")
            return
        rejected: list[str] = []
        try:
            events = decode_payload(
                payload,
                max_event_size=self._event_limit(len(body)),
                first_num=self._num + 1,
                on_reject=lambda e, pos: rejected.append(f"event {pos}: {e}"),
            )
        except AuditPayloadError as e:
            self._reply(proto, 400, f"bad request: {e}")
            return
        if rejected:
            self._count_rejected(rejected)
        if events and not self._deliver(events):
            self.stats.add(dropped=len(events))
            self._reply(
                proto,
                503,
                "event queue full, retry later",
                **{"retry-after": str(self.config.retry_after)},
            )
            return
        self.stats.accepted(len(events))
        proto.response_bytes(200, _TEXT, b"ok\n")
        if self.evaluate is not None and events:
            try:
                self.evaluate(events)
            except Exception:  # noqa: BLE001 - answered already; the next batch must still run
                _log.exception(
                    "k8s audit webhook: evaluating a batch of %d events failed", len(events)
                )

    def _count_rejected(self, rejected: list[str]) -> None:
        stats = self.stats
        with stats._lock:
            stats.rejected_events += len(rejected)
            stats.rejected += len(rejected)
        _log.warning(
            "k8s audit webhook: %d event(s) skipped, first: %s", len(rejected), rejected[0]
        )

    def _deliver(self, events: list[Event]) -> bool:
        """Number ``events`` and queue them (not when evaluating inline); False: queue full.

        Requests are handled one at a time on the server's event loop, so
        numbers never collide; they are taken only once the batch is accepted.
        """
        base = self._num
        for i, ev in enumerate(events, 1):
            ev.num = base + i
        if self.evaluate is None:
            assert self.queue is not None
            if not self.queue.offer(SOURCE, events):
                return False
        self._num = base + len(events)
        return True

    def _event_limit(self, body_size: int) -> int | None:
        """The per-event size limit to check; none needed when the whole body is smaller."""
        limit = self.config.max_event_size
        return None if limit is None or body_size <= limit else limit
