"""Container actions through the runtimes: the CRI against a real containerd, and the failures.

(podman, through its command and its API, is tested live in tests/bpf/test_live_response.py.)
"""

from __future__ import annotations

import time

import pytest
from containerd_support import Containerd

from secengine.response.containers import ContainerRuntimes
from secengine.response.outcome import Status
from secengine.response.target import Target
from secengine.state.containers.cri import api_pb2 as api
from secengine.state.containers.discovery import EngineSettings


def target(cid: str, runtime: str, name: str = "c") -> Target:
    return Target(
        event_ts=time.time_ns(),
        container_id=cid[:12],
        container_full_id=cid,
        container_name=name,
        container_type=runtime,
    )


def cri(socket: str) -> ContainerRuntimes:
    return ContainerRuntimes([EngineSettings("cri", True, (socket,))], timeout=30)


def wait_exited(ctd: Containerd, cid: str) -> int:
    assert ctd.client is not None
    end = time.monotonic() + 60
    while time.monotonic() < end:
        status = ctd.client.container_status(cid, verbose=False).status
        if status.state == api.CONTAINER_EXITED:
            return int(status.exit_code)
        time.sleep(0.1)
    raise AssertionError(f"container {cid[:12]} still running")


@pytest.mark.parametrize("kill", [True, False], ids=["kill", "stop"])
def test_cri_stops_and_kills_a_containerd_container(containerd: Containerd, kill: bool) -> None:
    pod = containerd.run_pod(f"i17-user-{'kill' if kill else 'stop'}", {"app": "i17"})
    cid = containerd.start_container(
        pod, "victim", ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"], {}
    )
    runtimes = cri(containerd.socket)
    t = target(cid, "containerd", "victim")
    outcome = runtimes.kill(t) if kill else runtimes.stop(t, 1)
    assert outcome.status is Status.DONE, outcome
    assert "CRI StopContainer" in outcome.detail and "victim" in outcome.detail
    assert outcome.latency_ns is not None
    assert wait_exited(containerd, cid) == 137  # SIGKILL: TERM is ignored in there


def test_cri_does_not_know_the_container(containerd: Containerd) -> None:
    outcome = cri(containerd.socket).kill(target("f" * 64, "containerd"))
    assert outcome.status is Status.FAILED and "no CRI socket knows" in outcome.detail


def test_a_dead_socket_is_one_sentence(tmp_path: object) -> None:
    runtimes = ContainerRuntimes(
        [EngineSettings("docker", True, ("/nonexistent/docker.sock",))], timeout=1
    )
    outcome = runtimes.stop(target("a" * 64, "docker"), 1)
    assert outcome.status is Status.FAILED
    assert outcome.detail.startswith("/nonexistent/docker.sock: ")
    assert "\n" not in outcome.detail


def test_no_socket_no_command() -> None:
    runtimes = ContainerRuntimes(
        [EngineSettings("docker", True, ()), EngineSettings("podman", True, ())], podman=""
    )
    for runtime in ("docker", "podman"):
        outcome = runtimes.kill(target("a" * 64, runtime))
        assert outcome.status is Status.FAILED
        assert f"no {runtime} API socket knows" in outcome.detail


def test_an_unknown_runtime_or_the_host() -> None:
    runtimes = ContainerRuntimes(podman="")
    assert runtimes.kill(target("a" * 64, "lxc")).status is Status.NO_TARGET
    host = Target(event_ts=0, container_id="host")
    assert runtimes.stop(host, 1).status is Status.NO_TARGET
