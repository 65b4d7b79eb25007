"""The rule-test file format as pydantic models (documented in ``docs/rule-testing.md``).

A test file names the rules files to load, optional engine options, named
event templates, and a list of cases; each case gives events (inline
field-map events or event files) and what the rules must do with them::

    rules_files: [../secengine_rules.yaml]
    options: {rule_matching: all, priority: debug}
    templates:
      exec: {fields: {evt.type: execve, evt.res: SUCCESS}}
    cases:
      - name: a shell with a terminal in a container
        events:
          - extends: exec
            fields: {proc.name: bash, proc.tty: 34816, container.id: 3f2a9c1b7d4e}
        expect:
          - rule: Interactive Shell in Container
            output: {contains: "shell=bash"}

These models check the *shape* of a file: every key is known, every value
has the right type, every case says what it expects. Cross references
(templates, rule names, field names) are checked when the file is loaded
(:mod:`secengine.testing.loader`) and run, where their lines are known.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from secengine.engine import RuleSelection
from secengine.errors import LocatedError, SecengineError
from secengine.priority import Priority
from secengine.sources.fieldmap import FieldMapError, parse_time

__all__ = [
    "Case",
    "EventFile",
    "EventSpec",
    "InlineEvent",
    "Options",
    "RuleExpectation",
    "RuleTestError",
    "RuleTestFile",
    "RuleTestSkipped",
    "Selection",
    "SelectionTarget",
    "Template",
    "TextMatch",
]


class RuleTestError(LocatedError):
    """A rule-test file that cannot be used: bad YAML, bad shape, bad reference.

    The message starts with ``file:line:`` when the place is known.
    """


class RuleTestSkipped(SecengineError):
    """A test file that asked to be skipped when its rules files are absent, and they are.

    Only a file with ``skip_if_rules_missing`` raises it; for any other file a
    missing rules file is a :class:`RuleTestError`. ``reason`` is the file's
    reason followed by what was missing.
    """

    def __init__(self, reason: str, path: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason
        self.path = path


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------


class SelectionTarget(_Model):
    """Which rules an enable/disable entry applies to: a name glob, a tag, or both."""

    rule: str | None = None
    tag: str | None = None

    @model_validator(mode="after")
    def _something(self) -> SelectionTarget:
        if self.rule is None and self.tag is None:
            raise ValueError("give 'rule' (a name or glob), 'tag', or both")
        return self


class Selection(_Model):
    """One entry of ``options.rules``, as in Falco's ``rules:`` configuration key."""

    enable: SelectionTarget | None = None
    disable: SelectionTarget | None = None

    @model_validator(mode="after")
    def _one(self) -> Selection:
        if (self.enable is None) == (self.disable is None):
            raise ValueError("each entry is either 'enable: {...}' or 'disable: {...}'")
        return self

    def to_rule_selection(self) -> RuleSelection:
        target = self.enable if self.enable is not None else self.disable
        assert target is not None
        return RuleSelection(
            "enable" if self.enable is not None else "disable", rule=target.rule, tag=target.tag
        )


def _parse_priority(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Priority.parse(value)
        except ValueError:
            raise ValueError(
                f"invalid priority {value!r} (emergency, alert, critical, error, warning, "
                "notice, informational, debug)"
            ) from None
    return value


class Options(_Model):
    """Engine options; the keys are Falco's configuration keys of the same meaning.

    ``rule_matching`` defaults to ``all`` (unlike Falco's ``first``) so that a
    case about one rule is not hidden by an earlier rule matching the same
    event; set ``first`` to test what a default deployment reports.
    """

    rule_matching: Literal["first", "all"] = "all"
    priority: Priority = Priority.DEBUG
    rules: tuple[Selection, ...] = ()

    _priority = field_validator("priority", mode="before")(_parse_priority)

    def selections(self) -> tuple[RuleSelection, ...]:
        return tuple(s.to_rule_selection() for s in self.rules)


# ---------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------


def _parse_event_time(value: Any) -> Any:
    """Nanoseconds from an integer, an RFC 3339 string or a YAML timestamp."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=_dt.UTC)
        seconds = calendar.timegm(aware.utctimetuple())
        return seconds * 1_000_000_000 + aware.microsecond * 1000
    if isinstance(value, _dt.date):
        return calendar.timegm(value.timetuple()) * 1_000_000_000
    if isinstance(value, bool):
        raise ValueError(  # noqa: TRY004 (pydantic reports ValueError as a validation error)
            "time must be nanoseconds since the epoch or an RFC 3339 string"
        )
    try:
        return parse_time(value)
    except FieldMapError as e:
        raise ValueError(str(e).replace('"time"', "time")) from None


class Template(_Model):
    """A named base event: cases extend it and override some fields."""

    extends: str | None = None
    source: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class InlineEvent(_Model):
    """One field-map event written in the test file.

    ``fields`` are merged over the template's (``extends``); a ``null``
    value removes an inherited field, i.e. makes it missing.
    """

    extends: str | None = None
    source: str | None = None
    time: int | None = None
    fields: dict[str, Any] = Field(default_factory=dict)

    _time = field_validator("time", mode="before")(_parse_event_time)

    @model_validator(mode="after")
    def _not_empty(self) -> InlineEvent:
        if self.extends is None and not self.fields:
            raise ValueError("an event needs 'fields' (or 'extends' a template)")
        return self


class EventFile(_Model):
    """Events read from a file, relative to the test file.

    ``format`` is ``fieldmap`` (the replay format), ``k8s_audit`` (audit
    logs) or another registered event-file format
    (:mod:`secengine.testing.eventfiles`); left out, it is detected from the
    file and ``source``. ``source`` is the source of events that do not name one.
    """

    file: str
    format: str | None = None
    source: str | None = None


def _event_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "file" if "file" in value else "inline"
    return "file" if isinstance(value, EventFile) else "inline"


EventSpec = Annotated[
    Annotated[InlineEvent, Tag("inline")] | Annotated[EventFile, Tag("file")],
    Discriminator(_event_kind),
]


# ---------------------------------------------------------------------------
# expectations
# ---------------------------------------------------------------------------


class TextMatch(_Model):
    """A check of a text: ``exact``, ``contains`` or ``regex`` (searched); a bare string is exact."""

    exact: str | None = None
    contains: str | None = None
    regex: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"exact": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one(self) -> TextMatch:
        given = [k for k in ("exact", "contains", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'exact', 'contains' or 'regex'")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as e:
                raise ValueError(f"invalid regex {self.regex!r}: {e}") from None
        return self

    def matches(self, text: str) -> bool:
        if self.exact is not None:
            return text == self.exact
        if self.contains is not None:
            return self.contains in text
        assert self.regex is not None
        return re.search(self.regex, text) is not None

    def describe(self) -> str:
        if self.exact is not None:
            return f"to be {self.exact!r}"
        if self.contains is not None:
            return f"to contain {self.contains!r}"
        return f"to match /{self.regex}/"


class RuleExpectation(_Model):
    """What one rule must do over a case's events.

    ``count`` is the exact number of alerts (default 1; ``0``: the rule must
    not fire). ``priority``, ``tags`` (as a set), ``output`` (the rendered
    rule output) and ``output_fields`` (a subset; ``null`` = missing) are
    checked on every alert of the rule.
    """

    rule: str = Field(min_length=1)
    count: int = Field(default=1, ge=0)
    priority: Priority | None = None
    tags: tuple[str, ...] | None = None
    output: TextMatch | None = None
    output_fields: dict[str, Any] | None = None

    _priority = field_validator("priority", mode="before")(_parse_priority)

    @model_validator(mode="after")
    def _details_need_alerts(self) -> RuleExpectation:
        details = [
            k
            for k in ("priority", "tags", "output", "output_fields")
            if getattr(self, k) is not None
        ]
        if self.count == 0 and details:
            raise ValueError(f"count: 0 (the rule must not fire) cannot check {', '.join(details)}")
        return self

    @property
    def positive(self) -> bool:
        return self.count > 0


class Case(_Model):
    """Events and what the rules must do with them."""

    name: str = Field(min_length=1)
    events: tuple[EventSpec, ...] = Field(min_length=1)
    expect: tuple[RuleExpectation, ...] = ()
    #: No rule at all may fire on these events.
    no_alerts: bool = False

    @model_validator(mode="after")
    def _expects_something(self) -> Case:
        if not self.expect and not self.no_alerts:
            raise ValueError("a case needs 'expect' (rule expectations) or 'no_alerts: true'")
        if self.no_alerts and any(e.count for e in self.expect):
            raise ValueError("'no_alerts: true' contradicts an expectation that a rule fires")
        seen: set[str] = set()
        for e in self.expect:
            if e.rule in seen:
                raise ValueError(f"rule {e.rule!r} is expected twice in one case")
            seen.add(e.rule)
        return self


class RuleTestFile(_Model):
    """A whole ``*.ruletest.yaml`` file. Top-level keys starting with ``x-`` are
    ignored, as places to define YAML anchors."""

    rules_files: tuple[str, ...] = Field(min_length=1)
    #: Skip the whole file (with this reason) instead of failing when a rules file is
    #: absent: for tests of rules kept outside the repository (``${VAR}/rules.yaml``).
    skip_if_rules_missing: str | None = Field(default=None, min_length=1)
    options: Options = Options()
    templates: dict[str, Template] = Field(default_factory=dict)
    cases: tuple[Case, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: v for k, v in value.items() if not (isinstance(k, str) and k.startswith("x-"))
            }
        return value
