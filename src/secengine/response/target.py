"""What a response acts on: the process and container of the event that matched.

Read once per match from the event's fields (the live syscall source
computes them from its process table), so that the actions never look at
the event again. A value the event does not have is ``None`` (or ``""``):
an action that needs it reports ``no_target`` rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from secengine.events import MISSING, Event, FieldExtractionError

__all__ = ["HOST", "Target", "target_of"]

#: ``container.id`` of a process on the host.
HOST = "host"


@dataclass(frozen=True, slots=True)
class Target:
    """The event's process and container, as the event saw them."""

    #: The event's time, ns since the epoch (the start of every latency).
    event_ts: int
    #: The process (thread group) id and its start, ns since the epoch.
    pid: int | None = None
    start_ts: int | None = None
    pgid: int | None = None
    comm: str = ""
    exe: str = ""
    #: ``container.id`` (12 characters), ``""`` when unknown; ``host`` for the host.
    container_id: str = ""
    container_full_id: str = ""
    container_name: str = ""
    #: The runtime: ``docker``, ``podman``, ``containerd``, ``cri-o``...
    container_type: str = ""

    @property
    def in_container(self) -> bool:
        return bool(self.container_id) and self.container_id != HOST

    def describe(self) -> str:
        """``cat (pid 1234) in container 0123456789ab`` for messages."""
        who = f"{self.comm or '?'} (pid {self.pid if self.pid is not None else '?'})"
        if self.in_container:
            who += f" in container {self.container_name or self.container_id}"
        return who


def _get(event: Event, key: str) -> Any:
    try:
        value = event.fields[key]
    except (FieldExtractionError, KeyError):
        return None
    return None if value is MISSING else value


def _int(event: Event, key: str) -> int | None:
    value = _get(event, key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _str(event: Event, key: str) -> str:
    value = _get(event, key)
    return value if isinstance(value, str) else ""


def target_of(event: Event) -> Target:
    """The target of ``event``; fields it lacks stay unknown."""
    return Target(
        event_ts=event.ts,
        pid=_int(event, "proc.pid"),
        start_ts=_int(event, "proc.pid.ts"),
        pgid=_int(event, "proc.pgid"),
        comm=_str(event, "proc.name"),
        exe=_str(event, "proc.exepath"),
        container_id=_str(event, "container.id"),
        container_full_id=_str(event, "container.full_id"),
        container_name=_str(event, "container.name"),
        container_type=_str(event, "container.type"),
    )
