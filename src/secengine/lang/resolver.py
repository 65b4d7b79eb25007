"""What the rule compiler needs to know about fields and event sources, as a Protocol.

The condition checker, the output compiler, the rules loader and the
compiler receive an object satisfying :class:`FieldResolver`; they never
import a field class or a source. The one implementation is
:class:`secengine.fields.registry.FieldRegistry`, assembled from the
installed source specs (:mod:`secengine.sources.specs`), so a third-party
source's fields compile like the built-in ones. Tests may pass anything with
these methods (a fake field class, as libsinsp's tests do).

A source whose rules are indexed by event type (Falco's syscall source, where
``evt.type`` names driver events) answers :meth:`FieldResolver.event_index`
with an :class:`EventTypeIndex`; every other source answers ``None`` and its
rules share one bucket.
"""

from __future__ import annotations

from typing import Protocol

from secengine.lang.fielddefs import FieldDef, ResolvedField

__all__ = ["EventTypeIndex", "FieldResolver"]


class EventTypeIndex(Protocol):
    """The event-type names of a source whose rules are indexed by ``evt.type``."""

    def is_known(self, name: str) -> bool:
        """True if Falco accepts ``evt.type = name`` in a rule of this source."""
        ...

    def code_count(self, names: frozenset[str]) -> int:
        """How many event codes ``names`` cover (Falco warns past 100: ``LOAD_NO_EVTTYPE``)."""
        ...


class FieldResolver(Protocol):
    """Field names of each event source, resolved once when a rule compiles."""

    def resolve(self, source: str, name: str, arg: str | None = None) -> ResolvedField:
        """The field ``name`` (with ``arg``) of ``source``; raises Falco's compile error if none."""
        ...

    def lookup(self, source: str, name: str) -> FieldDef | None:
        """The field called exactly ``name`` in ``source``, or None."""
        ...

    def sources(self) -> list[str]:
        """The event sources rules may name."""
        ...

    def event_index(self, source: str) -> EventTypeIndex | None:
        """How ``source``'s rules are indexed by event type; None: they share one bucket."""
        ...
