"""The syslog sink: RFC 3164 messages with the rule priority as severity, to a unix socket or UDP."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from secengine.priority import Priority
from secengine.sinks.base import SinkError
from secengine.sinks.render import AlertRenderer
from secengine.sinks.syslog import SyslogSink, syslog_header

_HEADER = re.compile(rb"^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d secengine\[(\d+)\]: ")


def test_header_is_what_glibc_writes() -> None:
    import time

    now = time.mktime((2024, 3, 5, 7, 8, 9, 0, 0, -1))
    assert syslog_header(1, 4, "falco", 42, now) == "<12>Mar  5 07:08:09 falco[42]: "


def test_unix_datagram_socket(tmp_path: Path, alert: Any) -> None:
    path = str(tmp_path / "log")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    try:
        with SyslogSink(address=path, facility="local3") as sink:
            sink.submit(alert(0, priority=Priority.CRITICAL))
            sink.submit(alert(1, priority=Priority.DEBUG))
            got = [server.recv(65536), server.recv(65536)]
    finally:
        server.close()
    for data, sev, n in zip(got, (2, 7), (0, 1)):
        m = _HEADER.match(data)
        assert m is not None, data
        assert int(m.group(1)) == 19 * 8 + sev and int(m.group(2)) == os.getpid()
        assert data[m.end() :] == alert(n, priority=Priority(sev)).output.encode()


def test_udp_with_json(alert: Any) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    try:
        with SyslogSink(
            address=f"udp://127.0.0.1:{port}", renderer=AlertRenderer(json_output=True)
        ) as sink:
            sink.submit(alert(3, priority=Priority.EMERGENCY))
            data = server.recv(65536)
    finally:
        server.close()
    m = _HEADER.match(data)
    assert m is not None and int(m.group(1)) == 8  # user facility, emergency
    assert data[m.end() :].startswith(b'{"hostname":"test-host"')


def test_missing_socket_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="cannot connect to syslog socket"):
        SyslogSink(address=str(tmp_path / "nothing")).start()


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="facility"):
        SyslogSink(facility="nope")
    with pytest.raises(ValueError, match="udp://host:port"):
        SyslogSink(address="udp://nohost")


def test_a_syslog_daemon_that_stops_reading_does_not_hang_delivery(
    tmp_path: Path, alert: Any
) -> None:
    """A full local socket (the daemon hangs) fails a delivery after the timeout."""
    import threading

    path = str(tmp_path / "log")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)  # never read
    sink = SyslogSink(address=path, timeout=0.5)
    sink.open()
    failed: list[BaseException] = []

    def flood() -> None:
        try:
            for i in range(100_000):
                sink.deliver(alert(i))
        except (OSError, SinkError) as e:  # the timeout is reported as a SinkError
            failed.append(e)

    worker = threading.Thread(target=flood, daemon=True)
    worker.start()
    worker.join(10)
    sink.close()
    server.close()
    assert not worker.is_alive(), "deliver() blocked on a full syslog socket"
    assert failed
