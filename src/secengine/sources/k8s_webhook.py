"""The ``k8s_audit`` webhook: kube-apiserver posts audit events here, over HTTP or TLS.

kube-apiserver's webhook audit backend POSTs batches of audit events
(``EventList`` JSON) to a URL taken from a kubeconfig file. Falco's k8saudit
plugin serves that URL (default ``http://:9765/k8s-audit``); this source does
the same with granian, a Rust HTTP server for Python applications, embedded
in this process on its own thread and event loop
(:mod:`secengine.web`, shared with the metrics endpoint).

The answers are what kube-apiserver needs to neither lose nor duplicate
events:

- **200** once the batch is accepted (a batch whose events are all unusable,
  e.g. without ``stageTimestamp``, is answered 200 too, the events counted as
  rejected: sending it again would not help);
- **400** for a body that is not JSON, not an audit payload (``{"kind": 0}``),
  or not ``Content-Type: application/json``; **401** for a missing or wrong
  bearer token; **405** for a method other than POST; **408** for a body not
  received within ``body_timeout``; **413** for a body over
  ``max_body`` (default 12 MiB, the plugin's ``webhookMaxBatchSize``);
- **503** with ``Retry-After`` when evaluation is behind (queued mode: the
  event queue is full; inline mode: more than ``max_in_progress`` requests
  are in progress) or the server is shutting down: nothing of that batch was
  taken, so kube-apiserver's retry delivers it exactly once.

Accepted batches are either queued on the agent's bounded
:class:`~secengine.sources.base.EventQueue` (:meth:`K8sAuditWebhookSource.start`)
or evaluated on the server's thread right after the 200
(:meth:`K8sAuditWebhookSource.start_inline`, what the agent uses; see the
class for why).

Every answer is counted in :attr:`K8sAuditWebhookSource.stats` by status.
``GET /healthz`` answers ``ok``. TLS uses a certificate and key; with
``client_ca`` the server requires and verifies client certificates.

Whoever can reach the port can send events that raise or hide alerts, so
an empty bearer token is a configuration error (never "no
authentication"), tokens are compared in constant time, refused tokens and
failed TLS handshakes are counted and logged (:mod:`secengine.web.stats`),
and listening beyond loopback without TLS or without authentication logs
one warning. Idle and slow clients are bounded by the listener's
:class:`~secengine.web.limits.HttpLimits`.

:meth:`K8sAuditWebhookSource.stop` stops listening, lets requests already
being handled finish (their batches are queued or evaluated, or refused,
never half-done), then returns.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final

import orjson

from secengine.errors import ConfigError
from secengine.events import Event
from secengine.sources.base import EventQueue, Source, SourceStats
from secengine.sources.k8s_audit import (
    MAX_EVENT_SIZE,
    SOURCE,
    AuditPayloadError,
    decode_payload,
)
from secengine.web.body import (
    BodyOverBudget,
    BodyReaders,
    BodyShed,
    BodyTimeout,
    BodyTooLarge,
    ClientGone,
)
from secengine.web.limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    HttpLimits,
)
from secengine.web.stats import ListenerStats

if TYPE_CHECKING:  # pragma: no cover
    from secengine.web.threaded import ThreadedHttpServer

__all__ = [
    "DEFAULT_ADDR",
    "DEFAULT_MAX_BODY",
    "DEFAULT_PATH",
    "K8sAuditWebhookSource",
    "WebhookConfig",
    "WebhookStats",
    "add_arguments",
    "config_from_args",
    "parse_addr",
]

#: Falco's documented default listening address (all interfaces, port 9765).
DEFAULT_ADDR: Final = ":9765"
DEFAULT_PATH: Final = "/k8s-audit"
#: The plugin's ``webhookMaxBatchSize``: 12 MiB, about 20% over kube-apiserver's
#: default ``--audit-webhook-truncate-max-batch-size`` (10 MiB).
DEFAULT_MAX_BODY: Final = 12 * 1024 * 1024
#: Bytes of request bodies received at once, over all connections: about twenty
#: full batches, or thousands of ordinary ones.
DEFAULT_MAX_BUFFERED_BODIES: Final = 256 * 1024 * 1024
HEALTH_PATH: Final = "/healthz"
_TEXT: Final = [("content-type", "text/plain; charset=utf-8")]

_log = logging.getLogger("secengine.sources.k8s_webhook")


def parse_addr(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``[v6]:PORT`` → (host, port); no host: every interface.

    Raises :class:`~secengine.errors.ConfigError`.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ConfigError(f"k8s audit address {text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(
            f"k8s audit address {text!r}: port {port_text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"k8s audit address {text!r}: port {port} is out of range")
    return host, port


@dataclass(slots=True)
class WebhookConfig:
    """How the webhook listens and what it accepts.

    ``host`` empty listens on every interface; ``port`` 0 picks a free port
    (see :attr:`K8sAuditWebhookSource.address`). TLS is on when ``tls_cert``
    is set (``tls_key`` may be omitted when the key is in the same PEM
    file, as Falco's ``sslCertificate`` is); ``client_ca`` then makes a
    client certificate signed by that CA mandatory. ``bearer_token``
    requires ``Authorization: Bearer <token>`` on audit posts; an empty one
    is refused (ConfigError), as it would accept anyone. The connection
    limit and timeouts are those of :class:`~secengine.web.limits.HttpLimits`.
    """

    host: str = ""
    port: int = 9765
    path: str = DEFAULT_PATH
    max_body: int = DEFAULT_MAX_BODY
    max_event_size: int | None = MAX_EVENT_SIZE
    tls_cert: str | None = None
    tls_key: str | None = None
    client_ca: str | None = None
    bearer_token: str | None = None
    #: Seconds :meth:`K8sAuditWebhookSource.stop` waits for requests in progress.
    shutdown_timeout: float = 10.0
    #: Seconds kube-apiserver is told to wait before retrying after a 503.
    retry_after: int = 1
    #: When batches are evaluated on the server's thread (the agent's way), audit
    #: requests in progress beyond this many are answered 503: the bound that the
    #: event queue's capacity is otherwise.
    max_in_progress: int = 1024
    #: See :class:`~secengine.web.limits.HttpLimits`.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    keepalive: bool = True
    #: Bytes of request bodies being received at once; beyond, 503 (see :mod:`secengine.web.body`).
    max_buffered_bodies: int = DEFAULT_MAX_BUFFERED_BODIES

    def __post_init__(self) -> None:
        if self.bearer_token is not None and not isinstance(self.bearer_token, str):
            raise ConfigError("k8s audit webhook: bearer_token must be a string")
        if self.bearer_token is not None and not self.bearer_token.strip():
            raise ConfigError("k8s audit webhook: bearer_token is empty, which would accept "
                              "any client; give a token or none")
        if not isinstance(self.max_buffered_bodies, int) or not isinstance(self.max_body, int):
            raise ConfigError("k8s audit webhook: max_body and max_buffered_bodies are numbers "
                              "of bytes")
        if self.max_buffered_bodies < self.max_body:
            raise ConfigError(f"k8s audit webhook: max_buffered_bodies "
                              f"({self.max_buffered_bodies}) is smaller than max_body "
                              f"({self.max_body}): no full batch could be received")
        _ = self.limits  # checks the limits now, the message naming the key

    @property
    def limits(self) -> HttpLimits:
        """The listener's connection limit and timeouts."""
        return HttpLimits(max_connections=self.max_connections,
                          header_timeout=self.header_timeout, body_timeout=self.body_timeout,
                          keepalive=self.keepalive)

    @property
    def authenticated(self) -> bool:
        """Whether clients must prove who they are (a bearer token or a client certificate)."""
        return self.bearer_token is not None or self.client_ca is not None

    @classmethod
    def from_addr(cls, addr: str = DEFAULT_ADDR, **kwargs: Any) -> WebhookConfig:
        host, port = parse_addr(addr)
        return cls(host=host, port=port, **kwargs)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> WebhookConfig:
        """A config from a ``sources.k8s_audit`` block of the agent configuration.

        Keys: ``listen`` (``HOST:PORT``) or Falco's ``open_params`` URL
        (``http://:9765/k8s-audit``, ``https://...``), and the field names of
        this class; Falco's plugin keys ``sslCertificate``,
        ``webhookMaxBatchSize`` and ``maxEventSize`` are accepted too.
        ``bearer_token_file`` reads the token from a file. Raises
        :class:`~secengine.errors.ConfigError` naming a bad key.
        """
        given = dict(settings)
        kwargs: dict[str, Any] = {}
        url = given.pop("open_params", None)
        if url is not None:
            kwargs.update(_from_url(str(url)))
        listen = given.pop("listen", None)
        if listen is not None:
            kwargs["host"], kwargs["port"] = parse_addr(str(listen))
        for falco_key, key in _FALCO_KEYS.items():
            if falco_key in given:
                given.setdefault(key, given.pop(falco_key))
        token_file = given.pop("bearer_token_file", None)
        if token_file is not None:
            kwargs["bearer_token"] = _read_token(str(token_file))
        names = set(cls.__dataclass_fields__)
        for key, value in given.items():
            if key not in names:
                from secengine.config import did_you_mean

                accepted = sorted(names | {"listen", "open_params", "bearer_token_file",
                                           *_FALCO_KEYS})
                raise ConfigError(f"unknown k8s_audit webhook setting {key!r}"
                                  + did_you_mean(key, accepted))
            kwargs[key] = value
        if kwargs.get("scheme") == "https" and not kwargs.get("tls_cert"):
            raise ConfigError("open_params: https needs tls_cert (sslCertificate)")
        kwargs.pop("scheme", None)
        try:
            return cls(**kwargs)
        except TypeError as e:
            raise ConfigError(str(e)) from None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS settings checked with Python's ``ssl`` (None for plain HTTP).

        The webhook calls this when it is created, so that a missing or bad
        certificate, key or CA file is a ConfigError naming the problem before
        anything listens; granian then loads the same files for serving.
        """
        if self.tls_cert is None:
            if self.client_ca is not None:
                raise ConfigError("k8s audit webhook: client_ca needs tls_cert")
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.tls_cert, self.tls_key)
            if self.client_ca is not None:
                ctx.load_verify_locations(cafile=self.client_ca)
                ctx.verify_mode = ssl.CERT_REQUIRED
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"k8s audit webhook TLS: {e}") from e
        return ctx

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"


def _read_token(path: str) -> str:
    """The bearer token in ``path`` (surrounding blanks removed); ConfigError if none."""
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"bearer_token_file {path}: {getattr(e, 'strerror', None) or e}"
                          ) from None
    if not token:
        raise ConfigError(f"bearer_token_file {path} is empty: an empty token would accept "
                          f"any client")
    return token


#: Falco's k8saudit plugin configuration keys → ours.
_FALCO_KEYS: Final = {"sslCertificate": "tls_cert", "webhookMaxBatchSize": "max_body",
                      "maxEventSize": "max_event_size"}


def _from_url(url: str) -> dict[str, Any]:
    """Falco's ``open_params`` webhook URL → host, port, path (and the scheme, checked later)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"open_params {url!r}: only http:// and https:// webhooks are served")
    host, port = parse_addr(parts.netloc if ":" in parts.netloc.rsplit("]", 1)[-1]
                            else parts.netloc + ":9765")
    return {"host": host, "port": port, "path": parts.path or DEFAULT_PATH,
            "scheme": parts.scheme}


@dataclass(slots=True)
class WebhookStats(SourceStats):
    """The source counters plus the webhook's own.

    ``events`` counts events queued; ``dropped`` events refused with 503;
    ``rejected`` requests refused (4xx) plus single events that could not be
    used (no ``stageTimestamp``...). ``responses`` counts answers by status.
    """

    requests: int = 0
    batches: int = 0
    rejected_events: int = 0
    responses: Counter[int] = field(default_factory=Counter)

    def answered(self, status: int) -> None:
        """Count a request answered with ``status`` (4xx: rejected)."""
        with self._lock:
            self.responses[status] += 1
            if 400 <= status < 500:
                self.rejected += 1

    def accepted(self, events: int) -> None:
        """Count a request answered 200 whose ``events`` were queued or evaluated."""
        with self._lock:
            self.responses[200] += 1
            if events:
                self.events += events
                self.batches += 1


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

    def __init__(self, config: WebhookConfig | None = None) -> None:
        self.config = config or WebhookConfig()
        self.stats = WebhookStats()
        #: Refused handshakes, tokens and slow bodies, for the metrics.
        self.listener_stats = ListenerStats(SOURCE)
        self.config.ssl_context()  # fail early, with Python's message, on bad TLS files
        token = self.config.bearer_token
        self._token = _digest(token.strip()) if token is not None else None
        self._queue: EventQueue | None = None
        self._evaluate: Callable[[Sequence[Event]], object] | None = None
        self._server: ThreadedHttpServer | None = None
        self._active = 0  # audit requests in progress (the server's loop alone counts them)
        self._bodies = BodyReaders(self.config.body_timeout, self.config.max_buffered_bodies)
        self._draining = False
        self._num = 0

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> K8sAuditWebhookSource:
        """The agent's constructor: a ``sources.k8s_audit`` block (see :class:`WebhookConfig`)."""
        return cls(WebhookConfig.from_settings(settings))

    # -- lifecycle --------------------------------------------------------------------
    def start(self, out: EventQueue) -> None:
        """Bind and serve on a new thread, queueing batches on ``out``; return once listening.

        OSError if binding fails.
        """
        self._queue = out
        self._launch()

    def start_inline(self, evaluate: Callable[[Sequence[Event]], object]) -> bool:
        """Bind and serve; each accepted batch is answered 200, then handed to ``evaluate``
        on the server's thread before the next request is taken. Returns True."""
        self._evaluate = evaluate
        self._launch()
        return True

    def _launch(self) -> None:
        from secengine.web.server import EmbeddedHttpServer, is_loopback
        from secengine.web.threaded import ThreadedHttpServer

        if self._server is not None:
            raise RuntimeError("the webhook source is already started")
        cfg = self.config
        self._server = ThreadedHttpServer(
            EmbeddedHttpServer(self._app, host=cfg.host, port=cfg.port, tls_cert=cfg.tls_cert,
                               tls_key=cfg.tls_key, client_ca=cfg.client_ca, limits=cfg.limits,
                               stats=self.listener_stats),
            name="secengine-k8s-audit-webhook", shutdown_timeout=cfg.shutdown_timeout,
            on_stopping=self._stop_taking, in_progress=lambda: self._active)
        self._server.start()
        missing = [what for what, present in (("TLS", cfg.tls_cert is not None),
                                               ("authentication", cfg.authenticated))
                   if not present]
        if missing and not is_loopback(cfg.host):
            _log.warning("k8s audit webhook: %s listens beyond this machine without %s: "
                         "whoever reaches it can send audit events", self.url,
                         " or ".join(missing))

    def _stop_taking(self) -> None:
        # Answer new requests on open keep-alive connections with 503; requests
        # already being handled (their body possibly still arriving) finish and
        # are queued or refused.
        self._draining = True

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
        return (f"{self.name} webhook: {st.requests} requests, {st.events} events accepted, "
                f"{st.dropped} refused with 503, {st.rejected} rejected")

    # -- handlers ---------------------------------------------------------------------
    async def _app(self, scope: Any, proto: Any) -> None:
        """The RSGI application: route by path (websockets are off: every scope is HTTP)."""
        path = scope.path
        if path == self.config.path:
            self.stats.requests += 1  # the server's loop is its only writer
            if self._draining:
                self._reply(proto, 503, "shutting down, retry later", connection="close",
                            **{"retry-after": str(self.config.retry_after)})
                return
            if (self._evaluate is not None and self._active >= self.config.max_in_progress
                    and not self._bodies.shed_oldest()):
                self._reply(proto, 503, "too many requests in progress, retry later",
                            **{"retry-after": str(self.config.retry_after)})
                return
            self._active += 1
            try:
                await self._audit(scope, proto)
            except Exception:  # noqa: BLE001 - one bad request must not stop the server
                _log.exception("k8s audit webhook: request failed")
                self._reply(proto, 500, "internal error")
            finally:
                self._active -= 1
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
        if self._token is not None:
            refused = self._refusal(headers.get("authorization"))
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
            self._reply(proto, 503, "too much request data in progress, retry later",
                        connection="close", **{"retry-after": str(self.config.retry_after)})
            return
        except BodyShed:
            # given up, while still arriving, for a request that came later
            self.listener_stats.request_rejected("slow_body_shed", scope.client)
            self._reply(proto, 503, "request body too slow while the server is full, retry "
                        "later", connection="close", **{"retry-after": str(self.config.retry_after)})
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
            events = decode_payload(payload, max_event_size=self._event_limit(len(body)),
                                    first_num=self._num + 1,
                                    on_reject=lambda e, pos: rejected.append(f"event {pos}: {e}"))
        except AuditPayloadError as e:
            self._reply(proto, 400, f"bad request: {e}")
            return
        if rejected:
            self._count_rejected(rejected)
        if events and not self._deliver(events):
            self.stats.add(dropped=len(events))
            self._reply(proto, 503, "event queue full, retry later",
                        **{"retry-after": str(self.config.retry_after)})
            return
        self.stats.accepted(len(events))
        proto.response_bytes(200, _TEXT, b"ok\n")
        if self._evaluate is not None and events:
            try:
                self._evaluate(events)
            except Exception:  # noqa: BLE001 - answered already; the next batch must still run
                _log.exception("k8s audit webhook: evaluating a batch of %d events failed",
                               len(events))

    def _count_rejected(self, rejected: list[str]) -> None:
        stats = self.stats
        with stats._lock:
            stats.rejected_events += len(rejected)
            stats.rejected += len(rejected)
        _log.warning("k8s audit webhook: %d event(s) skipped, first: %s",
                     len(rejected), rejected[0])

    def _deliver(self, events: list[Event]) -> bool:
        """Number ``events`` and queue them (not when evaluating inline); False: queue full.

        Requests are handled one at a time on the server's event loop, so
        numbers never collide; they are taken only once the batch is accepted.
        """
        base = self._num
        for i, ev in enumerate(events, 1):
            ev.num = base + i
        if self._evaluate is None:
            assert self._queue is not None
            if not self._queue.offer(self.name, events):
                return False
        self._num = base + len(events)
        return True

    def _event_limit(self, body_size: int) -> int | None:
        """The per-event size limit to check; none needed when the whole body is smaller."""
        limit = self.config.max_event_size
        return None if limit is None or body_size <= limit else limit

    def _refusal(self, header: str | None) -> str | None:
        """Why an ``Authorization`` header is refused (a metrics label), None if it is not.

        The token is compared in constant time (:func:`hmac.compare_digest`), as
        SHA-256 digests so that not even its length shows in the timing.
        """
        if not header:
            return "missing_token"
        scheme, _, token = header.partition(" ")
        assert self._token is not None
        if scheme.lower() != "bearer":
            return "not_bearer"
        if not hmac.compare_digest(_digest(token.strip()), self._token):
            return "wrong_token"
        return None

def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


# ---------------------------------------------------------------------------
# `secengine run --source k8s_audit` (run by the agent, commands/agent_run.py)
# ---------------------------------------------------------------------------

def add_arguments(parser: Any) -> None:
    """The webhook's options of ``secengine run`` (used with ``--source k8s_audit``)."""
    g = parser.add_argument_group("k8s_audit webhook (with --source k8s_audit)")
    g.add_argument("--k8s-audit-addr", default=DEFAULT_ADDR, metavar="HOST:PORT",
                   help=f"address to listen on (default: {DEFAULT_ADDR}, every interface)")
    g.add_argument("--k8s-audit-path", default=DEFAULT_PATH, metavar="PATH",
                   help=f"URL path kube-apiserver posts to (default: {DEFAULT_PATH})")
    g.add_argument("--k8s-audit-max-body", type=int, default=DEFAULT_MAX_BODY, metavar="BYTES",
                   help="largest request body accepted, else 413 (default: 12 MiB)")
    g.add_argument("--k8s-audit-cert", default=None, metavar="PEM",
                   help="serve HTTPS with this certificate (chain) file")
    g.add_argument("--k8s-audit-key", default=None, metavar="PEM",
                   help="the certificate's private key (default: in the --k8s-audit-cert file)")
    g.add_argument("--k8s-audit-client-ca", default=None, metavar="PEM",
                   help="require client certificates signed by this CA")
    g.add_argument("--k8s-audit-token-file", default=None, metavar="FILE",
                   help="require 'Authorization: Bearer <token>' with the token in this file")


def config_from_args(args: Any) -> WebhookConfig:
    """The webhook configuration the ``secengine run`` options describe. Raises ConfigError."""
    settings: dict[str, Any] = {"listen": args.k8s_audit_addr, "path": args.k8s_audit_path,
                                "max_body": args.k8s_audit_max_body}
    for opt, key in (("k8s_audit_cert", "tls_cert"), ("k8s_audit_key", "tls_key"),
                     ("k8s_audit_client_ca", "client_ca"),
                     ("k8s_audit_token_file", "bearer_token_file")):
        value = getattr(args, opt, None)
        if value is not None:
            settings[key] = value
    return WebhookConfig.from_settings(settings)
