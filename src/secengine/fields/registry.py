"""The field registry: the one place that knows field names.

It maps ``(source, name)`` to a :class:`FieldDef` and resolves a field as a
rule writes it (``proc.aname[2]``, ``evt.arg.flags``) into a
:class:`ResolvedField` once, at compile time. The same tables generate the
field catalog (``secengine fields``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable

from secengine.errors import ConditionCompileError
from secengine.events import FieldValues
from secengine.fields.base import ArgMode, FieldClass, FieldDef, ResolvedField

__all__ = ["FieldRegistry", "default_registry"]


class FieldRegistry:
    """Field classes by source; refuses a field name declared twice for one source."""

    def __init__(self, classes: Iterable[FieldClass] = ()) -> None:
        self._classes: list[FieldClass] = []
        self._by_source: dict[str, dict[str, FieldDef]] = {}
        self._dotted: dict[str, list[FieldDef]] = {}
        self._generic: list[FieldClass] = []
        for fc in classes:
            self.register(fc)

    # -- building -----------------------------------------------------------
    def register(self, fclass: FieldClass) -> None:
        """Add a field class; generic classes apply to every source, now and later."""
        self._classes.append(fclass)
        if fclass.generic:
            self._generic.append(fclass)
            for table in self._by_source.values():
                self._add(table, fclass)
        for source in fclass.sources:
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
        return [c for c in self._classes if c.generic or source in c.sources]

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
            raise ConditionCompileError(f"filter_check called with nonexistent field {name}"
                                        if not fdef.dotted_arg else
                                        f"field '{name}' requires an argument")
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
                        f"invalid index argument '{arg}' for field '{name}'") from None
            if index is not None and index < 0:
                raise ConditionCompileError(f"invalid index argument '{arg}' for field '{name}'")
        if arg is not None and fdef.resolve_arg is not None:
            concrete = fdef.resolve_arg(arg, is_dotted)
            if concrete is not None and concrete is not fdef.type:
                fdef = dataclasses.replace(fdef, type=concrete)
        key = key_name if arg is None or key_name != fdef.name else f"{fdef.name}[{arg}]"
        return ResolvedField(field=fdef, key=key, arg=arg, index=index)

    def _resolve_dotted(self, table: dict[str, FieldDef], name: str) -> tuple[FieldDef | None, str | None]:
        best: FieldDef | None = None
        for fdef in table.values():
            if fdef.dotted_arg and name.startswith(fdef.name + ".") and (
                    best is None or len(fdef.name) > len(best.name)):
                best = fdef
        if best is None:
            return None, None
        return best, name[len(best.name) + 1:]


@functools.cache
def default_registry() -> FieldRegistry:
    """The registry of every built-in field class, built on first use."""
    from secengine.fields import catalog

    return FieldRegistry(catalog.builtin_classes())
