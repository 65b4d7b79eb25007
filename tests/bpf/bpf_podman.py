"""A real podman container for the live syscall tests (see ``tests/podman_support.py``)."""

from __future__ import annotations

import os
import subprocess

from podman_support import IMAGE, IMAGE_REPOSITORY, PODMAN_RUN, PodmanService, build_image

__all__ = ["API_SOCKET", "IMAGE", "IMAGE_REPOSITORY", "Api", "build_image", "run"]

#: one per test run: two suites at once (two checkouts) must not share, or unlink, one service
API_SOCKET = f"/run/podman/secengine-test-{os.getpid()}.sock"


class Api(PodmanService):
    """The Docker-compatible API the state tracker looks containers up in."""

    def __init__(self) -> None:
        super().__init__(API_SOCKET)


def run(name: str, *cmd: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in a new container called ``name`` (removed afterwards)."""
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    return subprocess.run(
        [*PODMAN_RUN, "--rm", "--name", name, *extra, IMAGE, *cmd],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
