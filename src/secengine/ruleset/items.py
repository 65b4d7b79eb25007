"""The items the reader decodes and the collector stores (Falco's ``*_info`` structs).

These are plain mutable records: the collector merges appends and overrides
into them in place, exactly as Falco's collector does, and the compiler
reads them. :mod:`secengine.ruleset.model` holds the compiled output.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from secengine.priority import Priority
from secengine.ruleset.diagnostics import Context
from secengine.ruleset.response import ResponsePlan

__all__ = [
    "EngineVersionInfo",
    "ExceptionEntry",
    "ExceptionInfo",
    "ListInfo",
    "MacroInfo",
    "Op",
    "PluginRequirement",
    "PluginVersionInfo",
    "RuleInfo",
    "RuleUpdateInfo",
    "Version",
]

_SEMVER = re.compile(r"[ \t\n\r\f\v]*\+?(\d+)\.[ \t\n\r\f\v]*\+?(\d+)\.[ \t\n\r\f\v]*\+?(\d+)")


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """libsinsp's ``sinsp_version``: ``major.minor.patch`` read like ``sscanf("%u.%u.%u")``."""

    major: int = 0
    minor: int = 0
    patch: int = 0
    valid: bool = field(default=True, compare=False)

    @classmethod
    def parse(cls, text: str) -> Version:
        m = _SEMVER.match(text)
        if m is None:
            return cls(0, 0, 0, valid=False)
        parts = [int(g) & 0xFFFFFFFF for g in m.groups()]
        return cls(parts[0], parts[1], parts[2])

    def compatible_with(self, requested: Version) -> bool:
        """Same major and at least ``requested`` (both must be valid)."""
        return (
            self.valid and requested.valid and self.major == requested.major and self >= requested
        )

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(slots=True)
class ExceptionEntry:
    """A ``fields``/``comps``/``values`` entry: a string or a (nested) list of entries."""

    is_list: bool = False
    item: str = ""
    items: list[ExceptionEntry] = field(default_factory=list)

    def is_valid(self) -> bool:
        return bool(self.items) if self.is_list else bool(self.item)


@dataclass(slots=True)
class ExceptionInfo:
    ctx: Context
    name: str = ""
    fields: ExceptionEntry = field(default_factory=ExceptionEntry)
    comps: ExceptionEntry = field(default_factory=ExceptionEntry)
    values: list[ExceptionEntry] = field(default_factory=list)


@dataclass(slots=True)
class EngineVersionInfo:
    ctx: Context
    version: Version = field(default_factory=Version)


@dataclass(frozen=True, slots=True)
class PluginRequirement:
    name: str
    version: str


@dataclass(slots=True)
class PluginVersionInfo:
    ctx: Context
    alternatives: list[PluginRequirement] = field(default_factory=list)


@dataclass(slots=True)
class ListInfo:
    ctx: Context
    name: str = ""
    items: list[str] = field(default_factory=list)
    index: int = 0
    visibility: int = 0


@dataclass(slots=True)
class MacroInfo:
    ctx: Context
    cond_ctx: Context
    name: str = ""
    cond: str = ""
    index: int = 0
    visibility: int = 0


@dataclass(slots=True)
class RuleInfo:
    ctx: Context
    cond_ctx: Context
    output_ctx: Context
    name: str = ""
    cond: str = ""
    source: str = ""
    desc: str = ""
    output: str = ""
    tags: set[str] = field(default_factory=set)
    exceptions: list[ExceptionInfo] = field(default_factory=list)
    priority: Priority = Priority.DEBUG
    capture: bool = False
    capture_duration: int = 0
    enabled: bool = True
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False
    index: int = 0
    visibility: int = 0
    unknown_source: bool = False
    #: ``secengine_response`` (ours): what to do on a match; ``None`` if the rule asks nothing.
    response: ResponsePlan | None = None


@dataclass(slots=True)
class RuleUpdateInfo:
    """An append or a selective replace of an existing rule: only set keys apply."""

    ctx: Context
    cond_ctx: Context
    name: str = ""
    source: str = ""
    cond: str | None = None
    output: str | None = None
    desc: str | None = None
    tags: set[str] | None = None
    exceptions: list[ExceptionInfo] | None = None
    priority: Priority | None = None
    capture: bool | None = None
    capture_duration: int | None = None
    enabled: bool | None = None
    warn_evttypes: bool | None = None
    skip_if_unknown_filter: bool | None = None
    response: ResponsePlan | None = None

    def has_any_value(self) -> bool:
        return any(
            v is not None
            for v in (
                self.cond,
                self.output,
                self.desc,
                self.tags,
                self.exceptions,
                self.priority,
                self.enabled,
                self.capture,
                self.capture_duration,
                self.warn_evttypes,
                self.skip_if_unknown_filter,
                self.response,
            )
        )


class Op(enum.Enum):
    """What the reader asks the collector to do with a decoded item."""

    DEFINE = "define"
    APPEND = "append"
    REPLACE = "replace"
    ENABLE = "enable"
