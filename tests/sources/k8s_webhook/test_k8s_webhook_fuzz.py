"""Fuzzing the k8s audit webhook over a real loopback socket.

Random and malformed HTTP requests (methods, paths, versions, headers,
lengths that lie, chunked framing, bodies of any bytes or mutated audit
payloads) go to a real webhook evaluating the shipped rules inline. Property
(docs/fuzzing.md): every request is answered 200 (a valid batch) or 4xx,
never 5xx and never left hanging, the server keeps serving (``/healthz``
after each request), and its memory does not grow with the number of
requests.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator

import orjson
import pytest
from fuzzing import JSON_VALUES, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from k8s_audit_cases import simple

from secengine.engine import Engine
from secengine.ruleset.paths import default_rules_files
from secengine.sources.k8s_webhook import K8sAuditWebhookSource, WebhookConfig
from secengine.sources.specs import load_rules

pytestmark = pytest.mark.fuzz

TOKEN = "fuzz-token"
PATH = "/k8s-audit"
_STATUS = re.compile(rb"\AHTTP/1\.[01] (\d{3})[ \r]")


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[K8sAuditWebhookSource, int]]:
    """The webhook, and this process's resident size once it serves."""
    rs = load_rules([str(p) for p in default_rules_files()])
    engine = Engine(rs)
    src = K8sAuditWebhookSource(
        WebhookConfig(
            host="127.0.0.1",
            port=0,
            max_body=64 * 1024,
            bearer_token=TOKEN,
            max_event_size=8 * 1024,
        )
    )
    src.start_inline(engine.process_batch)
    _healthy(src.address)
    yield src, _rss()
    src.stop(5)


#: How much the process (granian's Rust side included) may grow over a whole run.
RSS_GROWTH = 256 << 20


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _exchange(addr: tuple[str, int], request: bytes, wait: float = 5.0) -> bytes | None:
    """Send ``request`` and read one answer; None when none came within ``wait`` seconds.

    The socket is not half-closed: hyper (granian's HTTP layer) drops a
    connection whose client half-closes, and kube-apiserver does not do it.
    """
    with socket.create_connection(addr, timeout=wait) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything: read the answer
        data = b""
        try:
            while True:
                head, sep, body = data.partition(b"\r\n\r\n")
                if sep:
                    m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
                    if m is None or len(body) >= int(m.group(1)):
                        return data
                chunk = sock.recv(65536)
                if not chunk:
                    return data
                data += chunk
        except ConnectionResetError:
            return data
        except TimeoutError:
            return data or None


def _status(answer: bytes) -> int | None:
    m = _STATUS.match(answer)
    return int(m.group(1)) if m else None


def _healthy(addr: tuple[str, int]) -> None:
    answer = _exchange(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer is not None and _status(answer) == 200, answer


TOKENS = st.sampled_from(
    [b"POST", b"GET", b"PUT", b"HEAD", b"OPTIONS", b"DELETE", b"P\x00ST", b"", b" ", b"\xff\xfe"]
) | st.binary(min_size=1, max_size=8)
PATHS = st.sampled_from(
    [
        PATH.encode(),
        b"/healthz",
        b"/",
        b"*",
        PATH.encode() + b"?x=1",
        b"//k8s-audit",
        b"/k8s-audit/../k8s-audit",
        b"/%00",
        b"x" * 3000,
    ]
)
VERSIONS = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.1x", b""])
HEADER_NAMES = st.sampled_from(
    [
        b"Content-Type",
        b"Content-Length",
        b"Authorization",
        b"Transfer-Encoding",
        b"Connection",
        b"Expect",
        b"Host",
        b"Content-Encoding",
        b"X-\xff",
        b"Bad Name",
        b"",
    ]
)
HEADER_VALUES = st.sampled_from(
    [
        b"application/json",
        b"text/plain",
        b"Bearer " + TOKEN.encode(),
        b"Bearer wrong",
        b"chunked",
        b"gzip",
        b"close",
        b"keep-alive",
        b"100-continue",
        b"-1",
        b"0",
        b"99999999999999999999",
        b"12",
        b"1e3",
        b"\x00",
        b"a\r\nInjected: 1",
        b"x" * 9000,
    ]
) | st.binary(max_size=20)
BODIES = (
    st.binary(max_size=300)
    | st.lists(
        st.builds(lambda n: simple("get", "secrets", f"s{n}", "default"), st.integers(0, 9))
        | JSON_VALUES,
        max_size=3,
    ).map(lambda items: orjson.dumps({"kind": "EventList", "items": items}))
    | JSON_VALUES.map(orjson.dumps)
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A request that is mostly right (so it reaches the handler) or any way wrong, and
    whether it is complete (else the server may rightly wait for the rest)."""
    body = draw(BODIES)
    headers: list[tuple[bytes, bytes]] = []
    if draw(st.booleans()):
        headers.append((b"Host", b"127.0.0.1"))
    if draw(st.integers(0, 3)):
        headers.append((b"Content-Type", b"application/json"))
    if draw(st.integers(0, 3)):
        headers.append((b"Authorization", b"Bearer " + TOKEN.encode()))
    framing = draw(st.sampled_from(["length", "chunked", "lying", "none"]))
    complete = framing == "length"
    if framing == "length":
        headers.append((b"Content-Length", str(len(body)).encode()))
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", b"chunked"))
        cut = draw(st.integers(0, len(body)))
        parts = [body[:cut], body[cut:]]
        end = draw(st.sampled_from([b"0\r\n\r\n", b"", b"zz\r\n", b"0\r\nTrailer: x\r\n\r\n"]))
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + end
        complete = end.startswith(b"0\r\n")
    elif framing == "lying":
        headers.append(
            (b"Content-Length", str(max(0, len(body) + draw(st.integers(-20, 20)))).encode())
        )
    extra = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4))
    if any(k.lower() in (b"content-length", b"transfer-encoding", b"expect") for k, _ in extra):
        complete = False
    headers = draw(st.permutations(headers + extra))
    line = b" ".join([draw(st.just(b"POST") | TOKENS), draw(PATHS), draw(VERSIONS)])
    head = line + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"
    if draw(st.integers(0, 9)) == 0:  # raw junk instead of HTTP
        return draw(st.binary(max_size=400)), False
    return head + body, complete


@fuzz_settings(short=150)
@given(requests())
def test_any_request_is_answered_and_the_server_keeps_serving(
    webhook: tuple[K8sAuditWebhookSource, int], case: tuple[bytes, bool]
) -> None:
    request, complete = case
    src, baseline_rss = webhook
    addr = src.address
    answer = _exchange(addr, request, wait=5.0 if complete else 0.5)
    if not answer:  # no answer (None: not within the wait), or the connection closed
        assert not complete, f"no answer ({answer!r}) to {request[:300]!r}"
    else:
        status = _status(answer)
        assert status is not None, answer[:300]
        # 5xx only for "retry later" (503) and a protocol version it does not speak (505)
        assert status < 500 or status in (503, 505), (request[:300], answer[:300])
    _healthy(addr)
    assert _rss() - baseline_rss < RSS_GROWTH
