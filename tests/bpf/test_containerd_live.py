"""A real containerd pod under the live probe: container.* and k8s.* on its first process and later.

containerd (tests/containerd_support.py) runs a pod the way the kubelet
does, through the CRI API: the sandbox first, then an application
container with known name, labels and mount. The syscall source's
container resolver reads containerd's bundle files (synchronously, on a
container's first event) and asks the CRI engine (on its worker), both
pointed at this containerd's state directory and socket.

What the files give is there on the container's very first process (its
entrypoint's exec): from the bundle id, name, image, type, privileged,
namespaces, mounts, kubelet's labels and the pod's name, namespace, uid
and sandbox id; from containerd's meta.db the image digest, the
container's own CRI labels and the pod's labels (which the CRI engine
also fetches from PodSandboxStatus when the sandbox's process appears). The sandbox's processes are attributed
to the pod; host processes have ``container.id=host`` and no k8s fields.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from containerd_support import Containerd

from secengine.events import MISSING
from secengine.state.containers.cri import CriEngine
from secengine.state.containers.files.containerd import ContainerdFiles

pytestmark = pytest.mark.bpf

POD_LABELS = {"app": "i14cri-live", "tier": "front"}
KEYS = [
    "proc.name",
    "proc.cmdline",
    "fd.name",
    "container.id",
    "container.full_id",
    "container.name",
    "container.image",
    "container.image.repository",
    "container.image.tag",
    "container.image.digest",
    "container.type",
    "container.privileged",
    "container.mounts",
    "container.mount[{data}]",
    "container.mount.dest[{data}]",
    "container.mount.source[/data]",
    "container.mount.mode[{data}]",
    "container.mount.rdwr[{data}]",
    "container.mount.propagation[{data}]",
    "container.host_pid",
    "container.host_network",
    "container.host_ipc",
    "container.label[io.kubernetes.container.name]",
    "container.label[i14cri.test]",
    "container.labels",
    "container.start_ts",
    "container.ip",
    "k8s.pod.name",
    "k8s.ns.name",
    "k8s.pod.uid",
    "k8s.pod.id",
    "k8s.pod.sandbox_id",
    "k8s.pod.full_sandbox_id",
    "k8s.pod.label[app]",
    "k8s.pod.labels",
    "k8s.pod.ip",
]
K8S = [k for k in KEYS if k.startswith("k8s.")]


@pytest.fixture
def wired(source: Any, containerd: Containerd) -> Iterator[Any]:
    """The source's resolver reading this containerd's files and asking its CRI socket."""
    resolver = source.tracker.containers
    saved = resolver.readers, resolver.engines
    resolver.readers = (ContainerdFiles(str(containerd.state), str(containerd.root)),)
    resolver.engines = (CriEngine(containerd.socket),)
    yield resolver
    resolver.readers, resolver.engines = saved


def test_pod_fields_on_the_first_process_and_later(
    source: Any, live: Any, containerd: Containerd, wired: Any
) -> None:
    data = str(containerd.data)
    keys = [k.format(data=data) for k in KEYS]
    made: dict[str, Any] = {}

    def action() -> None:
        pod = containerd.run_pod("i14cri-live", POD_LABELS)
        made["pod"] = pod
        made["cid"] = containerd.start_container(
            pod,
            "app",
            ["/bin/sh", "-c", "cat /data/hello.txt; sleep 1; cat /etc/data.txt; sleep 30"],
            {"i14cri.test": "live"},
        )
        subprocess.run(["cat", "/etc/hostname"], capture_output=True, check=True)
        time.sleep(2.0)

    snaps, _ = live.collect(
        source,
        action,
        keys,
        where=lambda f: f["container.id"] != "host" or f["proc.name"] == "cat",
        settle=0.5,
    )
    pod, cid = made["pod"], made["cid"]
    sid = pod.sandbox_id
    status = containerd.client.container_status(cid).status

    app = [s for s in snaps if s["container.full_id"] == cid]
    assert app, "no event from the application container"
    # the entrypoint's exec; runc's init may come before it, in the container already
    entry = [s for s in app if s.type == "execve" and s["proc.name"] == "sh"]
    assert entry, sorted({(s.type, s["proc.name"]) for s in app})
    later = [s for s in app if s.type == "openat" and s["fd.name"] == "/etc/data.txt"]
    assert later, sorted({(s.type, s["proc.name"], s["fd.name"]) for s in app})

    repository, _, tag = containerd.image.rpartition(":")
    for snap, when in ((app[0], "first"), (entry[0], "entrypoint"), (later[-1], "later")):
        assert snap["container.id"] == cid[:12], when
        assert snap["container.full_id"] == cid, when
        assert snap["container.name"] == "app", when
        assert snap["container.image"] == containerd.image, when
        assert snap["container.image.repository"] == repository, when
        assert snap["container.image.tag"] == tag, when
        assert snap["container.type"] == "containerd", when
        assert snap["container.privileged"] is False, when
        # the bundle's mounts (every OCI mount); the pod's read-only bind of the host's dir
        assert f"{data}:/data::false:rprivate" in snap["container.mounts"].split(","), when
        assert snap[f"container.mount[{data}]"] == f"{data}:/data::false:rprivate", when
        assert snap[f"container.mount.dest[{data}]"] == "/data", when
        assert snap["container.mount.source[/data]"] == data, when
        assert snap[f"container.mount.mode[{data}]"] == "", when
        assert snap[f"container.mount.rdwr[{data}]"] == "false", when
        assert snap[f"container.mount.propagation[{data}]"] == "rprivate", when
        # a pod in the node's network namespace; its own pid namespace, the sandbox's ipc
        assert snap["container.host_pid"] is False, when
        assert snap["container.host_network"] is True, when
        assert snap["container.host_ipc"] is False, when
        assert snap["container.label[io.kubernetes.container.name]"] == "app", when
        # from containerd's meta.db, written before the task started: the image's digest (its
        # id, imported without a registry), the container's own CRI labels
        assert snap["container.image.digest"] == status.image_ref, when
        assert snap["container.label[i14cri.test]"] == "live", when
        # io.kubernetes.* left out, as the plugin joins them
        assert snap["container.labels"] == "i14cri.test:live", when
        # the plugin's start_ts: when the container's pid-namespace init started (kernel)
        assert snap["container.start_ts"] >= status.created_at, when
        assert snap["container.start_ts"] == entry[0]["container.start_ts"], when
        assert snap["k8s.pod.name"] == pod.name, when
        assert snap["k8s.ns.name"] == pod.namespace, when
        assert snap["k8s.pod.uid"] == pod.uid, when
        assert snap["k8s.pod.id"] == pod.uid, when
        assert snap["k8s.pod.sandbox_id"] == sid[:12], when
        assert snap["k8s.pod.full_sandbox_id"] == sid, when
        # the pod's labels, from the sandbox's status fetched when its process appeared
        assert snap["k8s.pod.label[app]"] == "i14cri-live", when
        assert snap["k8s.pod.labels"] == "app:i14cri-live, tier:front", when
        # the node's network namespace (no CNI): the pod has no IP of its own
        assert snap["k8s.pod.ip"] == "", when
        assert snap["container.ip"] == "", when

    # the sandbox's processes belong to the pod
    sandbox = [s for s in snaps if s["container.full_id"] == sid]
    assert sandbox, "no event from the pod's sandbox"
    for s in (sandbox[0], sandbox[-1]):
        assert s["k8s.pod.name"] == pod.name and s["k8s.pod.uid"] == pod.uid
        assert s["k8s.pod.full_sandbox_id"] == sid
    assert sandbox[-1]["k8s.pod.label[app]"] == "i14cri-live"

    # a host process: container.id host, no k8s fields
    host = [s for s in snaps if s["container.id"] == "host" and s["proc.name"] == "cat"]
    assert host, "no event from the host's cat"
    for k in K8S:
        assert host[0][k] in (MISSING, ""), (k, host[0][k])

    # the API was asked without an error
    engine = wired.engines[0]
    assert engine.errors == {}


def test_a_pods_ip_on_its_containers_first_process(
    source: Any, live: Any, containerd: Containerd, wired: Any
) -> None:
    """A pod with a network namespace of its own gets its address from a real CNI bridge
    (containerd_support's): ``k8s.pod.ip`` and ``container.ip`` are there on the first
    process of its application container, from the sandbox's record in meta.db."""
    made: dict[str, Any] = {}

    def action() -> None:
        pod = containerd.run_pod("i14cri-net", {"app": "i14cri-net"}, pod_network=True)
        made["pod"] = pod
        made["cid"] = containerd.start_container(
            pod, "app", ["/bin/sh", "-c", "cat /data/hello.txt; sleep 30"], {}
        )
        time.sleep(1.5)

    keys = ["proc.name", "container.full_id", "k8s.pod.ip", "container.ip", "k8s.pod.name"]
    snaps, _ = live.collect(
        source, action, keys, where=lambda f: f["container.id"] != "host", settle=0.5
    )
    pod, cid = made["pod"], made["cid"]
    status = containerd.client.pod_sandbox_status(pod.sandbox_id).status
    assert status.network.ip.startswith(f"10.222.{containerd.subnet_octet}."), status.network
    app = [s for s in snaps if s["container.full_id"] == cid]
    assert app, "no event from the application container"
    for snap, when in ((app[0], "first"), (app[-1], "last")):
        assert snap["k8s.pod.name"] == "i14cri-net", when
        assert snap["k8s.pod.ip"] == status.network.ip, when
        assert snap["container.ip"] == status.network.ip, when
