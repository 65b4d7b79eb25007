"""Synchronous readers of the files each runtime writes before it starts a container.

- :mod:`.base`: the reader interface (:class:`RuntimeFiles`) and its error;
- :mod:`.bounded`: reading a file safely (size cap, no symlinks, inside the root, JSON bounds);
- :mod:`.typed`: typed access to a parsed file;
- :mod:`.oci`: what an OCI spec says (privileged, host namespaces, mounts);
- :mod:`.boltdb`: a bounded lookup in podman's BoltDB;
- :mod:`.storage`: containers/storage's layout (podman, CRI-O);
- :mod:`.docker`, :mod:`.containerd`, :mod:`.crio`, :mod:`.podman`: one reader per runtime.

:func:`default_readers` is the set the resolver uses, at the runtimes'
default paths (each root configurable; tests point them at temporary
directories).
"""

from __future__ import annotations

from collections.abc import Sequence

from secengine.state.containers.files.base import REASONS, FileError, RuntimeFiles
from secengine.state.containers.files.containerd import DEFAULT_STATE_DIRS, ContainerdFiles
from secengine.state.containers.files.crio import CrioFiles
from secengine.state.containers.files.docker import DEFAULT_ROOT as DOCKER_ROOT
from secengine.state.containers.files.docker import DockerFiles
from secengine.state.containers.files.podman import PodmanFiles
from secengine.state.containers.files.storage import (
    DEFAULT_GRAPH_ROOT,
    DEFAULT_RUN_ROOT,
    DEFAULT_RUNTIME_ROOTS,
    ContainersStorage,
)

__all__ = [
    "REASONS",
    "ContainerdFiles",
    "ContainersStorage",
    "CrioFiles",
    "DockerFiles",
    "FileError",
    "PodmanFiles",
    "RuntimeFiles",
    "default_readers",
]


def default_readers(
    *,
    docker_root: str = DOCKER_ROOT,
    containerd_state_dirs: Sequence[str] = DEFAULT_STATE_DIRS,
    graph_root: str = DEFAULT_GRAPH_ROOT,
    run_root: str = DEFAULT_RUN_ROOT,
    runtime_roots: Sequence[str] = DEFAULT_RUNTIME_ROOTS,
    storage_driver: str = "overlay",
) -> list[RuntimeFiles]:
    """One reader per runtime, at the given roots (the runtimes' defaults otherwise)."""
    storage = ContainersStorage(graph_root, run_root, tuple(runtime_roots), storage_driver)
    return [
        DockerFiles(docker_root),
        *(ContainerdFiles(d) for d in containerd_state_dirs),
        PodmanFiles(storage),
        CrioFiles(storage),
    ]
