"""A rule's compiled ``output:`` template: render it as text, or as typed ``output_fields``.

Falco always renders outputs as if they began with ``*``: a missing value
prints as ``<NA>`` (and is ``null`` in ``output_fields``) instead of
suppressing the line, so a leading ``*`` is accepted and dropped here.
"""

from __future__ import annotations

from typing import Any

from secengine.events import Event
from secengine.lang.fielddefs import ResolvedField
from secengine.lang.resolver import FieldResolver
from secengine.output.compiler import compile_template
from secengine.output.tokens import FieldToken, Token, field_tokens
from secengine.output.values import NA

__all__ = ["OutputFormat"]


class OutputFormat:
    """A compiled output template; render it against events any number of times.

    ``fields`` are the resolved fields of every ``%field`` (including those
    inside transformers), in order of first appearance; ``text`` is the
    template as given.
    """

    __slots__ = ("_json_tokens", "_parts", "_widths", "fields", "source", "text")

    def __init__(self, text: str, source: str, parts: list[str | Token], widths: list[int]) -> None:
        self.text = text
        self.source = source
        self._parts = tuple(parts)
        self._widths = tuple(widths)
        seen: dict[str, FieldToken] = {}
        for p in parts:
            if not isinstance(p, str):
                for ft in field_tokens(p):
                    seen.setdefault(ft.text, ft)
        self._json_tokens = tuple(seen.items())
        self.fields: tuple[ResolvedField, ...] = tuple(t.resolved for t in seen.values())

    @classmethod
    def compile(cls, fmt: str, source: str, registry: FieldResolver) -> OutputFormat:
        """Parse ``fmt`` and resolve its fields for ``source``.

        Raises :class:`~secengine.errors.OutputFormatError` with libsinsp's
        messages: ``empty formatting token``, ``invalid formatting syntax:
        formatting cannot end with a %`` (or ``with a number``), ``unknown
        filter: …``.
        """
        parts, widths = compile_template(fmt, source, registry)
        return cls(fmt, source, parts, widths)

    def render(self, event: Event) -> str:
        """The template with every token replaced by its value (missing → ``<NA>``)."""
        out: list[str] = []
        append = out.append
        for part, width in zip(self._parts, self._widths):
            if type(part) is str:
                append(part)
                continue
            s = part.render(event)  # type: ignore[union-attr]
            if s is None:
                s = NA
            if width:
                s = s[:width].ljust(width)
            append(s)
        return "".join(out)

    def values(self, event: Event) -> dict[str, Any]:
        """Every field of the template with its typed JSON value (missing → ``None``).

        Keys are the fields as written (``proc.aname[2]``, ``evt.arg.flags``);
        transformer results are left out and their inner fields included, as
        Falco does.
        """
        return {name: tok.json(event) for name, tok in self._json_tokens}

    def __repr__(self) -> str:
        return f"OutputFormat({self.text!r}, source={self.source!r})"
