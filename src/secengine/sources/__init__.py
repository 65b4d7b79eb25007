"""Event sources: where events come from (live syscalls, Kubernetes audit, replayed files).

Every source has a ``name`` and delivers batches of events into a bounded
:class:`EventQueue` from its own threads (:class:`Source`, in :mod:`.base`);
file-like sources are also plain iterators of batches (:class:`BatchSource`). Built-in sources are registered in the
``secengine.sources`` entry-point group; importing this package imports none
of them.

- :mod:`.fieldmap`: the field-map event format (one JSON object per line).
- :mod:`.replay`: :class:`~.replay.ReplaySource` (files, ``.gz``, stdin) and
  :class:`~.replay.MemorySource`, the in-memory test double.
"""

from __future__ import annotations

from secengine.sources.base import BatchSource, EventQueue, Source, SourceStats

__all__ = ["BatchSource", "EventQueue", "Source", "SourceStats"]
