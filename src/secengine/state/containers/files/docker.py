"""Docker's files: ``<root>/containers/<id>/config.v2.json`` and ``hostconfig.json``.

dockerd writes both when it creates a container, before it starts it
(``/var/lib/docker`` by default). ``config.v2.json`` gives the name,
image, labels, mount points and, once started, the address;
``hostconfig.json`` the privileged flag and the host namespaces
(``PidMode``/``NetworkMode``/``IpcMode`` ``host``). Kubernetes pods run
through cri-dockerd carry kubelet's labels: ``io.kubernetes.docker.type``
(``podsandbox`` or ``container``), ``io.kubernetes.sandbox.id`` and the pod's
name, namespace and uid.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final

from secengine.state.containers.files.base import FileError
from secengine.state.containers.files.bounded import RuntimeRoot
from secengine.state.containers.files.typed import boolean, obj, string_map, text
from secengine.state.containers.info import ContainerInfo, Mount, PodInfo, split_image

__all__ = ["DEFAULT_ROOT", "DockerFiles"]

DEFAULT_ROOT: Final = "/var/lib/docker"


def _ipv4(text_: str) -> str:
    try:
        return text_ if ipaddress.ip_address(text_).version == 4 else ""
    except ValueError:
        return ""


class DockerFiles:
    """A :class:`~.base.RuntimeFiles` for Docker (see the module docstring)."""

    runtime = "docker"

    def __init__(self, root: str = DEFAULT_ROOT) -> None:
        self.root = RuntimeRoot(f"{root.rstrip('/')}/containers")

    def read(self, full_id: str, problems: list[FileError]) -> ContainerInfo | None:
        root = self.root
        path = root.join(full_id, "config.v2.json")
        doc = root.read_json(path)
        if doc is None:
            return None
        host_path = root.join(full_id, "hostconfig.json")
        host = root.read_json(host_path) or {}
        info = ContainerInfo(id=full_id[:12], full_id=full_id, type=self.runtime)
        config = obj(doc, "Config", path)
        info.name = text(doc, "Name", path).lstrip("/")
        image = text(config, "Image", path)
        info.image = image
        info.image_repository, info.image_tag, info.image_digest = split_image(image)
        image_id = text(doc, "Image", path)
        info.image_id = image_id.removeprefix("sha256:")[:12]
        info.image_id_full = image_id
        info.labels = string_map(config, "Labels", path)
        info.mounts = self._mounts(doc, path)
        info.privileged = bool(boolean(host, "Privileged", host_path))
        info.host_pid = text(host, "PidMode", host_path) == "host"
        info.host_network = text(host, "NetworkMode", host_path) == "host"
        info.host_ipc = text(host, "IpcMode", host_path) == "host"
        networks = obj(obj(doc, "NetworkSettings", path), "Networks", path)
        for net in networks.values():
            if isinstance(net, dict):
                ip = _ipv4(text(net, "IPAddress", path))
                if ip:
                    info.ip = ip
                    break
        self._pod(info)
        info.filled(f"files:{self.runtime}")
        return info

    def _mounts(self, doc: dict[str, Any], path: str) -> list[Mount]:
        points = obj(doc, "MountPoints", path)
        out = []
        for dest, m in sorted(points.items()):
            if not isinstance(m, dict):
                continue
            out.append(
                Mount(
                    text(m, "Source", path),
                    text(m, "Destination", path) or dest,
                    text(m, "Mode", path),
                    bool(boolean(m, "RW", path) if m.get("RW") is not None else True),
                    text(m, "Propagation", path),
                )
            )
        return out

    def _pod(self, info: ContainerInfo) -> None:
        labels = info.labels
        kind = labels.get("io.kubernetes.docker.type", "")
        if not kind:
            return
        info.is_sandbox = kind == "podsandbox"
        sandbox_id = info.full_id if info.is_sandbox else labels.get("io.kubernetes.sandbox.id", "")
        if sandbox_id:
            info.pod = PodInfo(
                sandbox_id=sandbox_id,
                name=labels.get("io.kubernetes.pod.name", ""),
                namespace=labels.get("io.kubernetes.pod.namespace", ""),
                uid=labels.get("io.kubernetes.pod.uid", ""),
            )
