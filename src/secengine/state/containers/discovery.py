"""Which runtime APIs to ask: the container engines, their sockets, discovered or configured.

Falco configures its container engines per kind (``container_engines`` in
``falco.yaml``, or the container plugin's ``init_config.engines``): each
kind is enabled or not and has a list of sockets. :class:`EngineSettings`
is one such entry; :func:`build_engines` turns the entries into
:class:`~secengine.state.containers.engines.MetadataEngine` objects:

- ``cri`` and ``containerd``: :class:`~secengine.state.containers.cri.CriEngine`
  (containerd serves the CRI on its own socket, so both kinds speak CRI);
- ``docker`` and ``podman``: the Docker-compatible API engine.

A kind without configured sockets uses :data:`DEFAULT_ENGINE_SOCKETS`, and
then only the sockets that exist when the source opens (discovery: a
containerd node has no CRI-O socket, and asking for it forever would only
count errors). Sockets named in the configuration are always used: a
runtime that is not up yet is retried with back-off, counted and logged
once. A socket named twice gets one engine. CRI engines come first: on a
Kubernetes node they know the most (pod labels and IP).

Kinds that Falco has and secengine reads nothing from (``lxc``,
``libvirt_lxc``, ``bpm``) are accepted and build no engine; their
containers still get their id from the cgroup path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from secengine.state.containers.docker_api import DEFAULT_SOCKETS, DockerApiEngine, engine_of
from secengine.state.containers.engines import MetadataEngine

__all__ = ["DEFAULT_ENGINE_SOCKETS", "ENGINE_KINDS", "EngineSettings", "build_engines"]

#: each kind's sockets when the configuration names none, in the order they are tried
DEFAULT_ENGINE_SOCKETS: Final[dict[str, tuple[str, ...]]] = {
    "cri": (
        "/run/containerd/containerd.sock",
        "/run/crio/crio.sock",
        "/run/k3s/containerd/containerd.sock",
    ),
    "containerd": ("/run/containerd/containerd.sock",),
    # the Docker-compatible API's sockets (one list: docker_api.DEFAULT_SOCKETS)
    "docker": tuple(s for s in DEFAULT_SOCKETS if engine_of(s) == "docker"),
    "podman": tuple(s for s in DEFAULT_SOCKETS if engine_of(s) == "podman"),
    "lxc": (),
    "libvirt_lxc": (),
    "bpm": (),
}

#: every kind Falco names, in the order their engines are asked
ENGINE_KINDS: Final = tuple(DEFAULT_ENGINE_SOCKETS)

_CRI_KINDS: Final = frozenset({"cri", "containerd"})
_API_KINDS: Final = frozenset({"docker", "podman"})


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """One container engine kind: enabled, and its sockets (None: discover the defaults)."""

    kind: str
    enabled: bool = True
    sockets: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in DEFAULT_ENGINE_SOCKETS:
            raise ValueError(
                f"unknown container engine {self.kind!r} (one of {', '.join(ENGINE_KINDS)})"
            )


def default_settings() -> list[EngineSettings]:
    """Every kind enabled, on its default sockets (what an empty configuration means)."""
    return [EngineSettings(kind) for kind in ENGINE_KINDS]


def build_engines(
    settings: Sequence[EngineSettings] | None = None,
    *,
    timeout: float = 2.0,
    exists: Callable[[str], bool] = os.path.exists,
) -> list[MetadataEngine]:
    """The engines ``settings`` enable (every kind's defaults when None), CRI first.

    ``timeout`` bounds each API call; ``exists`` is how default sockets are
    discovered (tests pass their own).
    """
    by_kind = {s.kind: s for s in (default_settings() if settings is None else settings)}
    engines: list[MetadataEngine] = []
    seen: set[str] = set()
    for kind in ENGINE_KINDS:
        entry = by_kind.get(kind, EngineSettings(kind))
        if not entry.enabled:
            continue
        if entry.sockets is None:
            sockets = [s for s in DEFAULT_ENGINE_SOCKETS[kind] if exists(s)]
        else:
            sockets = list(entry.sockets)
        for given in sockets:
            sock = given.removeprefix("unix://")  # crictl's endpoint spelling
            real = os.path.realpath(sock)
            if real in seen:
                continue
            seen.add(real)
            if kind in _CRI_KINDS:
                # gRPC is imported only when a CRI socket is used
                from secengine.state.containers.cri import CriEngine

                engines.append(CriEngine(sock, timeout=timeout))
            elif kind in _API_KINDS:
                engines.append(DockerApiEngine(sock, timeout=timeout))
    return engines
