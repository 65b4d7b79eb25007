"""Where podman and CRI-O keep a container's bundle: containers/storage and the OCI runtime's root.

Both run containers through containers/storage: a container's directories
are ``<graph root>/<driver>-containers/<id>/userdata`` (persistent,
``/var/lib/containers/storage``) and ``<run root>/<driver>-containers/<id>/
userdata`` (``/run/containers/storage``); the OCI bundle's ``config.json``
is in one of them (podman's in the graph root's, CRI-O's in the run
root's), read there first. Elsewhere (a bundle moved by configuration),
the OCI runtime's state (runc's ``<root>/<id>/state.json``, ``/run/runc``
for root) names it in its ``bundle=`` label; that bundle must lie inside
one of the storage roots.
"""

from __future__ import annotations

import os
from typing import Final

from secengine.state.containers.files.bounded import RuntimeRoot
from secengine.state.containers.files.oci import OciSpec
from secengine.state.containers.files.typed import obj, seq

__all__ = [
    "DEFAULT_GRAPH_ROOT",
    "DEFAULT_RUNTIME_ROOTS",
    "DEFAULT_RUN_ROOT",
    "ContainersStorage",
]

DEFAULT_GRAPH_ROOT: Final = "/var/lib/containers/storage"
DEFAULT_RUN_ROOT: Final = "/run/containers/storage"
#: the OCI runtimes' state roots for root (runc's; crun keeps no state.json)
DEFAULT_RUNTIME_ROOTS: Final = ("/run/runc",)


class ContainersStorage:
    """A containers/storage layout: finds and reads a container's OCI bundle."""

    def __init__(
        self,
        graph_root: str = DEFAULT_GRAPH_ROOT,
        run_root: str = DEFAULT_RUN_ROOT,
        runtime_roots: tuple[str, ...] = DEFAULT_RUNTIME_ROOTS,
        driver: str = "overlay",
    ) -> None:
        self.graph = RuntimeRoot(graph_root)
        self.run = RuntimeRoot(run_root)
        self.runtimes = tuple(RuntimeRoot(r) for r in runtime_roots)
        self.containers_dir = f"{driver}-containers"

    def runtime_bundle(self, full_id: str) -> str | None:
        """The bundle directory the OCI runtime's state names, if it lies in a storage root."""
        for root in self.runtimes:
            path = root.join(full_id, "state.json")
            state = root.read_json(path)
            if state is None:
                continue
            for label in seq(obj(state, "config", path), "labels", path):
                if isinstance(label, str) and label.startswith("bundle="):
                    bundle = label[len("bundle=") :]
                    if self.graph.inside(bundle) or self.run.inside(bundle):
                        return bundle
            return None
        return None

    def spec(self, full_id: str) -> OciSpec | None:
        """The container's OCI spec, from the usual places or the bundle the runtime names."""
        for root in (self.run, self.graph):
            path = root.join(self.containers_dir, full_id, "userdata", "config.json")
            doc = root.read_json(path)
            if doc is not None:
                return OciSpec(doc, path)
        bundle = self.runtime_bundle(full_id)
        if bundle is None:
            return None
        root = self.graph if self.graph.inside(bundle) else self.run
        path = os.path.join(bundle, "config.json")
        doc = root.read_json(path)
        return None if doc is None else OciSpec(doc, path)
