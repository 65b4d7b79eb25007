"""The webhook under hostile clients: empty tokens, refused tokens and handshakes, slowloris.

Real sockets on loopback, real TLS with certificates made here, the real CLI.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_k8s_webhook import JSON, event_list
from tls_pki import Pki, client_context

from secengine.agent import Agent
from secengine.config import load_config
from secengine.errors import ConfigError
from secengine.metrics import collect, render
from secengine.sinks.memory import MemorySink
from secengine.sources.base import EventQueue
from secengine.sources.k8s_webhook import K8sAuditWebhookSource, WebhookConfig

#: A rules file in the repository (the tests here need rules to load, not Falco's).
K8S_RULES = Path(__file__).resolve().parents[3] / "samples" / "k8s_audit_rules.yaml"
TOKEN = "s3cret-token"
AUTH = {**JSON, "Authorization": f"Bearer {TOKEN}"}


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "secengine.cli",
            "run",
            "--source",
            "k8s_audit",
            "-r",
            str(K8S_RULES),
            *args,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TZ": "UTC"},
    )


# ---------------------------------------------------------------------------
# 1. an empty token never means "no authentication"
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_an_empty_token_file_refuses_to_start(tmp_path: Path, content: str) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content)
    # the library API
    with pytest.raises(ConfigError, match=re.escape(str(token_file))):
        WebhookConfig.from_settings({"listen": "127.0.0.1:0", "bearer_token_file": str(token_file)})
    with pytest.raises(ConfigError, match="empty"):
        K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0, bearer_token=content))
    # the CLI, with the flag and with -c
    flag = _cli(
        "--k8s-audit-addr",
        "127.0.0.1:0",
        "--k8s-audit-token-file",
        str(token_file),
        "--duration",
        "5",
    )
    config = tmp_path / "secengine.yaml"
    config.write_text(
        f"rules_files: [{K8S_RULES}]\nsources:\n  k8s_audit:\n"
        f"    listen: 127.0.0.1:0\n    bearer_token_file: {token_file}\n"
    )
    with_config = subprocess.run(
        [sys.executable, "-m", "secengine.cli", "run", "-c", str(config), "--duration", "5"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    for run in (flag, with_config):
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr
        lines = run.stderr.strip().splitlines()
        # one sentence naming the file (-c adds the run's summary line after it)
        assert str(token_file) in lines[0] and "empty" in lines[0], lines
        assert not any(str(token_file) in line for line in lines[1:]), lines


def test_tokens_are_compared_in_constant_time() -> None:
    import inspect

    from secengine.sources.k8s_webhook import auth, handler

    assert "hmac.compare_digest" in inspect.getsource(auth.BearerAuth)
    assert "BearerAuth(" in inspect.getsource(handler.AuditHandler)  # what the webhook checks with


# ---------------------------------------------------------------------------
# 1. refused tokens and TLS handshakes are counted and logged, rate-limited
# ---------------------------------------------------------------------------


def _metrics_text(agent: Agent) -> str:
    return render(collect(agent))


def test_refused_tokens_are_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    cfg = load_config(options=[f"rules_files=[{K8S_RULES}]", "stdout_output.enabled=false"])
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0, bearer_token=TOKEN))
    agent = Agent(cfg, sources=[src], sinks=[MemorySink()])
    caplog.set_level(logging.WARNING, logger="secengine.web")
    agent.start()
    try:
        host, port = src.address
        peers = set()
        for i in range(30):
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.connect()
            peers.add(f"{host}:{conn.sock.getsockname()[1]}")
            headers = {**JSON, "Authorization": "Bearer wrong"} if i else JSON
            conn.request("POST", "/k8s-audit", body=event_list(range(1)), headers=headers)
            assert conn.getresponse().status == 401
            conn.close()
        text = _metrics_text(agent)
    finally:
        agent.stop()
    assert (
        'secengine_http_rejected_requests_total{listener="k8s_audit",reason="wrong_token"} 29'
    ) in text
    assert (
        'secengine_http_rejected_requests_total{listener="k8s_audit",reason="missing_token"} 1'
    ) in text
    lines = [r.getMessage() for r in caplog.records if r.name == "secengine.web"]
    # one line per reason in the interval, each naming the peer, not 30 lines
    assert len(lines) == 2, lines
    assert all(any(p in line for p in peers) for line in lines), (lines, peers)
    assert "missing_token" in lines[0] and "wrong_token" in lines[1]


def test_failed_tls_handshakes_are_counted_and_logged(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = load_config(options=[f"rules_files=[{K8S_RULES}]", "stdout_output.enabled=false"])
    src = K8sAuditWebhookSource(
        WebhookConfig(
            host="127.0.0.1",
            port=0,
            tls_cert=str(pki.server_cert),
            tls_key=str(pki.server_key),
            client_ca=str(pki.ca),
        )
    )
    agent = Agent(cfg, sources=[src], sinks=[MemorySink()])
    caplog.set_level(logging.WARNING, logger="secengine.web")
    agent.start()
    try:
        host, port = src.address
        plain = socket.create_connection((host, port), timeout=10)  # plain HTTP to a TLS port
        plain_peer = f"{host}:{plain.getsockname()[1]}"
        plain.sendall(b"POST /k8s-audit HTTP/1.1\r\nHost: x\r\n\r\n")
        plain.recv(100)
        plain.close()
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            _tls_post(host, port, client_context(pki))  # no client certificate
        assert _tls_post(host, port, client_context(pki, with_cert=True)) == 200
        _until(lambda: sum(src.listener_stats.handshake_failures.values()) >= 2)
        text = _metrics_text(agent)
    finally:
        agent.stop()
    assert src.listener_stats.handshake_failures == {
        "invalid_message": 1,
        "no_certificates_presented": 1,
    }
    assert (
        'secengine_http_tls_handshake_failures_total{listener="k8s_audit",'
        'reason="no_certificates_presented"} 1'
    ) in text
    lines = [r.getMessage() for r in caplog.records if r.name == "secengine.web"]
    assert len(lines) == 2, lines
    assert plain_peer in lines[0] and "TLS handshake" in lines[0]


def _tls_post(host: str, port: int, ctx: ssl.SSLContext) -> int:
    conn = http.client.HTTPSConnection(host, port, timeout=10, context=ctx)
    try:
        conn.request("POST", "/k8s-audit", body=event_list(range(1)), headers=JSON)
        return conn.getresponse().status
    finally:
        conn.close()


def _until(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


# ---------------------------------------------------------------------------
# 2. slowloris: thousands of idle and slow clients, and the good ones still served
# ---------------------------------------------------------------------------


@pytest.fixture
def many_files() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 8192
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.fail(f"this test needs {need} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Slowloris:
    """``idle`` clients that connect and say nothing, ``headers`` that send their headers a byte
    at a time and ``bodies`` that send authenticated headers and then trickle the body."""

    def __init__(self, address: tuple[str, int], idle: int, headers: int, bodies: int) -> None:
        self.address = address
        self.socks: list[tuple[socket.socket, bytes]] = []
        body_head = (
            f"POST /k8s-audit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        ).encode()
        for kind, n in (("idle", idle), ("headers", headers), ("bodies", bodies)):
            for _ in range(n):
                s = socket.create_connection(address, timeout=10)
                s.setblocking(False)
                if kind == "bodies":
                    s.sendall(body_head)
                payload = {
                    "idle": b"",
                    "headers": b"POST /k8s-audit HTTP/1.1\r\nHost: x",
                    "bodies": b"[" * 100000,
                }[kind]
                self.socks.append((s, payload))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        i = 0
        while not self._stop.wait(0.5):
            for s, payload in self.socks:
                if payload:
                    try:
                        s.send(payload[i % len(payload) : i % len(payload) + 1])
                    except OSError:
                        pass  # closed by the server: what it should do, in time
            i += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for s, _ in self.socks:
            s.close()


def test_slow_clients_do_not_stall_authenticated_requests(many_files: None) -> None:
    seen: list[int] = []
    src = K8sAuditWebhookSource(
        WebhookConfig(host="127.0.0.1", port=0, bearer_token=TOKEN, max_in_progress=256)
    )
    src.start_inline(lambda batch: seen.extend(range(len(batch))))
    attack = None
    try:
        attack = Slowloris(src.address, idle=800, headers=800, bodies=800)
        time.sleep(1.5)  # the slow bodies are older than the shedding grace
        for i in range(20):
            t0 = time.monotonic()
            conn = http.client.HTTPConnection(*src.address, timeout=5)
            conn.request(
                "POST", "/k8s-audit", body=event_list(range(i * 3, i * 3 + 3)), headers=AUTH
            )
            status = conn.getresponse().status
            conn.close()
            assert status == 200, (i, status)
            assert time.monotonic() - t0 < 3
    finally:
        if attack is not None:
            attack.close()
        src.stop(5)
    assert len(seen) == 60
    # a slow body made room for a good request (once: then a slot stays free)
    assert src.listener_stats.rejected_requests["slow_body_shed"] >= 1


@pytest.mark.parametrize("what", ["idle", "headers", "keep-alive", "body"])
def test_slow_connections_are_closed_after_their_timeout(what: str) -> None:
    src = K8sAuditWebhookSource(
        WebhookConfig(host="127.0.0.1", port=0, header_timeout=1, body_timeout=1)
    )
    src.start(EventQueue())
    try:
        s = socket.create_connection(src.address, timeout=10)
        if what == "headers":
            s.sendall(b"POST /k8s-audit HTTP/1.1\r\n")
        elif what == "keep-alive":
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(1000).startswith(b"HTTP/1.1 200")
        elif what == "body":
            s.sendall(
                b"POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nContent-Length: 100\r\n\r\n["
            )
        t0 = time.monotonic()
        answer = b""
        while chunk := s.recv(1000):
            answer += chunk
        assert time.monotonic() - t0 < 3
        if what == "body":
            assert answer.startswith(b"HTTP/1.1 408")
        s.close()
    finally:
        src.stop(5)


@pytest.mark.parametrize(
    ("addr", "args", "warned"),
    [
        ("0.0.0.0:0", [], True),
        ("127.0.0.1:0", [], False),
    ],
)
def test_listening_beyond_loopback_without_tls_or_auth_warns_once(
    addr: str, args: list[str], warned: bool
) -> None:
    run = _cli("--k8s-audit-addr", addr, "--duration", "1", *args)
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if "without TLS or authentication" in line]
    assert len(lines) == (1 if warned else 0), run.stderr


def test_limits_are_configuration_keys() -> None:
    cfg = WebhookConfig.from_settings(
        {
            "listen": "127.0.0.1:0",
            "max_connections": 10,
            "header_timeout": 2.5,
            "body_timeout": 4,
            "keepalive": False,
        }
    )
    assert (
        cfg.limits.max_connections,
        cfg.limits.header_timeout,
        cfg.limits.body_timeout,
        cfg.limits.keepalive,
    ) == (10, 2.5, 4, False)
    with pytest.raises(ConfigError, match="max_connections"):
        WebhookConfig.from_settings({"max_connections": 0})
    with pytest.raises(ConfigError, match="header_timeout"):
        WebhookConfig.from_settings({"header_timeout": "soon"})
    with pytest.raises(ConfigError, match="bearer_token must be a string"):
        WebhookConfig.from_settings({"bearer_token": 12345})


def test_secengine_run_raises_its_open_file_limit() -> None:
    """With the usual soft limit of 1,024, 4,096 connections would stop at about 1,000."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.fail(f"this test needs a hard open-file limit over 1024, not {hard}")
    proc = subprocess.Popen(
        [
            "prlimit",
            f"--nofile=1024:{'unlimited' if hard == resource.RLIM_INFINITY else hard}",
            sys.executable,
            "-m",
            "secengine.cli",
            "run",
            "--source",
            "k8s_audit",
            "-r",
            str(K8S_RULES),
            "--k8s-audit-addr",
            "127.0.0.1:0",
            "--duration",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "listening on" in proc.stderr.readline()
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        soft = re.search(r"Max open files\s+(\d+|unlimited)", limits)
        assert soft is not None and soft.group(1) != "1024", limits
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_idle_tls_clients_do_not_stall_and_are_counted(
    pki: Pki, many_files: None, caplog: pytest.LogCaptureFixture
) -> None:
    """2,000 clients that never start their TLS handshake: served meanwhile, each counted once
    when granian's 10 s handshake bound closes it, and a few log lines, not 2,000."""
    src = K8sAuditWebhookSource(
        WebhookConfig(
            host="127.0.0.1",
            port=0,
            tls_cert=str(pki.server_cert),
            tls_key=str(pki.server_key),
            client_ca=str(pki.ca),
        )
    )
    src.start(EventQueue())
    caplog.set_level(logging.WARNING, logger="secengine.web")
    idle = []
    try:
        idle = [socket.create_connection(src.address, timeout=30) for _ in range(2000)]
        t0 = time.monotonic()
        assert _tls_post(*src.address, client_context(pki, with_cert=True)) == 200
        assert time.monotonic() - t0 < 3
        _until(lambda: src.listener_stats.handshake_failures["timeout"] == 2000, timeout=30)
    finally:
        for s in idle:
            s.close()
        src.stop(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "secengine.web"]
    assert 1 <= len(lines) <= 3, lines


def test_a_request_head_over_100_kb_is_refused() -> None:
    """Each connection's read buffer is bounded, so slow clients cannot hold much memory."""
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0))
    src.start(EventQueue())
    try:
        s = socket.create_connection(src.address, timeout=10)
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 100_000 + b"\r\n\r\n"
        try:
            s.sendall(head)
            answer = s.recv(100)
        except ConnectionResetError:
            answer = b""
        s.close()
        assert answer.startswith(b"HTTP/1.1 431") or answer == b"", answer
    finally:
        src.stop(5)


def test_bodies_in_flight_are_bounded_in_bytes() -> None:
    """Clients that send large bodies and stall cannot make the agent buffer without end."""
    mib = 1024 * 1024
    src = K8sAuditWebhookSource(
        WebhookConfig(host="127.0.0.1", port=0, max_body=mib, max_buffered_bodies=2 * mib)
    )
    src.start_inline(lambda batch: None)
    head = (
        f"POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {mib}\r\n\r\n["
    ).encode()
    stalled = []
    try:
        for _ in range(2):
            s = socket.create_connection(src.address, timeout=10)
            s.sendall(head)
            stalled.append(s)
        time.sleep(0.3)
        third = socket.create_connection(src.address, timeout=10)
        third.sendall(head)
        assert third.recv(100).startswith(b"HTTP/1.1 503"), "a third stalled MiB was taken"
        third.close()
        time.sleep(1.2)  # the stalled bodies can now be shed for newer requests
        statuses = []
        for _ in range(3):
            conn = http.client.HTTPConnection(*src.address, timeout=5)
            conn.request("POST", "/k8s-audit", body=event_list(range(1)), headers=JSON)
            statuses.append(conn.getresponse().status)
            conn.close()
            if statuses[-1] == 200:
                break
        assert statuses[-1] == 200, statuses
        assert src.listener_stats.rejected_requests["bodies_over_budget"] >= 1
    finally:
        for s in stalled:
            s.close()
        src.stop(5)
    with pytest.raises(ConfigError, match="max_buffered_bodies"):
        WebhookConfig(max_body=2 * mib, max_buffered_bodies=mib)
