"""The CRI engine against a real containerd (tests/containerd_support.py): pods and containers
made through the CRI API as the kubelet makes them, read back by the engine."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from containerd_support import Containerd

from secengine.state.containers import ContainerInfo, Mount
from secengine.state.containers.cri import CriEngine


def _info(full_id: str, **kw: Any) -> ContainerInfo:
    return ContainerInfo(id=full_id[:12], full_id=full_id, **kw)


def test_pod_and_container_metadata_from_containerd(containerd: Containerd) -> None:
    labels = {"app": "i14cri-web", "tier": "front"}
    pod = containerd.run_pod("i14cri-web", labels)
    cid = containerd.start_container(
        pod, "app", ["/bin/sh", "-c", "sleep 30"], {"i14cri.test": "fields"}
    )
    engine = CriEngine(containerd.socket)
    try:
        # the sandbox first, as its pause process appears first
        sandbox = _info(pod.sandbox_id, is_sandbox=True)
        assert engine.enrich(sandbox) is True
        p = engine.cached_pod(pod.sandbox_id)
        assert p is not None and sandbox.pod is p
        assert (p.name, p.namespace, p.uid) == (pod.name, pod.namespace, pod.uid)
        assert p.labels == labels
        # the node's network namespace: no pod IP of its own (no CNI)
        assert p.ip == ""
        assert (sandbox.host_network, sandbox.host_pid, sandbox.host_ipc) == (True, False, False)
        assert sandbox.type == "containerd"

        app = _info(cid)
        assert engine.enrich(app) is True
        status = containerd.client.container_status(cid).status  # type: ignore[union-attr]
        assert app.type == "containerd"
        assert app.name == "app"
        assert app.image == containerd.image
        repository, _, tag = containerd.image.rpartition(":")
        assert (app.image_repository, app.image_tag) == (repository, tag)
        # imported offline, the image has no registry digest: imageRef is its id (as Falco)
        assert status.image_ref.startswith("sha256:")
        assert app.image_digest == status.image_ref
        assert app.start_ts == status.created_at > 0
        assert app.privileged is False
        assert app.mounts == [Mount(str(containerd.data), "/data", "", False, "private")]
        assert app.labels == {
            "io.kubernetes.container.name": "app",
            "io.kubernetes.pod.name": pod.name,
            "io.kubernetes.pod.namespace": pod.namespace,
            "io.kubernetes.pod.uid": pod.uid,
            "io.kubernetes.sandbox.id": pod.sandbox_id,
            "i14cri.test": "fields",
        }
        assert app.pod is p and app.host_network is True
        # the sandbox was cached: the application container did not ask for it again
        assert engine.calls == 1 + 1 + 2  # Version, PodSandboxStatus; List, Status
        assert engine.errors == {}
    finally:
        engine.close()


def test_a_privileged_container_says_so(containerd: Containerd) -> None:
    pod = containerd.run_pod("i14cri-priv", {"app": "i14cri-priv"}, privileged=True)
    cid = containerd.start_container(
        pod, "root", ["/bin/sh", "-c", "sleep 30"], {}, privileged=True
    )
    engine = CriEngine(containerd.socket)
    try:
        info = _info(cid)
        assert engine.enrich(info) is True
        assert info.privileged is True
    finally:
        engine.close()


def test_a_container_containerd_does_not_know(containerd: Containerd) -> None:
    engine = CriEngine(containerd.socket)
    try:
        assert engine.enrich(_info("ab" * 32)) is False
        assert engine.errors == {}
    finally:
        engine.close()


def test_a_frozen_containerd_times_out_and_recovers(containerd: Containerd) -> None:
    """containerd stopped (SIGSTOP): its socket accepts, nothing answers. The call ends at its
    deadline, counted; once containerd runs again the engine answers again."""
    pod = containerd.run_pod("i14cri-frozen", {"app": "i14cri-frozen"})
    cid = containerd.start_container(pod, "app", ["/bin/sh", "-c", "sleep 30"], {})
    engine = CriEngine(containerd.socket, timeout=0.5, backoff=0.2)
    assert containerd.proc is not None
    os.kill(containerd.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        assert engine.enrich(_info(cid)) is False
        took = time.monotonic() - t0
        assert took < 1.5, took
        assert engine.errors == {"deadline_exceeded": 1}
    finally:
        os.kill(containerd.proc.pid, signal.SIGCONT)
    time.sleep(0.25)
    try:
        info = _info(cid)
        assert engine.enrich(info) is True
        assert info.pod is not None and info.pod.labels == {"app": "i14cri-frozen"}
    finally:
        engine.close()
