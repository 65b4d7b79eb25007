"""Event sources: where events come from (live syscalls, Kubernetes audit, replayed files).

Every source has a ``name`` and delivers events in batches
(``batches() -> Iterator[list[Event]]``), or one by one by iterating it;
:class:`Source` states that contract. Built-in sources are registered in the
``secengine.sources`` entry-point group; importing this package imports none
of them.

- :mod:`.fieldmap`: the field-map event format (one JSON object per line).
- :mod:`.replay`: :class:`~.replay.ReplaySource` (files, ``.gz``, stdin) and
  :class:`~.replay.MemorySource`, the in-memory test double.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    from secengine.events import Event

__all__ = ["Source"]


@runtime_checkable
class Source(Protocol):
    """What the engine loop needs from an event source."""

    name: str

    def batches(self) -> Iterator[list[Event]]:
        """Lists of events in delivery order; ends when the source is exhausted."""
        ...

    def __iter__(self) -> Iterator[Event]:
        ...
