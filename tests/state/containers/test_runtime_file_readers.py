"""Each runtime's reader, on the files that runtime writes (tests/state/containers/fixtures)."""

from __future__ import annotations

import json
import os
import shutil
import time

from runtime_fixtures import (
    CRIO_APP,
    CRIO_SANDBOX,
    CTD_APP,
    CTD_SANDBOX,
    DOCKER_ID,
    PODMAN_ID,
    Roots,
)

from secengine.state.containers import Mount
from secengine.state.containers.files import (
    ContainerdFiles,
    ContainersStorage,
    CrioFiles,
    DockerFiles,
    PodmanFiles,
)


def _podman(roots: Roots) -> PodmanFiles:
    return PodmanFiles(ContainersStorage(str(roots.graph), str(roots.run), (str(roots.runc),)))


def test_podman_from_libpod_s_record(roots: Roots) -> None:
    info = _podman(roots).read(PODMAN_ID, [])
    assert info is not None
    assert (info.type, info.name) == ("podman", "i14-files-fx")
    assert info.image == "localhost/secengine-test-busybox:v2"
    assert (info.image_repository, info.image_tag) == ("localhost/secengine-test-busybox", "v2")
    assert info.labels == {"app": "web", "tier": "front"}
    assert info.privileged is True
    assert (info.host_pid, info.host_network, info.host_ipc) == (False, False, False)
    # the volume the user asked for, as podman's API lists it (not /proc, /etc/hosts...)
    assert info.mounts == [Mount("/tmp", "/hostdata", "", False, "rprivate")]
    assert info.filled_by == ["files:podman"] and info.resolved


def test_podman_without_libpod_s_database_reads_the_bundle_and_containers_json(
    roots: Roots,
) -> None:
    roots.libpod_db().unlink()
    info = _podman(roots).read(PODMAN_ID, [])
    assert info is not None
    assert (info.name, info.image) == ("i14-files-fx", "localhost/secengine-test-busybox:v2")
    assert info.privileged is True  # io.podman.annotations.privileged
    assert info.labels == {}  # only libpod's record has them
    assert Mount("/tmp", "/hostdata", "", False, "rprivate") in info.mounts
    assert all(not m.source.startswith(str(roots.graph)) for m in info.mounts)


def test_podman_s_bundle_found_through_runc_s_state(roots: Roots) -> None:
    """A bundle outside the usual place is found through runc's state.json ``bundle=``."""
    roots.libpod_db().unlink()
    usual = roots.graph / "overlay-containers" / PODMAN_ID / "userdata"
    moved = roots.graph / "elsewhere"
    shutil.move(str(usual), str(moved))
    state_path = roots.runc / PODMAN_ID / "state.json"
    state = json.loads(state_path.read_text())
    state["config"]["labels"] = [
        lbl if not lbl.startswith("bundle=") else f"bundle={moved}"
        for lbl in state["config"]["labels"]
    ]
    state_path.write_text(json.dumps(state))
    info = _podman(roots).read(PODMAN_ID, [])
    assert info is not None and info.privileged is True


def test_containerd_sandbox_and_application_container(roots: Roots) -> None:
    reader = ContainerdFiles(str(roots.containerd))
    sandbox = reader.read(CTD_SANDBOX, [])
    app = reader.read(CTD_APP, [])
    assert sandbox is not None and app is not None
    assert sandbox.is_sandbox and not app.is_sandbox
    assert sandbox.pod is not None and sandbox.pod.sandbox_id == CTD_SANDBOX
    assert sandbox.privileged is False  # masked paths, seccomp, read-only sysfs
    assert (app.type, app.name, app.image) == (
        "containerd",
        "nginx",
        "docker.io/library/nginx:1.25",
    )
    assert (app.image_repository, app.image_tag) == ("docker.io/library/nginx", "1.25")
    assert app.privileged is True  # derived from the spec
    assert app.pod is not None
    assert (app.pod.sandbox_id, app.pod.name, app.pod.namespace, app.pod.uid) == (
        CTD_SANDBOX,
        "web-0",
        "shop",
        "3e41dc6b-08a8-44db-bc2a-3724b18ab19a",
    )
    # kubelet's labels, from the annotations that carry the same values
    assert app.labels == {
        "io.kubernetes.container.name": "nginx",
        "io.kubernetes.pod.name": "web-0",
        "io.kubernetes.pod.namespace": "shop",
        "io.kubernetes.pod.uid": "3e41dc6b-08a8-44db-bc2a-3724b18ab19a",
    }
    assert Mount("proc", "/proc", "", True, "") in app.mounts
    assert any(m.dest == "/data" and m.rw and m.propagation == "rprivate" for m in app.mounts)
    assert (app.host_pid, app.host_network, app.host_ipc) == (False, False, False)


def test_crio_sandbox_carries_the_pod_s_labels_and_ip(roots: Roots) -> None:
    reader = CrioFiles(ContainersStorage(str(roots.graph), str(roots.run), (str(roots.runc),)))
    sandbox = reader.read(CRIO_SANDBOX, [])
    app = reader.read(CRIO_APP, [])
    assert sandbox is not None and app is not None
    assert sandbox.is_sandbox and sandbox.pod is not None
    assert sandbox.pod.labels["app"] == "api" and sandbox.pod.ip == "10.85.0.14"
    assert (sandbox.pod.name, sandbox.pod.namespace) == ("api-7d4b9-xk2p", "prod")
    assert (app.type, app.name, app.image) == ("cri-o", "api", "quay.io/example/api:2.1")
    assert app.labels["io.kubernetes.pod.name"] == "api-7d4b9-xk2p"
    assert app.pod is not None and app.pod.sandbox_id == CRIO_SANDBOX
    assert app.pod.uid == "9b2c3d4e-0000-4000-8000-000000000001"
    assert app.privileged is False
    assert app.host_network is False


def test_a_podman_bundle_is_not_cri_o_s(roots: Roots) -> None:
    reader = CrioFiles(ContainersStorage(str(roots.graph), str(roots.run), (str(roots.runc),)))
    assert reader.read(PODMAN_ID, []) is None


def test_docker(roots: Roots) -> None:
    info = DockerFiles(str(roots.docker)).read(DOCKER_ID, [])
    assert info is not None
    assert (info.type, info.name, info.image) == ("docker", "edge-proxy", "nginx:1.25")
    assert info.image_id == "a8758716bb6a"
    assert info.labels["com.example.team"] == "edge"
    assert info.privileged is True
    assert (info.host_pid, info.host_network, info.host_ipc) == (True, True, False)
    assert info.ip == "172.17.0.2"
    assert info.mounts == [
        Mount("/var/run/docker.sock", "/var/run/docker.sock", "", False, "rprivate")
    ]


def test_absent_containers_are_none_for_every_reader(roots: Roots) -> None:
    for reader in roots.readers():
        assert reader.read("0" * 64, []) is None, reader


def test_reading_is_well_under_a_millisecond(roots: Roots) -> None:
    """What the first event of a container pays (median of many, all readers tried in turn),
    in the thread's CPU time: the machine may be loaded, and waiting for a CPU is not the
    reader's cost."""
    resolver = roots.resolver()
    for cid in (PODMAN_ID, CTD_APP, CRIO_APP, DOCKER_ID):
        times = []
        for _ in range(50):
            resolver.forget(cid)
            t = time.thread_time()
            info = resolver.get(cid)
            times.append(time.thread_time() - t)
            assert info.resolved, cid
        times.sort()
        assert times[len(times) // 2] < 1e-3, (cid, times[len(times) // 2])


def test_roots_are_configurable_and_nothing_else_is_read(roots: Roots) -> None:
    """Every path a reader opens lies under the roots it was given."""
    opened: list[str] = []
    real_open = os.open

    def spy(path: str, *a: object, **kw: object) -> int:
        opened.append(str(path))
        return real_open(path, *a, **kw)  # type: ignore[arg-type]

    os.open = spy  # type: ignore[assignment]
    try:
        resolver = roots.resolver()
        for cid in (PODMAN_ID, CTD_APP, CRIO_APP, DOCKER_ID, "0" * 64):
            resolver.get(cid)
    finally:
        os.open = real_open  # type: ignore[assignment]
    assert opened and all(p.startswith(str(roots.base)) for p in opened), opened
