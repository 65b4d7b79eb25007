"""An HTTP(S) server embedded in the agent: granian serving an RSGI application.

Why granian: with one audit event per request (kube-apiserver's
``blocking`` webhook mode), the cost of the webhook is the HTTP layer, not
the rules. granian parses requests and writes responses in Rust threads
that do not hold the interpreter lock, so Python only runs the handler.
With the same handler and hand-off, aiohttp (with uvloop) served 9,300
requests/s here and granian 14,000 (``docs/performance.md``).

Why this wrapper: granian's embedded server (``granian.server.embed``) runs
in our event loop, but each worker binds its own socket (port 0 would give
each worker a different port, and none is reported), and once stopped it
finishes requests in progress while its listening socket stays open, so new
connections wait in the kernel's queue for nobody. This class binds one
socket through granian (TLS and accept stay in Rust), reads the bound
address from it, waits for it to listen, and splits stopping in two:
:meth:`stop_listening` stops accepting and then refuses new connections
while requests in progress finish; :meth:`close` waits for the server.
It also applies a listener's :class:`~secengine.web.limits.HttpLimits`
(granian's defaults let 1,024 idle connections stall a server for 30 s)
and, for TLS, has failed handshakes counted on the listener's
:class:`~secengine.web.stats.ListenerStats` (:mod:`secengine.web.handshakes`).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from secengine.web.handshakes import GRANIAN_WORKER_LOGGER, monitor
from secengine.web.limits import FILE_RESERVE, HttpLimits, open_file_shortfall
from secengine.web.stats import ListenerStats

__all__ = ["EmbeddedHttpServer", "is_loopback"]

_log = logging.getLogger("secengine.web")

#: Seconds between signalling granian's worker and shutting its listening
#: socket down: the worker takes the signal within about a millisecond here;
#: the margin is for a machine busy enough to delay its thread. (Were it
#: late, its accept loop would spin on the shut socket and :meth:`close`
#: would give up after its timeout, the requests in progress served all
#: the same.)
_ACCEPT_EXIT_DELAY = 0.1
_LISTEN_TIMEOUT = 10.0

#: Bytes hyper buffers per connection while reading, which bounds a request's
#: line and headers: a larger head is refused with 431 (hyper checks after
#: each read, so a head of up to about twice this may pass). granian's
#: default, 408 KiB, would let 4,096 slow clients hold over 1.6 GiB; with
#: 32 KiB, at most about 256 MiB. kube-apiserver's heads are about 1 KiB.
_READ_BUFFER = 32 * 1024

#: An RSGI application: ``async def app(scope, protocol)``.
RsgiApp = Callable[[Any, Any], Awaitable[None]]

#: granian configures its loggers with ``logging.config.dictConfig``; a full
#: configuration would close every handler the agent installed, so the
#: change is incremental: its loggers only get levels and propagate to ours.
#: Its worker logger is the exception: it reports failed handshakes and
#: accepts, at debug level, to :mod:`secengine.web.handshakes` only.
_LOGGING = {
    "incremental": True,
    "handlers": {},
    "loggers": {
        "_granian": {"level": "ERROR"},
        "granian.access": {"level": "CRITICAL"},
        GRANIAN_WORKER_LOGGER: {"level": "DEBUG", "propagate": False},
    },
}


class EmbeddedHttpServer:
    """One granian RSGI worker in the running event loop, on one listening socket."""

    def __init__(
        self,
        app: RsgiApp,
        *,
        host: str = "",
        port: int = 0,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        client_ca: str | None = None,
        limits: HttpLimits | None = None,
        stats: ListenerStats | None = None,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._tls = (tls_cert, tls_key or tls_cert, client_ca)
        self.limits = limits or HttpLimits()
        self.stats = stats or ListenerStats("http")
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._listener: socket.socket | None = None

    async def start(self) -> None:
        """Bind and start serving; return once listening. OSError when the address is taken.

        No host means every interface: IPv6 and IPv4 on one dual-stack socket
        (``::``), as Go's ``:PORT`` does, or IPv4 alone where IPv6 is off.
        """
        handshakes = monitor()  # before granian logs anything (see handshakes.monitor)
        files = open_file_shortfall(self.limits)
        if files is not None:
            _log.warning(
                "%s: max_connections is %d but the open-file limit is %d: beyond about "
                "%d connections, new ones wait (raise ulimit -n)",
                self.stats.name,
                self.limits.max_connections,
                files,
                max(files - FILE_RESERVE, 0),
            )
        if self._host:
            await self._bind(self._host)
        else:
            try:
                await self._bind("::")
            except OSError as e:
                if e.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                    raise
                await self._bind("0.0.0.0")
        server, task = self._server, self._task
        assert task is not None
        fd = server.listening_fd
        if fd is None:  # pragma: no cover - granian changed how it binds
            raise RuntimeError("granian did not bind a listening socket")
        listener = self._listener = socket.socket(fileno=os.dup(fd))
        # granian binds the socket at start-up, and its worker calls listen() on
        # its own thread: wait for that, so that the caller can connect at once
        deadline = asyncio.get_running_loop().time() + _LISTEN_TIMEOUT
        while not listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            if task.done():
                _raise_start_error(task)
            if asyncio.get_running_loop().time() > deadline:
                raise OSError(f"the HTTP server did not listen within {_LISTEN_TIMEOUT:.0f}s")
            await asyncio.sleep(0.001)
        if self._tls[0] is not None:
            await asyncio.to_thread(handshakes.probe, self.address, self.stats)

    async def _bind(self, host: str) -> None:
        server = self._server = _granian_server(
            self._app, host, self._port, self.limits, *self._tls
        )
        self._task = asyncio.ensure_future(server.serve())
        await asyncio.sleep(0)  # runs granian's start-up (bind, spawn the worker) up to its loop
        if self._task.done():
            _raise_start_error(self._task)

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) bound."""
        assert self._listener is not None, "not started"
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    async def stop_listening(self) -> None:
        """Stop accepting and refuse new connections; requests in progress are still served.

        granian's worker, once signalled, stops accepting and lets open
        connections finish their request (answering ``Connection: close``).
        Connections the kernel queued meanwhile would wait for nothing, so
        the listening socket is then shut down: connecting is refused, as
        it is once the process is gone. The shutdown waits for the worker
        to take the signal first (:data:`_ACCEPT_EXIT_DELAY`): an accept
        loop still running when its socket is shut down never ends.
        """
        server, task = self._server, self._task
        if server is None or task is None or task.done():
            return
        server.stop()
        while not task.done() and not (
            server.wrks and all(w.interrupt_by_parent for w in server.wrks)
        ):
            await asyncio.sleep(0.001)  # granian signals its worker from its own task
        await asyncio.sleep(_ACCEPT_EXIT_DELAY)
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RD)
            except OSError:
                pass

    async def close(self, timeout: float | None = None) -> None:
        """Stop (if not stopping yet), wait up to ``timeout`` for the worker; close the socket."""
        server, task = self._server, self._task
        if server is not None and task is not None:
            if not task.done():
                server.stop()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                _log.warning("the HTTP server did not stop within %.0fs", timeout)
            except Exception:  # noqa: BLE001 - closing: nothing left to report to
                _log.debug("granian stopped with an error", exc_info=True)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._server = None
        monitor().forget(self.stats)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (no host: every interface, so no)."""

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _raise_start_error(task: asyncio.Task[None]) -> None:
    """Raise why granian stopped at start-up; its socket errors ("... (os error 98)") as OSError."""
    error = task.exception()
    if error is None:
        raise RuntimeError("the HTTP server stopped during start-up")
    m = re.search(r"\(os error (\d+)\)", str(error))
    if m:
        code = int(m.group(1))
        raise OSError(code, os.strerror(code)) from error
    raise error


def _granian_server(
    app: RsgiApp,
    host: str,
    port: int,
    limits: HttpLimits,
    cert: str | None,
    key: str | None,
    client_ca: str | None,
) -> Any:
    # granian (and uvloop) load when a listener starts, not when its source class is
    # imported: every command that builds the source table imports that class (docs/performance.md)
    from granian.constants import HTTPModes, Interfaces, SSLProtocols
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.net import SocketSpec
    from granian.server.embed import Server

    class _Server(Server):
        """granian's embedded server with one listening socket we can look at."""

        listening_fd: int | None = None

        def _init_shared_socket(self) -> None:
            # granian's own version lets each worker bind its own SO_REUSEPORT
            # socket on Linux, so port 0 would give each a different port
            holder = SocketSpec(self.bind_addr, self.bind_port, self.backlog).build()
            self._ssp = None
            self._shd = holder  # type: ignore[assignment]  # granian declares it only as None
            self._sfd = self.listening_fd = holder.get_fd()

    return _Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        http=HTTPModes.http1,
        websockets=False,
        backlog=limits.backlog,
        backpressure=limits.max_connections,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, round(limits.header_timeout * 1000)),
            keep_alive=limits.keepalive,
            max_buffer_size=_READ_BUFFER,
        ),
        log_enabled=True,
        log_level=LogLevels.error,
        log_dictconfig=_LOGGING,
        ssl_cert=Path(cert) if cert else None,
        ssl_key=Path(key) if key else None,
        ssl_protocol_min=SSLProtocols.tls12,
        ssl_ca=Path(client_ca) if client_ca else None,
        ssl_client_verify=client_ca is not None,
    )
