"""Every container and pod field, on a container's first exec, from its runtime's files alone.

A record of the probe (an exec whose cgroup names the container) goes
through the state tracker; the fields are read as a rule would read them.
No runtime API is configured: whatever a field shows came from the files.
"""

from __future__ import annotations

from typing import Any

import pytest
from probe_records import exec_rec, exit_rec, fields
from runtime_fixtures import (
    CRIO_APP,
    CRIO_SANDBOX,
    CTD_APP,
    CTD_SANDBOX,
    DOCKER_ID,
    PODMAN_ID,
    Roots,
)

from secengine.events import MISSING
from secengine.state.tracker import StateTracker

INIT_START = 1_796_000_000_000_000_000

CGROUPS = {
    PODMAN_ID: f"/libpod_parent/libpod-{PODMAN_ID}",
    CTD_APP: f"/kubepods/besteffort/pod3e41dc6b-08a8-44db-bc2a-3724b18ab19a/{CTD_APP}",
    CTD_SANDBOX: f"/kubepods/besteffort/pod3e41dc6b-08a8-44db-bc2a-3724b18ab19a/{CTD_SANDBOX}",
    CRIO_APP: f"/kubepods.slice/kubepods-pod9b2c3d4e.slice/crio-{CRIO_APP}.scope",
    CRIO_SANDBOX: f"/kubepods.slice/kubepods-pod9b2c3d4e.slice/crio-{CRIO_SANDBOX}.scope",
    DOCKER_ID: f"/system.slice/docker-{DOCKER_ID}.scope",
}


def _first_exec(roots: Roots, cid: str, pid: int = 700, argv: list[str] | None = None) -> Any:
    tracker = StateTracker(boot_ns=0, containers=roots.resolver())
    return tracker, fields(
        tracker,
        exec_rec(
            pid,
            1,
            argv or ["/bin/sh", "-c", "true"],
            cgroup=CGROUPS[cid],
            vpid=1,
            pidns_init_start=INIT_START,
        ),
    )


def test_podman_container_fields(roots: Roots) -> None:
    _, f = _first_exec(roots, PODMAN_ID)
    assert f["container.id"] == PODMAN_ID[:12] and f["container.full_id"] == PODMAN_ID
    assert (f["container.name"], f["container.type"]) == ("i14-files-fx", "podman")
    assert f["container.image"] == "localhost/secengine-test-busybox:v2"
    assert f["container.image.repository"] == "localhost/secengine-test-busybox"
    assert f["container.image.tag"] == "v2"
    assert f["container.image.digest"] == ""  # only the API knows it
    assert f["container.privileged"] is True
    assert (f["container.host_pid"], f["container.host_network"], f["container.host_ipc"]) == (
        False,
        False,
        False,
    )
    assert f["container.mounts"] == "/tmp:/hostdata::false:rprivate"
    assert f["container.mount.dest[/tmp]"] == "/hostdata"
    assert f["container.label[app]"] == "web"
    assert f["container.labels"] == "app:web, tier:front"
    assert f["container.start_ts"] == INIT_START
    assert f["container.duration"] == 0  # the record's time is before the fake init start
    assert f["container.ip"] == ""
    # not in a pod: sandbox ids empty, pod name and labels missing
    assert (f["k8s.pod.sandbox_id"], f["k8s.pod.full_sandbox_id"], f["k8s.pod.labels"]) == (
        "",
        "",
        "",
    )
    for key in ("k8s.pod.name", "k8s.ns.name", "k8s.pod.uid", "k8s.pod.id", "k8s.pod.ip"):
        assert f[key] is MISSING, key
    assert f["k8s.pod.label[app]"] is MISSING


def test_containerd_application_container_has_its_pod_at_the_first_exec(roots: Roots) -> None:
    _, f = _first_exec(roots, CTD_APP)
    assert (f["container.name"], f["container.type"]) == ("nginx", "containerd")
    assert f["container.image.repository"] == "docker.io/library/nginx"
    assert f["container.privileged"] is True
    assert (f["k8s.pod.name"], f["k8s.ns.name"]) == ("web-0", "shop")
    assert f["k8s.pod.uid"] == f["k8s.pod.id"] == "3e41dc6b-08a8-44db-bc2a-3724b18ab19a"
    assert f["k8s.pod.sandbox_id"] == CTD_SANDBOX[:12]
    assert f["k8s.pod.full_sandbox_id"] == CTD_SANDBOX
    assert f["container.label[io.kubernetes.container.name]"] == "nginx"
    assert f["container.labels"] == ""  # kubelet's io.kubernetes.* labels are left out
    assert f["container.mount.source[/data]"].startswith("/var/lib/kubelet/pods/")
    assert f["container.mount.rdwr[/var/lib/kubelet/*]"] == "true"
    assert f["container.mount.propagation[/var/lib/kubelet/*]"] == "rprivate"
    assert f["container.mount[0]"] == "proc:/proc::true:"
    assert f["container.mount[99]"] == "N/A"
    assert f["container.mount.dest[/var/lib/kubelet/pods/*]"] == "/data"


def test_processes_of_the_sandbox_are_the_pod_s(roots: Roots) -> None:
    _, f = _first_exec(roots, CTD_SANDBOX, argv=["/pause"])
    assert f["container.id"] == f["k8s.pod.sandbox_id"] == CTD_SANDBOX[:12]
    assert (f["k8s.pod.name"], f["k8s.ns.name"]) == ("web-0", "shop")
    assert f["container.privileged"] is False


def test_crio_pod_labels_and_ip_reach_the_application_container(roots: Roots) -> None:
    tracker, sandbox = _first_exec(roots, CRIO_SANDBOX, pid=800, argv=["/pause"])
    assert sandbox["k8s.pod.label[app]"] == "api"
    assert sandbox["k8s.pod.ip"] == "10.85.0.14"
    f = fields(
        tracker,
        exec_rec(801, 1, ["/bin/api"], cgroup=CGROUPS[CRIO_APP], vpid=1, pidns_init_start=1),
    )
    assert (f["container.name"], f["container.type"]) == ("api", "cri-o")
    assert f["k8s.pod.name"] == "api-7d4b9-xk2p" and f["k8s.ns.name"] == "prod"
    assert f["k8s.pod.label[app]"] == "api"
    assert f["k8s.pod.labels"] == "app:api, pod-template-hash:7d4b9"
    assert f["k8s.pod.ip"] == "10.85.0.14"
    assert f["k8s.pod.full_sandbox_id"] == CRIO_SANDBOX


def test_docker_container_fields(roots: Roots) -> None:
    _, f = _first_exec(roots, DOCKER_ID)
    assert (f["container.name"], f["container.type"]) == ("edge-proxy", "docker")
    assert f["container.image.id"] == "a8758716bb6a"
    assert f["container.privileged"] is True
    assert (f["container.host_pid"], f["container.host_network"], f["container.host_ipc"]) == (
        True,
        True,
        False,
    )
    assert f["container.ip"] == "172.17.0.2"
    assert f["container.mount.dest[/var/run/docker.sock]"] == "/var/run/docker.sock"
    assert f["container.labels"] == "com.example.team:edge, maintainer:NGINX Docker Maintainers"


def test_host_processes(roots: Roots) -> None:
    tracker = StateTracker(boot_ns=0, containers=roots.resolver())
    f = fields(tracker, exec_rec(900, 1, ["/usr/bin/id"], pidns_init_start=5))
    assert (f["container.id"], f["container.name"], f["container.type"]) == ("host",) * 3
    assert f["container.privileged"] is False and f["container.host_pid"] is False
    assert (f["container.labels"], f["container.ip"]) == ("", "")
    assert (f["k8s.pod.sandbox_id"], f["k8s.pod.full_sandbox_id"], f["k8s.pod.labels"]) == (
        "",
        "",
        "",
    )
    for key in ("k8s.pod.name", "k8s.ns.name", "k8s.pod.uid", "k8s.pod.ip", "k8s.pod.label[a]"):
        assert f[key] is MISSING, key
    assert f["container.start_ts"] == 5


@pytest.mark.parametrize("cid", [CTD_APP, PODMAN_ID])
def test_unknown_metadata_answers_only_the_id(roots: Roots, cid: str) -> None:
    """A container whose files are gone: id and times answer, the rest is missing."""
    import shutil

    shutil.rmtree(roots.base)
    _, f = _first_exec(roots, cid)
    assert f["container.id"] == cid[:12] and f["container.start_ts"] == INIT_START
    for key in ("container.name", "container.privileged", "container.labels", "k8s.pod.name"):
        assert f[key] is MISSING, key


def test_the_entry_is_dropped_when_the_container_s_init_exits(roots: Roots) -> None:
    tracker, f = _first_exec(roots, PODMAN_ID)
    assert f["container.name"] == "i14-files-fx"
    resolver = tracker.containers
    assert len(resolver) == 1
    fields(tracker, exit_rec(700))
    assert len(resolver) == 1  # events of the same batch still see it
    tracker.flush_exited()
    assert len(resolver) == 0 and resolver.forgotten == 1
