"""Container ids from cgroup paths, and image references split as Falco does."""

from __future__ import annotations

import pytest

from secengine.state.containers import container_id_from_cgroup, split_image

ID = "4e683bec47a045be8aa19068abb5f51c90fa87929f3dad2e6cba62e4c46ef44a"


@pytest.mark.parametrize(
    "path",
    [
        f"/docker/{ID}",
        f"/system.slice/docker-{ID}.scope",
        f"/libpod_parent/libpod-{ID}",
        f"/machine.slice/libpod-{ID}.scope/container",
        f"/kubepods/besteffort/pod1234/{ID}",
        f"/kubepods.slice/kubepods-burstable.slice/kubepods-pod1.slice/cri-containerd-{ID}.scope",
        f"/kubepods.slice/kubepods-pod1.slice/crio-{ID}.scope",
    ],
)
def test_ids_from_runtime_cgroup_paths(path: str) -> None:
    assert container_id_from_cgroup(path) == ID


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/user.slice/user-0.slice/session-1.scope",
        "/process_api/174cf30fe3699f67a5872ee217043b0b",
        f"/machine.slice/libpod-conmon-{ID}.scope",
    ],
)
def test_host_paths(path: str) -> None:
    assert container_id_from_cgroup(path) == "host"


def test_split_image() -> None:
    assert split_image("docker.io/library/nginx:1.25") == ("docker.io/library/nginx", "1.25", "")
    assert split_image("localhost:5000/app@sha256:abc") == ("localhost:5000/app", "", "sha256:abc")
    assert split_image("busybox") == ("busybox", "", "")
