"""Subjects and stream keys from templates: ``secengine.alerts.{node}.{priority}.{rule}``.

A template names the node, rule, priority and event source of what is sent;
the values are made safe for the broker's names first: NATS subject tokens
must not hold ``.``, ``*``, ``>`` or whitespace, and a Redis key is clearer
without them too, so anything but letters, digits, ``-`` and ``_`` becomes
``_`` (``Write below etc`` → ``Write_below_etc``). A template is checked once,
when the output is built, so a misspelt placeholder is a configuration
error, not a failure per alert.
"""

from __future__ import annotations

import re
import string
from typing import Final

__all__ = ["PLACEHOLDERS", "NameTemplate", "safe_token", "subject_filter"]

#: What a template may name.
PLACEHOLDERS: Final = frozenset({"node", "rule", "priority", "source"})

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]+")


def safe_token(value: str) -> str:
    """``value`` as one token of a subject or key (never empty)."""
    return _UNSAFE.sub("_", value).strip("_") or "_"


class NameTemplate:
    """A subject or stream-key template; :meth:`render` fills it for one alert or event."""

    __slots__ = ("fields", "text")

    def __init__(self, text: str) -> None:
        if not text:
            raise ValueError("a subject or stream name must not be empty")
        fields = []
        for _literal, name, spec, conv in string.Formatter().parse(text):
            if name is None:
                continue
            if name not in PLACEHOLDERS or spec or conv:
                raise ValueError(
                    f"unknown placeholder {{{name}}} in {text!r} "
                    f"(known: {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})"
                )
            fields.append(name)
        self.text = text
        self.fields = frozenset(fields)

    def render(self, **values: str) -> str:
        """The name for these values (each made a safe token)."""
        if not self.fields:
            return self.text
        return self.text.format(**{k: safe_token(values.get(k, "")) for k in self.fields})


def subject_filter(template: str) -> str:
    """The NATS subject filter a stream needs to hold every subject of ``template``:
    the literal tokens before the first placeholder, then ``>`` (``secengine.alerts.>``)."""
    tokens = template.split(".")
    literal: list[str] = []
    for token in tokens:
        if "{" in token:
            return ".".join([*literal, ">"])
        literal.append(token)
    return template
