"""Stage 3 of loading: collected items → compiled lists, macros and rules.

A port of Falco's ``rule_loader_compiler.cpp``. The pipeline, per spec §1.5:

1. lists: an item naming a list defined earlier is replaced by that list's
   raw items (one level only);
2. macros: each condition gets its lists expanded textually and is parsed;
   then macro references are expanded, a macro seeing only the macros whose
   first definition precedes its last (re)definition;
3. rules: exceptions → condition text, output checks, textual list
   expansion, parse, macro expansion (every macro visible), warnings, type
   check, event types.

The first error stops the compilation (and the file); warnings accumulate in
the file's :class:`LoadResult`. Unused lists and macros are reported last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from secengine.errors import ConditionCompileError, ConditionSyntaxError, OutputFormatError
from secengine.lang import (
    MacroResolver,
    ast,
    check_condition,
    condition_warnings,
    event_types,
    parse_condition,
)
from secengine.lang.budget import tree_size
from secengine.output import OutputFormat
from secengine.ruleset.collector import Collector
from secengine.ruleset.diagnostics import Context, ItemError, LoadResult
from secengine.ruleset.exceptions import build_exception_condition
from secengine.ruleset.listexpand import ListExpansionTooLong, expand_lists
from secengine.ruleset.messages import DeprecatedField, ErrorCode, WarningCode, msg
from secengine.ruleset.model import CompiledList, CompiledMacro, Rule
from secengine.ruleset.response import ResponsePlan

if TYPE_CHECKING:  # pragma: no cover
    from secengine.lang.ast import Expr
    from secengine.lang.checker import Checked
    from secengine.lang.resolver import FieldResolver
    from secengine.ruleset.items import RuleInfo

__all__ = [
    "MAX_CONDITION_DEPTH",
    "MAX_CONDITION_NODES",
    "MAX_CONDITION_TEXT",
    "MAX_EVTTYPES",
    "MAX_EXPANDED_DEPTH",
    "MAX_LOAD_NODES",
    "MAX_LOAD_TEXT",
    "CompileOutput",
    "compile_collected",
]

#: Falco warns (``LOAD_NO_EVTTYPE``) above this many event codes.
MAX_EVTTYPES = 100
#: Falco's parser depth cap (``p.set_max_depth(1000)``).
MAX_CONDITION_DEPTH = 1000
# Limits on what macros and lists may expand to (docs/rules-loading.md, "Hostile rules
# and events"). Upstream Falco's rules use at most 783 nodes, depth 7 and 3 KB of text
# per condition, 6,015 nodes in all; the limits are 25 times that or more.
#: Characters of one condition after list expansion (Lark parses about 300 KB/s).
MAX_CONDITION_TEXT = 1_000_000
#: Characters of every macro and rule condition of one load, after list expansion.
MAX_LOAD_TEXT = 4_000_000
#: Nodes of one condition after macro expansion (boolean nodes, checks, list values).
MAX_CONDITION_NODES = 20_000
#: Nodes of every rule condition of one load after macro expansion.
MAX_LOAD_NODES = 200_000
#: Depth of one condition after macro expansion (the passes over it recurse).
MAX_EXPANDED_DEPTH = 200
#: Rules with an unlimited visibility see every macro.
_MAX_VISIBILITY = 2**32 - 1

_CONTAINER_INFO = "%container.info"
#: The fields a response action's target is read from (``docs/response.md``).
_PROCESS_FIELD = "proc.pid"
_CONTAINER_FIELD = "container.id"
_UNKNOWN_FILTER_MARKERS = (
    "nonexistent field",
    "invalid formatting token",
    "unknown event type",
    "unknown filter:",
)


@dataclass(slots=True)
class CompileOutput:
    lists: dict[str, CompiledList] = field(default_factory=dict)
    macros: dict[str, CompiledMacro] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)


def _err_is_unknown_type_or_field(err: str) -> bool:
    return any(m in err for m in _UNKNOWN_FILTER_MARKERS)


def compile_collected(
    collector: Collector, result: LoadResult, registry: FieldResolver
) -> CompileOutput | None:
    """Compile everything collected so far; ``None`` (with an error in ``result``) on failure."""
    compiler = _Compiler(collector, result, registry)
    try:
        compiler.compile_lists()
        compiler.compile_macros()
        compiler.compile_rules()
    except ItemError as exc:
        result.add_error(exc.code, exc.message, exc.context)
        return None
    out = compiler.out
    for m in out.macros.values():
        if not m.used:
            result.add_warning(
                WarningCode.LOAD_UNUSED_MACRO, msg("unused_macro"), collector.macros[m.name].ctx
            )
    for lst in out.lists.values():
        if not lst.used:
            result.add_warning(
                WarningCode.LOAD_UNUSED_LIST, msg("unused_list"), collector.lists[lst.name].ctx
            )
    return out


class _Compiler:
    def __init__(self, collector: Collector, result: LoadResult, registry: FieldResolver) -> None:
        self.col = collector
        self.result = result
        self.registry = registry
        self.out = CompileOutput()
        #: what this load has spent of MAX_LOAD_TEXT and MAX_LOAD_NODES
        self.text_spent = 0
        self.nodes_spent = 0

    # -- lists ---------------------------------------------------------------------------------
    def compile_lists(self) -> None:
        used_names: list[str] = []
        for info in self.col.lists.values():
            items: list[str] = []
            for item in info.items:
                ref = self.col.lists.get(item)
                if ref is not None and ref.index < info.visibility:
                    used_names.append(ref.name)
                    items.extend(ref.items)
                else:
                    items.append(item)
            self.out.lists[info.name] = CompiledList(info.name, tuple(items))
        for name in used_names:
            self.out.lists[name].used = True

    # -- conditions ----------------------------------------------------------------------------
    def parse(self, condition: str, ctx: Context) -> tuple[Expr, str]:
        """Expand every list in ``condition`` (no visibility order) and parse it."""

        limit = min(MAX_CONDITION_TEXT, MAX_LOAD_TEXT - self.text_spent)
        try:
            condition, used = expand_lists(
                condition, ((lst.name, lst.items) for lst in self.out.lists.values()), limit=limit
            )
        except ListExpansionTooLong as exc:
            which = "condition" if limit == MAX_CONDITION_TEXT else "conditions of this load"
            raise ItemError(
                ErrorCode.LOAD_ERR_COMPILE_CONDITION,
                msg("list_expansion_too_long", name=exc.name, limit=limit, which=which),
                ctx.condition(0, 0, 0, condition),
            ) from None
        self.text_spent += len(condition)
        for name in used:
            self.out.lists[name].used = True
        try:
            expr = parse_condition(condition, max_depth=MAX_CONDITION_DEPTH)
        except ConditionSyntaxError as exc:
            raise ItemError(
                ErrorCode.LOAD_ERR_COMPILE_CONDITION, exc.message, _cond_ctx(ctx, exc, condition)
            ) from None
        return expr, condition

    def resolve_macros(
        self, resolver: MacroResolver, expr: Expr, condition: str, visibility: int, ctx: Context
    ) -> Expr:
        resolver.clear()
        for info in self.col.macros.values():
            if info.index < visibility:
                resolver.set_macro(info.name, self.out.macros[info.name].condition)
        try:
            expr = resolver.run(expr)
        except RecursionError:  # macros nested past Python's stack; the size check says it
            raise ItemError(
                ErrorCode.LOAD_ERR_COMPILE_CONDITION,
                msg("expansion_too_deep", limit=MAX_EXPANDED_DEPTH),
                ctx,
            ) from None
        # Falco reports only the first loop, else the first unknown macro.
        if resolver.errors or resolver.unknown_macros:
            if resolver.errors:
                message, pos = resolver.errors[0]
            else:
                name, pos = next(iter(resolver.unknown_macros.items()))
                message = msg("undefined_macro", name=name)
            raise ItemError(
                ErrorCode.LOAD_ERR_VALIDATE,
                message,
                ctx.condition(pos.idx, pos.line, pos.col, condition),
            )
        for name in resolver.resolved_macros:
            self.out.macros[name].used = True
        self.check_size(expr, ctx)
        return expr

    def check_size(self, expr: Expr, ctx: Context) -> None:
        """Refuse a condition whose expanded tree passes the limits, before any pass walks it."""

        size = tree_size(expr)
        if size.depth > MAX_EXPANDED_DEPTH:
            raise ItemError(
                ErrorCode.LOAD_ERR_COMPILE_CONDITION,
                msg("expansion_too_deep", limit=MAX_EXPANDED_DEPTH),
                ctx,
            )
        if size.nodes > MAX_CONDITION_NODES:
            raise ItemError(
                ErrorCode.LOAD_ERR_COMPILE_CONDITION,
                msg(
                    "expansion_too_large",
                    nodes=size.nodes,
                    limit=MAX_CONDITION_NODES,
                    which="condition",
                ),
                ctx,
            )

    def spend_nodes(self, expr: Expr, ctx: Context) -> None:
        """Count a rule's expanded tree against MAX_LOAD_NODES (every rule is compiled)."""

        nodes = tree_size(expr).nodes
        self.nodes_spent += nodes
        if self.nodes_spent > MAX_LOAD_NODES:
            raise ItemError(
                ErrorCode.LOAD_ERR_COMPILE_CONDITION,
                msg(
                    "expansion_too_large",
                    nodes=self.nodes_spent,
                    limit=MAX_LOAD_NODES,
                    which="rule conditions of this load",
                ),
                ctx,
            )

    # -- macros --------------------------------------------------------------------------------
    def compile_macros(self) -> None:
        for info in self.col.macros.values():
            expr, _ = self.parse(info.cond, info.cond_ctx)
            self.out.macros[info.name] = CompiledMacro(info.name, expr)
        resolver = MacroResolver()
        for macro in self.out.macros.values():
            info = self.col.macros[macro.name]
            macro.condition = self.resolve_macros(
                resolver, macro.condition, info.cond, info.visibility, info.ctx
            )

    # -- rules ---------------------------------------------------------------------------------
    def compile_rules(self) -> None:
        resolver = MacroResolver()
        for info in self.col.rules.values():
            if info.unknown_source:
                continue
            rule = self.compile_rule(resolver, info)
            if rule is not None:
                self.out.rules.append(rule)

    def compile_rule(self, resolver: MacroResolver, info: RuleInfo) -> Rule | None:
        condition = info.cond
        exception_fields: set[str] = set()
        if info.exceptions:
            condition = build_exception_condition(condition, info.exceptions, exception_fields)

        output = info.output
        if _CONTAINER_INFO in output:
            self.result.add_warning(
                WarningCode.LOAD_DEPRECATED_ITEM, msg("container_info"), info.ctx
            )
            output = output.replace(_CONTAINER_INFO, "")
        try:
            output_format = OutputFormat.compile(output, info.source, self.registry)
        except OutputFormatError as exc:
            err = str(exc)
            if _err_is_unknown_type_or_field(err) and info.skip_if_unknown_filter:
                self.result.add_warning(WarningCode.LOAD_UNKNOWN_FILTER, err, info.output_ctx)
                return None
            raise ItemError(ErrorCode.LOAD_ERR_COMPILE_OUTPUT, err, info.output_ctx) from None
        for df in DeprecatedField:
            if df.field_name in output:
                self.result.add_deprecated_field_warning(
                    df, msg("deprecated_output_field", field=df.field_name), info.output_ctx
                )

        compiled = self.compile_condition(resolver, condition, info)
        if compiled is None:
            return None
        expr, text, checked = compiled

        evttypes = event_types(expr)
        index = self.registry.event_index(info.source)
        if (
            index is not None
            and info.warn_evttypes
            and (evttypes is None or index.code_count(evttypes) > MAX_EVTTYPES)
        ):
            self.result.add_warning(WarningCode.LOAD_NO_EVTTYPE, msg("no_evttype"), info.ctx)

        if info.response is not None:
            self.check_response(info, info.response)

        return Rule(
            name=info.name,
            source=info.source,
            priority=info.priority,
            desc=info.desc,
            output=output,
            output_format=output_format,
            tags=tuple(sorted(info.tags)),
            enabled=info.enabled,
            index=info.index,
            condition=expr,
            condition_text=text,
            checked=checked,
            evttypes=evttypes,
            warn_evttypes=info.warn_evttypes,
            by_event_type=index is not None,
            skip_if_unknown_filter=info.skip_if_unknown_filter,
            capture=info.capture,
            capture_duration=info.capture_duration,
            exception_fields=frozenset(exception_fields),
            response=info.response,
        )

    def check_response(self, info: RuleInfo, plan: ResponsePlan) -> None:
        """A process or container action needs a source whose events have one."""
        for action in plan.actions:
            needed = (
                _PROCESS_FIELD
                if action.kind.needs_process
                else _CONTAINER_FIELD
                if action.kind.needs_container
                else None
            )
            if needed is not None and self.registry.lookup(info.source, needed) is None:
                raise ItemError(
                    ErrorCode.LOAD_ERR_EXTENSION,
                    msg(
                        "response_source_lacks",
                        action=action.kind.value,
                        field=needed,
                        source=info.source,
                    ),
                    info.ctx,
                )

    def compile_condition(
        self, resolver: MacroResolver, condition: str, info: RuleInfo
    ) -> tuple[Expr, str, Checked] | None:
        # Falco parses the list-expanded text but points every later diagnostic
        # into the condition as it was before list expansion.
        expr, text = self.parse(condition, info.cond_ctx)
        expr = self.resolve_macros(resolver, expr, condition, _MAX_VISIBILITY, info.ctx)
        self.spend_nodes(expr, info.ctx)

        # Falco's warning resolver: one unsafe-<NA> warning, then deprecated fields,
        # all pointing at the start of the condition.
        start_ctx = info.cond_ctx.condition(0, 0, 0, condition)
        if any(
            w.code == WarningCode.LOAD_UNSAFE_NA_CHECK.name
            for w in condition_warnings(expr, info.source)
        ):
            self.result.add_warning(WarningCode.LOAD_UNSAFE_NA_CHECK, "", start_ctx)
        for df in _deprecated_fields(expr):
            self.result.add_deprecated_field_warning(df, df.desc, start_ctx)

        try:
            checked = check_condition(expr, info.source, self.registry)
        except ConditionCompileError as exc:
            ctx = _cond_ctx(info.cond_ctx, exc, condition)
            if _err_is_unknown_type_or_field(exc.message) and info.skip_if_unknown_filter:
                self.result.add_warning(WarningCode.LOAD_UNKNOWN_FILTER, exc.message, ctx)
                return None
            raise ItemError(ErrorCode.LOAD_ERR_COMPILE_CONDITION, exc.message, ctx) from None
        for w in checked.warnings:
            if w.code == WarningCode.LOAD_COMPILE_CONDITION.name:
                self.result.add_warning(
                    WarningCode.LOAD_COMPILE_CONDITION,
                    w.message,
                    info.cond_ctx.condition(w.pos.idx, w.pos.line, w.pos.col, condition),
                )
        return expr, text, checked


def _cond_ctx(
    ctx: Context, exc: ConditionSyntaxError | ConditionCompileError, condition: str
) -> Context:
    """A context at the parser/compiler position of ``exc`` inside ``condition``."""
    offset = exc.offset if exc.offset is not None else 0
    line = exc.line if exc.line is not None else 1
    column = exc.column if exc.column is not None else 1
    return ctx.condition(offset, line, column, condition)


def _deprecated_fields(expr: Expr) -> list[DeprecatedField]:
    """Deprecated fields on the left of checks, in Falco's enum order, each once."""

    found: set[DeprecatedField] = set()
    stack: list[object] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.And, ast.Or)):
            stack.extend(node.children)
        elif isinstance(node, ast.Not):
            stack.append(node.child)
        elif isinstance(node, (ast.UnaryCheck, ast.BinaryCheck)):
            stack.append(node.left)
        elif isinstance(node, ast.Transformer):
            stack.extend(node.args)
        elif isinstance(node, ast.TransformerList):
            stack.extend(node.items)
        elif isinstance(node, ast.FieldRef):
            df = DeprecatedField.from_field(node.name)
            if df is not None:
                found.add(df)
    return [df for df in DeprecatedField if df in found]
