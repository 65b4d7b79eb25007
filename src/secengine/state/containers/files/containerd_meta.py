"""containerd's metadata database: what the CRI plugin knows about a container before it starts.

The bundle (:mod:`.containerd`) has the CRI annotations but not the
container's own CRI labels, its image digest or the pod's labels and IP.
containerd keeps them in its BoltDB, ``<root>/io.containerd.metadata.v1.bolt/meta.db``
(``/var/lib/containerd`` by default), written by ``CreateContainer`` and
``RunPodSandbox``, so before the container's first process runs:

- ``v1/<namespace>/containers/<id>/extensions/io.cri-containerd.container.metadata``:
  a protobuf ``Any`` whose value is the CRI plugin's JSON record of the
  container (``Metadata.Config`` is the CRI ``ContainerConfig`` with its
  labels, ``Metadata.ImageRef`` the image's id);
- ``.../io.cri-containerd.sandbox.metadata`` on a sandbox: the pod's
  ``PodSandboxConfig`` (labels) and ``IP``;
- ``v1/<namespace>/images/<name>/target/digest``: an image's manifest
  digest. The CRI plugin names each image by its id too; an image whose
  name is ``<repository>@sha256:...`` with the same manifest is the
  registry digest ``ContainerStatus.imageRef`` reports, and without one
  ``imageRef`` is the id. :func:`image_digest` answers the same.

Reading one container costs one open and a few page reads (~0.3 ms).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final

from secengine.state.containers.files.base import FileError
from secengine.state.containers.files.boltdb import BoltFile
from secengine.state.containers.files.bounded import MAX_BYTES, loads_bounded
from secengine.state.containers.files.typed import obj, string_map, text
from secengine.state.containers.info import DEFAULT_LABEL_MAX_LEN

__all__ = [
    "DEFAULT_META_DBS",
    "CriMetadata",
    "CriRecord",
    "MetadataDb",
    "image_digest",
    "meta_db_path",
]

_DB: Final = ("io.containerd.metadata.v1.bolt", "meta.db")


def meta_db_path(root_dir: str) -> str:
    """Where containerd keeps its metadata database under its root directory."""
    return os.path.join(root_dir, *_DB)


#: meta.db under containerd's root directories: the default one, k3s's
DEFAULT_META_DBS: Final = (
    meta_db_path("/var/lib/containerd"),
    meta_db_path("/var/lib/rancher/k3s/agent/containerd"),
)
_CONTAINER_EXT: Final = b"io.cri-containerd.container.metadata"
_SANDBOX_EXT: Final = b"io.cri-containerd.sandbox.metadata"
#: pages one container's lookups may visit (a node with thousands of images: a few dozen)
_MAX_PAGES: Final = 256


@dataclass(slots=True)
class CriRecord:
    """What the CRI plugin stored about a container or a sandbox."""

    labels: dict[str, str] = field(default_factory=dict)
    #: the image's id (``sha256:...``; containers only)
    image_ref: str = ""
    #: the pod's primary IP (sandboxes only; "" without CNI)
    ip: str = ""


@dataclass(slots=True)
class CriMetadata:
    """A container's CRI record, its image's digest, and its pod sandbox's record."""

    container: CriRecord | None = None
    #: what CRI's ``imageRef`` would be ("" unknown)
    image_digest: str = ""
    sandbox: CriRecord | None = None


def _any_value(raw: bytes, path: str) -> bytes:
    """The ``value`` (field 2) of a protobuf ``Any`` (field 1 is its type URL)."""
    pos, value = 0, b""
    while pos < len(raw):
        tag = raw[pos]
        pos += 1
        if tag not in (0x0A, 0x12):
            raise FileError("wrong_type", path, f"not a protobuf Any (tag {tag:#x})")
        size, shift = 0, 0
        while True:
            if pos >= len(raw) or shift > 28:
                raise FileError("wrong_type", path, "truncated protobuf length")
            b = raw[pos]
            pos += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if pos + size > len(raw):
            raise FileError("wrong_type", path, "protobuf field past its record")
        if tag == 0x12:
            value = raw[pos : pos + size]
        pos += size
    return value


def _bounded_labels(labels: dict[str, str], max_len: int) -> dict[str, str]:
    """Labels whose value is at most ``max_len`` long, as the container plugin keeps them."""
    return {k: v for k, v in labels.items() if len(v) <= max_len}


class MetadataDb:
    """Reads containerd's ``meta.db`` under one root directory (see the module docstring)."""

    def __init__(self, path: str, *, label_max_len: int = DEFAULT_LABEL_MAX_LEN) -> None:
        self.path = path
        self.label_max_len = label_max_len

    def lookup(
        self, namespace: str, full_id: str, sandbox_id: str = "", repository: str = ""
    ) -> CriMetadata | None:
        """What the CRI plugin stored about a container (or sandbox) and its pod's sandbox.

        ``repository`` is the container's image repository, where its
        registry digest is looked up. None when the database is absent;
        :class:`FileError` when it is unusable.
        """
        with BoltFile(self.path, _MAX_PAGES) as db:
            if db.missing():
                return None
            ns = namespace.encode()
            found = CriMetadata()
            for key, record_id in (
                (_CONTAINER_EXT, full_id),
                (_SANDBOX_EXT, sandbox_id or full_id),
            ):
                ext = (b"v1", ns, b"containers", record_id.encode(), b"extensions")
                raw = db.get(ext, key, MAX_BYTES)
                if raw is None:
                    continue
                record = self._parse(raw, key == _SANDBOX_EXT)
                if key == _SANDBOX_EXT:
                    found.sandbox = record
                else:
                    found.container = record
                    if record.image_ref:
                        found.image_digest = image_digest(db, ns, record.image_ref, repository)
            return found

    def _parse(self, raw: bytes, sandbox: bool) -> CriRecord:
        where = f"{self.path} [{'sandbox' if sandbox else 'container'} metadata]"
        doc = loads_bounded(_any_value(raw, where), where)
        if not isinstance(doc, dict):
            raise FileError("wrong_type", where, "not a JSON object")
        meta = obj(doc, "Metadata", where)
        config = obj(meta, "Config", where)
        labels = _bounded_labels(string_map(config, "labels", where), self.label_max_len)
        if sandbox:
            return CriRecord(labels=labels, ip=text(meta, "IP", where))
        return CriRecord(labels=labels, image_ref=text(meta, "ImageRef", where))


def image_digest(db: BoltFile, namespace: bytes, image_id: str, repository: str) -> str:
    """What CRI's ``imageRef`` is for an image id: its registry digest in ``repository``
    (a name ``<repository>@sha256:...`` with the same manifest), else the id."""
    images = (b"v1", namespace, b"images")
    target = db.get((*images, image_id.encode(), b"target"), b"digest", 256)
    if target is None or not repository:
        return image_id
    prefix = repository.encode() + b"@sha256:"
    for name, _ in db.items(images, 0, prefix) or ():
        if db.get((*images, name, b"target"), b"digest", 256) == target:
            return name[len(repository) + 1 :].decode("ascii", "replace")
    return image_id
