"""Failed TLS handshakes and accepts, as granian reports them: in its Rust log, to Python.

granian does TLS in Rust (rustls, behind the ``tls-listener`` crate) and
offers no callback or counter for a handshake that fails: its accept loop
only logs, at debug level, ``TCP accept failed: <error>`` through pyo3-log
into the Python logger ``_granian.workers``, for example::

    TCP accept failed: TlsAcceptError { error: Custom { kind: InvalidData,
        error: NoCertificatesPresented }, peer_addr: 10.0.0.7:51234 }
    TCP accept failed: HandshakeTimeout { peer_addr: 10.0.0.7:51236 }
    TCP accept failed: Os { code: 24, kind: Uncategorized, message: "Too many open files" }

(granian's ``metrics_enabled`` counts these as ``conn_err``, but is not
available to an embedded server.) :class:`HandshakeMonitor` is a logging
handler on that logger: it turns each record into a count on the listener's
:class:`~secengine.web.stats.ListenerStats`, with a reason taken from the
error's variant name (a fixed vocabulary: ``timeout``,
``no_certificates_presented``, ``invalid_message``, ``unexpected_eof``...),
never from text a client chose.

The record does not say which listener failed. Each granian server runs its
accept loop on a Rust thread of its own, and the record carries that
thread's id, so each TLS listener, once listening, makes one handshake fail
on purpose (:meth:`HandshakeMonitor.probe`: a connection from a known port
that sends a byte that is not TLS); the monitor learns the thread from that
record and attributes the later ones (a record from a thread it does not
know goes to a listener named ``unknown``). Were granian to change this
message, the counters would stay at zero and the probe would time out at
start with a warning: ``tests/sources/k8s_webhook/test_webhook_hardening.py`` pins it.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from typing import Final

from secengine.web.stats import ListenerStats

__all__ = ["GRANIAN_WORKER_LOGGER", "HandshakeMonitor", "monitor"]

#: Where pyo3-log delivers the records of granian's ``_granian::workers`` module.
GRANIAN_WORKER_LOGGER: Final = "_granian.workers"
_PREFIX: Final = "TCP accept failed: "
_PEER = re.compile(r"peer_addr: (\S+?) \}\s*$")
_TLS_ERROR = re.compile(r"error: Custom \{ kind: \w+, error: (\w+)")
_IO_KIND = re.compile(r"kind: (\w+)")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_PROBE_WAIT: Final = 2.0

_log = logging.getLogger("secengine.web")


def _reason(error: str) -> str:
    """A short fixed word for a failure: the rustls or I/O error variant, snake_case."""
    if error.startswith("HandshakeTimeout"):
        return "timeout"
    m = _TLS_ERROR.search(error) or _IO_KIND.search(error)
    return _CAMEL.sub("_", m.group(1)).lower() if m else "other"


def _port(peer: str) -> int | None:
    try:
        return int(peer.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


class HandshakeMonitor(logging.Handler):
    """Counts granian's accept and handshake failures on the listener they happened on."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._mutex = threading.Lock()
        self._by_thread: dict[int, ListenerStats] = {}
        self._probes: dict[int, tuple[ListenerStats, threading.Event]] = {}
        self.unknown = ListenerStats("unknown")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a logging handler must not raise
            return
        if not message.startswith(_PREFIX):
            return
        error = message[len(_PREFIX) :]
        m = _PEER.search(error)
        peer = m.group(1) if m else None
        with self._mutex:
            probe = self._probes.pop(_port(peer) or -1, None) if peer else None
            if probe is not None:
                self._by_thread[record.thread or 0] = probe[0]
                probe[1].set()
                return
            stats = self._by_thread.get(record.thread or 0, self.unknown)
        if peer is None:
            stats.accept_failed(error)
        else:
            stats.handshake_failed(_reason(error), peer)

    def probe(self, address: tuple[str, int], stats: ListenerStats) -> None:
        """Fail one handshake on the TLS listener at ``address`` to learn its accept thread."""
        done = threading.Event()
        host = address[0] if address[0] not in ("", "::", "0.0.0.0") else "localhost"
        try:
            with socket.create_connection((host, address[1]), timeout=_PROBE_WAIT) as sock:
                with self._mutex:
                    self._probes[sock.getsockname()[1]] = (stats, done)
                sock.sendall(b"\0" * 8)  # not a TLS record: rustls refuses it at once
                if not done.wait(_PROBE_WAIT):
                    _log.warning(
                        "%s: TLS handshake failures cannot be attributed to this "
                        "listener (granian did not report the probe's)",
                        stats.name,
                    )
        except OSError as e:
            _log.warning("%s: cannot probe the TLS listener: %s", stats.name, e)
        finally:
            with self._mutex:
                self._probes = {k: v for k, v in self._probes.items() if v[1] is not done}

    def forget(self, stats: ListenerStats) -> None:
        """Stop attributing failures to a listener that stopped."""
        with self._mutex:
            self._by_thread = {k: v for k, v in self._by_thread.items() if v is not stats}


_monitor: HandshakeMonitor | None = None
_monitor_lock = threading.Lock()


def monitor() -> HandshakeMonitor:
    """The process' monitor, attached to granian's worker logger on first use.

    granian's log records reach Python only at the level that logger has when
    its first record is emitted (pyo3-log caches it), so the level is set
    here, before any granian server starts; the records do not propagate to
    the agent's own handlers.
    """
    global _monitor
    with _monitor_lock:
        if _monitor is None:
            _monitor = HandshakeMonitor()
            logger = logging.getLogger(GRANIAN_WORKER_LOGGER)
            logger.addHandler(_monitor)
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
        return _monitor
