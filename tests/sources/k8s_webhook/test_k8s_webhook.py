"""The k8s_audit webhook, run for real on loopback: HTTP, TLS, limits, back-pressure, shutdown.

Every test checks the property kube-apiserver relies on: an event whose POST
was answered 200 is evaluated exactly once, and nothing of a refused batch is.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from k8s_audit_cases import K8S_RULES, simple
from tls_pki import Pki, client_context
from upstream_rules import needs_upstream, require

from secengine.agent import Agent, ExitStatus
from secengine.config import load_config
from secengine.engine import Engine
from secengine.errors import ConfigError
from secengine.sinks.memory import MemorySink
from secengine.sources.base import EventQueue
from secengine.sources.k8s_webhook import (
    K8sAuditWebhookSource,
    WebhookConfig,
    parse_addr,
)
from secengine.sources.specs import load_rules

JSON = {"Content-Type": "application/json"}


def event_list(ids: range | list[int], prefix: str = "p") -> bytes:
    items = [simple("get", "pods", f"{prefix}-{i}", "default", user="mallory") for i in ids]
    return orjson.dumps(
        {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items}
    )


@dataclass
class Consumer:
    """The evaluation side: takes batches off the queue and evaluates them, recording names."""

    queue: EventQueue
    engine: Engine
    seen: Counter[str] = field(default_factory=Counter)
    alerts: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Consumer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.drain_once(0.02)

    def drain_once(self, timeout: float = 0.0) -> bool:
        item = self.queue.get(timeout=timeout)
        if item is None:
            return False
        _, batch = item
        self.alerts += len(self.engine.process_batch(batch))
        for ev in batch:
            self.seen[ev.fields["ka.target.name"]] += 1
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        while self.drain_once():
            pass


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rules([str(require("k8s_audit_rules.yaml"))]))


@pytest.fixture
def server(engine: Engine) -> Iterator[tuple[K8sAuditWebhookSource, Consumer]]:
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0, max_body=256 * 1024))
    queue = EventQueue(64)
    src.start(queue)
    consumer = Consumer(queue, engine).start()
    yield src, consumer
    src.stop(5)
    consumer.stop()


def post(
    src: K8sAuditWebhookSource,
    body: bytes,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, bytes, http.client.HTTPResponse]:
    host, port = src.address
    if context is not None:
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=10, context=context
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(
            method, path or src.config.path, body=body, headers=JSON if headers is None else headers
        )
        resp = conn.getresponse()
        return resp.status, resp.read(), resp
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# plain HTTP
# ---------------------------------------------------------------------------


def test_event_list_is_accepted_and_evaluated_once(server: Any) -> None:
    src, consumer = server
    status, body, _ = post(src, event_list(range(50)))
    assert (status, body) == (200, b"ok\n")
    _wait(lambda: sum(consumer.seen.values()) == 50)
    assert set(consumer.seen.values()) == {1}
    assert consumer.alerts == 50  # "Disallowed K8s User" for each
    assert src.stats.events == 50 and src.stats.batches == 1 and src.stats.responses[200] == 1


def test_single_event_and_arrays(server: Any) -> None:
    src, consumer = server
    one = simple("get", "pods", "single", "d", user="mallory")
    assert post(src, orjson.dumps(one))[0] == 200
    two = [simple("get", "pods", f"arr-{i}", "d") for i in range(2)]
    assert post(src, orjson.dumps(two))[0] == 200
    assert post(src, orjson.dumps({"kind": "EventList", "items": []}))[0] == 200
    _wait(lambda: sum(consumer.seen.values()) == 3)
    assert consumer.seen == Counter({"single": 1, "arr-0": 1, "arr-1": 1})


@pytest.mark.parametrize(
    ("method", "body", "headers", "status", "text"),
    [
        ("GET", b"", None, 405, b"GET method not allowed"),
        ("PUT", b"{}", None, 405, b"PUT method not allowed"),
        ("POST", b"{not json", None, 400, b"malformed JSON"),
        ("POST", b'{"kind": 0}', None, 400, b"data not recognized as a k8s audit event"),
        ("POST", b'"text"', None, 400, b"data not recognized"),
        ("POST", b"{}", {"Content-Type": "text/plain"}, 400, b"wrong Content Type"),
        ("POST", b"{}", {}, 400, b"wrong Content Type"),
    ],
)
def test_rejections(
    server: Any, method: str, body: bytes, headers: dict[str, str] | None, status: int, text: bytes
) -> None:
    src, consumer = server
    assert post(src, event_list(range(3)))[0] == 200
    got, reply, resp = post(src, body, headers, method)
    assert got == status and text in reply
    if status == 405:
        assert resp.getheader("Allow") == "POST"
    assert post(src, event_list(range(3, 6)))[0] == 200
    _wait(lambda: sum(consumer.seen.values()) == 6)
    assert set(consumer.seen.values()) == {1}  # the rejection lost nothing accepted
    assert src.stats.responses[status] == 1 and src.stats.rejected == 1


def test_events_without_timestamp_are_skipped_not_refused(server: Any) -> None:
    src, consumer = server
    good = simple("get", "pods", "good", "d")
    bad = {k: v for k, v in simple("get", "pods", "bad", "d").items() if k != "stageTimestamp"}
    status, _, _ = post(src, orjson.dumps({"kind": "EventList", "items": [good, bad]}))
    assert status == 200
    _wait(lambda: sum(consumer.seen.values()) == 1)
    assert consumer.seen == Counter({"good": 1})
    assert src.stats.rejected_events == 1


def test_oversized_bodies_get_413(server: Any) -> None:
    src, consumer = server
    big = event_list(range(800))
    assert len(big) > src.config.max_body
    status, text, _ = post(src, big)
    assert status == 413 and b"larger than" in text
    # without a Content-Length (chunked), the limit applies while reading
    host, port = src.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(
        "POST",
        src.config.path,
        body=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
        headers={**JSON, "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    assert conn.getresponse().status == 413
    conn.close()
    assert post(src, event_list(range(5)))[0] == 200
    _wait(lambda: sum(consumer.seen.values()) == 5)
    assert src.stats.responses[413] == 2 and src.stats.events == 5


def test_healthz(server: Any) -> None:
    src, _ = server
    status, body, _ = post(src, b"", method="GET", path="/healthz")
    assert (status, body) == (200, b"ok\n")


# ---------------------------------------------------------------------------
# back-pressure and concurrency
# ---------------------------------------------------------------------------


def test_full_queue_answers_503_and_loses_nothing(engine: Engine) -> None:
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0))
    queue = EventQueue(max_batches=2)
    src.start(queue)
    try:
        answers = [post(src, event_list(range(i * 10, i * 10 + 10)))[0] for i in range(4)]
        assert answers == [200, 200, 503, 503]
        status, _, resp = post(src, event_list(range(40, 50)))
        assert status == 503 and resp.getheader("Retry-After") == "1"
        assert src.stats.dropped == 30 and src.stats.events == 20
        consumer = Consumer(queue, engine)
        while consumer.drain_once():
            pass
        # kube-apiserver retries the refused batches: each event evaluated exactly once
        for i in (2, 3, 4):
            assert post(src, event_list(range(i * 10, i * 10 + 10)))[0] == 200
            consumer.drain_once()
        assert consumer.seen == Counter({f"p-{i}": 1 for i in range(50)})
    finally:
        src.stop(5)


def post_with_retries(
    src: K8sAuditWebhookSource, posters: int, batches: int, per_batch: int
) -> list[str]:
    """``posters`` keep-alive connections each post ``batches`` EventLists of ``per_batch``
    events (ids numbered across all of them), retrying on 503 as kube-apiserver does.

    Returns the unexpected answers (none expected)."""
    errors: list[str] = []

    def poster(k: int) -> None:
        conn = http.client.HTTPConnection(*src.address, timeout=30)
        try:
            for b in range(batches):
                start = (k * batches + b) * per_batch
                body = event_list(range(start, start + per_batch))
                while True:
                    conn.request("POST", "/k8s-audit", body=body, headers=JSON)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 200:
                        break
                    if resp.status != 503 or resp.getheader("Retry-After") != "1":
                        errors.append(f"status {resp.status}")
                        return
                    time.sleep(0.001)
        finally:
            conn.close()

    threads = [threading.Thread(target=poster, args=(k,)) for k in range(posters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_posters_with_retries(engine: Engine) -> None:
    """Many posters retrying on 503, as kube-apiserver does: every event exactly once."""
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0))
    queue = EventQueue(max_batches=4)
    src.start(queue)
    consumer = Consumer(queue, engine).start()
    posters, batches, per_batch = 8, 25, 20
    errors = post_with_retries(src, posters, batches, per_batch)
    src.stop(5)
    consumer.stop()
    total = posters * batches * per_batch
    assert errors == []
    assert len(consumer.seen) == total and set(consumer.seen.values()) == {1}
    assert src.stats.events == total == engine.stats.events - _before(engine, total)
    assert src.stats.responses[200] == posters * batches
    assert src.stats.dropped == src.stats.responses[503] * per_batch


def test_inline_evaluation_behind_answers_503_and_loses_nothing() -> None:
    """Inline mode: a slow evaluation holds requests back; beyond the bound they get 503."""
    seen: Counter[str] = Counter()

    def evaluate(batch: Any) -> None:
        time.sleep(0.05)  # holds the server's loop, as a slow evaluation would
        seen.update(ev.fields["ka.target.name"] for ev in batch)

    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0, max_in_progress=2))
    src.start_inline(evaluate)
    posters, batches, per_batch = 6, 5, 4
    errors = post_with_retries(src, posters, batches, per_batch)
    src.stop(5)
    total = posters * batches * per_batch
    assert errors == []
    assert seen == Counter({f"p-{i}": 1 for i in range(total)})
    assert src.stats.responses[200] == posters * batches and src.stats.events == total
    assert src.stats.responses[503] > 0


def _before(engine: Engine, total: int) -> int:
    """Events the shared engine evaluated before this test (other tests use it too)."""
    return engine.stats.events - total


def test_a_failing_evaluation_does_not_stop_the_server(caplog: pytest.LogCaptureFixture) -> None:
    """Inline mode: the batch was answered 200 already; the error is logged, the next runs."""
    seen: list[str] = []

    def evaluate(batch: Any) -> None:
        names = [ev.fields["ka.target.name"] for ev in batch]
        if "boom-0" in names:
            raise RuntimeError("an embedder's evaluation failed")
        seen.extend(names)

    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0))
    src.start_inline(evaluate)
    try:
        assert post(src, event_list([0], prefix="boom"))[0] == 200
        assert post(src, event_list([1, 2]))[0] == 200
    finally:
        src.stop(5)
    assert seen == ["p-1", "p-2"]
    assert "evaluating a batch of 1 events failed" in caplog.text


# ---------------------------------------------------------------------------
# stopping
# ---------------------------------------------------------------------------


def test_stop_finishes_requests_in_progress(engine: Engine) -> None:
    """A request whose body is still arriving when stop() is called is completed and queued."""
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0, shutdown_timeout=10))
    queue = EventQueue()
    src.start(queue)
    body = event_list(range(100), prefix="slow")
    sock = socket.create_connection(src.address, timeout=10)
    head = (
        f"POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:1000])
    _wait(lambda: src.stats.requests == 1)
    stopper = threading.Thread(target=src.stop, args=(10,))
    stopper.start()
    time.sleep(0.3)
    with pytest.raises(OSError):  # no longer listening
        socket.create_connection(src.address, timeout=1).close()
    sock.sendall(body[1000:])
    reply = sock.recv(1000)
    sock.close()
    stopper.join()
    assert reply.startswith(b"HTTP/1.1 200")
    consumer = Consumer(queue, engine)
    while consumer.drain_once():
        pass
    assert consumer.seen == Counter({f"slow-{i}": 1 for i in range(100)})


@needs_upstream
def test_the_agent_evaluates_each_accepted_batch_once_before_stop_returns() -> None:
    """Through the agent (evaluation on the server's thread): nothing lost, nothing twice."""
    cfg = load_config(options=[f"rules_files=[{K8S_RULES}]", "stdout_output.enabled=false"])
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0))
    sink = MemorySink()
    agent = Agent(cfg, sources=[src], sinks=[sink])
    agent.start()
    try:
        for i in range(10):
            assert post(src, event_list(range(i * 10, i * 10 + 10)))[0] == 200
    finally:
        assert agent.stop(10) is ExitStatus.OK
    names = Counter(a.output_fields["ka.target.name"] for a in sink.alerts)
    assert names == Counter({f"p-{i}": 1 for i in range(100)})
    assert src.stats.events == 100 and src.stats.responses[200] == 10


# ---------------------------------------------------------------------------
# TLS, client certificates, bearer tokens
# ---------------------------------------------------------------------------


def test_tls(pki: Pki, engine: Engine) -> None:
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0, tls_cert=str(pki.combined)))
    queue = EventQueue()
    src.start(queue)
    try:
        assert src.url.startswith("https://127.0.0.1:")
        assert post(src, event_list(range(7)), context=client_context(pki))[0] == 200
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            post(src, event_list(range(7, 9)))  # plain HTTP to a TLS port
    finally:
        src.stop(5)
    consumer = Consumer(queue, engine)
    while consumer.drain_once():
        pass
    assert consumer.seen == Counter({f"p-{i}": 1 for i in range(7)})


def test_client_certificates_are_required(pki: Pki, engine: Engine) -> None:
    src = K8sAuditWebhookSource(
        WebhookConfig(
            host="127.0.0.1",
            port=0,
            tls_cert=str(pki.server_cert),
            tls_key=str(pki.server_key),
            client_ca=str(pki.ca),
        )
    )
    queue = EventQueue()
    src.start(queue)
    try:
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            post(src, event_list(range(3)), context=client_context(pki))
        assert (
            post(src, event_list(range(3)), context=client_context(pki, with_cert=True))[0] == 200
        )
    finally:
        src.stop(5)
    assert queue.depth() == 1 and src.stats.events == 3


def test_bearer_token(engine: Engine) -> None:
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0, bearer_token="s3cret"))
    queue = EventQueue()
    src.start(queue)
    try:
        assert post(src, event_list(range(2)))[0] == 401
        assert post(src, event_list(range(2)), {**JSON, "Authorization": "Bearer wrong"})[0] == 401
        assert post(src, event_list(range(2)), {**JSON, "Authorization": "Bearer s3cret"})[0] == 200
    finally:
        src.stop(5)
    assert src.stats.responses == Counter({401: 2, 200: 1}) and src.stats.events == 2


def test_bad_tls_files_fail_early(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TLS"):
        K8sAuditWebhookSource(WebhookConfig(tls_cert=str(tmp_path / "missing.pem")))
    with pytest.raises(ConfigError, match="client_ca needs tls_cert"):
        K8sAuditWebhookSource(WebhookConfig(client_ca=str(tmp_path / "ca.pem")))


def test_no_host_listens_on_ipv4_and_ipv6(engine: Engine) -> None:
    """``:PORT`` (Falco's default ``:9765``) is every interface, both address families."""
    src = K8sAuditWebhookSource(WebhookConfig(host="", port=0))
    queue = EventQueue()
    src.start(queue)
    try:
        port = src.address[1]
        hosts = ["127.0.0.1"]
        if socket.has_ipv6 and _has_ipv6_loopback():
            hosts.append("::1")
        for i, host in enumerate(hosts):
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("POST", "/k8s-audit", body=event_list([i]), headers=JSON)
            assert conn.getresponse().status == 200
            conn.close()
        assert src.stats.events == len(hosts)
    finally:
        src.stop(5)


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_a_busy_port_fails_start() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=s.getsockname()[1]))
        with pytest.raises(OSError):
            src.start(EventQueue())


# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":9765", ("", 9765)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("[::1]:0", ("::1", 0)),
        ("localhost:65535", ("localhost", 65535)),
    ],
)
def test_parse_addr(text: str, expected: tuple[str, int]) -> None:
    assert parse_addr(text) == expected


@pytest.mark.parametrize("text", ["9765", "host:port", ":70000", ""])
def test_bad_addr(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_addr(text)


def test_settings_from_the_agent_config(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("abc\n")
    cfg = WebhookConfig.from_settings(
        {
            "open_params": "http://127.0.0.1:9000/audit",
            "webhookMaxBatchSize": 1024,
            "bearer_token_file": str(token),
        }
    )
    assert (cfg.host, cfg.port, cfg.path, cfg.max_body, cfg.bearer_token) == (
        "127.0.0.1",
        9000,
        "/audit",
        1024,
        "abc",
    )
    assert WebhookConfig.from_settings({}).port == 9765
    assert WebhookConfig.from_settings({"open_params": "http://:9765/k8s-audit"}).host == ""
    for bad in (
        {"nope": 1},
        {"open_params": "file:///var/log/audit.log"},
        {"open_params": "https://:9765/k8s-audit"},
        {"listen": "x"},
    ):
        with pytest.raises(ConfigError):
            WebhookConfig.from_settings(bad)
    src = K8sAuditWebhookSource.from_config({"listen": "127.0.0.1:0"})
    assert src.name == "k8s_audit"


# ---------------------------------------------------------------------------
# `secengine run --source k8s_audit`, stopped by SIGTERM
# ---------------------------------------------------------------------------


@needs_upstream
def test_secengine_run_drains_on_sigterm() -> None:
    """SIGTERM while alerts back up in a full stdout pipe and a batch is still arriving."""
    proc = subprocess.Popen(
        [
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
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TZ": "UTC"},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/k8s-audit", line)
        assert m, line
        port = int(m.group(1))
        statuses = []
        for i in range(20):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "POST", "/k8s-audit", body=event_list(range(i * 50, i * 50 + 50)), headers=JSON
            )
            statuses.append(conn.getresponse().status)
            conn.close()
        # one more batch still arriving when SIGTERM comes: it must be completed
        body = event_list(range(1000, 1050))
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(
            (
                f"POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body[:500]
        )
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(body[500:])
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
        sock.close()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert statuses == [200] * 20
    alerts = [json.loads(line) for line in out.decode().splitlines()]
    names = Counter(a["output_fields"]["ka.target.name"] for a in alerts)
    assert names == Counter({f"p-{i}": 1 for i in [*range(1000), *range(1000, 1050)]})
    assert {a["rule"] for a in alerts} == {"Disallowed K8s User"}
    assert alerts[0]["source"] == "k8s_audit"
    assert b"1050 events, 1050 alerts" in err
    assert b"k8s_audit webhook: 21 requests, 1050 events accepted, 0 refused with 503" in err


def _wait(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@needs_upstream
def test_secengine_run_source_k8s_audit() -> None:
    """The CLI wiring: ``secengine run --source k8s_audit`` serves, evaluates, stops cleanly."""
    proc = subprocess.Popen(
        [
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
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TZ": "UTC"},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        m = re.search(r"listening on (http://127\.0\.0\.1:(\d+)/k8s-audit)", line)
        assert m, line
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(2)), timeout=10)
        conn.request("POST", "/k8s-audit", body=event_list(range(3)), headers=JSON)
        assert conn.getresponse().status == 200
        conn.close()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert out.decode().count("K8s Operation performed by user not in allowed list") == 3
