"""``container_engines``: which runtime APIs enrich container metadata, as Falco configures them.

The key and its blocks are Falco's (``falco.yaml``'s ``container_engines``,
the same shape as the container plugin's ``init_config.engines``, which
:mod:`.loading` reads into this key). Each block has ``enabled`` and
``sockets``; a block without ``sockets`` discovers its runtime at the
default paths (:data:`~secengine.state.containers.discovery.DEFAULT_ENGINE_SOCKETS`).
``cri`` and ``containerd`` speak the CRI gRPC API, ``docker`` and ``podman``
the Docker-compatible API; ``lxc``, ``libvirt_lxc`` and ``bpm`` are
accepted and read nothing. The runtime's own files are read whatever this
says (docs/containers.md).
"""

from __future__ import annotations

from pydantic import Field

from secengine.config.base import StrictModel
from secengine.state.containers.discovery import EngineSettings

__all__ = ["ContainerEngines", "EngineBlock"]


class EngineBlock(StrictModel):
    """One container engine: on or off, and the sockets to ask."""

    enabled: bool = Field(default=True, description="Ask this engine's API.")
    sockets: list[str] | None = Field(
        default=None,
        description="Unix sockets of its API (default: the standard paths that exist at start).",
    )


class CriBlock(EngineBlock):
    """The CRI engine (containerd, CRI-O, k3s)."""

    disable_async: bool = Field(
        default=False,
        description="Falco's; accepted and ignored: the API is always asked off the event path.",
    )


class FlagBlock(StrictModel):
    """An engine Falco has and secengine reads nothing from."""

    enabled: bool = Field(default=False, description="Accepted; no metadata is read.")


class ContainerEngines(StrictModel):
    """Container engines whose APIs enrich metadata (Falco's ``container_engines``)."""

    docker: EngineBlock = Field(
        default_factory=EngineBlock, description="Docker Engine API (`/var/run/docker.sock`)."
    )
    podman: EngineBlock = Field(
        default_factory=EngineBlock,
        description="podman's Docker-compatible API (`/run/podman/podman.sock`).",
    )
    cri: CriBlock = Field(
        default_factory=CriBlock,
        description="CRI gRPC API: containerd, CRI-O, k3s sockets (pod labels and IP).",
    )
    containerd: EngineBlock = Field(
        default_factory=EngineBlock,
        description="containerd's socket, asked over its CRI API.",
    )
    lxc: FlagBlock = Field(default_factory=FlagBlock, description="Accepted; reads nothing.")
    libvirt_lxc: FlagBlock = Field(
        default_factory=FlagBlock, description="Accepted; reads nothing."
    )
    bpm: FlagBlock = Field(default_factory=FlagBlock, description="Accepted; reads nothing.")

    def settings(self) -> list[EngineSettings]:
        """The blocks as the state layer's :class:`EngineSettings`."""
        out = []
        for kind in ("cri", "containerd", "docker", "podman"):
            block: EngineBlock = getattr(self, kind)
            sockets = None if block.sockets is None else tuple(block.sockets)
            out.append(EngineSettings(kind, block.enabled, sockets))
        return out
