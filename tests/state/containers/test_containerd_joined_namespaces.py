"""A pod's containers join their sandbox's namespaces by path: host_pid/network/ipc are the
sandbox's (a hostNetwork pod's containers are on the host's network, as Falco reports them).
The bundles are as containerd 1.6 writes them for a pod in the node's network namespace."""

from __future__ import annotations

import json
from pathlib import Path

from secengine.state.containers.files.containerd import ContainerdFiles

SANDBOX = "5a" * 32
APP = "a1" * 32


def _bundle(state: Path, cid: str, namespaces: list[dict[str, str]], kind: str) -> None:
    d = state / "io.containerd.runtime.v2.task" / "k8s.io" / cid
    d.mkdir(parents=True)
    spec = {
        "linux": {"namespaces": namespaces},
        "annotations": {
            "io.kubernetes.cri.container-type": kind,
            "io.kubernetes.cri.sandbox-id": SANDBOX,
        },
    }
    (d / "config.json").write_text(json.dumps(spec))


def _app_namespaces(pid: int) -> list[dict[str, str]]:
    return [
        {"type": "pid"},
        {"type": "ipc", "path": f"/proc/{pid}/ns/ipc"},
        {"type": "mount"},
        {"type": "network", "path": f"/proc/{pid}/ns/net"},
    ]


def test_a_host_network_pods_container_is_on_the_host_network(tmp_path: Path) -> None:
    _bundle(tmp_path, SANDBOX, [{"type": "pid"}, {"type": "ipc"}, {"type": "mount"}], "sandbox")
    _bundle(tmp_path, APP, _app_namespaces(4242), "container")
    reader = ContainerdFiles(str(tmp_path))
    sandbox = reader.read(SANDBOX, [])
    app = reader.read(APP, [])
    assert sandbox is not None and app is not None
    assert (sandbox.host_pid, sandbox.host_network, sandbox.host_ipc) == (False, True, False)
    assert (app.host_pid, app.host_network, app.host_ipc) == (False, True, False)


def test_a_pod_network_pods_container_is_not(tmp_path: Path) -> None:
    own = [{"type": "pid"}, {"type": "ipc"}, {"type": "network", "path": "/var/run/netns/cni-1"}]
    _bundle(tmp_path, SANDBOX, own, "sandbox")
    _bundle(tmp_path, APP, _app_namespaces(4242), "container")
    app = ContainerdFiles(str(tmp_path)).read(APP, [])
    assert app is not None and app.host_network is False


def test_without_the_sandbox_a_joined_namespace_is_not_the_hosts(tmp_path: Path) -> None:
    _bundle(tmp_path, APP, _app_namespaces(4242), "container")
    app = ContainerdFiles(str(tmp_path)).read(APP, [])
    assert app is not None and (app.host_pid, app.host_network, app.host_ipc) == (
        False,
        False,
        False,
    )
