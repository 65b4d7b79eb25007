"""containerd's files: a task's OCI bundle ``config.json`` with the CRI plugin's annotations.

containerd's shim writes the bundle of a started task under the state
directory, ``<state>/io.containerd.runtime.v2.task/<namespace>/<id>/``
(``/run/containerd`` by default, ``/run/k3s/containerd`` under k3s), when
the task is created, before its process runs; it is removed when the task
exits. The CRI plugin annotates Kubernetes containers
(``io.kubernetes.cri.*``): container type (``sandbox`` or ``container``),
container name, image name, sandbox id, name, namespace and uid. The
container's CRI labels are not in the bundle (only the runtime's API has
them): kubelet's four well-known ones (``io.kubernetes.container.name``,
``io.kubernetes.pod.name``, ``...pod.namespace``, ``...pod.uid``) are
given from the annotations, which carry the same values. The rest (the
container's own CRI labels, the image's digest and id, the pod's labels
and IP) is in containerd's metadata database, written before the task
starts, and read at once too (:mod:`.containerd_meta`); an unusable
database is counted and the bundle's fields stay. Privileged is derived
from the spec (:mod:`.oci`).
"""

from __future__ import annotations

import os
from typing import Final

from secengine.state.containers.files.base import FileError
from secengine.state.containers.files.bounded import RuntimeRoot
from secengine.state.containers.files.containerd_meta import (
    DEFAULT_META_DBS,
    CriMetadata,
    MetadataDb,
    meta_db_path,
)
from secengine.state.containers.files.oci import OciSpec
from secengine.state.containers.info import ContainerInfo, PodInfo, split_image

__all__ = ["DEFAULT_STATE_DIRS", "ContainerdFiles", "from_cri_annotations"]

#: containerd's state directories: the default one, k3s's (their metadata databases are
#: ``containerd_meta.DEFAULT_META_DBS``, in the same order)
DEFAULT_STATE_DIRS: Final = ("/run/containerd", "/run/k3s/containerd")
_TASKS: Final = "io.containerd.runtime.v2.task"
_CRI: Final = "io.kubernetes.cri."


def from_cri_annotations(info: ContainerInfo, annotations: dict[str, str]) -> None:
    """Fill name, image, sandbox flag, pod and kubelet's labels from ``io.kubernetes.cri.*``."""
    kind = annotations.get(_CRI + "container-type", "")
    sandbox_id = annotations.get(_CRI + "sandbox-id", "")
    info.is_sandbox = kind == "sandbox"
    info.name = annotations.get(_CRI + "container-name", "") or info.name
    image = annotations.get(_CRI + "image-name", "")
    if image:
        info.image = image
        info.image_repository, info.image_tag, info.image_digest = split_image(image)
    if not sandbox_id:
        return
    pod = PodInfo(
        sandbox_id=sandbox_id,
        name=annotations.get(_CRI + "sandbox-name", ""),
        namespace=annotations.get(_CRI + "sandbox-namespace", ""),
        uid=annotations.get(_CRI + "sandbox-uid", ""),
    )
    info.pod = pod
    if info.is_sandbox:
        info.name = info.name or pod.name
    labels = {
        "io.kubernetes.pod.name": pod.name,
        "io.kubernetes.pod.namespace": pod.namespace,
        "io.kubernetes.pod.uid": pod.uid,
    }
    if not info.is_sandbox and info.name:
        labels["io.kubernetes.container.name"] = info.name
    info.labels = {**{k: v for k, v in labels.items() if v}, **info.labels}


def apply_cri_metadata(info: ContainerInfo, found: CriMetadata) -> None:
    """Fill ``info`` from the CRI plugin's records, as ``ContainerStatus`` and
    ``PodSandboxStatus`` would (the CRI engine's labels, digest, pod labels and IP)."""
    pod = info.pod
    record = found.container
    if record is not None:
        labels = dict(record.labels)
        if pod is not None and not info.is_sandbox:
            labels["io.kubernetes.sandbox.id"] = pod.sandbox_id
        info.labels = {**info.labels, **labels}
        if record.image_ref:
            image_id = record.image_ref.removeprefix("sha256:")
            info.image_id, info.image_id_full = image_id[:12], image_id
        if found.image_digest:
            info.image_digest = found.image_digest
    sandbox = found.sandbox
    if sandbox is not None and pod is not None:
        pod.labels = {**sandbox.labels, **pod.labels}
        pod.ip = pod.ip or sandbox.ip
        info.ip = pod.ip or info.ip


class ContainerdFiles:
    """A :class:`~.base.RuntimeFiles` for containerd (see the module docstring)."""

    runtime = "containerd"

    def __init__(self, state_dir: str = DEFAULT_STATE_DIRS[0], root_dir: str | None = None) -> None:
        """``root_dir`` (meta.db's) defaults to the one that goes with ``state_dir``;
        "" reads no database."""
        self.root = RuntimeRoot(os.path.join(state_dir, _TASKS))
        if root_dir is None:
            known = dict(zip(DEFAULT_STATE_DIRS, DEFAULT_META_DBS, strict=True))
            db = known.get(os.path.normpath(state_dir), "")
        else:
            db = meta_db_path(root_dir) if root_dir else ""
        self.meta = MetadataDb(db) if db else None

    def read(self, full_id: str, problems: list[FileError]) -> ContainerInfo | None:
        root = self.root
        try:
            namespaces = os.listdir(root.path)
        except OSError:
            return None
        for ns in sorted(namespaces):
            if ns == "moby":
                continue  # docker's containers: its own files say more (.docker)
            path = root.join(ns, full_id, "config.json")
            spec = root.read_json(path)
            if spec is None:
                continue
            oci = OciSpec(spec, path)
            info = self._info(full_id, oci, self._sandbox(ns, full_id, oci))
            if self.meta is not None:
                try:
                    self._from_metadata(info, ns)
                except FileError as e:
                    problems.append(e)  # the bundle's fields stay
            return info
        return None

    def _from_metadata(self, info: ContainerInfo, ns: str) -> None:
        """The CRI labels, image digest and id, pod labels and IP from meta.db."""
        assert self.meta is not None
        pod = info.pod
        sandbox_id = pod.sandbox_id if pod is not None else ""
        found = self.meta.lookup(ns, info.full_id, sandbox_id, info.image_repository)
        if found is None:
            return
        apply_cri_metadata(info, found)
        info.filled_by.append("files:containerd-meta")

    def _sandbox(self, ns: str, full_id: str, spec: OciSpec) -> OciSpec | None:
        """The spec of the pod sandbox whose namespaces a container joins (None: none, gone)."""
        sandbox_id = spec.annotations.get(_CRI + "sandbox-id", "")
        if not sandbox_id or sandbox_id == full_id:
            return None
        path = self.root.join(ns, sandbox_id, "config.json")
        sandbox = self.root.read_json(path)
        return None if sandbox is None else OciSpec(sandbox, path)

    def _info(self, full_id: str, spec: OciSpec, sandbox: OciSpec | None) -> ContainerInfo:
        info = ContainerInfo(id=full_id[:12], full_id=full_id, type=self.runtime)
        info.privileged = spec.privileged()
        info.host_pid, info.host_network, info.host_ipc = spec.host_namespaces(sandbox)
        info.mounts = spec.mounts()
        from_cri_annotations(info, spec.annotations)
        info.filled(f"files:{self.runtime}")
        return info
