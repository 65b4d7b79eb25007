"""The ``k8s_audit`` webhook: kube-apiserver posts audit events here, over HTTP or TLS.

kube-apiserver's webhook audit backend POSTs batches of audit events
(``EventList`` JSON) to a URL taken from a kubeconfig file. Falco's k8saudit
plugin serves that URL (default ``http://:9765/k8s-audit``); this source does
the same with aiohttp, on its own thread and event loop, and hands each
accepted batch to the agent's bounded :class:`~secengine.sources.base.EventQueue`.

The answers are what kube-apiserver needs to neither lose nor duplicate
events:

- **200** once the batch is queued (a batch whose events are all unusable,
  e.g. without ``stageTimestamp``, is answered 200 too, the events counted as
  rejected: sending it again would not help);
- **400** for a body that is not JSON, not an audit payload (``{"kind": 0}``),
  or not ``Content-Type: application/json``; **401** for a missing or wrong
  bearer token; **405** for a method other than POST; **413** for a body over
  ``max_body`` (default 12 MiB, the plugin's ``webhookMaxBatchSize``);
- **503** with ``Retry-After`` when the queue is full: nothing of that batch
  was queued, so kube-apiserver's retry delivers it exactly once.

Every answer is counted in :attr:`K8sAuditWebhookSource.stats` by status.
``GET /healthz`` answers ``ok``. TLS uses a certificate and key; with
``client_ca`` the server requires and verifies client certificates.

:meth:`K8sAuditWebhookSource.stop` stops listening, lets requests already
being handled finish (their batches are queued or refused, never half-done),
then returns: whatever it queued before returning is still in the queue for
the caller to evaluate. :func:`serve` is a complete run loop for one webhook
source (evaluate, write alerts, drain on SIGTERM) for callers that have no
agent of their own.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import signal
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final

import orjson

from secengine.errors import ConfigError
from secengine.sources.base import EventQueue, Source, SourceStats
from secengine.sources.k8s_audit import (
    MAX_EVENT_SIZE,
    SOURCE,
    AuditPayloadError,
    decode_payload,
)

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

    from secengine.alert import Alert
    from secengine.engine import Engine

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
    "run_command",
    "serve",
]

#: Falco's documented default listening address (all interfaces, port 9765).
DEFAULT_ADDR: Final = ":9765"
DEFAULT_PATH: Final = "/k8s-audit"
#: The plugin's ``webhookMaxBatchSize``: 12 MiB, about 20% over kube-apiserver's
#: default ``--audit-webhook-truncate-max-batch-size`` (10 MiB).
DEFAULT_MAX_BODY: Final = 12 * 1024 * 1024
HEALTH_PATH: Final = "/healthz"

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
    requires ``Authorization: Bearer <token>`` on audit posts.
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
            try:
                with open(token_file, encoding="utf-8") as fh:
                    kwargs["bearer_token"] = fh.read().strip()
            except OSError as e:
                raise ConfigError(f"bearer_token_file: {e}") from None
        names = set(cls.__dataclass_fields__)
        for key, value in given.items():
            if key not in names:
                raise ConfigError(f"unknown k8s_audit webhook setting {key!r}")
            kwargs[key] = value
        if kwargs.get("scheme") == "https" and not kwargs.get("tls_cert"):
            raise ConfigError("open_params: https needs tls_cert (sslCertificate)")
        kwargs.pop("scheme", None)
        try:
            return cls(**kwargs)
        except TypeError as e:
            raise ConfigError(str(e)) from None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server TLS context, or None for plain HTTP. Raises ConfigError for bad files."""
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
        with self._lock:
            self.responses[status] += 1
            if 400 <= status < 500:
                self.rejected += 1


class K8sAuditWebhookSource(Source):
    """The Kubernetes audit webhook as an event :class:`~secengine.sources.base.Source`."""

    name: ClassVar[str] = SOURCE

    def __init__(self, config: WebhookConfig | None = None) -> None:
        self.config = config or WebhookConfig()
        self.stats = WebhookStats()
        self._ssl = self.config.ssl_context()  # fail early on bad TLS files
        self._token = (self.config.bearer_token.encode("utf-8")
                       if self.config.bearer_token else None)
        self._queue: EventQueue | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._stop_event: asyncio.Event | None = None
        self._idle = asyncio.Event()  # set while no audit request is in progress
        self._active = 0
        self._draining = False
        self._stopped = threading.Event()
        self._start_error: BaseException | None = None
        self._bound: tuple[str, int] | None = None
        self._num = 0
        self._num_lock = threading.Lock()

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> K8sAuditWebhookSource:
        """The agent's constructor: a ``sources.k8s_audit`` block (see :class:`WebhookConfig`)."""
        return cls(WebhookConfig.from_settings(settings))

    # -- lifecycle --------------------------------------------------------------------
    def start(self, out: EventQueue) -> None:
        """Bind and serve on a new thread; return once listening. OSError if binding fails."""
        if self._thread is not None:
            raise RuntimeError("the webhook source is already started")
        self._queue = out
        self._thread = threading.Thread(target=self._run, name="secengine-k8s-audit-webhook",
                                        daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error

    def stop(self, timeout: float | None = None) -> None:
        """Stop listening, finish requests in progress (queued or refused), then return."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        stop_event = self._stop_event
        if not self._stopped.is_set() and stop_event is not None:
            try:
                loop.call_soon_threadsafe(stop_event.set)
            except RuntimeError:
                pass  # loop already closed
        thread.join(timeout)

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually bound; available once :meth:`start` returned."""
        if self._bound is None:
            raise RuntimeError("the webhook source is not started")
        return self._bound

    @property
    def url(self) -> str:
        host, port = self.address
        shown = host if ":" not in host else f"[{host}]"
        return f"{self.config.scheme}://{shown}:{port}{self.config.path}"

    @property
    def finished(self) -> bool:
        return self._stopped.is_set()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:  # noqa: BLE001 - reported by start(); never raised in the thread
            if not self._ready.is_set():
                self._start_error = e
            else:
                _log.error("k8s audit webhook stopped on error: %s", e)
        finally:
            self._stopped.set()
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        from aiohttp import web

        cfg = self.config
        stop_event = self._stop_event = asyncio.Event()
        self._idle = asyncio.Event()  # bound to this loop
        self._idle.set()
        app = web.Application(client_max_size=cfg.max_body)
        app.router.add_route("*", cfg.path, self._handle_audit)
        if cfg.path != HEALTH_PATH:
            app.router.add_route("*", HEALTH_PATH, self._handle_health)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=cfg.shutdown_timeout,
                               handle_signals=False)
        await runner.setup()
        self._runner = runner
        try:
            site = web.TCPSite(runner, cfg.host or None, cfg.port, ssl_context=self._ssl,
                               backlog=1024)
            await site.start()
            addrs = runner.addresses
            self._bound = (str(addrs[0][0]), int(addrs[0][1])) if addrs else (cfg.host, cfg.port)
            self._ready.set()
            await stop_event.wait()
            # Stop listening, and answer new requests on open keep-alive
            # connections with 503; requests already being handled (their body
            # possibly still arriving) finish and are queued or refused.
            self._draining = True
            await site.stop()
            if self._active:
                try:
                    await asyncio.wait_for(self._idle.wait(), cfg.shutdown_timeout)
                except TimeoutError:
                    _log.warning("k8s audit webhook: %d request(s) still in progress after "
                                 "%.0fs, abandoned", self._active, cfg.shutdown_timeout)
        finally:
            # Closes the (now idle) connections; cancels what is left.
            await runner.cleanup()

    # -- handlers ---------------------------------------------------------------------
    def _reply(self, status: int, text: str, **headers: str) -> web.Response:
        from aiohttp import web

        self.stats.answered(status)
        return web.Response(status=status, text=text + "\n", headers=headers or None)

    async def _handle_health(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="method not allowed\n", headers={"Allow": "GET"})
        return web.Response(text="ok\n")

    async def _handle_audit(self, request: web.Request) -> web.StreamResponse:
        with self.stats._lock:
            self.stats.requests += 1
        if self._draining:
            return self._reply(503, "shutting down, retry later", Connection="close",
                               **{"Retry-After": str(self.config.retry_after)})
        self._active += 1
        self._idle.clear()
        try:
            return await self._audit(request)
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def _audit(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        stats = self.stats
        if request.method != "POST":
            return self._reply(405, f"{request.method} method not allowed", Allow="POST")
        if self._token is not None and not self._authorized(request):
            return self._reply(401, "unauthorized", **{"WWW-Authenticate": "Bearer"})
        if "application/json" not in request.headers.get("Content-Type", ""):
            return self._reply(400, "wrong Content Type")
        length = request.content_length
        if length is not None and length > self.config.max_body:
            return self._too_large()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            return self._reply(400, f"bad request: malformed JSON: {e}")
        with self._num_lock:
            first = self._num + 1
        rejected: list[str] = []
        try:
            events = decode_payload(payload, max_event_size=self._event_limit(len(body)),
                                    first_num=first,
                                    on_reject=lambda e, pos: rejected.append(f"event {pos}: {e}"))
        except AuditPayloadError as e:
            return self._reply(400, f"bad request: {e}")
        if rejected:
            with stats._lock:
                stats.rejected_events += len(rejected)
                stats.rejected += len(rejected)
            _log.warning("k8s audit webhook: %d event(s) skipped, first: %s",
                         len(rejected), rejected[0])
        if events:
            assert self._queue is not None
            with self._num_lock:
                # renumber under the lock so that concurrent batches never share numbers
                base = self._num
                for i, ev in enumerate(events, 1):
                    ev.num = base + i
                if not self._queue.offer(self.name, events):
                    stats.add(dropped=len(events))
                    return self._reply(503, "event queue full, retry later",
                                       **{"Retry-After": str(self.config.retry_after)})
                self._num = base + len(events)
            with stats._lock:
                stats.events += len(events)
                stats.batches += 1
        return self._reply(200, "ok")

    def _too_large(self) -> web.Response:
        return self._reply(413, f"request body larger than {self.config.max_body} bytes")

    def _event_limit(self, body_size: int) -> int | None:
        """The per-event size limit to check; none needed when the whole body is smaller."""
        limit = self.config.max_event_size
        return None if limit is None or body_size <= limit else limit

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        assert self._token is not None
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8"), self._token)


# ---------------------------------------------------------------------------
# a run loop for callers without an agent
# ---------------------------------------------------------------------------

def serve(source: Source, engine: Engine, write: Callable[[list[Alert]], None], *,
          flush: Callable[[], None] | None = None,
          stop: threading.Event | None = None,
          queue: EventQueue | None = None,
          signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT),
          drain_timeout: float | None = 30.0,
          on_started: Callable[[], None] | None = None) -> int:
    """Run ``source`` until ``stop`` is set or a signal arrives; return the events evaluated.

    Each batch the source queues is evaluated once with ``engine`` and its
    alerts handed to ``write``. On stop: the source stops (requests in
    progress finish), every batch already queued is evaluated, alerts are
    flushed, and the function returns. Signal handlers are installed only
    when called from the main thread; the previous handlers are restored.
    ``on_started`` is called once the source listens.
    """
    stop = stop or threading.Event()
    queue = queue or EventQueue()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in signals:
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    evaluated = 0
    try:
        source.start(queue)
        if on_started is not None:
            on_started()
        while not stop.is_set():
            item = queue.get(timeout=0.05)
            if item is not None:
                evaluated += _evaluate(engine, item[1], write)
        source.stop(drain_timeout)
        deadline = None if drain_timeout is None else time.monotonic() + drain_timeout
        while deadline is None or time.monotonic() < deadline:
            item = queue.get(timeout=0)
            if item is None:
                break
            evaluated += _evaluate(engine, item[1], write)
    finally:
        if flush is not None:
            flush()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return evaluated


def _evaluate(engine: Engine, batch: Sequence[Any], write: Callable[[list[Alert]], None]) -> int:
    alerts = engine.process_batch(batch)
    if alerts:
        write(alerts)
    return len(batch)


# ---------------------------------------------------------------------------
# `secengine run --source k8s_audit`
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


def run_command(args: Any, engine: Engine, out: Any, err: Any) -> int:
    """``secengine run --source k8s_audit``: serve until SIGTERM/SIGINT (or ``--duration``).

    Alerts (text, or Falco JSON with ``--json``) are written to ``out`` as
    they come; on SIGTERM the server stops taking requests, finishes those
    in progress, every queued event is evaluated and its alerts written
    before this returns 0. Returns 2 for a bad option, 1 when the address
    cannot be bound.
    """
    try:
        source = K8sAuditWebhookSource(config_from_args(args))
    except ConfigError as e:
        err.write(f"secengine run: {e}\n")
        return 2
    write = _alert_writer(engine, bool(getattr(args, "json", False)), out)
    stop = threading.Event()
    duration = getattr(args, "duration", None)
    timer = threading.Timer(duration, stop.set) if duration is not None else None

    def started() -> None:
        err.write(f"secengine run: k8s audit webhook listening on {source.url} with "
                  f"{len(engine.rules)} rules\n")
        err.flush()
        if timer is not None:
            timer.daemon = True
            timer.start()

    try:
        serve(source, engine, write, stop=stop, on_started=started)
    except OSError as e:
        err.write(f"secengine run: cannot listen on {args.k8s_audit_addr}: {e.strerror or e}\n")
        return 1
    finally:
        if timer is not None:
            timer.cancel()
    st = source.stats
    err.write(f"secengine run: {st.requests} requests, {st.events} events queued, "
              f"{engine.stats.events} evaluated, {engine.stats.alerts} alerts, "
              f"{st.dropped} refused with 503, {st.rejected} rejected\n")
    return 0


def _alert_writer(engine: Engine, as_json: bool, out: Any) -> Callable[[list[Alert]], None]:
    """Alerts as lines, written whole to ``out``'s file descriptor.

    ``os.write`` in a loop rather than a buffered stream: a BufferedWriter
    whose blocking write to a full pipe is interrupted by a signal (the
    SIGTERM we drain on) loses the rest of its data, while ``os.write``
    reports the partial write and the loop goes on.
    """
    fmt = engine.formatter
    fd = out.fileno()
    out.flush()

    def write(alerts: list[Alert]) -> None:
        if as_json:
            data = b"".join(fmt.json(a) + b"\n" for a in alerts)
        else:
            data = "".join(fmt.text(a) + "\n" for a in alerts).encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    return write
