"""Loopback peers shared by the delivery tests: servers that misbehave on purpose."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

__all__ = ["silent_http"]


@pytest.fixture
def silent_http() -> Iterator[str]:
    """An HTTP server that accepts connections, reads nothing and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()
