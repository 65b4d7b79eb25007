"""The container id of a process, from its cgroup path (as the container plugin finds it).

docker (``/docker/<64 hex>``, ``docker-<id>.scope``), podman/libpod
(``libpod-<id>``), containerd/CRI (``cri-containerd-<id>.scope``,
``/kubepods/.../<id>``), CRI-O (``crio-<id>.scope``). Processes outside any
container, and podman's ``conmon`` monitor, have the id ``host``. Like Falco,
``container.id`` is the first 12 hex digits of this full id.
"""

from __future__ import annotations

import re
from typing import Final

from secengine.fields.container import HOST

__all__ = ["HOST", "container_id_from_cgroup"]

_ID: Final = re.compile(
    r"(?:docker-|libpod-|cri-containerd-|crio-|containerd-|/docker/|/kubepods/[^\n]*/|/)"
    r"(?:conmon-)?([0-9a-f]{64})(?:\.scope)?(?:/|$)"
)


def container_id_from_cgroup(path: str) -> str:
    """The 64-hex container id in a cgroup path, or ``host``."""
    if not path or path == "/":
        return HOST
    if "conmon-" in path:
        return HOST  # podman's monitor process runs outside the container
    m = _ID.search(path)
    return m.group(1) if m else HOST
