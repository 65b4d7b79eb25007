"""The interface of the asynchronous metadata engines (runtime APIs): :class:`MetadataEngine`.

The runtime's files (:mod:`.files`) give most fields synchronously on a
container's first event; an engine then adds what only the runtime's API
knows (pod labels and IP, image digest, a name the files lack). Engines run
on the resolver's worker thread, never on the event loop.

This Protocol is shared with the engines other modules implement (the
Docker-compatible API in :mod:`.docker_api`, CRI over gRPC): keep it small
and stable.

Contract
--------
``name``
    A short fixed word (``docker``, ``podman``, ``cri``): recorded in
    :attr:`ContainerInfo.filled_by` as ``api:<name>`` and used as the
    ``engine`` label of the metrics.
``enrich(info) -> bool``
    Blocking, called on the worker thread with the container's
    :class:`ContainerInfo` (already filled from the files when they
    existed). Look ``info.full_id`` up and assign the fields the API knows,
    in place. For a pod's containers, fill ``info.pod`` in place (create it
    when None): it is the :class:`PodInfo` shared by every container of the
    pod; for a sandbox (``info.is_sandbox``) fetch the pod's status (labels,
    IP) now, since the pod's application containers start right after it.
    Return True when the engine knew the container (the resolver stops
    asking engines about it), False when it did not or could not answer
    (the resolver asks the next engine, and asks again later). Must bound
    its own time (timeouts); an exception is counted as a failure of the
    engine and treated as False.
``cached_pod(sandbox_id) -> PodInfo | None``
    Non-blocking, called on the event loop on a container's first event:
    the pod of that sandbox if the engine already has it (e.g. from the
    sandbox's enrichment), else None. This is how an application
    container's first event has its pod's labels when the sandbox appeared
    before secengine saw it.
``forget(full_id)``
    Non-blocking, called on the event loop when a container exits: drop
    what the engine caches about it (a sandbox's pod).
``close()``
    Release connections; called once when the resolver closes.
"""

from __future__ import annotations

from typing import Protocol

from secengine.state.containers.info import ContainerInfo, PodInfo

__all__ = ["MetadataEngine"]


class MetadataEngine(Protocol):
    """A runtime API that enriches containers asynchronously (see the module's contract)."""

    @property
    def name(self) -> str: ...

    def enrich(self, info: ContainerInfo) -> bool: ...

    def cached_pod(self, sandbox_id: str) -> PodInfo | None: ...

    def forget(self, full_id: str) -> None: ...

    def close(self) -> None: ...
