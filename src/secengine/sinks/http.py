"""The ``http`` sink: POST each alert to a URL (Falco's ``http_output``; Falcosidekick-compatible).

The body is Falco's alert JSON (``Content-Type: application/json``), or the
text line (``text/plain``) when the sink is told ``json_output: false``, so a
Falcosidekick or any receiver written for Falco accepts it as is.

Built on the standard library's :mod:`http.client` and :mod:`ssl`: one
connection per sink, reused when ``keep_alive`` is on; TLS with a CA file
(``ca_cert``/``ca_bundle``), a CA directory (``ca_path``), client
certificates (``mtls``) or no verification at all (``insecure``); custom
headers; a timeout per request.

Retries: a refused connection, a reset, an HTTP 408/425/429 or 5xx answer is
retried with exponential backoff (``retry_backoff`` doubling up to
``retry_backoff_max`` seconds), at most ``max_retries`` times
(:data:`DEFAULT_MAX_RETRIES`; ``None`` means that default: retrying for ever
would let one dead receiver hold every later alert until shutdown, where they
would be lost without a word). A timed-out request is retried at most
``max_consecutive_timeouts`` times, as Falco does, so a receiver that hangs
costs one alert per that many timeouts and the queue overflow is counted.
Other 4xx answers are failures at once: sending the same body again cannot
help. Each failure is counted in ``stats.failed``; while the receiver is
down, alerts wait in the queue, and those it cannot hold are counted as
dropped. When shutdown gives up, :meth:`interrupt` shuts the connection so
that a request waiting for an answer returns at once.
"""

from __future__ import annotations

import gzip
import http.client
import socket
import ssl
import sys
import urllib.parse
from collections.abc import Mapping
from typing import Any, ClassVar

from secengine.alert import Alert
from secengine.sinks.base import Sink, SinkError

__all__ = ["DEFAULT_MAX_RETRIES", "HttpSink"]

#: Retries of one alert when ``max_retries`` is not given (or null): with the default
#: backoff, about 15 s of a receiver being down before the alert fails.
DEFAULT_MAX_RETRIES = 5

_RETRY_STATUSES = frozenset({408, 425, 429})


class _Timeout(Exception):
    pass


class HttpSink(Sink):
    """POSTs alerts to ``url``; see the module docstring for retries and TLS."""

    name: ClassVar[str] = "http"
    #: Falco's alert JSON unless told otherwise, as Falcosidekick expects.
    default_json_output: ClassVar[bool | None] = True

    def __init__(
        self,
        url: str,
        *,
        user_agent: str = "falcosecurity/falco",
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        insecure: bool = False,
        ca_cert: str = "",
        ca_bundle: str = "",
        ca_path: str = "",
        mtls: bool = False,
        client_cert: str = "",
        client_key: str = "",
        echo: bool = False,
        compress_uploads: bool = False,
        keep_alive: bool = False,
        max_consecutive_timeouts: int = 5,
        max_retries: int | None = DEFAULT_MAX_RETRIES,
        retry_backoff: float = 0.5,
        retry_backoff_max: float = 30.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        url = url.strip()
        if len(url) >= 2 and url[0] == url[-1] and url[0] in "\"'":
            url = url[1:-1]  # Falco unquotes a quoted URL
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"http sink needs an http:// or https:// URL, not {url!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        self.timeout = timeout
        self.echo = echo
        self.compress_uploads = compress_uploads
        self.keep_alive = keep_alive
        self.max_consecutive_timeouts = max_consecutive_timeouts
        self.max_retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self._headers = {"User-Agent": user_agent}
        if compress_uploads:
            self._headers["Content-Encoding"] = "gzip"
        if not keep_alive:
            self._headers["Connection"] = "close"
        self._headers.update(headers or {})
        self._tls = (
            self._tls_context(
                insecure, ca_cert or ca_bundle, ca_path, mtls, client_cert, client_key
            )
            if self._https
            else None
        )
        self._conn: http.client.HTTPConnection | None = None

    @staticmethod
    def _tls_context(
        insecure: bool, cafile: str, capath: str, mtls: bool, client_cert: str, client_key: str
    ) -> ssl.SSLContext:
        try:
            ctx = ssl.create_default_context(cafile=cafile or None, capath=capath or None)
            if insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if mtls:
                ctx.load_cert_chain(client_cert, client_key or None)
        except (OSError, ssl.SSLError) as e:
            raise SinkError(f"http sink TLS setup failed: {e}") from e
        return ctx

    # -- one request ---------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._tls is not None:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout, context=self._tls
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout
                )
        return self._conn

    def _post(self, body: bytes) -> tuple[int, bytes]:
        if self.abandoned:
            raise OSError("shutdown gave up")
        conn = self._connection()
        headers = {
            "Content-Type": "application/json" if self.renderer.json_output else "text/plain",
            **self._headers,
        }
        try:
            conn.request("POST", self._target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except TimeoutError as e:
            self._drop_connection()
            raise _Timeout(str(e) or "timed out") from e
        except BaseException:
            self._drop_connection()
            raise
        if not self.keep_alive or resp.will_close:
            self._drop_connection()
        return resp.status, data

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the sink -------------------------------------------------------------------------
    def deliver(self, alert: Alert) -> None:
        body = self.renderer.line(alert)
        if self.compress_uploads:
            body = gzip.compress(body)
        failures = 0
        timeouts = 0
        while True:
            try:
                status, data = self._post(body)
            except _Timeout as e:
                timeouts += 1
                if timeouts > self.max_consecutive_timeouts:
                    raise SinkError(f"POST {self.url} timed out {timeouts} times in a row") from e
                error = f"timed out after {self.timeout}s"
            except (OSError, http.client.HTTPException) as e:
                error = f"{type(e).__name__}: {e}"
            else:
                if status < 400:
                    if self.echo and data:
                        self._echo(data)
                    return
                if status not in _RETRY_STATUSES and status < 500:
                    raise SinkError(f"POST {self.url} answered HTTP {status}")
                error = f"HTTP {status}"
            failures += 1
            if failures > self.max_retries:
                raise SinkError(f"POST {self.url} failed {failures} times, last: {error}")
            self.stats.retries += 1
            self.report_failure("retry", f"POST {self.url} failed ({error}); retrying")
            delay = min(self.retry_backoff * (2 ** (failures - 1)), self.retry_backoff_max)
            if not self.wait_or_abandon(delay):
                raise SinkError(f"POST {self.url} abandoned at shutdown, last: {error}")

    def _echo(self, data: bytes) -> None:
        """Print the receiver's answer; the alert was delivered even if stdout is closed."""
        try:
            sys.stdout.buffer.write(data + b"\n")
            sys.stdout.buffer.flush()
        except OSError as e:
            self.report_failure("echo", f"cannot echo the answer: {e.strerror or e}")

    def interrupt(self) -> None:
        """Shut the connection down, so that a request waiting for an answer returns."""
        conn = self._conn
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._drop_connection()

    def reopen(self) -> None:
        self._drop_connection()
