"""The CRI metadata engine: pod labels and IP, image digest, labels and mounts from containerd/CRI-O.

One :class:`CriEngine` per CRI socket (containerd, CRI-O, k3s) implements
:class:`~secengine.state.containers.engines.MetadataEngine`. On the
resolver's worker thread it asks the runtime, with a deadline on every call:

- for an application container: ``ListContainers`` (is it this runtime's,
  and its sandbox id), ``ContainerStatus(verbose)`` (name, image, image
  digest from ``imageRef``, labels, mounts, creation time, privileged) and
  its sandbox's ``PodSandboxStatus`` unless cached;
- for a sandbox ("pause") container: ``PodSandboxStatus`` at once (pod name,
  namespace, uid, labels, IP, host namespaces), cached by sandbox id. The
  sandbox starts before the pod's application containers, so when their
  first event comes, :meth:`CriEngine.cached_pod` answers from memory and
  their first process already has the pod's labels.

Failures degrade, never stall: a socket that is missing, refuses, is slow
(``deadline_exceeded``) or answers errors makes :meth:`CriEngine.enrich`
return False (the fields keep what the runtime's files gave), counts
``errors[reason]`` (the metric ``secengine_container_engine_errors_total``)
and logs one line per outage; the engine then rests for a back-off
(doubling up to ``max_backoff`` seconds) in which it answers False at once,
so a dead runtime does not hold up the worker for other containers
(:class:`~secengine.state.containers.health.EngineHealth`).
``not_found`` is not a failure: the container is another runtime's.

Field semantics follow Falco's container plugin (``cri.go``): the image
digest is the ``sha256:...`` of ``imageRef``, ``container.labels`` are the
CRI labels plus ``io.kubernetes.sandbox.id`` and the pod's uid, name and
namespace, label values longer than ``label_max_len`` are dropped, mount
propagation is ``private``/``rslave``/``rshared``, host namespaces come
from the sandbox's namespace options.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from cachetools import TTLCache

from secengine.state.containers.cri.client import CriClient, CriError, api
from secengine.state.containers.health import EngineHealth
from secengine.state.containers.info import (
    DEFAULT_LABEL_MAX_LEN,
    ContainerInfo,
    Mount,
    PodInfo,
    split_image,
)

__all__ = ["CRI_TYPES", "CriEngine"]

#: ``container.type`` values a CRI runtime's containers have (the files' readers set them)
CRI_TYPES: Final = frozenset({"", "containerd", "cri-o", "cri"})

#: reasons that are not the engine's failure: the runtime does not know the container
_NOT_MINE: Final = frozenset({"not_found"})

_PROPAGATION: Final = {
    api.PROPAGATION_PRIVATE: "private",
    api.PROPAGATION_HOST_TO_CONTAINER: "rslave",
    api.PROPAGATION_BIDIRECTIONAL: "rshared",
}

#: the largest verbose ``info`` document parsed (a runtime spec is a few kB)
_MAX_INFO: Final = 1 << 20


@dataclass(slots=True)
class _Sandbox:
    """What the engine caches per pod sandbox."""

    pod: PodInfo
    host_pid: bool
    host_network: bool
    host_ipc: bool


class CriEngine:
    """:class:`MetadataEngine` over the CRI RuntimeService on ``socket`` (see the module)."""

    def __init__(
        self,
        socket: str,
        *,
        timeout: float = 1.0,
        max_entries: int = 4096,
        ttl: float = 3600.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        label_max_len: int = DEFAULT_LABEL_MAX_LEN,
    ) -> None:
        self.socket = socket
        self.timeout = timeout
        self.label_max_len = label_max_len
        self.health = EngineHealth("cri", socket, backoff=backoff, max_backoff=max_backoff)
        self._client: CriClient | None = None
        #: ``container.type`` of this runtime's containers, from Version (``containerd``...)
        self.runtime = ""
        self._sandboxes: TTLCache[str, _Sandbox] = TTLCache(maxsize=max_entries, ttl=ttl)
        self._lock = threading.Lock()
        self._closed = False
        self.calls = 0

    @property
    def name(self) -> str:
        return "cri"

    @property
    def errors(self) -> Counter[str]:
        """Failed calls by reason (``missing``, ``unavailable``, ``deadline_exceeded``...)."""
        return self.health.errors

    # -- the event loop's side (never blocks) ---------------------------------
    def cached_pod(self, sandbox_id: str) -> PodInfo | None:
        """The pod of ``sandbox_id`` if its sandbox was already looked up."""
        with self._lock:
            sandbox = self._sandboxes.get(sandbox_id)
        return sandbox.pod if sandbox is not None else None

    def forget(self, full_id: str) -> None:
        """A container exited: a sandbox's cached pod goes with it."""
        with self._lock:
            self._sandboxes.pop(full_id, None)

    def __len__(self) -> int:
        return len(self._sandboxes)

    # -- the worker's side ----------------------------------------------------
    def enrich(self, info: ContainerInfo) -> bool:
        """Fill ``info`` from the runtime; False when it is not this runtime's or it failed."""
        if info.type not in CRI_TYPES or self.health.resting() or self._closed:
            return False
        if not os.path.exists(self.socket):
            self.health.failed("missing", "no such socket")
            return False
        try:
            client = self._connect()
            known = self._enrich(client, info)
        except CriError as e:
            if e.reason in _NOT_MINE:
                self.health.answered()
                return False
            self.health.failed(e.reason, f"{e.method}: {e.detail}")
            return False
        self.health.answered()
        return known

    def _connect(self) -> CriClient:
        if self._client is None:
            self._client = CriClient(self.socket, timeout=self.timeout)
        if not self.runtime:
            self.calls += 1
            name = self._client.version().runtime_name
            self.runtime = name if name in ("containerd", "cri-o") else "cri"
        return self._client

    def _enrich(self, client: CriClient, info: ContainerInfo) -> bool:
        if not info.is_sandbox:
            self.calls += 1
            listed = client.list_containers(container_id=info.full_id)
            if listed:
                return self._enrich_container(client, info, listed[0])
        # a sandbox (containerd does not list sandboxes as containers), or not this runtime's
        sandbox = self._fetch_sandbox(client, info.full_id, info.pod)
        info.is_sandbox = True
        self._fill_from_sandbox(info, sandbox)
        info.type = info.type or self.runtime
        return True

    def _enrich_container(
        self, client: CriClient, info: ContainerInfo, listed: api.Container
    ) -> bool:
        self.calls += 1
        resp = client.container_status(info.full_id, verbose=True)
        status = resp.status
        extra = _verbose_info(resp.info.get("info", ""))
        info.type = info.type or self.runtime
        if status.metadata.name:
            info.name = status.metadata.name
        _fill_image(info, status, extra)
        if not info.mounts:  # the bundle's (every OCI mount) stay what the first event saw
            info.mounts = [
                Mount(
                    source=m.host_path,
                    dest=m.container_path,
                    rw=not m.readonly,
                    propagation=_PROPAGATION.get(m.propagation, "unknown"),
                )
                for m in status.mounts
            ]
        if status.created_at:
            info.start_ts = status.created_at
        if info.privileged is None:
            info.privileged = _privileged(extra)
        labels = {k: v for k, v in status.labels.items() if len(v) <= self.label_max_len}
        sandbox_id = listed.pod_sandbox_id
        if sandbox_id:
            pod = info.pod if info.pod is not None and info.pod.sandbox_id == sandbox_id else None
            sandbox = self._cached_sandbox(sandbox_id) or self._fetch_sandbox(
                client, sandbox_id, pod
            )
            if pod is not None and pod is not sandbox.pod:
                _copy_pod(pod, sandbox.pod)
            self._fill_from_sandbox(info, sandbox)
            labels["io.kubernetes.sandbox.id"] = sandbox_id
            labels["io.kubernetes.pod.uid"] = sandbox.pod.uid
            labels["io.kubernetes.pod.name"] = sandbox.pod.name
            labels["io.kubernetes.pod.namespace"] = sandbox.pod.namespace
        info.labels = {**info.labels, **labels}
        return True

    def _cached_sandbox(self, sandbox_id: str) -> _Sandbox | None:
        with self._lock:
            return self._sandboxes.get(sandbox_id)

    def _fetch_sandbox(self, client: CriClient, sandbox_id: str, pod: PodInfo | None) -> _Sandbox:
        """``PodSandboxStatus``: fills ``pod`` (the resolver's shared record) or a new one."""
        self.calls += 1
        status = client.pod_sandbox_status(sandbox_id).status
        if pod is None or pod.sandbox_id != sandbox_id:
            pod = self.cached_pod(sandbox_id) or PodInfo(sandbox_id=sandbox_id)
        pod.name = status.metadata.name or pod.name
        pod.namespace = status.metadata.namespace or pod.namespace
        pod.uid = status.metadata.uid or pod.uid
        pod.labels = {k: v for k, v in status.labels.items() if len(v) <= self.label_max_len}
        pod.ip = status.network.ip or pod.ip
        if "api:cri" not in pod.filled_by:
            pod.filled_by.append("api:cri")
        opts = status.linux.namespaces.options
        sandbox = _Sandbox(
            pod=pod,
            host_pid=opts.pid == api.NODE,
            host_network=opts.network == api.NODE,
            host_ipc=opts.ipc == api.NODE,
        )
        with self._lock:
            self._sandboxes[sandbox_id] = sandbox
        return sandbox

    @staticmethod
    def _fill_from_sandbox(info: ContainerInfo, sandbox: _Sandbox) -> None:
        info.pod = sandbox.pod
        info.ip = sandbox.pod.ip or info.ip
        if info.host_pid is None:
            info.host_pid = sandbox.host_pid
        if info.host_network is None:
            info.host_network = sandbox.host_network
        if info.host_ipc is None:
            info.host_ipc = sandbox.host_ipc

    def stats(self) -> dict[str, Any]:
        """Counters for the metrics endpoint."""
        return {"calls": self.calls, "errors": dict(self.errors), "pods": len(self._sandboxes)}

    def close(self) -> None:
        """Close the gRPC channel; later calls answer False at once (the resolver is closing,
        its worker may still be finishing a lookup)."""
        self._closed = True
        if self._client is not None:
            self._client.close()


def _copy_pod(into: PodInfo, other: PodInfo) -> None:
    into.name = other.name or into.name
    into.namespace = other.namespace or into.namespace
    into.uid = other.uid or into.uid
    into.labels = dict(other.labels)
    into.ip = other.ip or into.ip
    for stage in other.filled_by:
        if stage not in into.filled_by:
            into.filled_by.append(stage)


def _verbose_info(text: str) -> dict[str, Any]:
    """The runtime's verbose ``info`` JSON (containerd, CRI-O), or {} if absent or unusable."""
    if not text or len(text) > _MAX_INFO:
        return {}
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested past the interpreter's limit
        return {}
    return doc if isinstance(doc, dict) else {}


def _dig(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _privileged(extra: dict[str, Any]) -> bool | None:
    """The privileged flag of the verbose info, in the container plugin's order (None: no info)."""
    for path in (
        ("runtimeSpec", "linux", "security_context", "privileged"),
        ("config", "linux", "security_context", "privileged"),
        ("privileged",),
    ):
        value = _dig(extra, *path)
        if isinstance(value, bool):
            return value
    # the runtimes omit a false flag from their JSON (omitempty), as the container plugin reads it
    return False if extra else None


def _fill_image(info: ContainerInfo, status: api.ContainerStatus, extra: dict[str, Any]) -> None:
    """Image, repository, tag, digest and id, as the container plugin reads ``imageRef``.

    ``imageRef`` is either ``repo@sha256:<digest>`` (the digest, and the
    repository) or a bare ``sha256:<id>`` (an image without a registry
    digest: that is the digest Falco reports). An image name that is only an
    id is replaced by the ``io.kubernetes.cri.image-name`` annotation.
    """
    image = status.image.image
    ref = status.image_ref
    digest = ""
    tag_from_image = False
    at = ref.find("sha256:")
    if at == 0:
        digest = ref
    elif at > 0 and ref[at - 1] == "@":
        image, digest = ref[: at - 1], ref[at:]
        tag_from_image = True
    if not image or image.startswith("sha256"):
        annotations = _dig(extra, "runtimeSpec", "annotations") or {}
        for key in (
            "io.kubernetes.cri.image-name",
            "io.kubernetes.cri-o.Image",
            "io.kubernetes.cri-o.ImageName",
        ):
            name = annotations.get(key) if isinstance(annotations, dict) else None
            if isinstance(name, str) and name:
                image, tag_from_image = name, False
                break
    repository, tag, _ = split_image(image)
    if tag_from_image:
        _, tag, _ = split_image(status.image.image)
        if tag:
            image = f"{image}:{tag}"
    if image:
        info.image, info.image_repository, info.image_tag = image, repository, tag
    if digest:
        info.image_digest = digest
    configured = _dig(extra, "config", "image", "image")
    image_id = configured.rpartition(":")[2] if isinstance(configured, str) else ""
    image_id = image_id or status.image_id.removeprefix("sha256:")
    if image_id:
        info.image_id = image_id[:12]
        info.image_id_full = image_id
