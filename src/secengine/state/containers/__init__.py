"""Containers: the id from a process's cgroup path, the metadata from the runtime.

One module per job:

- :mod:`.cgroup`: the container id of a process, from its cgroup path;
- :mod:`.info`: :class:`ContainerInfo` and :class:`PodInfo`, what the fields read;
- :mod:`.files`: synchronous readers of the files each runtime writes
  before it starts a container (OCI ``config.json``, state files);
- :mod:`.engines`: :class:`MetadataEngine`, the interface of the
  asynchronous runtime-API enrichers;
- :mod:`.docker_api`: the Docker-compatible API engine (docker, podman);
- :mod:`.resolver`: :class:`ContainerResolver`, which runs the stages,
  caches their result (bounded, TTL) and forgets exited containers.

docs/containers.md says what is read from which file per runtime.
"""

from secengine.state.containers.cgroup import HOST, container_id_from_cgroup
from secengine.state.containers.docker_api import (
    DEFAULT_SOCKETS,
    DockerApiEngine,
    inspect_container,
    repo_digest,
)
from secengine.state.containers.engines import MetadataEngine
from secengine.state.containers.info import ContainerInfo, Mount, PodInfo, split_image
from secengine.state.containers.resolver import ContainerResolver

__all__ = [
    "DEFAULT_SOCKETS",
    "HOST",
    "ContainerInfo",
    "ContainerResolver",
    "DockerApiEngine",
    "MetadataEngine",
    "Mount",
    "PodInfo",
    "container_id_from_cgroup",
    "inspect_container",
    "repo_digest",
    "split_image",
]
