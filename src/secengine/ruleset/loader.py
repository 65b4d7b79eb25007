"""``load_rules``: run the three stages over several files, with Falco's semantics.

Files load in order into one shared collector. After each file, everything
collected so far is recompiled, so a later file can redefine, append to or
override items of an earlier one; warnings about earlier items (unused
macros, say) are then reported again in the later file's result, as Falco
does. A file that fails leaves the previously compiled rules in place (but
what it collected before failing stays collected). Nothing here raises on a
bad rules file: every problem lands in a :class:`LoadResult`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from secengine.errors import ConditionError
from secengine.lang import ast, check_condition, parse_condition
from secengine.ruleset.collector import Collector
from secengine.ruleset.compiler import compile_collected
from secengine.ruleset.diagnostics import Context, ItemError, LoadResult
from secengine.ruleset.exceptions import FieldValidator
from secengine.ruleset.items import PluginRequirement, Version
from secengine.ruleset.messages import ErrorCode, msg
from secengine.ruleset.model import RuleSet
from secengine.ruleset.reader import read_items
from secengine.ruleset.schema import SchemaConversionError, validate_schema
from secengine.ruleset.version import PROVIDED_PLUGINS

if TYPE_CHECKING:  # pragma: no cover
    from secengine.lang.resolver import FieldResolver

__all__ = ["RulesSource", "check_plugin_requirements", "field_validator", "load_rules"]

#: A rules file path, or ``(name, text)`` for in-memory content.
RulesSource = str | os.PathLike[str] | tuple[str, str]


def field_validator(registry: FieldResolver) -> FieldValidator:
    """Falco's ``is_valid_lhs_field``: can ``field`` be the left side of a check for ``source``?

    The field (or transformer expression such as ``tolower(proc.name)``) is
    compiled as ``<field> exists``.
    """

    def ok(source: str, field: str) -> bool:
        try:
            expr = parse_condition(field + " exists")
            if not isinstance(expr, ast.UnaryCheck):
                return False
            check_condition(expr, source, registry)
        except ConditionError:
            return False
        return True

    return ok


def check_plugin_requirements(
    required: Iterable[Sequence[PluginRequirement]], provided: Mapping[str, str]
) -> str | None:
    """Falco's ``check_plugin_requirements``: ``None`` if satisfied, else Falco's message."""
    for alternatives in required:
        err = ""
        satisfied = False
        for req in alternatives:
            if req.name not in provided:
                continue
            have = provided[req.name]
            if not Version.parse(have).compatible_with(Version.parse(req.version)):
                err = msg("plugin_incompatible", name=req.name, version=have, required=req.version)
            else:
                satisfied = True
            break
        if satisfied:
            continue
        if not err:
            listed = ", ".join(f"{r.name} (>= {r.version})" for r in alternatives)
            err = msg("plugin_requirement", alternatives=listed)
        return err
    return None


def _read_source(source: RulesSource) -> tuple[str, bytes | None]:
    if isinstance(source, tuple):
        name, text = source
        return name, text.encode("utf-8", "surrogateescape")
    name = os.fspath(source)
    try:
        with open(name, "rb") as fh:
            return name, fh.read()
    except OSError:
        return name, None


def load_rules(
    sources: Sequence[RulesSource],
    *,
    registry: FieldResolver,
    extra_sources: Iterable[str] = (),
    provided_plugins: Mapping[str, str] = PROVIDED_PLUGINS,
) -> RuleSet:
    """Load rules files (paths, or ``(name, text)`` pairs) in order into one :class:`RuleSet`.

    ``registry`` knows the fields of each event source (the core imports no
    field class: :func:`secengine.load_rules` passes the registry of the
    installed sources); the event sources rules may use are its sources plus
    ``extra_sources``. Never raises on bad rules: check
    :attr:`RuleSet.successful` and :attr:`RuleSet.results`.
    """
    known_sources = list(registry.sources()) + [s for s in extra_sources]
    collector = Collector(known_sources, field_validator(registry))
    ruleset = RuleSet(contents={})
    for source in sources:
        name, data = _read_source(source)
        result = LoadResult(name, contents=ruleset.contents)
        ruleset.results.append(result)
        if data is None:
            result.add_error(
                ErrorCode.LOAD_ERR_FILE_READ, msg("file_read", name=name), Context.root(name)
            )
        else:
            ruleset.contents[name] = data
            _load_one(name, data, collector, result, registry, ruleset)
        ruleset.required_plugin_versions = [list(a) for a in collector.required_plugin_versions]
        ruleset.fatal_error = check_plugin_requirements(
            collector.required_plugin_versions, provided_plugins
        )
        if ruleset.fatal_error is not None:
            break
    return ruleset


def _load_one(
    name: str,
    data: bytes,
    collector: Collector,
    result: LoadResult,
    registry: FieldResolver,
    ruleset: RuleSet,
) -> None:
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")
    try:
        result.schema_warnings = validate_schema(text)
    except SchemaConversionError as exc:
        result.add_error(ErrorCode.LOAD_ERR_YAML_PARSE, exc.message, Context.root(name))
        return
    try:
        for op, item in read_items(name, text, result):
            collector.apply(op, item, result)
    except ItemError as exc:
        result.add_error(exc.code, exc.message, exc.context)
        return
    out = compile_collected(collector, result, registry)
    if out is None or not result.successful:
        return
    ruleset.rules = out.rules
    ruleset.lists = out.lists
    ruleset.macros = out.macros
    ruleset.required_engine_version = str(collector.required_engine_version.version)
