"""Nothing lost silently: every sink counts each alert as delivered, failed or dropped.

Each test drives a real receiver that fails (a program that exits 1,
``/dev/full``, a closed pipe, a syslog socket that went away, an HTTP port
nobody listens on) or hangs (a program that never reads its stdin, an HTTP
server that accepts and never answers, a syslog socket nobody reads, a
plugin whose delivery never returns), and checks that shutdown ends within
its drain time and that ``delivered + failed + dropped`` accounts for every
alert handed to the sink.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from secengine.alert import Alert
from secengine.sinks.base import Sink
from secengine.sinks.file import FileSink
from secengine.sinks.http import HttpSink
from secengine.sinks.program import ProgramSink
from secengine.sinks.stdout import StdoutSink
from secengine.sinks.syslog import SyslogSink


def _accounted(sink: Sink, offered: int) -> None:
    s = sink.stats
    assert s.delivered + s.failed + s.dropped == offered, s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- receivers that fail ------------------------------------------------------------------


def test_a_program_that_exits_non_zero_has_failed(alert: Any) -> None:
    with ProgramSink("cat > /dev/null; exit 1") as sink:
        for i in range(3):
            sink.submit(alert(i))
    assert sink.stats.delivered == 0 and sink.stats.failed == 3


def test_a_long_running_program_that_exits_without_reading_has_failed(alert: Any) -> None:
    with ProgramSink("exit 1", keep_alive=True, restart_backoff=0.01) as sink:
        for i in range(3):
            sink.submit(alert(i))
    assert sink.stats.delivered == 0 and sink.stats.failed == 3


def test_a_long_running_program_is_credited_with_the_lines_it_read(
    tmp_path: Path, alert: Any
) -> None:
    """It reads two lines, then dies: those two are delivered, the unread ones failed."""
    out = tmp_path / "out.txt"
    two = 2 * (len(alert(0).output) + 1)  # dd reads byte by byte: exactly two lines
    sink = ProgramSink(
        f"dd bs=1 count={two} of={out} 2>/dev/null; sleep 60", keep_alive=True, close_timeout=0.2
    )
    sink.start()
    for i in range(5):
        sink.submit(alert(i))
    deadline = time.monotonic() + 10
    while not (out.exists() and out.read_text().count("\n") == 2):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sink.stop(timeout=5)
    assert out.read_text().splitlines() == [alert(i).output for i in range(2)]
    assert sink.stats.delivered == 2 and sink.stats.failed == 3


def test_a_program_that_never_exits_is_killed_and_has_failed(alert: Any) -> None:
    started = time.monotonic()
    with ProgramSink("sleep 60", close_timeout=0.3) as sink:
        sink.submit(alert(0))
    assert time.monotonic() - started < 5
    assert sink.stats.delivered == 0 and sink.stats.failed == 1


@pytest.mark.parametrize("keep_alive", [False, True])
@pytest.mark.parametrize("buffered", [False, True])
def test_a_full_disk_fails_file_deliveries(alert: Any, keep_alive: bool, buffered: bool) -> None:
    with FileSink("/dev/full", keep_alive=keep_alive, buffered=buffered) as sink:
        for i in range(3):
            sink.submit(alert(i))
    assert sink.stats.delivered == 0 and sink.stats.failed == 3


def test_stdout_to_a_closed_pipe_fails_without_raising(alert: Any) -> None:
    r, w = os.pipe()
    os.close(r)
    stream = os.fdopen(w, "wb")
    sink = StdoutSink(stream=stream)
    with sink:
        for i in range(3):
            sink.submit(alert(i))
    assert sink.stats.delivered == 0 and sink.stats.failed == 3
    with contextlib.suppress(BrokenPipeError):  # the stream is the test's, and still broken
        stream.close()


def test_a_syslog_socket_that_went_away_fails_deliveries(tmp_path: Path, alert: Any) -> None:
    path = str(tmp_path / "log.sock")
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    daemon.bind(path)
    sink = SyslogSink(address=path)
    sink.start()
    sink.submit(alert(0))
    assert daemon.recv(4096).endswith(alert(0).output.encode())
    daemon.close()
    os.unlink(path)
    sink.submit(alert(1))
    sink.submit(alert(2))
    sink.stop(timeout=5)
    assert sink.stats.delivered == 1 and sink.stats.failed == 2


@pytest.mark.parametrize("max_retries", [None, 2])
def test_an_http_receiver_that_is_down_fails_after_bounded_retries(
    alert: Any, max_retries: int | None
) -> None:
    """``max_retries: null`` means the default bound, not "retry for ever"."""
    sink = HttpSink(
        f"http://127.0.0.1:{_free_port()}/",
        max_retries=max_retries,
        retry_backoff=0.01,
        retry_backoff_max=0.02,
    )
    started = time.monotonic()
    sink.start()
    sink.submit(alert(0))
    assert sink.stop(timeout=10)
    assert time.monotonic() - started < 5
    assert sink.stats.failed == 1 and sink.stats.delivered == 0
    assert 0 < sink.stats.retries <= (max_retries if max_retries is not None else 10)


# -- receivers that hang ------------------------------------------------------------------


class _Forever(Sink):
    """A third-party plugin whose delivery never returns (it ignores every shutdown hint)."""

    name: ClassVar[str] = "forever"

    def deliver(self, alert: Alert) -> None:
        threading.Event().wait()


@pytest.fixture
def unread_syslog(tmp_path: Path) -> Iterator[str]:
    """A syslog datagram socket nobody reads: senders block once its queue is full."""
    path = str(tmp_path / "stuck.sock")
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    daemon.bind(path)
    yield path
    daemon.close()


_HANGING: dict[str, Callable[[dict[str, str]], Sink]] = {
    "program never reads stdin": lambda r: ProgramSink("sleep 60", keep_alive=True),
    "http accepts, never answers": lambda r: HttpSink(r["http"], timeout=30),
    "syslog nobody reads": lambda r: SyslogSink(address=r["syslog"]),
    "plugin never returns": lambda r: _Forever(),
}


@pytest.mark.parametrize("kind", sorted(_HANGING))
def test_a_hanging_receiver_is_given_up_at_the_drain_deadline_and_counted(
    kind: str, alert: Any, silent_http: str, unread_syslog: str
) -> None:
    sink = _HANGING[kind]({"http": silent_http, "syslog": unread_syslog})
    sink.start()
    n = 3000  # more than a pipe buffer or a datagram queue holds
    big = alert(0)
    big = Alert(
        big.rule,
        big.priority,
        big.source,
        big.time,
        big.output + " " + "x" * 200,
        big.output_fields,
        big.tags,
        big.hostname,
        big.message,
    )
    for _ in range(n):
        sink.submit(big)
    started = time.monotonic()
    assert not sink.stop(timeout=1.0)
    assert time.monotonic() - started < 3.0
    _accounted(sink, n)
    assert sink.stats.dropped + sink.stats.failed > 0
    if kind.startswith(("program", "http")):  # interrupted: the worker has ended
        assert not sink.running
