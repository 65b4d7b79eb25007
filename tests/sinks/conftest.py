"""Alerts and loopback receivers shared by the sink tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from loopback import silent_http  # noqa: F401 - the fixture, for this directory's tests

from secengine.alert import Alert
from secengine.priority import Priority

BASE_TS = 1470327477882054739


def make_alert(
    n: int = 0,
    priority: Priority = Priority.WARNING,
    rule: str = "open_from_cat",
    source: str = "syscall",
) -> Alert:
    message = f"An open was seen (command=cat /dev/null n={n})"
    return Alert(
        rule=rule,
        priority=priority,
        source=source,
        time=BASE_TS + n,
        output=f"16:17:57.882054739: {priority.title} {message}",
        output_fields={"evt.time": BASE_TS + n, "proc.cmdline": "cat /dev/null", "n": n},
        tags=("filesystem", "process"),
        hostname="test-host",
        message=message,
    )


class Receiver:
    """A loopback HTTP server that records POSTs; it can answer errors or hang."""

    def __init__(self, port: int = 0) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.statuses: list[int] = []  # answers to give first, then 200
        self.hang = threading.Event()  # while set, requests block until released
        self.release = threading.Event()
        self.received = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.hang.is_set():
                    receiver.release.wait(10)
                    return
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    with receiver.received:
                        receiver.bodies.append(body)
                        receiver.headers.append(dict(self.headers))
                        receiver.received.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        with self.received:
            return self.received.wait_for(lambda: len(self.bodies) >= n, timeout)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def receiver_on() -> Iterator[Any]:
    """A factory of receivers on a given port, closed after the test."""
    made: list[Receiver] = []

    def make(port: int) -> Receiver:
        made.append(Receiver(port))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def alert() -> Any:
    """``make_alert``: alert(n, priority=..., rule=..., source=...)."""
    return make_alert
