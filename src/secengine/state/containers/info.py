"""What is known about a container and its pod: the records the container fields read.

A :class:`ContainerInfo` is made on the first event of a container and
filled in stages: the runtime's files, read synchronously at once
(``files:<runtime>``), then the runtime's API on a worker thread
(``api:<engine>``); :attr:`ContainerInfo.filled_by` records which stages
filled it, in order. The containers of one Kubernetes pod share one
:class:`PodInfo` object (the resolver keeps it by sandbox id), so that pod
labels learned from the sandbox reach every container of the pod at once.

Fields are plain attributes: a stage running on a worker thread assigns
them one by one (each assignment is atomic), and readers on the event loop
see either the old or the new value of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, NamedTuple

__all__ = ["DEFAULT_LABEL_MAX_LEN", "ContainerInfo", "Mount", "PodInfo", "split_image"]

#: labels with a longer value are left out, as the container plugin's ``label_max_len``
DEFAULT_LABEL_MAX_LEN: Final = 100


class Mount(NamedTuple):
    """One mount of a container, as ``container.mount*`` render it."""

    source: str
    dest: str
    mode: str = ""
    rw: bool = True
    propagation: str = ""


@dataclass(slots=True)
class PodInfo:
    """A Kubernetes pod, known by its sandbox (pause) container."""

    #: the sandbox container's full (64 hex) id
    sandbox_id: str
    name: str = ""
    namespace: str = ""
    uid: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    #: the pod's primary IPv4 address ("" until an API gave it)
    ip: str = ""
    #: the stages that filled it, in order (``files:containerd``, ``api:cri``...)
    filled_by: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ContainerInfo:
    """What the container fields read."""

    id: str
    full_id: str
    #: the runtime: docker, podman, containerd, cri-o
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
    host_pid: bool | None = None
    host_network: bool | None = None
    host_ipc: bool | None = None
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    #: when the runtime says it started the container, ns since the epoch (0 unknown); the
    #: ``container.start_ts`` field is the kernel's pid-namespace init start, as the plugin's
    start_ts: int = 0
    #: primary IPv4 address ("" unknown; a pod's containers have the pod's)
    ip: str = ""
    pod: PodInfo | None = None
    #: a pod's sandbox ("pause") container: its processes are attributed to the pod
    is_sandbox: bool = False
    #: some stage filled it (the fields answer MISSING until one did)
    resolved: bool = False
    #: the stages that filled it, in order: ``files:<runtime>``, ``api:<engine>``
    filled_by: list[str] = field(default_factory=list)
    #: the resolver's bookkeeping: API enrichment attempts and when the last one ran
    tries: int = 0
    tried_at: float = 0.0
    #: an engine knew the container (no more API attempts)
    enriched: bool = False
    #: queued for (or under) API enrichment
    pending: bool = False
    #: the runtime's files were found (no more file reads)
    files_found: bool = False
    #: file reads made (the first event, then execs in the container until found)
    file_tries: int = 0
    #: an unusable runtime file of this container was logged (one line per container)
    file_error_logged: bool = False

    def filled(self, stage: str) -> None:
        """Record that ``stage`` filled (some of) the fields."""
        self.filled_by.append(stage)
        self.resolved = True


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
