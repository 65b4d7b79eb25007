"""The field registry: the one place that knows field names.

It maps ``(source, name)`` to a :class:`FieldDef` and resolves a field as a
rule writes it (``proc.aname[2]``, ``evt.arg.flags``) into a
:class:`ResolvedField` once, at compile time. The same tables generate the
field catalog (``secengine fields``). It is what the rule compiler receives as
its :class:`~secengine.lang.resolver.FieldResolver`.

The registry of the installed event sources is assembled from their specs
(:func:`secengine.sources.specs.field_registry`: each spec adds its field
classes and its event-type index with :meth:`FieldRegistry.add_source`);
:func:`default_registry` holds the built-in field classes alone.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping

from secengine.errors import ConditionCompileError
from secengine.events import Extraction, FieldValues
from secengine.fields import catalog
from secengine.fields.base import ArgMode, FieldClass, FieldDef, ResolvedField
from secengine.fields.live import SYSCALL_SOURCE, LiveFieldValues
from secengine.lang.resolver import EventTypeIndex

__all__ = ["FieldRegistry", "default_registry", "live_field_names"]


class FieldRegistry:
    """Field classes by source; refuses a field name declared twice for one source."""

    def __init__(
        self,
        classes: Iterable[FieldClass] = (),
        event_indexes: Mapping[str, EventTypeIndex] | None = None,
    ) -> None:
        self._classes: list[FieldClass] = []
        self._by_source: dict[str, dict[str, FieldDef]] = {}
        self._source_classes: dict[str, list[FieldClass]] = {}
        self._dotted: dict[str, list[FieldDef]] = {}
        self._generic: list[FieldClass] = []
        self._event_indexes: dict[str, EventTypeIndex] = dict(event_indexes or {})
        for fc in classes:
            self.register(fc)

    # -- building -----------------------------------------------------------
    def add_source(
        self, source: str, classes: Iterable[FieldClass], event_index: EventTypeIndex | None = None
    ) -> None:
        """Add an event source with its field classes (a source spec's table) and, when its
        rules are indexed by ``evt.type``, its event-type index. A class already added for
        another source is shared, as Falco's field classes are."""
        if source not in self._by_source:  # a source exists even with generic fields only
            table: dict[str, FieldDef] = {}
            self._by_source[source] = table
            for g in self._generic:
                self._add(table, g)
        for fclass in classes:
            self.register(fclass, (source,))
        if event_index is not None:
            self._event_indexes[source] = event_index

    def register(self, fclass: FieldClass, sources: Iterable[str] | None = None) -> None:
        """Add a field class for ``sources`` (default: the ones it names); generic classes
        apply to every source, now and later."""
        if not _holds(self._classes, fclass):
            self._classes.append(fclass)
        if fclass.generic:
            if not _holds(self._generic, fclass):
                self._generic.append(fclass)
            for table in self._by_source.values():
                self._add(table, fclass)
        for source in fclass.sources if sources is None else sources:
            mine = self._source_classes.setdefault(source, [])
            if not _holds(mine, fclass):
                mine.append(fclass)
            found = self._by_source.get(source)
            if found is None:
                table = {}
                self._by_source[source] = table
                for g in self._generic:
                    if g is not fclass:
                        self._add(table, g)
            else:
                table = found
            self._add(table, fclass)
        for f in fclass.fields:
            if f.derive is not None:
                key = f.name + ("[]" if f.arg is not ArgMode.NONE else "")
                FieldValues.derivers.setdefault(key, f.derive)
                if f.arg is ArgMode.OPTIONAL:
                    FieldValues.derivers.setdefault(f.name, f.derive)
        FieldValues.forget_extractions()
        self._dotted.clear()

    @staticmethod
    def _add(table: dict[str, FieldDef], fclass: FieldClass) -> None:
        for f in fclass.fields:
            other = table.get(f.name)
            if other is not None and other is not f:
                raise ValueError(f"field {f.name!r} is declared twice for one source")
            table[f.name] = f

    # -- queries ------------------------------------------------------------
    @property
    def classes(self) -> tuple[FieldClass, ...]:
        return tuple(self._classes)

    def sources(self) -> list[str]:
        """The event sources that have fields, in registration order."""
        return list(self._by_source)

    def has_source(self, source: str) -> bool:
        return source in self._by_source

    def classes_for(self, source: str) -> list[FieldClass]:
        mine = self._source_classes.get(source, [])
        return [c for c in self._classes if c.generic or _holds(mine, c)]

    def event_index(self, source: str) -> EventTypeIndex | None:
        """The event-type index of ``source`` (None: its rules share one bucket)."""
        return self._event_indexes.get(source)

    def lookup(self, source: str, name: str) -> FieldDef | None:
        table = self._by_source.get(source)
        return None if table is None else table.get(name)

    def resolve(self, source: str, name: str, arg: str | None = None) -> ResolvedField:
        """Resolve a field as written in a rule; raises Falco's error for unknown fields.

        ``evt.arg.flags`` resolves to the ``evt.arg`` field with argument ``flags``.
        """
        table = self._by_source.get(source, {})
        fdef = table.get(name)
        key_name = name
        is_dotted = False
        if fdef is None:
            fdef, dotted = self._resolve_dotted(table, name)
            if fdef is None or arg is not None:
                raise ConditionCompileError(f"filter_check called with nonexistent field {name}")
            arg = dotted
            is_dotted = True
        if arg is None and fdef.arg is ArgMode.REQUIRED:
            raise ConditionCompileError(
                f"filter_check called with nonexistent field {name}"
                if not fdef.dotted_arg
                else f"field '{name}' requires an argument"
            )
        if arg is not None and fdef.arg is ArgMode.NONE:
            raise ConditionCompileError(f"field '{name}' does not support arguments")
        index: int | None = None
        # A dotted argument (evt.arg.flags) is always a name; a bracketed one is
        # an index when the field takes one, or a key when it takes both.
        if arg is not None and fdef.arg_index and not is_dotted:
            try:
                index = int(arg)
            except ValueError:
                if not fdef.arg_key:
                    raise ConditionCompileError(
                        f"invalid index argument '{arg}' for field '{name}'"
                    ) from None
            if index is not None and index < 0:
                raise ConditionCompileError(f"invalid index argument '{arg}' for field '{name}'")
        if arg is not None and fdef.resolve_arg is not None:
            concrete = fdef.resolve_arg(arg, is_dotted)
            if concrete is not None and concrete is not fdef.type:
                fdef = dataclasses.replace(fdef, type=concrete)
        key = key_name if arg is None or key_name != fdef.name else f"{fdef.name}[{arg}]"
        return ResolvedField(field=fdef, key=key, arg=arg, index=index)

    def _resolve_dotted(
        self, table: dict[str, FieldDef], name: str
    ) -> tuple[FieldDef | None, str | None]:
        best: FieldDef | None = None
        for fdef in table.values():
            if (
                fdef.dotted_arg
                and name.startswith(fdef.name + ".")
                and (best is None or len(fdef.name) > len(best.name))
            ):
                best = fdef
        if best is None:
            return None, None
        return best, name[len(best.name) + 1 :]


def _holds(classes: list[FieldClass], fclass: FieldClass) -> bool:
    return any(c is fclass for c in classes)


@functools.cache
def default_registry() -> FieldRegistry:
    """The registry of every built-in field class, built on first use.

    Without third-party sources; :func:`secengine.sources.specs.field_registry`
    is the registry of every installed source.
    """
    return FieldRegistry(catalog.builtin_classes(), catalog.builtin_event_indexes())


def live_field_names() -> frozenset[str]:
    """The names of the fields the live syscall source extracts itself."""
    return frozenset(
        f.name
        for c in default_registry().classes_for(SYSCALL_SOURCE)
        for f in c.fields
        if f.live is not None
    )


def _live_extraction(name: str, arg: str | None) -> Extraction | None:
    """A syscall field's live extractor and its argument as the registry parses it (an index
    is already an int), or None when the field has no live extractor."""
    try:
        rf = default_registry().resolve(SYSCALL_SOURCE, name, arg)
    except ConditionCompileError:
        return None
    if rf.field.live is None:
        return None
    return rf.field.live, rf.arg if rf.index is None else rf.index


# Live events find their extractors here: the package imports this module before any of its
# field modules, so the hook is in place before a live event exists (live.py cannot import
# the registry, which imports the field classes, which import live.py).
LiveFieldValues.live_extraction = staticmethod(_live_extraction)
