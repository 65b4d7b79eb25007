"""The http sink against a real loopback receiver: exact Falco JSON, retries, hangs, TLS."""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from secengine.output import AlertFormatter
from secengine.sinks.http import HttpSink
from secengine.sinks.memory import MemorySink
from secengine.sinks.render import AlertRenderer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_posts_falcos_exact_json(receiver: Any, alert: Any) -> None:
    with HttpSink(receiver.url, headers={"X-Token": "secret"}) as sink:
        sink.submit(alert(0))
        assert receiver.wait_for(1)
    assert receiver.bodies == [
        (
            b'{"hostname":"test-host","output":"16:17:57.882054739: Warning An open was seen '
            b'(command=cat /dev/null n=0)","output_fields":{"evt.time":1470327477882054739,"n":0,'
            b'"proc.cmdline":"cat /dev/null"},"priority":"Warning","rule":"open_from_cat",'
            b'"source":"syscall","tags":["filesystem","process"],"time":"2016-08-04T16:17:57.882054739Z"}'
        )
    ]
    headers = receiver.headers[0]
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "falcosecurity/falco"
    assert headers["X-Token"] == "secret"
    assert sink.stats.delivered == 1 and sink.stats.retries == 0


def test_text_body_and_gzip_when_asked(receiver: Any, alert: Any) -> None:
    renderer = AlertRenderer(AlertFormatter(), json_output=False)
    with HttpSink(receiver.url, renderer=renderer, compress_uploads=True, keep_alive=True) as sink:
        sink.submit(alert(0))
        sink.submit(alert(1))
        assert receiver.wait_for(2)
    assert [gzip.decompress(b) for b in receiver.bodies] == [
        alert(0).output.encode(),
        alert(1).output.encode(),
    ]
    assert receiver.headers[0]["Content-Type"] == "text/plain"
    assert receiver.headers[0]["Content-Encoding"] == "gzip"


def test_receiver_down_then_up_loses_nothing(receiver_on: Any, alert: Any) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    sink = HttpSink(url, retry_backoff=0.05, retry_backoff_max=0.2, queue_capacity=100)
    sink.start()
    for i in range(20):
        assert sink.submit(alert(i))
    time.sleep(0.5)  # connection refused meanwhile: retried with backoff
    assert sink.stats.retries > 0 and sink.stats.delivered == 0
    up = receiver_on(port)
    assert up.wait_for(20)
    assert sink.stop(timeout=5)
    assert [b.count(b'"n":%d,' % i) for i, b in enumerate(up.bodies)] == [1] * 20
    assert sink.stats.delivered == 20
    assert sink.stats.dropped == 0 and sink.stats.failed == 0


def test_server_errors_are_retried_and_client_errors_are_not(receiver: Any, alert: Any) -> None:
    receiver.statuses = [503, 500, 400]
    with HttpSink(receiver.url, retry_backoff=0.01) as sink:
        sink.submit(alert(0))  # 503, 500, then 400: failed for good
        sink.submit(alert(1))
        assert receiver.wait_for(1)
    assert sink.stats.retries == 2 and sink.stats.failed == 1 and sink.stats.delivered == 1
    assert b'"n":1,' in receiver.bodies[0]


def test_max_retries_bounds_the_attempts(alert: Any) -> None:
    sink = HttpSink(f"http://127.0.0.1:{_free_port()}/", max_retries=2, retry_backoff=0.01)
    with sink:
        sink.submit(alert(0))
    assert sink.stats.retries == 2 and sink.stats.failed == 1


def test_hanging_receiver_does_not_stall_other_sinks(receiver: Any, alert: Any) -> None:
    receiver.hang.set()
    http = HttpSink(receiver.url, timeout=0.2, max_consecutive_timeouts=0, queue_capacity=2)
    memory = MemorySink()
    http.start()
    memory.start()
    started = time.monotonic()
    for i in range(30):
        http.submit(alert(i))
        memory.submit(alert(i))
    assert memory.wait_for(30, timeout=2)
    assert time.monotonic() - started < 2
    assert http.stats.dropped >= 25  # the queue holds 2; the rest were dropped and counted
    memory.stop()
    http.stop(timeout=1)
    assert http.stats.delivered == 0
    assert http.stats.failed + http.stats.dropped == 30


def test_bad_url_is_refused() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        HttpSink("ftp://example/")
    assert HttpSink('"http://127.0.0.1:1/x"').url == "http://127.0.0.1:1/x"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: Any) -> Path:
    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "key.pem", d / "cert.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
        )
    except FileNotFoundError:
        pytest.fail("the openssl command is needed to make a test certificate")
    (d / "both.pem").write_bytes(cert.read_bytes() + key.read_bytes())
    return d


def test_https_with_a_ca_file_and_insecure(certificate: Path, alert: Any) -> None:
    bodies: list[bytes] = []
    got = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()
            got.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/"
    try:
        with HttpSink(url, ca_cert=str(certificate / "cert.pem")) as sink:
            sink.submit(alert(0))
            assert got.wait(5)
        got.clear()
        with HttpSink(url, insecure=True) as sink:
            sink.submit(alert(1))
            assert got.wait(5)
        with HttpSink(url, max_retries=0) as untrusting:  # self-signed: verification fails
            untrusting.submit(alert(2))
        assert untrusting.stats.failed == 1
    finally:
        server.shutdown()
        server.server_close()
    assert len(bodies) == 2
