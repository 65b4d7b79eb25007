"""Engine failures: counted by reason, one log line per outage, a back-off for engines that
want one; the Docker-compatible API engine's failures on a missing socket and an erroring one."""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from secengine.state.containers import ContainerInfo, DockerApiEngine
from secengine.state.containers.health import EngineHealth

ID = "c0" * 32


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="i14cri", dir="/tmp") as d:
        yield Path(d)


def _info() -> ContainerInfo:
    return ContainerInfo(id=ID[:12], full_id=ID)


def _http_server(path: str, status: str) -> socket.socket:
    """A unix socket answering every request with ``status`` and an empty JSON body."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(
                    f"HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}".encode()
                )

    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_one_warning_per_outage_and_one_line_when_it_answers_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = EngineHealth("cri", "/run/x.sock")
    caplog.set_level(logging.INFO, logger="secengine.containers")
    for _ in range(3):
        health.failed("unavailable", "connection refused")
    health.answered()
    health.answered()
    health.failed("deadline_exceeded", "slow")
    assert health.errors == {"unavailable": 3, "deadline_exceeded": 1}
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "INFO", "WARNING"]
    assert "/run/x.sock" in lines[0][1] and "unavailable" in lines[0][1]
    assert "answers again" in lines[1][1]


def test_the_back_off_doubles_up_to_its_bound() -> None:
    health = EngineHealth("cri", "/run/x.sock", backoff=0.05, max_backoff=0.1)
    assert not health.resting()
    health.failed("unavailable", "down")
    assert health.resting()
    time.sleep(0.06)
    assert not health.resting()
    health.failed("unavailable", "down")  # 0.1
    time.sleep(0.06)
    assert health.resting()
    health.answered()
    assert not health.resting()


def test_the_docker_api_engine_counts_a_missing_socket(
    sock_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = DockerApiEngine(str(sock_dir / "docker.sock"))
    caplog.set_level(logging.WARNING, logger="secengine.containers")
    assert engine.enrich(_info()) is False
    assert engine.enrich(_info()) is False
    assert engine.errors == {"missing": 2}
    assert len(caplog.records) == 1 and "docker.sock" in caplog.records[0].getMessage()


def test_the_docker_api_engine_counts_errors_not_unknown_containers(sock_dir: Path) -> None:
    failing = _http_server(str(sock_dir / "failing.sock"), "500 Internal Server Error")
    unknown = _http_server(str(sock_dir / "podman.sock"), "404 Not Found")
    try:
        engine = DockerApiEngine(str(sock_dir / "failing.sock"))
        assert engine.enrich(_info()) is False
        assert engine.errors == {"http_500": 1}
        other = DockerApiEngine(str(sock_dir / "podman.sock"))
        assert other.name == "podman"
        assert other.enrich(_info()) is False
        assert other.errors == {}
    finally:
        failing.close()
        unknown.close()
