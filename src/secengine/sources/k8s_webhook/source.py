"""The Kubernetes audit webhook as an event :class:`~secengine.sources.base.Source`: its lifecycle.

The requests themselves are answered by :class:`~.handler.AuditHandler`;
this class starts and stops the server it runs on, in queued or inline mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from secengine.events import Event
from secengine.sources.base import EventQueue, Source, SourceSpec
from secengine.sources.k8s_audit import SOURCE, SPEC
from secengine.sources.k8s_webhook.cli import add_arguments, config_from_args
from secengine.sources.k8s_webhook.config import WebhookConfig
from secengine.sources.k8s_webhook.handler import AuditHandler
from secengine.sources.k8s_webhook.stats import WebhookStats
from secengine.web.server import EmbeddedHttpServer, is_loopback
from secengine.web.stats import ListenerStats
from secengine.web.threaded import ThreadedHttpServer

__all__ = ["K8sAuditWebhookSource"]

_log = logging.getLogger("secengine.sources.k8s_webhook")


class K8sAuditWebhookSource(Source):
    """The Kubernetes audit webhook as an event :class:`~secengine.sources.base.Source`.

    Two ways to run it. :meth:`start` queues each accepted batch on a
    bounded :class:`~secengine.sources.base.EventQueue` (answering 503 when
    it is full) for another thread to evaluate. :meth:`start_inline`, what
    the agent uses, answers 200 and then evaluates the batch on the server's
    own thread before it takes the next request: with one event per request
    (kube-apiserver's ``blocking`` mode), waking another thread for every
    request cost more than evaluating the event (both need the interpreter
    lock; 14,000 against 16,000 requests/s here with 8 connections).
    Nothing is queued then: requests wait in the server (granian has read
    them) until the loop takes them, and beyond ``max_in_progress`` of them
    the answer is 503.
    The agent's outputs keep their own bounded queues, so a slow output
    never slows the answers.
    """

    name: ClassVar[str] = SOURCE
    spec: ClassVar[SourceSpec | None] = SPEC

    def __init__(self, config: WebhookConfig | None = None) -> None:
        self.config = config or WebhookConfig()
        self.stats = WebhookStats()
        #: Refused handshakes, tokens and slow bodies, for the metrics.
        self.listener_stats = ListenerStats(SOURCE)
        self.config.ssl_context()  # fail early, with Python's message, on bad TLS files
        self._handler = AuditHandler(self.config, self.stats, self.listener_stats)
        self._server: ThreadedHttpServer | None = None

    @classmethod
    def add_flags(cls, parser: Any) -> None:
        """The ``--k8s-audit-*`` options of ``secengine run``."""
        add_arguments(parser)

    @classmethod
    def from_flags(cls, args: Any) -> K8sAuditWebhookSource:
        """``secengine run --source k8s_audit``: the webhook the ``--k8s-audit-*`` flags describe."""
        return cls(config_from_args(args))

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> K8sAuditWebhookSource:
        """The agent's constructor: a ``sources.k8s_audit`` block (see :class:`WebhookConfig`)."""
        return cls(WebhookConfig.from_settings(settings))

    # -- lifecycle --------------------------------------------------------------------
    def start(self, out: EventQueue) -> None:
        """Bind and serve on a new thread, queueing batches on ``out``; return once listening.

        OSError if binding fails.
        """
        self._handler.queue = out
        self._launch()

    def start_inline(self, evaluate: Callable[[Sequence[Event]], object]) -> bool:
        """Bind and serve; each accepted batch is answered 200, then handed to ``evaluate``
        on the server's thread before the next request is taken. Returns True."""
        self._handler.evaluate = evaluate
        self._launch()
        return True

    def _launch(self) -> None:
        if self._server is not None:
            raise RuntimeError("the webhook source is already started")
        cfg = self.config
        self._server = ThreadedHttpServer(
            EmbeddedHttpServer(
                self._handler.app,
                host=cfg.host,
                port=cfg.port,
                tls_cert=cfg.tls_cert,
                tls_key=cfg.tls_key,
                client_ca=cfg.client_ca,
                limits=cfg.limits,
                stats=self.listener_stats,
            ),
            name="secengine-k8s-audit-webhook",
            shutdown_timeout=cfg.shutdown_timeout,
            on_stopping=self._handler.stop_taking,
            in_progress=lambda: self._handler.active,
        )
        self._server.start()
        missing = [
            what
            for what, present in (
                ("TLS", cfg.tls_cert is not None),
                ("authentication", cfg.authenticated),
            )
            if not present
        ]
        if missing and not is_loopback(cfg.host):
            _log.warning(
                "k8s audit webhook: %s listens beyond this machine without %s: "
                "whoever reaches it can send audit events",
                self.url,
                " or ".join(missing),
            )

    def stop(self, timeout: float | None = None) -> None:
        """Stop listening, finish requests in progress (queued or refused), then return."""
        if self._server is not None:
            self._server.stop(timeout)

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually bound; available once :meth:`start` returned."""
        if self._server is None:
            raise RuntimeError("the webhook source is not started")
        return self._server.address

    @property
    def url(self) -> str:
        host, port = self.address
        shown = host if ":" not in host else f"[{host}]"
        return f"{self.config.scheme}://{shown}:{port}{self.config.path}"

    @property
    def finished(self) -> bool:
        return self._server is not None and self._server.finished

    def describe_start(self, rules: int) -> str:
        return f"k8s audit webhook listening on {self.url} with {rules} rules"

    def describe_end(self) -> str:
        st = self.stats
        return (
            f"{self.name} webhook: {st.requests} requests, {st.events} events accepted, "
            f"{st.dropped} refused with 503, {st.rejected} rejected"
        )
