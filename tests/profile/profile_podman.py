"""Podman for the profile tests (see ``tests/podman_support.py``): ``podman run`` as used here."""

from __future__ import annotations

import os

from podman_support import PODMAN_RUN, PodmanService, build_image

__all__ = ["PODMAN_RUN", "Service", "build_image", "podman_run"]


def podman_run(image: str, script: str, *options: str) -> list[str]:
    """``podman run --rm [options] IMAGE sh -c SCRIPT`` with this host's settings."""
    return [*PODMAN_RUN, "--rm", *options, image, "sh", "-c", script]


class Service(PodmanService):
    """``podman system service`` on a socket of its own: containers it starts are not
    descendants of the ``podman --url ... run`` command (as with docker's daemon)."""

    def __init__(self, socket: str = "") -> None:
        # one per test run: a suite running beside another (two checkouts) started its own
        # service on the same path, unlinking this one's socket, and each counted the other's
        # containers as "other containers" of its daemon
        super().__init__(socket or f"/run/podman/secengine-profile-test-{os.getpid()}.sock")

    def run(self, image: str, script: str, *options: str) -> list[str]:
        """``podman --url SOCKET run --rm ... IMAGE sh -c SCRIPT`` (the service's runtime: runc)."""
        return [
            "podman",
            "--url",
            f"unix://{self.socket}",
            "run",
            "--rm",
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            *options,
            image,
            "sh",
            "-c",
            script,
        ]
