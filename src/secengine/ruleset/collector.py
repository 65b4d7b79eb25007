"""Stage 2 of loading: define, redefine, append, override and enable items.

A port of Falco's ``rule_loader_collector.cpp`` and the one place that knows
the merge semantics:

- defining an existing name replaces the item but keeps its *index* (so the
  evaluation order does not change) and gives it a new *visibility*;
- appends join conditions with a space, extend list items, union tags and
  merge exceptions by name;
- selective replaces (``override: {key: replace}``) overwrite single keys;
- an ``enabled``-only item toggles an earlier rule.

Indexes come from one counter shared by lists, macros and rules, as in Falco;
the compiler uses them for visibility (a macro sees only macros defined
before it). One collector lives across all the files of a load.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from secengine.ruleset.diagnostics import Context, ItemError, LoadResult
from secengine.ruleset.exceptions import FieldValidator, validate_exception
from secengine.ruleset.items import (
    EngineVersionInfo,
    ListInfo,
    MacroInfo,
    Op,
    PluginRequirement,
    PluginVersionInfo,
    RuleInfo,
    RuleUpdateInfo,
    Version,
)
from secengine.ruleset.messages import ErrorCode, WarningCode, msg
from secengine.ruleset.version import engine_version

__all__ = ["Collector"]

_T = TypeVar("_T", ListInfo, MacroInfo, RuleInfo)


class _Located(Protocol):
    """An item read from a rules file: where it stands."""

    ctx: Context


def _validate_error(message: str, info: _Located) -> ItemError:
    return ItemError(ErrorCode.LOAD_ERR_VALIDATE, message, info.ctx)


class Collector:
    """Everything collected so far, by kind, in definition order.

    ``sources`` are the event sources rules may use; ``field_ok`` validates
    exception fields against a source (``None`` skips that check).
    """

    def __init__(self, sources: Iterable[str], field_ok: FieldValidator | None = None) -> None:
        self.sources = frozenset(sources)
        self.field_ok = field_ok
        self.lists: dict[str, ListInfo] = {}
        self.macros: dict[str, MacroInfo] = {}
        self.rules: dict[str, RuleInfo] = {}
        self.required_plugin_versions: list[list[PluginRequirement]] = []
        self.required_engine_version = EngineVersionInfo(Context.root("no-filename-given"))
        self._cur_index = 0

    def _next_index(self) -> int:
        index = self._cur_index
        self._cur_index += 1
        return index

    # -- dispatch -------------------------------------------------------------------------------
    def apply(self, op: Op, info: object, result: LoadResult) -> None:
        """Apply one operation the reader produced."""
        if op is Op.DEFINE:
            if isinstance(info, EngineVersionInfo):
                self.define_engine_version(info)
            elif isinstance(info, PluginVersionInfo):
                self.define_plugin_version(info)
            elif isinstance(info, ListInfo):
                self._define(self.lists, info)
            elif isinstance(info, MacroInfo):
                self._define(self.macros, info)
            elif isinstance(info, RuleInfo):
                self.define_rule(info, result)
            else:
                raise TypeError(f"cannot define {info!r}")
        elif op is Op.APPEND:
            if isinstance(info, ListInfo):
                self.append_list(info)
            elif isinstance(info, MacroInfo):
                self.append_macro(info)
            elif isinstance(info, RuleUpdateInfo):
                self.append_rule(info)
            else:
                raise TypeError(f"cannot append {info!r}")
        elif op is Op.REPLACE:
            assert isinstance(info, RuleUpdateInfo)
            self.replace_rule(info)
        elif op is Op.ENABLE:
            assert isinstance(info, RuleInfo)
            self.enable_rule(info)

    # -- versions -------------------------------------------------------------------------------
    def define_engine_version(self, info: EngineVersionInfo) -> None:
        engine = engine_version()
        if not engine.compatible_with(info.version):
            raise _validate_error(
                msg("engine_version_mismatch", required=info.version, engine=engine), info
            )
        if self.required_engine_version.version < info.version:
            self.required_engine_version = info

    def define_plugin_version(self, info: PluginVersionInfo) -> None:
        names: set[str] = set()
        for req in info.alternatives:
            if not Version.parse(req.version).valid:
                raise _validate_error(
                    msg("invalid_plugin_version", version=req.version, name=req.name), info
                )
            if req.name in names:
                raise _validate_error(msg("duplicate_plugin_alternative", name=req.name), info)
            names.add(req.name)
        self.required_plugin_versions.append(list(info.alternatives))

    # -- lists and macros -----------------------------------------------------------------------
    def _define(self, infos: dict[str, _T], info: _T) -> None:
        index = self._next_index()
        prev = infos.get(info.name)
        info.index = prev.index if prev is not None else index
        info.visibility = index
        infos[info.name] = info  # replaces in place: the order of first definition is kept

    def append_list(self, info: ListInfo) -> None:
        prev = self.lists.get(info.name)
        if prev is None:
            raise _validate_error(msg("no_previous_list"), info)
        prev.items.extend(info.items)
        prev.visibility = self._next_index()

    def append_macro(self, info: MacroInfo) -> None:
        prev = self.macros.get(info.name)
        if prev is None:
            raise _validate_error(msg("no_previous_macro"), info)
        prev.cond += " " + info.cond
        prev.visibility = self._next_index()

    # -- rules ----------------------------------------------------------------------------------
    def _find_prev_rule(self, info: RuleInfo | RuleUpdateInfo) -> RuleInfo | None:
        prev = self.rules.get(info.name)
        if prev is not None and prev.source and info.source and prev.source != info.source:
            raise _validate_error(msg("redefined_source"), info)
        return prev

    @staticmethod
    def _source_of(prev: RuleInfo) -> str | None:
        """The source to check exception fields against (``None`` for an unknown source)."""
        return None if prev.unknown_source else prev.source

    def define_rule(self, info: RuleInfo, result: LoadResult) -> None:
        self._find_prev_rule(info)
        source: str | None = info.source
        if info.source not in self.sources:
            info.unknown_source = True
            source = None
            result.add_warning(
                WarningCode.LOAD_UNKNOWN_SOURCE, msg("unknown_source", source=info.source), info.ctx
            )
        for ex in info.exceptions:
            if not ex.fields.is_valid():
                raise _validate_error(msg("exception_no_fields"), ex)
            validate_exception(source, ex, self.field_ok)
        self._define(self.rules, info)

    def append_rule(self, info: RuleUpdateInfo) -> None:
        prev = self._find_prev_rule(info)
        if prev is None:
            raise _validate_error(msg("no_previous_rule_append"), info)
        if not info.has_any_value():
            raise _validate_error(msg("append_needs_value"), info)
        source = self._source_of(prev)
        if info.cond:
            prev.cond += " " + info.cond
        if info.output:
            prev.output += " " + info.output
        if info.desc:
            prev.desc += " " + info.desc
        if info.tags is not None:
            prev.tags |= info.tags
        for ex in info.exceptions or ():
            prev_ex = next((e for e in prev.exceptions if e.name == ex.name), None)
            if prev_ex is None:
                if not ex.fields.is_valid():
                    raise _validate_error(msg("exception_new_no_fields"), ex)
                if not ex.values:
                    raise _validate_error(msg("exception_new_no_values"), ex)
                validate_exception(source, ex, self.field_ok)
                prev.exceptions.append(ex)
            else:
                if ex.fields.is_valid():
                    raise _validate_error(msg("exception_append_fields"), ex)
                if ex.comps.is_valid():
                    raise _validate_error(msg("exception_append_comps"), ex)
                prev_ex.values.extend(ex.values)
        prev.visibility = self._next_index()

    def replace_rule(self, info: RuleUpdateInfo) -> None:
        prev = self._find_prev_rule(info)
        if prev is None:
            raise _validate_error(msg("no_previous_rule_replace"), info)
        # The reader only produces replaces that carry at least one key.
        for attr in (
            "cond",
            "output",
            "desc",
            "tags",
            "exceptions",
            "priority",
            "capture",
            "capture_duration",
            "enabled",
            "warn_evttypes",
            "skip_if_unknown_filter",
            "response",
        ):
            value = getattr(info, attr)
            if value is not None:
                setattr(prev, attr, value)
        prev.visibility = self._next_index()

    def enable_rule(self, info: RuleInfo) -> None:
        prev = self.rules.get(info.name)
        if prev is None:
            raise _validate_error(msg("enabled_no_rule"), info)
        prev.enabled = info.enabled
