"""podman's files: libpod's database, else the OCI bundle and containers/storage's list.

libpod keeps each container's configuration in a BoltDB
(``<graph root>/libpod/bolt_state.db``, bucket ``ctr/<id>``, key
``config``, see :mod:`.boltdb`), written when the container is created:
one JSON document with the name, labels, image, privileged flag, the
volumes the user asked for and the OCI spec podman generated (host
namespaces, mounts). It is read first: one lookup and one parse (~0.2 ms).
Without it (podman 5's SQLite database, or a record not there), the
bundle's ``config.json`` (annotated ``io.container.manager: libpod``;
found in containers/storage or through runc's ``state.json``,
:mod:`.storage`) gives the privileged flag
(``io.podman.annotations.privileged``), namespaces and mounts, and
containers/storage's ``<driver>-containers/containers.json`` the name and
image. Mounts are the ones the user asked for (``userVolumes``), as
podman's API lists them; without libpod's record, the binds whose source
is not the container's own storage.
"""

from __future__ import annotations

import os
from typing import Any, Final

from secengine.state.containers.files import boltdb
from secengine.state.containers.files.base import FileError
from secengine.state.containers.files.bounded import MAX_BYTES, loads_bounded
from secengine.state.containers.files.oci import OciSpec
from secengine.state.containers.files.storage import ContainersStorage
from secengine.state.containers.files.typed import boolean, obj, seq, string_map, text
from secengine.state.containers.info import ContainerInfo, Mount, split_image

__all__ = ["PodmanFiles"]

_LIBPOD: Final = "libpod"
_MANAGER: Final = "io.container.manager"
_PRIVILEGED: Final = "io.podman.annotations.privileged"


class PodmanFiles:
    """A :class:`~.base.RuntimeFiles` for podman (see the module docstring)."""

    runtime = "podman"

    def __init__(self, storage: ContainersStorage | None = None) -> None:
        self.storage = storage if storage is not None else ContainersStorage()

    def read(self, full_id: str, problems: list[FileError]) -> ContainerInfo | None:
        try:
            info = self._from_libpod(full_id)
        except FileError as e:
            problems.append(e)  # the bundle and containers.json may still say enough
            info = None
        if info is None:
            info = self._from_bundle(full_id)
        if info is not None:
            info.filled(f"files:{self.runtime}")
        return info

    def _new(self, full_id: str, spec: OciSpec) -> ContainerInfo:
        info = ContainerInfo(id=full_id[:12], full_id=full_id, type=self.runtime)
        info.host_pid, info.host_network, info.host_ipc = spec.host_namespaces()
        flag = spec.annotations.get(_PRIVILEGED, "")
        info.privileged = flag.upper() == "TRUE" if flag else spec.privileged()
        return info

    def _from_libpod(self, full_id: str) -> ContainerInfo | None:
        record = self._libpod_config(full_id)
        if record is None:
            return None
        doc, path = record
        spec = OciSpec(obj(doc, "spec", path), f"{path} [ctr/{full_id[:12]}/config]")
        info = self._new(full_id, spec)
        info.name = text(doc, "name", path)
        info.labels = string_map(doc, "labels", path)
        image = text(doc, "rootfsImageName", path) or text(doc, "RawImageName", path)
        self._image(info, image, text(doc, "rootfsImageID", path))
        privileged = boolean(doc, "privileged", path)
        if privileged is not None:
            info.privileged = privileged
        wanted = {v for v in seq(doc, "userVolumes", path) if isinstance(v, str)}
        info.mounts = [m for m in spec.mounts() if m.dest in wanted]
        return info

    def _from_bundle(self, full_id: str) -> ContainerInfo | None:
        spec = self.storage.spec(full_id)
        if spec is None or spec.annotations.get(_MANAGER) != _LIBPOD:
            return None
        info = self._new(full_id, spec)
        self._from_storage_list(info)
        info.mounts = self._own_binds(spec, full_id)
        return info

    def _libpod_config(self, full_id: str) -> tuple[dict[str, Any], str] | None:
        graph = self.storage.graph
        path = graph.join("libpod", "bolt_state.db")
        if not graph.inside(os.path.dirname(path)):
            return None
        raw = boltdb.lookup(path, (b"ctr", full_id.encode()), b"config", MAX_BYTES)
        if raw is None:
            return None
        doc = loads_bounded(raw, path)
        if not isinstance(doc, dict):
            raise FileError("wrong_type", path, "the container's config is not an object")
        return doc, path

    def _from_storage_list(self, info: ContainerInfo) -> None:
        graph = self.storage.graph
        path = graph.join(self.storage.containers_dir, "containers.json")
        data = graph.read(path)
        if data is None:
            return
        listing = loads_bounded(data, path)
        if not isinstance(listing, list):
            raise FileError("wrong_type", path, "not a JSON array")
        for entry in listing:
            if isinstance(entry, dict) and entry.get("id") == info.full_id:
                names = seq(entry, "names", path)
                info.name = names[0] if names and isinstance(names[0], str) else ""
                meta = text(entry, "metadata", path)
                image = ""
                if meta:
                    parsed = loads_bounded(meta.encode(), path)
                    if isinstance(parsed, dict):
                        image = text(parsed, "image-name", path)
                self._image(info, image, text(entry, "image", path))
                return

    def _image(self, info: ContainerInfo, image: str, image_id: str) -> None:
        info.image = image
        info.image_repository, info.image_tag, info.image_digest = split_image(image)
        info.image_id = image_id.removeprefix("sha256:")[:12]
        info.image_id_full = image_id

    def _own_binds(self, spec: OciSpec, full_id: str) -> list[Mount]:
        own = (self.storage.graph.path, self.storage.run.path)
        return [
            m
            for m in spec.mounts()
            if m.source.startswith("/") and not m.source.startswith(own) and full_id not in m.source
        ]
