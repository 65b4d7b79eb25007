"""What a runtime's file reader is (:class:`RuntimeFiles`) and how it fails (:class:`FileError`).

A reader answers, synchronously and in well under a millisecond, what the
runtime wrote before it started a container: its OCI bundle's
``config.json`` and its own state files. It returns None when the container
is not this runtime's (its files are absent) and raises :class:`FileError`
when they are there but unusable (too big, not JSON, a symlink, wrong
types): the resolver counts the error by ``(runtime, reason)``, logs one
line for the container and lets the next stage fill the fields. A reader
that falls back from one unusable file to another appends the first
error to ``problems`` (counted the same way) and returns what the other
gave.
"""

from __future__ import annotations

from typing import Protocol

from secengine.errors import SecengineError
from secengine.state.containers.info import ContainerInfo

__all__ = ["REASONS", "FileError", "RuntimeFiles"]

#: the ``reason`` label values of ``secengine_container_metadata_errors_total``
REASONS = (
    "too_large",
    "not_json",
    "too_deep",
    "wrong_type",
    "symlink",
    "outside_root",
    "unreadable",
    "not_bolt",
    "internal",
)


class FileError(SecengineError):
    """A runtime file that exists but cannot be used; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, path: str, detail: str = "") -> None:
        super().__init__(f"{path}: {detail or reason}")
        self.reason = reason
        self.path = path


class RuntimeFiles(Protocol):
    """Reads one runtime's files about a container (see the module docstring)."""

    @property
    def runtime(self) -> str:
        """The runtime's name (``container.type``): containerd, cri-o, podman, docker."""
        ...

    def read(self, full_id: str, problems: list[FileError]) -> ContainerInfo | None: ...
