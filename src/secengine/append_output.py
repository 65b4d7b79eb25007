"""Falco's ``append_output``: extra text and extra JSON fields added to matching rules' alerts.

Falco applies these entries while it compiles rules (``rule_loader_compiler``):
for every rule, in entry order, each matching entry appends ``" " +
extra_output`` to the rule's output and, with ``suggested_output``, one
``name_with_underscores=%field`` per field that the source's field classes
flag as *suggested* (the container plugin's ``container.id``,
``container.name``...). ``extra_fields`` do not touch the text: a plain
field name adds that field's typed value to ``output_fields``, a one-key map
``{name: format}`` adds the format rendered as text.

A rule matches an entry when its source is ``match.source`` (if given), it
has every tag of ``match.tags``, and its name is ``match.rule`` (if given).

Here the entries are applied to a loaded :class:`~secengine.ruleset.RuleSet`'s
rules, giving new :class:`~secengine.ruleset.Rule` objects (the loaded ones
are not changed, so a reload starts from clean rules).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from secengine.errors import ConfigError, OutputFormatError
from secengine.events import Event
from secengine.output import OutputFormat
from secengine.sources.specs import field_registry

if TYPE_CHECKING:  # pragma: no cover
    from secengine.config import AppendOutputEntry
    from secengine.fields.registry import FieldRegistry
    from secengine.ruleset import Rule

__all__ = ["ExtendedOutput", "apply_append_output", "suggested_formats"]


class ExtendedOutput:
    """A rule's compiled output plus its extra ``output_fields`` (raw or formatted)."""

    __slots__ = ("base", "extras")

    def __init__(
        self, base: OutputFormat, extras: Sequence[tuple[str, OutputFormat, bool]]
    ) -> None:
        self.base = base
        self.extras = tuple(extras)

    @property
    def text(self) -> str:
        return self.base.text

    @property
    def source(self) -> str:
        return self.base.source

    @property
    def fields(self) -> Any:
        return self.base.fields

    def render(self, event: Event) -> str:
        return self.base.render(event)

    def values(self, event: Event) -> dict[str, Any]:
        out = self.base.values(event)
        for key, fmt, raw in self.extras:
            out[key] = fmt.values(event).get(key) if raw else fmt.render(event)
        return out


def _matches(entry: AppendOutputEntry, rule: Rule) -> bool:
    m = entry.match
    if m.source is not None and m.source != rule.source:
        return False
    if m.rule is not None and m.rule != rule.name:
        return False
    return all(t in rule.tags for t in m.tags)


def suggested_formats(source: str, registry: FieldRegistry) -> list[str]:
    """``a_b=%a.b`` for every field flagged as suggested that ``source``'s events have."""
    out = []
    for fclass in registry.classes_for(source):
        for fdef in fclass.fields:
            if fdef.suggested:
                out.append(f"{fdef.name.replace('.', '_')}=%{fdef.name}")
    return out


def apply_append_output(
    rules: Sequence[Rule],
    entries: Sequence[AppendOutputEntry],
    registry: FieldRegistry | None = None,
) -> list[Rule]:
    """The rules with ``entries`` applied; rules no entry matches are returned as they were.

    Raises :class:`~secengine.errors.ConfigError` naming the entry when an
    extra output or field does not compile for a rule's source.
    """
    if not entries:
        return list(rules)
    if registry is None:
        registry = field_registry()
    suggested: dict[str, list[str]] = {}
    out = []
    for rule in rules:
        texts: list[str] = []
        fields: dict[str, tuple[str, bool]] = {}
        owner: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if not _matches(entry, rule):
                continue
            if entry.extra_output:
                texts.append(entry.extra_output)
            if entry.suggested_output:
                if rule.source not in suggested:
                    suggested[rule.source] = suggested_formats(rule.source, registry)
                texts.extend(suggested[rule.source])
            for item in entry.extra_fields:
                if isinstance(item, str):
                    fields[item] = ("%" + item, True)
                    owner[item] = i
                else:
                    ((key, fmt),) = item.items()
                    fields[key] = (fmt, False)
                    owner[key] = i
        if not texts and not fields:
            out.append(rule)
            continue
        output = rule.output + "".join(" " + t for t in texts)
        try:
            base = (
                OutputFormat.compile(output, rule.source, registry) if texts else rule.output_format
            )
        except OutputFormatError as e:
            raise ConfigError(
                f"append_output: the output of rule {rule.name!r} with its extra "
                f"output does not compile: {e}"
            ) from None
        extras = []
        for key, (fmt, raw) in fields.items():
            try:
                extras.append((key, OutputFormat.compile(fmt, rule.source, registry), raw))
            except OutputFormatError as e:
                raise ConfigError(
                    f"append_output[{owner[key]}].extra_fields: {key!r} does not "
                    f"compile for rule {rule.name!r} ({rule.source}): {e}"
                ) from None
        fmt_obj: Any = ExtendedOutput(base, extras) if extras else base
        out.append(dataclasses.replace(rule, output=output, output_format=fmt_obj))
    return out
