"""A real Docker container (Debian's dockerd, private to the test): its events carry
``container.type=docker``, the container's name and image, from its first process on.

Two ways in, each tested alone: dockerd's files (``config.v2.json`` and
``hostconfig.json`` under its data-root, read synchronously at the
container's first event) and the Docker Engine API on its socket (asked on
the resolver's worker thread, so later events have it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from docker_support import DockerDaemon, unavailable_reason

from secengine.state.containers import DockerApiEngine
from secengine.state.containers.files import DockerFiles

pytestmark = pytest.mark.bpf

FIELDS = (
    "container.id",
    "container.full_id",
    "container.type",
    "container.name",
    "container.image",
    "container.image.repository",
    "container.image.tag",
    "container.privileged",
    "container.host_pid",
    "proc.name",
    "proc.exepath",
    "fd.name",
)


@pytest.fixture(scope="module")
def docker(source: Any) -> Iterator[DockerDaemon]:
    """A private dockerd with the test image loaded."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    daemon = DockerDaemon(prefix="i14-ship-docker-")
    try:
        daemon.load_test_image()
        yield daemon
    finally:
        daemon.close()


@pytest.fixture
def wired(source: Any) -> Iterator[Any]:
    """The source's resolver, its readers and engines restored after the test."""
    resolver = source.tracker.containers
    saved = resolver.readers, resolver.engines
    yield resolver
    resolver.readers, resolver.engines = saved


def _run(source: Any, live: Any, docker: DockerDaemon, name: str, host_pid: bool) -> Any:
    result: dict[str, Any] = {}
    extra = ("--pid=host",) if host_pid else ()

    def action() -> None:
        result["run"] = docker.run(
            name, "sh", "-c", "sleep 1; cat /etc/data.txt; id -u", extra=extra
        )

    snaps, _ = live.collect(
        source, action, FIELDS, where=lambda f: f["container.id"] != "host", settle=1.5
    )
    run = result["run"]
    assert run.returncode == 0 and "hello from the image" in run.stdout, run
    execs = [s for s in snaps if s.type == "execve" and s["proc.name"] == "sh"]
    assert execs, sorted({(s.type, s["proc.name"]) for s in snaps})
    opens = [s for s in snaps if s.type == "openat" and s["fd.name"] == "/etc/data.txt"]
    assert opens, sorted({(s.type, s["proc.name"]) for s in snaps})
    return execs[0], opens[-1]


def _assert_metadata(snap: Any, docker: DockerDaemon, name: str, host_pid: bool) -> None:
    assert len(snap["container.id"]) == 12
    assert snap["container.full_id"].startswith(snap["container.id"])
    assert snap["container.type"] == "docker"
    assert snap["container.name"] == name
    assert snap["container.image"] == docker.image
    assert snap["container.image.repository"] == "localhost/secengine-test-busybox"
    assert snap["container.image.tag"] == docker.image.rsplit(":", 1)[1]
    assert snap["container.privileged"] is False
    assert snap["container.host_pid"] is host_pid  # hostconfig.json's PidMode


def test_a_docker_containers_first_process_has_its_metadata_from_dockerds_files(
    source, live, docker, wired
) -> None:
    wired.readers = (DockerFiles(str(docker.data_root)),)
    wired.engines = ()  # no API: the files alone
    name = "i14-ship-docker-files"
    first, later = _run(source, live, docker, name, host_pid=True)
    assert first["proc.exepath"] == "/bin/busybox"
    _assert_metadata(first, docker, name, host_pid=True)
    _assert_metadata(later, docker, name, host_pid=True)


def test_the_docker_engine_api_gives_the_metadata_of_later_events(
    source, live, docker, wired
) -> None:
    wired.readers = ()  # no files: the Docker Engine API alone, asked in the background
    wired.engines = (DockerApiEngine(docker.socket),)
    name = "i14-ship-docker-api"
    first, later = _run(source, live, docker, name, host_pid=False)
    assert first["container.full_id"] == later["container.full_id"]
    _assert_metadata(later, docker, name, host_pid=False)
