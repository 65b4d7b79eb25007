"""What loading produces: compiled lists, macros and rules, and the :class:`RuleSet`.

These are the objects the engine consumes. A :class:`Rule` carries its
condition at every stage a user may want to see: ``condition_text`` (after
exceptions and list expansion, what Falco hands to its parser), ``condition``
(the AST after macro expansion, whose ``to_string`` is Falco's
``condition_compiled``) and ``checked`` (the typed IR the engine compiles).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from secengine.lang.ast import to_string
from secengine.priority import Priority
from secengine.ruleset.diagnostics import LoadResult, dump_json
from secengine.ruleset.items import PluginRequirement

if TYPE_CHECKING:  # pragma: no cover
    from secengine.lang.ast import Expr
    from secengine.lang.checker import Checked
    from secengine.output import OutputFormat
    from secengine.ruleset.response import ResponsePlan

__all__ = ["CompiledList", "CompiledMacro", "Rule", "RuleSet"]


@dataclass(slots=True)
class CompiledList:
    """A list after one level of list-in-list expansion; ``used`` if anything referred to it."""

    name: str
    items: tuple[str, ...]
    used: bool = False


@dataclass(slots=True)
class CompiledMacro:
    """A macro's AST with the macros it uses expanded; ``used`` if referred to."""

    name: str
    condition: Expr
    used: bool = False


@dataclass(slots=True)
class Rule:
    """A compiled rule, ready for the engine."""

    name: str
    source: str
    priority: Priority
    desc: str
    output: str
    output_format: OutputFormat
    tags: tuple[str, ...]
    enabled: bool
    #: Definition order: the collector index of the rule's *first* definition.
    index: int
    condition: Expr
    condition_text: str
    checked: Checked
    #: The ``evt.type`` names the condition can match; ``None`` means every type.
    evttypes: frozenset[str] | None
    warn_evttypes: bool = True
    #: The rule's source indexes its rules by event type (its spec says so: the
    #: syscall source); the engine then buckets the rule by ``evttypes``.
    by_event_type: bool = False
    skip_if_unknown_filter: bool = False
    capture: bool = False
    capture_duration: int = 0
    exception_fields: frozenset[str] = frozenset()
    #: What the rule asks to be done on a match (``secengine_response``); ``None``: alert only.
    response: ResponsePlan | None = None

    @property
    def condition_compiled(self) -> str:
        """Falco's canonical text of the expanded condition (``condition_compiled``)."""

        return to_string(self.condition)


@dataclass(slots=True)
class RuleSet:
    """The result of :func:`~secengine.ruleset.load_rules`.

    ``rules`` are the rules of the last file that loaded successfully,
    recompiled with everything collected up to it (Falco keeps the previous
    rules active when a later file fails). ``results`` has one
    :class:`LoadResult` per file, in order. ``fatal_error`` is set when the
    loaded rules need a plugin version we do not provide; loading stops
    there, as ``falco`` does.
    """

    rules: list[Rule] = field(default_factory=list)
    lists: dict[str, CompiledList] = field(default_factory=dict)
    macros: dict[str, CompiledMacro] = field(default_factory=dict)
    results: list[LoadResult] = field(default_factory=list)
    required_engine_version: str = "0.0.0"
    required_plugin_versions: list[list[PluginRequirement]] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict, repr=False)
    fatal_error: str | None = None

    @property
    def successful(self) -> bool:
        return self.fatal_error is None and all(r.successful for r in self.results)

    @property
    def has_warnings(self) -> bool:
        return any(r.has_warnings for r in self.results)

    def rule(self, name: str) -> Rule:
        """The rule called ``name``; raises ``KeyError`` if there is none."""
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    # -- validation output (falco -V) ------------------------------------------------------
    def render_text(self) -> str:
        """What ``falco -V f1 -V f2`` prints on stdout (without the final newline).

        Invalid files, and valid files without warnings, print their full
        result; a valid file with warnings prints only ``name: Ok, with warnings``.
        """
        parts = []
        for res in self.results:
            if not res.successful or not res.has_warnings:
                parts.append(res.render_text())
            else:
                parts.append(res.name + ": Ok, with warnings")
        return "\n".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {"falco_load_results": [r.as_json() for r in self.results]}

    def render_json(self) -> str:
        """Falco's one-line JSON validation output (``json_output: true``)."""
        return dump_json(self.as_json())
