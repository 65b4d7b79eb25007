"""The Docker-compatible API engine (docker's and podman's ``GET /containers/<id>/json``).

One :class:`DockerApiEngine` per unix socket; the engine's name is
``podman`` when the socket path says so, else ``docker``. It fills the name,
image, privileged flag, namespaces, mounts, labels and start time from the
inspect document, then the image's registry digest with one more request
(``GET /images/<id>/json``, ``RepoDigests``). A socket that is missing,
slow (``timeout``) or answers an error makes :meth:`DockerApiEngine.enrich`
return False, counted by reason and logged once per outage
(:class:`~secengine.state.containers.health.EngineHealth`); the resolver
asks again later.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from secengine.state.containers.health import EngineHealth
from secengine.state.containers.info import ContainerInfo, Mount, PodInfo, split_image

__all__ = [
    "DEFAULT_SOCKETS",
    "DockerApiEngine",
    "api_post",
    "inspect_container",
    "parse_ts",
    "repo_digest",
]

#: Docker-compatible API sockets, tried in order.
DEFAULT_SOCKETS: Final = (
    "/var/run/docker.sock",
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
)

#: the largest API answer read (an inspect document is a few kB)
_MAX_BODY: Final = 4 << 20


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def engine_of(sock: str) -> str:
    """``podman`` or ``docker``, from a socket's path."""
    return "podman" if "podman" in sock else "docker"


def _get_json(
    path: str,
    sockets: Sequence[str],
    timeout: float,
    problems: list[tuple[str, str]] | None = None,
) -> tuple[dict[str, Any] | None, str]:
    """``GET path`` on the first of ``sockets`` that answers 200: (document, engine).

    A socket that failed (not one that answered 404) adds ``(reason, detail)``
    to ``problems``: ``missing``, ``unavailable``, ``timeout``, ``http_<status>``,
    ``too_large``, ``not_json``.
    """
    for sock in sockets:
        try:
            conn = _UnixHTTPConnection(sock, timeout)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read(_MAX_BODY + 1)
            finally:
                conn.close()
        except OSError as e:
            _problem(problems, _os_reason(e), f"GET {path}: {e}")
            continue
        if resp.status != 200 or len(body) > _MAX_BODY:
            if resp.status != 404:
                too_large = resp.status == 200
                reason = "too_large" if too_large else f"http_{resp.status}"
                _problem(problems, reason, f"GET {path}: {resp.status} {resp.reason}")
            continue
        try:
            doc = json.loads(body)
        except ValueError:
            _problem(problems, "not_json", f"GET {path}: the answer is not JSON")
            continue
        if isinstance(doc, dict):
            return doc, engine_of(sock)
        _problem(problems, "not_json", f"GET {path}: the answer is not a JSON object")
    return None, ""


def api_post(sock: str, path: str, timeout: float) -> tuple[int, bytes]:
    """``POST path`` (no body) on one socket: the status and at most 64 kB of the answer.

    For the container actions of responses (``/containers/ID/stop``,
    ``/kill``); an OSError (no socket, timeout) is the caller's to report.
    """
    conn = _UnixHTTPConnection(sock, timeout)
    try:
        conn.request("POST", path, body=b"", headers={"Content-Length": "0"})
        resp = conn.getresponse()
        return resp.status, resp.read(64 << 10)
    finally:
        conn.close()


def _os_reason(e: OSError) -> str:
    if isinstance(e, FileNotFoundError):
        return "missing"
    if isinstance(e, TimeoutError):
        return "timeout"
    return "unavailable"


def _problem(problems: list[tuple[str, str]] | None, reason: str, detail: str) -> None:
    if problems is not None:
        problems.append((reason, detail))


def inspect_container(
    ref: str, sockets: Sequence[str], timeout: float = 5.0
) -> tuple[dict[str, Any] | None, str]:
    """``GET /containers/REF/json`` on the first Docker-compatible API socket that knows ``ref``.

    Returns the inspect document and the engine (``podman`` or ``docker``,
    from the socket path), or ``(None, "")``.
    """
    return _get_json(f"/containers/{ref}/json", sockets, timeout)


def repo_digest(repo_digests: Sequence[str], repository: str) -> str:
    """The digest of ``repository`` among an image's ``RepoDigests`` (``repo@sha256:...``),
    else the first one's, as Falco's container engines pick it."""
    digests = [d.split("@", 1) for d in repo_digests if isinstance(d, str) and "@" in d]
    for repo, digest in digests:
        if repo == repository:
            return digest
    return digests[0][1] if digests else ""


def parse_ts(text: str) -> int:
    """RFC 3339 with nanoseconds -> ns since the epoch (0 if unparsable)."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", text)
    if not m:
        return 0
    try:
        base = datetime.fromisoformat(m.group(1) + (m.group(3) or "Z").replace("Z", "+00:00"))
    except ValueError:
        return 0
    frac = (m.group(2) or "0")[:9].ljust(9, "0")
    return int(base.timestamp()) * 1_000_000_000 + int(frac)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def api_mounts(mounts: Any) -> list[Mount]:
    """The inspect document's ``Mounts`` as :class:`Mount` records."""
    if not isinstance(mounts, list):
        return []
    return [
        Mount(
            _str(m.get("Source")),
            _str(m.get("Destination")),
            _str(m.get("Mode")),
            bool(m.get("RW", True)),
            _str(m.get("Propagation")),
        )
        for m in mounts
        if isinstance(m, dict)
    ]


def fill_from_inspect(info: ContainerInfo, data: dict[str, Any], kind: str) -> None:
    """Assign what a ``/containers/<id>/json`` document says to ``info``."""
    config = _dict(data.get("Config"))
    host = _dict(data.get("HostConfig"))
    info.type = kind
    info.name = _str(data.get("Name")).lstrip("/")
    image = _str(config.get("Image")) or _str(data.get("ImageName"))
    info.image = image
    image_id = _str(data.get("Image"))
    info.image_id = image_id.removeprefix("sha256:")[:12]
    info.image_repository, info.image_tag, info.image_digest = split_image(image)
    info.image_id_full = image_id
    info.privileged = bool(host.get("Privileged", False))
    info.host_pid = _str(host.get("PidMode")) == "host"
    info.host_network = _str(host.get("NetworkMode")) == "host"
    info.host_ipc = _str(host.get("IpcMode")) == "host"
    info.mounts = api_mounts(data.get("Mounts"))
    labels = _dict(config.get("Labels"))
    info.labels = {k: v for k, v in labels.items() if isinstance(v, str)}
    info.start_ts = parse_ts(_str(_dict(data.get("State")).get("StartedAt")))
    ip = _str(_dict(data.get("NetworkSettings")).get("IPAddress"))
    if ip:
        info.ip = ip


class DockerApiEngine:
    """A :class:`~.engines.MetadataEngine` over one Docker-compatible API socket."""

    def __init__(self, socket_path: str, *, timeout: float = 2.0) -> None:
        self.socket = socket_path
        self.timeout = timeout
        self._name = engine_of(socket_path)
        #: failures counted by reason and logged once per outage (no back-off: podman may
        #: be busy starting the very container asked about, and answers soon after)
        self.health = EngineHealth(self._name, socket_path)

    @property
    def name(self) -> str:
        return self._name

    @property
    def errors(self) -> Counter[str]:
        """Failed requests by reason (``missing``, ``unavailable``, ``timeout``...)."""
        return self.health.errors

    def enrich(self, info: ContainerInfo) -> bool:
        problems: list[tuple[str, str]] = []
        path = f"/containers/{info.full_id}/json"
        data, kind = _get_json(path, (self.socket,), self.timeout, problems)
        if data is None:
            if problems:
                self.health.failed(*problems[0])
            else:
                self.health.answered()  # 404: another runtime's container
            return False
        self.health.answered()
        fill_from_inspect(info, data, kind)
        if not info.image_digest and info.image_id_full:
            image, _ = _get_json(f"/images/{info.image_id_full}/json", (self.socket,), self.timeout)
            if image is not None:
                digests = image.get("RepoDigests")
                info.image_digest = repo_digest(
                    digests if isinstance(digests, list) else [], info.image_repository
                )
        return True

    def cached_pod(self, sandbox_id: str) -> PodInfo | None:
        return None

    def forget(self, full_id: str) -> None:
        return None

    def close(self) -> None:
        return None
