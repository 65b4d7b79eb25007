"""A real podman container: its events carry the container's id, name and image."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.bpf


def test_container_fields_on_events_of_a_podman_container(source, live, podman) -> None:
    name = "secengine-test-fields"
    result: dict[str, str] = {}

    def action() -> None:
        r = podman.run(name, "sh", "-c", "sleep 1; cat /etc/passwd > /dev/null; id -u")
        result["out"] = r.stdout + r.stderr

    snaps, _ = live.collect(
        source,
        action,
        [
            "container.id",
            "container.full_id",
            "container.name",
            "container.image.repository",
            "container.image",
            "container.privileged",
            "proc.name",
            "fd.name",
            "proc.exepath",
            "user.name",
            "proc.pname",
            "proc.cmdline",
            "container.type",
        ],
        where=lambda f: f["container.id"] != "host",
        settle=1.5,
    )
    assert "0" in result["out"], result
    assert snaps, "no event from the container"
    # the entrypoint's exec: id and process fields come from the kernel at once
    # (this container's: other containers may run meanwhile; its name is known from its
    # first event on)
    execs = [
        s
        for s in snaps
        if s.type == "execve" and s["proc.name"] == "sh" and s["container.name"] == name
    ]
    assert execs, sorted({(s.type, s["proc.name"]) for s in snaps})
    e = execs[0]
    assert len(e["container.id"]) == 12 and e["container.full_id"].startswith(e["container.id"])
    assert e["proc.exepath"] == "/bin/busybox"
    assert e["proc.cmdline"] == "sh -c sleep 1; cat /etc/passwd > /dev/null; id -u"
    assert e["user.name"] == "root"
    # the runtime's files are read at the container's first event: the entrypoint's exec
    # already has the metadata (docs/containers.md); the API only adds to it later
    assert e["container.name"] == name and e["container.type"] == "podman"
    assert e["container.privileged"] is False
    opens = [
        x
        for x in snaps
        if x.type == "openat" and x["fd.name"] == "/etc/passwd" and x["container.name"] == name
    ]
    assert opens, sorted({(s.type, s["proc.name"]) for s in snaps})
    o = opens[-1]
    assert o["container.id"] == e["container.id"]
    assert o["container.name"] == name
    assert o["container.image.repository"] == podman.IMAGE_REPOSITORY
    assert o["container.image"].startswith(podman.IMAGE_REPOSITORY)
    assert o["container.privileged"] is False
    assert o["container.type"] == "podman"
