"""The ``syslog`` sink: alerts as syslog messages to a local socket or over UDP.

Falco's ``syslog_output`` calls ``syslog(3)`` with the rule priority as the
severity; Falco's priorities are numbered exactly as syslog's severities
(Emergency 0 … Debug 7), so the mapping is the identity. The message is
what ``syslog(3)`` sends (RFC 3164): ``<PRI>Mmm dd hh:mm:ss ident[pid]: line``
with ``PRI = facility * 8 + severity``.

``address`` is a local socket path (``/dev/log``, a datagram socket, with a
stream socket as fallback), ``unix:///path``, or ``udp://host:port``. A
send that fails on a local socket reconnects once (the syslog daemon may
have restarted) before the alert counts as failed. A send waits at most
``timeout`` seconds (a daemon that stopped reading fills its socket's queue,
and the send would otherwise block for ever): the alert then fails, without
a reconnect, since the daemon is there but not reading.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from typing import Any, ClassVar

from secengine.alert import Alert
from secengine.sinks.base import Sink, SinkError

__all__ = ["FACILITIES", "SyslogSink", "syslog_header"]

#: syslog facility names and codes (``<syslog.h>``).
FACILITIES: dict[str, int] = {
    "kern": 0,
    "user": 1,
    "mail": 2,
    "daemon": 3,
    "auth": 4,
    "syslog": 5,
    "lpr": 6,
    "news": 7,
    "uucp": 8,
    "cron": 9,
    "authpriv": 10,
    "ftp": 11,
    **{f"local{i}": 16 + i for i in range(8)},
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def syslog_header(
    facility: int, severity: int, ident: str, pid: int, now: float | None = None
) -> str:
    """``<PRI>Mmm dd hh:mm:ss ident[pid]: `` as glibc's ``syslog(3)`` writes it (local time)."""
    t = time.localtime(now)
    stamp = f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"<{facility * 8 + severity}>{stamp} {ident}[{pid}]: "


class SyslogSink(Sink):
    """Sends each alert as one syslog message; the severity is the rule priority."""

    name: ClassVar[str] = "syslog"

    def __init__(
        self,
        *,
        address: str = "/dev/log",
        facility: str = "user",
        ident: str = "secengine",
        timeout: float = 5.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if timeout <= 0:
            raise ValueError("syslog timeout must be positive")
        #: Seconds a send may block (a syslog daemon that stopped reading fills the socket).
        self.timeout = timeout
        if facility not in FACILITIES:
            raise ValueError(
                f"unknown syslog facility {facility!r} (one of {', '.join(FACILITIES)})"
            )
        self.address = address
        self.facility = FACILITIES[facility]
        self.ident = ident
        self._sock: socket.socket | None = None
        self._target: Any = None
        self._stream = False
        if address.startswith("udp://"):
            host, _, port = address[len("udp://") :].rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"syslog address {address!r} must be udp://host:port")
            self._udp: tuple[str, int] | None = (host.strip("[]"), int(port))
            self._path = ""
        else:
            self._udp = None
            self._path = address.removeprefix("unix://")

    def open(self) -> None:
        if self._udp is not None:
            host, port = self._udp
            try:
                info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            except OSError as e:
                raise SinkError(f"syslog address {self.address}: {e}") from e
            self._sock = socket.socket(info[0], socket.SOCK_DGRAM)
            self._sock.settimeout(self.timeout)
            self._target = info[4]
            return
        self._connect_local()

    def _connect_local(self) -> None:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            sock = socket.socket(socket.AF_UNIX, kind)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self._path)
            except OSError as e:
                sock.close()
                if e.errno == errno.EPROTOTYPE and kind == socket.SOCK_DGRAM:
                    continue
                raise SinkError(
                    f"cannot connect to syslog socket {self._path}: {e.strerror or e}"
                ) from e
            self._sock = sock
            self._stream = kind == socket.SOCK_STREAM
            return

    def message(self, alert: Alert) -> bytes:
        """The datagram for ``alert``: the syslog header, then the rendered line."""
        head = syslog_header(self.facility, int(alert.priority), self.ident, os.getpid())
        return head.encode("ascii") + self.renderer.line(alert)

    def deliver(self, alert: Alert) -> None:
        data = self.message(alert)
        if self._stream:
            data += b"\n"
        try:
            self._send(data)
        except TimeoutError as e:
            raise SinkError(
                f"syslog {self.address} did not take the message within {self.timeout}s"
            ) from e
        except OSError:
            if self._udp is not None or self.abandoned:
                raise
            self.close()
            self._connect_local()  # the daemon may have restarted: one more try
            self._send(data)

    def _send(self, data: bytes) -> None:
        if self._sock is None:
            self.open()
        assert self._sock is not None
        if self._udp is not None:
            self._sock.sendto(data, self._target)
        else:
            self._sock.sendall(data)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
