"""Containers: the id from a cgroup path, the metadata from the runtime's API socket.

The id comes from the process's cgroup path, as the container plugin finds
it: docker (``/docker/<64 hex>``, ``docker-<id>.scope``), podman/libpod
(``libpod-<id>``), containerd/CRI (``cri-containerd-<id>.scope``,
``/kubepods/.../<id>``), CRI-O (``crio-<id>.scope``). Processes outside any
container have the id ``host``. Like Falco, ``container.id`` is the first 12
hex digits.

Name, image, privileged flag, mounts and Kubernetes labels come from a
Docker-compatible API (``GET /containers/<id>/json``) on the first socket that
answers: docker's, podman's (root or rootless ``podman system service``).
Lookups run on a worker thread (evaluation never waits for a runtime), are
cached (LRU), and failures are counted and retried: quickly at first (a
runtime may be busy starting the container), then once a minute.
CRI (containerd's gRPC API) needs gRPC, which secengine does not depend
on; containers it runs get their id (and pod labels are unavailable).
"""

from __future__ import annotations

import http.client
import json
import queue
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from cachetools import LRUCache

from secengine.fields.container import HOST

__all__ = [
    "DEFAULT_SOCKETS",
    "HOST",
    "ContainerInfo",
    "ContainerResolver",
    "container_id_from_cgroup",
    "split_image",
]


_ID: Final = re.compile(
    r"(?:docker-|libpod-|cri-containerd-|crio-|containerd-|/docker/|/kubepods/[^\n]*/|/)"
    r"(?:conmon-)?([0-9a-f]{64})(?:\.scope)?(?:/|$)"
)

#: Docker-compatible API sockets, tried in order.
DEFAULT_SOCKETS: Final = (
    "/var/run/docker.sock",
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
)


def container_id_from_cgroup(path: str) -> str:
    """The 64-hex container id in a cgroup path, or ``host``."""
    if not path or path == "/":
        return HOST
    if "conmon-" in path:
        return HOST  # podman's monitor process runs outside the container
    m = _ID.search(path)
    return m.group(1) if m else HOST


def split_image(image: str) -> tuple[str, str, str]:
    """``repo[:tag][@digest]`` -> (repository, tag, digest)."""
    digest = ""
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = ""
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        image, tag = image[:colon], image[colon + 1 :]
    return image, tag, digest


@dataclass(slots=True)
class ContainerInfo:
    """What the container fields read."""

    id: str
    full_id: str
    type: str = ""
    name: str = ""
    image: str = ""
    image_id: str = ""
    #: the runtime's full image id, to look the image's digest up
    image_id_full: str = ""
    image_repository: str = ""
    image_tag: str = ""
    image_digest: str = ""
    privileged: bool | None = None
    mounts: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    start_ts: int = 0
    resolved: bool = False


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class ContainerResolver:
    """Container metadata by id: cached, resolved in the background, failures counted.

    :meth:`get` never blocks: it returns the cached :class:`ContainerInfo`
    (``resolved`` False until the runtime answered) and, the first time an id
    is seen, queues a lookup for a worker thread. A runtime that is busy
    starting the container (podman holds the container's lock until the
    entrypoint runs) is asked again after ``retry_first`` seconds, up to
    ``attempts`` times, then every ``retry_after`` seconds.
    """

    def __init__(
        self,
        sockets: Sequence[str] = DEFAULT_SOCKETS,
        *,
        max_entries: int = 4096,
        timeout: float = 2.0,
        retry_first: float = 0.2,
        attempts: int = 20,
        retry_after: float = 60.0,
    ) -> None:
        self.sockets = tuple(sockets)
        self.timeout = timeout
        self.retry_first = retry_first
        self.attempts = attempts
        self.retry_after = retry_after
        self._cache: LRUCache[str, ContainerInfo] = LRUCache(maxsize=max_entries)
        self._tries: LRUCache[str, tuple[int, float]] = LRUCache(maxsize=max_entries)
        self._queue: queue.Queue[str] = queue.Queue(maxsize=max_entries)
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.lookups = 0
        self.lookups_failed = 0
        self.lookups_dropped = 0

    def __len__(self) -> int:
        return len(self._cache)

    def get(self, full_id: str) -> ContainerInfo:
        """The container's info now (maybe not yet resolved); schedules a lookup if due."""
        info = self._cache.get(full_id)
        if info is None:
            info = ContainerInfo(id=full_id[:12], full_id=full_id)
            self._cache[full_id] = info
        if not info.resolved and full_id not in self._pending and self._due(full_id):
            self._schedule(full_id)
        return info

    def resolve_now(self, full_id: str) -> ContainerInfo:
        """Look the container up synchronously (tools and tests)."""
        info = self._cache.get(full_id) or ContainerInfo(id=full_id[:12], full_id=full_id)
        self._cache[full_id] = info
        self._lookup(info)
        return info

    def _due(self, full_id: str) -> bool:
        tries = self._tries.get(full_id)
        if tries is None:
            return True
        n, at = tries
        wait = self.retry_first if n < self.attempts else self.retry_after
        return time.monotonic() - at >= wait

    def _schedule(self, full_id: str) -> None:
        with self._lock:
            if full_id in self._pending:
                return
            try:
                self._queue.put_nowait(full_id)
            except queue.Full:
                self.lookups_dropped += 1
                return
            self._pending.add(full_id)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="secengine-containers", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        while True:
            try:
                full_id = self._queue.get(timeout=5.0)
            except queue.Empty:
                return
            info = self._cache.get(full_id)
            if info is not None:
                self._lookup(info)
            with self._lock:
                self._pending.discard(full_id)

    def _lookup(self, info: ContainerInfo) -> None:
        self.lookups += 1
        data, kind = self._inspect(info.full_id)
        if data is None:
            self.lookups_failed += 1
            n, _ = self._tries.get(info.full_id, (0, 0.0))
            self._tries[info.full_id] = (n + 1, time.monotonic())
            return
        _fill(info, data, kind)
        if not info.image_digest:
            self._image_digest(info)

    def _inspect(self, full_id: str) -> tuple[dict[str, Any] | None, str]:
        return inspect_container(full_id, self.sockets, self.timeout)

    def _image_digest(self, info: ContainerInfo) -> None:
        """An image named by tag: its registry digest is the image's (``RepoDigests``), one
        more request, made after the container's other fields are available."""
        if not info.image_id_full:
            return
        image, _ = _get_json(f"/images/{info.image_id_full}/json", self.sockets, self.timeout)
        if image is not None:
            info.image_digest = repo_digest(image.get("RepoDigests") or [], info.image_repository)


def repo_digest(repo_digests: Sequence[str], repository: str) -> str:
    """The digest of ``repository`` among an image's ``RepoDigests`` (``repo@sha256:...``),
    else the first one's, as Falco's container engines pick it."""
    digests = [d.split("@", 1) for d in repo_digests if "@" in d]
    for repo, digest in digests:
        if repo == repository:
            return digest
    return digests[0][1] if digests else ""


def _get_json(
    path: str, sockets: Sequence[str], timeout: float
) -> tuple[dict[str, Any] | None, str]:
    """``GET path`` on the first of ``sockets`` that answers 200: (document, engine)."""
    for sock in sockets:
        try:
            conn = _UnixHTTPConnection(sock, timeout)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
            finally:
                conn.close()
        except OSError:
            continue
        if resp.status == 200:
            return json.loads(body), "podman" if "podman" in sock else "docker"
    return None, ""


def inspect_container(
    ref: str, sockets: Sequence[str], timeout: float = 5.0
) -> tuple[dict[str, Any] | None, str]:
    """``GET /containers/REF/json`` on the first Docker-compatible API socket that knows ``ref``.

    Returns the inspect document and the engine (``podman`` or ``docker``,
    from the socket path), or ``(None, "")``.
    """
    return _get_json(f"/containers/{ref}/json", sockets, timeout)


def _fill(info: ContainerInfo, data: dict[str, Any], kind: str) -> None:
    config = data.get("Config") or {}
    host = data.get("HostConfig") or {}
    info.type = kind
    info.name = (data.get("Name") or "").lstrip("/")
    image = config.get("Image") or data.get("ImageName") or ""
    info.image = image
    info.image_id = (data.get("Image") or "").removeprefix("sha256:")[:12]
    info.image_repository, info.image_tag, info.image_digest = split_image(image)
    info.image_id_full = data.get("Image") or ""
    info.privileged = bool(host.get("Privileged", False))
    info.mounts = list(data.get("Mounts") or [])
    info.labels = dict(config.get("Labels") or {})
    started = (data.get("State") or {}).get("StartedAt") or ""
    info.start_ts = _parse_ts(started)
    info.resolved = True


def _parse_ts(text: str) -> int:
    """RFC 3339 with nanoseconds -> ns since the epoch (0 if unparsable)."""

    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", text)
    if not m:
        return 0
    base = datetime.fromisoformat(m.group(1) + (m.group(3) or "Z").replace("Z", "+00:00"))
    frac = (m.group(2) or "0")[:9].ljust(9, "0")
    return int(base.timestamp()) * 1_000_000_000 + int(frac)
