"""The tokens of a compiled output template: a field, a time field, a transformer over either.

Each token extracts its value from an event, renders it as text
(``None`` when missing) and, for fields, as the typed JSON value of
``output_fields``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from secengine.events import MISSING, Event
from secengine.eventtime import render_time, time_value
from secengine.lang.fielddefs import ResolvedField
from secengine.output.values import json_value, render_value

__all__ = ["FieldToken", "TimeToken", "Token", "TransformerToken", "field_tokens"]


class FieldToken:
    """``%proc.name``: one resolved field."""

    __slots__ = ("_join_any", "key", "resolved", "text")

    def __init__(self, text: str, resolved: ResolvedField) -> None:
        self.text = text
        self.resolved = resolved
        self.key = resolved.key
        # proc.aname without an index: a list of ancestors in conditions, but
        # libsinsp prints the names joined by spaces.
        self._join_any = resolved.field.any_without_index and resolved.arg is None

    def extract(self, event: Event) -> Any:
        return event.fields[self.key]

    def render(self, event: Event) -> str | None:
        value = event.fields[self.key]
        if self._join_any and isinstance(value, (list, tuple)):
            return " ".join(str(v) for v in value) if value else None
        return render_value(value)

    def json(self, event: Event) -> Any:
        value = event.fields[self.key]
        if self._join_any and isinstance(value, (list, tuple)):
            return " ".join(str(v) for v in value) if value else None
        return json_value(value)


class TimeToken(FieldToken):
    """``%evt.time`` and friends: computed from the event timestamp."""

    __slots__ = ()

    def extract(self, event: Event) -> Any:
        return time_value(self.key, event.ts)

    def render(self, event: Event) -> str | None:
        value = time_value(self.key, event.ts)
        return None if value is MISSING else render_time(self.key, event.ts)

    def json(self, event: Event) -> Any:
        return json_value(time_value(self.key, event.ts))


class TransformerToken:
    """``%tolower(proc.name)``: a transformer applied to one field or transformer."""

    __slots__ = ("child", "fn", "text")

    def __init__(
        self, text: str, fn: Callable[[Any], Any], child: FieldToken | TransformerToken
    ) -> None:
        self.text = text
        self.fn = fn
        self.child = child

    def extract(self, event: Event) -> Any:
        value = self.child.extract(event)
        if value is MISSING or value is None:
            return MISSING
        return self.fn(value)

    def render(self, event: Event) -> str | None:
        return render_value(self.extract(event))


#: A token of a compiled template.
Token = FieldToken | TransformerToken


def field_tokens(tok: Token) -> list[FieldToken]:
    """The field tokens inside a token (a transformer's inner fields)."""
    while isinstance(tok, TransformerToken):
        tok = tok.child
    return [tok]
