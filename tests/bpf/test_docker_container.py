"""A real Docker container (Debian's dockerd, private to the test): its events carry
``container.type=docker``, the container's name and image."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from docker_support import DockerDaemon, unavailable_reason

pytestmark = pytest.mark.bpf


@pytest.fixture(scope="module")
def docker(source: Any) -> Iterator[DockerDaemon]:
    """A private dockerd with the test image, its API socket given to the source's resolver."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    daemon = DockerDaemon(prefix="i14-ship-docker-")
    resolver = source.tracker.containers
    saved = resolver.sockets
    try:
        daemon.load_test_image()
        resolver.sockets = (daemon.socket,)
        yield daemon
    finally:
        resolver.sockets = saved
        daemon.close()


def test_docker_container_events_carry_type_name_and_image(source, live, docker) -> None:
    name = "i14-ship-docker-fields"
    result: dict[str, Any] = {}

    def action() -> None:
        result["run"] = docker.run(name, "sh", "-c", "sleep 1; cat /etc/data.txt; id -u")

    snaps, _ = live.collect(
        source,
        action,
        [
            "container.id",
            "container.full_id",
            "container.type",
            "container.name",
            "container.image",
            "container.image.repository",
            "container.image.tag",
            "container.privileged",
            "proc.name",
            "proc.exepath",
            "fd.name",
        ],
        where=lambda f: f["container.id"] != "host",
        settle=1.5,
    )
    run = result["run"]
    assert run.returncode == 0 and "hello from the image" in run.stdout, run
    execs = [s for s in snaps if s.type == "execve" and s["proc.name"] == "sh"]
    assert execs, sorted({(s.type, s["proc.name"]) for s in snaps})
    first = execs[0]
    # the id comes from the cgroup path dockerd gave the container (/docker/<id>)
    assert len(first["container.id"]) == 12
    assert first["container.full_id"].startswith(first["container.id"])
    assert first["proc.exepath"] == "/bin/busybox"
    # name and image come from the Docker Engine API (GET /containers/<id>/json) on the
    # daemon's socket, asked in the background: a second later they are there
    opens = [s for s in snaps if s.type == "openat" and s["fd.name"] == "/etc/data.txt"]
    assert opens, sorted({(s.type, s["proc.name"]) for s in snaps})
    later = opens[-1]
    assert later["container.full_id"] == first["container.full_id"]
    assert later["container.type"] == "docker"
    assert later["container.name"] == name
    assert later["container.image"] == docker.image
    assert later["container.image.repository"] == "localhost/secengine-test-busybox"
    assert later["container.image.tag"] == docker.image.rsplit(":", 1)[1]
    assert later["container.privileged"] is False
