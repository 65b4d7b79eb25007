"""CRI-O's files: the OCI bundle ``config.json`` and its ``io.kubernetes.cri-o.*`` annotations.

CRI-O writes a container's bundle into containers/storage's run root
(``/run/containers/storage/<driver>-containers/<id>/userdata``,
:mod:`.storage`) before it starts the container. Its annotations (keys
from cri-o's ``pkg/annotations``): ``ContainerType`` (``sandbox`` or
``container``), ``Metadata`` (JSON: the Kubernetes container's name, or
the pod's name, uid and namespace for a sandbox), ``Labels`` (JSON: the
container's CRI labels, and for a sandbox the pod's labels), ``SandboxID``,
``ImageName`` / ``Image``, ``IP.0`` (the pod's address, on the sandbox) and
``HostNetwork``. A bundle that podman made (``io.container.manager:
libpod``) is not CRI-O's. Privileged is derived from the spec.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from secengine.state.containers.files.base import FileError
from secengine.state.containers.files.bounded import loads_bounded
from secengine.state.containers.files.storage import DEFAULT_RUN_ROOT, ContainersStorage
from secengine.state.containers.info import ContainerInfo, PodInfo, split_image

__all__ = ["CrioFiles"]

_A: Final = "io.kubernetes.cri-o."
_POD_NAME: Final = "io.kubernetes.pod.name"
_POD_NAMESPACE: Final = "io.kubernetes.pod.namespace"
_POD_UID: Final = "io.kubernetes.pod.uid"


def _json_map(annotations: dict[str, str], key: str, path: str) -> dict[str, str]:
    """An annotation holding a JSON object of strings (``Labels``, ``Metadata``)."""
    raw = annotations.get(key)
    if not raw:
        return {}
    doc = loads_bounded(raw.encode(), f"{path} [{key}]")
    if not isinstance(doc, dict):
        raise FileError("wrong_type", path, f"annotation {key} is not a JSON object")
    return {k: v for k, v in doc.items() if isinstance(v, str)}


def _ipv4(text: str) -> str:
    try:
        return text if ipaddress.ip_address(text).version == 4 else ""
    except ValueError:
        return ""


class CrioFiles:
    """A :class:`~.base.RuntimeFiles` for CRI-O (see the module docstring)."""

    runtime = "cri-o"

    def __init__(self, storage: ContainersStorage | None = None) -> None:
        self.storage = (
            storage if storage is not None else ContainersStorage(run_root=DEFAULT_RUN_ROOT)
        )

    def read(self, full_id: str, problems: list[FileError]) -> ContainerInfo | None:
        spec = self.storage.spec(full_id)
        if spec is None:
            return None
        a = spec.annotations
        kind = a.get(_A + "ContainerType", "")
        if not kind or a.get("io.container.manager") == "libpod":
            return None
        info = ContainerInfo(id=full_id[:12], full_id=full_id, type=self.runtime)
        info.privileged = spec.privileged()
        info.host_pid, info.host_network, info.host_ipc = spec.host_namespaces()
        if a.get(_A + "HostNetwork") in ("true", "false"):
            info.host_network = a[_A + "HostNetwork"] == "true"
        info.mounts = spec.mounts()
        info.is_sandbox = kind == "sandbox"
        labels = _json_map(a, _A + "Labels", spec.path)
        meta = _json_map(a, _A + "Metadata", spec.path)
        info.labels = labels
        image = a.get(_A + "ImageName", "") or a.get(_A + "Image", "")
        info.image = image
        info.image_repository, info.image_tag, info.image_digest = split_image(image)
        sandbox_id = full_id if info.is_sandbox else a.get(_A + "SandboxID", "")
        if sandbox_id:
            pod = PodInfo(
                sandbox_id=sandbox_id,
                name=labels.get(_POD_NAME, "") or (meta.get("name", "") if info.is_sandbox else ""),
                namespace=labels.get(_POD_NAMESPACE, "") or a.get(_A + "Namespace", ""),
                uid=labels.get(_POD_UID, "") or (meta.get("uid", "") if info.is_sandbox else ""),
            )
            if info.is_sandbox:
                pod.labels = dict(labels)
                pod.ip = _ipv4(a.get(_A + "IP.0", "") or a.get(_A + "IP", ""))
                pod.filled_by.append(f"files:{self.runtime}")
            info.pod = pod
            info.ip = pod.ip
        info.name = meta.get("name", "") or labels.get("io.kubernetes.container.name", "")
        info.filled(f"files:{self.runtime}")
        return info
