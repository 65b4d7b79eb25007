"""The metrics and health endpoint under idle, silent and resetting clients (real sockets, TLS)."""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tls_pki import Pki, client_context

from secengine.agent import Agent
from secengine.config import load_config
from secengine.metrics import collect, render
from secengine.sinks.memory import MemorySink


@pytest.fixture
def agent_with(rules_file: Path, events: Any) -> Iterator[Any]:
    """Starts an agent whose webserver has the given settings; stops it afterwards."""
    started: list[Agent] = []

    def start(**web: Any) -> Agent:
        settings = {"enabled": "true", "listen_address": "127.0.0.1", "listen_port": 0, **web}
        cfg = load_config(
            options=[
                f"rules_files=[{rules_file}]",
                "stdout_output.enabled=false",
                *(f"webserver.{k}={v}" for k, v in settings.items()),
            ]
        )
        agent = Agent(cfg, sources=[events.live()], sinks=[MemorySink()])
        agent.start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def _healthz(agent: Agent, context: ssl.SSLContext | None = None, timeout: float = 3) -> int:
    host, port = agent.metrics_address  # type: ignore[misc]
    conn: http.client.HTTPConnection = (
        http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        if context is not None
        else http.client.HTTPConnection(host, port, timeout=timeout)
    )
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_silent_client_does_not_block_healthz_over_tls(agent_with: Any, pki: Pki) -> None:
    agent = agent_with(ssl_enabled="true", ssl_certificate=str(pki.combined))
    silent = socket.create_connection(agent.metrics_address, timeout=10)  # no TLS handshake
    try:
        t0 = time.monotonic()
        assert _healthz(agent, client_context(pki)) == 200
        assert time.monotonic() - t0 < 2
    finally:
        silent.close()


def test_hundreds_of_connections_do_not_stall_healthz(agent_with: Any) -> None:
    agent = agent_with()
    t0 = time.monotonic()
    held = [socket.create_connection(agent.metrics_address, timeout=10) for _ in range(300)]
    try:
        assert _healthz(agent) == 200
        assert time.monotonic() - t0 < 5
    finally:
        for s in held:
            s.close()


def test_idle_connections_are_closed(agent_with: Any) -> None:
    agent = agent_with(header_timeout=1)
    s = socket.create_connection(agent.metrics_address, timeout=10)
    t0 = time.monotonic()
    assert s.recv(100) == b""  # closed by the server
    assert time.monotonic() - t0 < 3
    s.close()


def test_connection_resets_print_no_traceback(
    agent_with: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    agent = agent_with()
    for _ in range(5):
        s = socket.create_connection(agent.metrics_address, timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
    time.sleep(0.3)
    assert _healthz(agent) == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err, err


def test_failed_handshakes_on_the_webserver_are_counted(agent_with: Any, pki: Pki) -> None:
    agent = agent_with(ssl_enabled="true", ssl_certificate=str(pki.combined))
    s = socket.create_connection(agent.metrics_address, timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # plain HTTP to the TLS port
    s.recv(100)
    s.close()
    deadline = time.monotonic() + 5
    line = (
        'secengine_http_tls_handshake_failures_total{listener="webserver",'
        'reason="invalid_message"} 1'
    )
    while line not in render(collect(agent)):
        assert time.monotonic() < deadline, render(collect(agent))
        time.sleep(0.05)
