"""Stage 1 of loading: rules YAML → decoded items, in file order.

A port of Falco's ``rule_loader_reader.cpp``. :func:`read_items` walks the
YAML documents of one rules content and yields ``(Op, item)`` pairs for the
collector. It is a generator on purpose: Falco's reader calls the collector
item by item, so a collector error (an append with nothing to append to)
stops the file *before* later items are decoded, and warnings keep Falco's
order. Decode problems raise :class:`~secengine.ruleset.diagnostics.ItemError`
with Falco's messages and a context chain; warnings go to the ``LoadResult``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar, overload

from ruamel.yaml.nodes import Node

from secengine.priority import Priority
from secengine.ruleset.diagnostics import Context, ItemError, LoadResult
from secengine.ruleset.items import (
    EngineVersionInfo,
    ExceptionEntry,
    ExceptionInfo,
    ListInfo,
    MacroInfo,
    Op,
    PluginRequirement,
    PluginVersionInfo,
    RuleInfo,
    RuleUpdateInfo,
    Version,
)
from secengine.ruleset.messages import ErrorCode, ItemType, WarningCode, msg
from secengine.ruleset.response import RESPONSE_KEY
from secengine.ruleset.response_reader import read_response
from secengine.ruleset.version import engine_version
from secengine.ruleset.yamldoc import (
    Document,
    YamlSyntaxError,
    compose_documents,
    get,
    is_mapping,
    is_null,
    is_scalar,
    is_sequence,
    map_items,
    scalar_text,
    seq_items,
    to_bool,
    to_uint,
)

__all__ = [
    "DEFAULT_RULE_SOURCE",
    "LIST_OVERRIDABLE",
    "MACRO_OVERRIDABLE",
    "RULE_APPENDABLE",
    "RULE_REPLACEABLE",
    "Item",
    "parse_priority",
    "read_items",
]

Item = EngineVersionInfo | PluginVersionInfo | ListInfo | MacroInfo | RuleInfo | RuleUpdateInfo

#: Falco's rules format: a rule without ``source:`` belongs to the syscall source
#: (``falco_common::syscall_source``). A name of the format, not a special case:
#: nothing else about that source is known here.
DEFAULT_RULE_SOURCE = "syscall"

#: Keys each item kind may carry ``override: {key: append|replace}`` for.
LIST_OVERRIDABLE = frozenset({"items"})
MACRO_OVERRIDABLE = frozenset({"condition"})
RULE_APPENDABLE = frozenset({"condition", "output", "desc", "tags", "exceptions"})
RULE_REPLACEABLE = frozenset(
    {
        "condition",
        "output",
        "desc",
        "priority",
        "capture",
        "capture_duration",
        "tags",
        "exceptions",
        "enabled",
        "warn_evttypes",
        "skip-if-unknown-filter",
        # ours (docs/response.md): attach a response to a rule defined elsewhere
        RESPONSE_KEY,
    }
)

_EXPECTED_KEYS = {
    "required_engine_version": frozenset({"required_engine_version"}),
    "required_plugin_versions": frozenset({"required_plugin_versions"}),
    "list": frozenset({"list", "items", "append", "override"}),
    "macro": frozenset({"macro", "condition", "append", "override"}),
    "rule": frozenset(
        {
            "rule",
            "condition",
            "output",
            "desc",
            "priority",
            "source",
            "enabled",
            "capture",
            "capture_duration",
            "warn_evttypes",
            "skip-if-unknown-filter",
            "tags",
            "exceptions",
            "override",
            "append",
            RESPONSE_KEY,
        }
    ),
}

#: what a scalar converts to (str, bool, int)
_V = TypeVar("_V")

# libsinsp's filter grammar tokens (RE2 POSIX, full match), used to vet names.
_RGX_IDENTIFIER = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")
_RGX_BARESTR = re.compile(r"[^()\"' \t\n\v\f\r=,]+")
_SPACE = " \t\n\v\f\r"

_PRIORITY_NAMES = {p.name.lower(): p for p in Priority}
_PRIORITY_NAMES["info"] = Priority.INFORMATIONAL

_INVALID_NODE = (
    "invalid node; this may result from using a map iterator as a sequence iterator, or vice-versa"
)


def parse_priority(text: str) -> Priority | None:
    """Falco's ``parse_priority``: case-insensitive full names, plus ``info``."""
    if not text.isascii():
        return None
    return _PRIORITY_NAMES.get(text.lower())


def _trim(text: str) -> str:
    return text.strip(_SPACE)


def _present(item: Node, key: str) -> Node:
    """The value of ``key``, which a successful decode has just shown to exist."""
    node = get(item, key)
    assert node is not None
    return node


def _yaml_validate(message: str, ctx: Context) -> ItemError:
    return ItemError(ErrorCode.LOAD_ERR_YAML_VALIDATE, message, ctx)


def read_items(name: str, text: str, result: LoadResult) -> Iterator[tuple[Op, Item]]:
    """Yield the collector operations of rules content ``text`` named ``name``.

    Raises :class:`ItemError` at the first problem, as Falco stops a file there.
    """
    return _Reader(name, text, result).read()


class _Reader:
    def __init__(self, name: str, text: str, result: LoadResult) -> None:
        self.name = name
        self.text = text
        self.result = result
        self.root = Context.root(name)
        self.doc: Document | None = None

    # -- positions and contexts --------------------------------------------------------
    def ctx(self, node: Node, item_type: ItemType, item_name: str, parent: Context) -> Context:
        assert self.doc is not None
        return parent.child(self.doc.mark(node), item_type, item_name)

    def as_string(self, node: Node) -> str:
        """yaml-cpp ``as<std::string>()``: null reads ``"null"``, a collection cannot convert."""
        if is_null(node):
            return "null"
        if not is_scalar(node):
            assert self.doc is not None
            pos = self.doc.mark(node)
            raise ItemError(
                ErrorCode.LOAD_ERR_VALIDATE,
                msg(
                    "yaml_cpp_error",
                    line=pos.line + 1,
                    column=pos.column + 1,
                    problem=msg("bad_conversion"),
                ),
                self.root,
            )
        return scalar_text(node)

    # -- documents ----------------------------------------------------------------------------
    def read(self) -> Iterator[tuple[Op, Item]]:
        try:
            self.doc = compose_documents(self.text)
        except YamlSyntaxError as exc:
            ctx = self.root.value_at(exc.position) if exc.position is not None else self.root
            raise ItemError(ErrorCode.LOAD_ERR_YAML_PARSE, exc.message, ctx) from None
        for node in self.doc.roots:
            if node is None or is_null(node):
                continue
            if not is_mapping(node) and not is_sequence(node):
                raise _yaml_validate(msg("not_yaml"), self.root)
            if not is_sequence(node):
                raise _yaml_validate(msg("not_array"), self.root)
            for item in seq_items(node):
                if not is_null(item):
                    yield from self.read_item(item, self.root)

    # -- value decoding (decode_val_generic and friends) ---------------------------------------
    @overload
    def _decode(
        self,
        item: Node,
        key: str,
        ctx: Context,
        convert: Callable[[str], _V | None],
        optional: Literal[False],
        can_be_empty: Literal[False],
    ) -> _V: ...

    @overload
    def _decode(
        self,
        item: Node,
        key: str,
        ctx: Context,
        convert: Callable[[str], _V | None],
        optional: bool,
        can_be_empty: bool,
    ) -> _V | None: ...

    def _decode(
        self,
        item: Node,
        key: str,
        ctx: Context,
        convert: Callable[[str], _V | None],
        optional: bool,
        can_be_empty: bool,
    ) -> _V | None:
        """The scalar at ``key`` converted; None only where ``optional`` or ``can_be_empty``
        allows it (a missing key, an empty value), else a located error."""
        val = get(item, key)
        if val is None:
            if optional:
                return None
            raise _yaml_validate(msg("no_mapping", key=key), ctx)
        if is_null(val):
            if can_be_empty:
                return None
            raise _yaml_validate(msg("mapping_empty", key=key), ctx)
        valctx = self.ctx(val, ItemType.VALUE_FOR, key, ctx)
        if not is_scalar(val):
            raise _yaml_validate(msg("not_scalar"), valctx)
        text = scalar_text(val)
        if not text:
            if can_be_empty:
                return None
            raise _yaml_validate(msg("must_be_non_empty"), valctx)
        value = convert(text)
        if value is None:
            raise _yaml_validate(msg("cant_decode"), valctx)
        return value

    def decode_str(self, item: Node, key: str, ctx: Context) -> str:
        return self._decode(item, key, ctx, str, optional=False, can_be_empty=False)

    def decode_bool(self, item: Node, key: str, ctx: Context) -> bool:
        return self._decode(item, key, ctx, to_bool, optional=False, can_be_empty=False)

    def decode_uint(self, item: Node, key: str, ctx: Context) -> int:
        return self._decode(item, key, ctx, to_uint, optional=False, can_be_empty=False)

    def optional_str(self, item: Node, key: str, ctx: Context) -> str | None:
        return self._decode(item, key, ctx, str, optional=True, can_be_empty=False)

    def optional_bool(self, item: Node, key: str, ctx: Context) -> bool | None:
        return self._decode(item, key, ctx, to_bool, optional=True, can_be_empty=False)

    def optional_uint(self, item: Node, key: str, ctx: Context) -> int | None:
        return self._decode(item, key, ctx, to_uint, optional=True, can_be_empty=False)

    def optional_empty_str(self, item: Node, key: str, ctx: Context) -> str | None:
        return self._decode(item, key, ctx, str, optional=True, can_be_empty=True)

    def decode_seq(self, item: Node, key: str, ctx: Context, optional: bool) -> list[str] | None:
        val = get(item, key)
        if val is None:
            if optional:
                return None
            raise _yaml_validate(msg("no_mapping", key=key), ctx)
        valctx = self.ctx(val, ItemType.VALUE_FOR, key, ctx)
        if not is_sequence(val):
            raise _yaml_validate(msg("not_sequence"), valctx)
        out = []
        for v in seq_items(val):
            ictx = self.ctx(v, ItemType.LIST_ITEM, "", valctx)
            if not is_scalar(v):
                raise _yaml_validate(msg("seq_value_not_scalar"), ictx)
            out.append(scalar_text(v))
        return out

    def decode_tags(self, item: Node, ctx: Context) -> set[str]:
        return set(self.decode_seq(item, "tags", ctx, optional=True) or ())

    # -- overrides ------------------------------------------------------------------------------
    def decode_overrides(
        self, item: Node, ctx: Context, appendable: frozenset[str], replaceable: frozenset[str]
    ) -> tuple[set[str], set[str]]:
        out_append: set[str] = set()
        out_replace: set[str] = set()
        val = get(item, "override")
        if val is None:
            return out_append, out_replace
        overridectx = self.ctx(item, ItemType.OVERRIDE, "", ctx)
        if is_sequence(val) and val.value:
            raise ItemError(ErrorCode.LOAD_ERR_VALIDATE, _INVALID_NODE, self.root)
        if not is_mapping(val):
            return out_append, out_replace
        for knode, vnode in map_items(val):
            key = self.as_string(knode)
            operation = self.as_string(vnode)
            can_append = key in appendable
            can_replace = key in replaceable
            if operation == "append":
                keyctx = self.ctx(knode, ItemType.OVERRIDE, key, overridectx)
                if not can_append:
                    raise _yaml_validate(msg("cannot_append_key", key=key), keyctx)
                out_append.add(key)
            elif operation == "replace":
                keyctx = self.ctx(knode, ItemType.OVERRIDE, key, overridectx)
                if not can_replace:
                    raise _yaml_validate(msg("cannot_replace_key", key=key), keyctx)
                out_replace.add(key)
            else:
                opctx = self.ctx(vnode, ItemType.VALUE_FOR, key, overridectx)
                allowed = ("append " if can_append else "") + ("replace " if can_replace else "")
                raise _yaml_validate(
                    msg("invalid_override_op", key=key, op=operation, allowed=allowed), opctx
                )
        return out_append, out_replace

    def warn_unknown_keys(self, item: Node, kind: str, ctx: Context) -> None:
        if not is_mapping(item):
            return
        expected = _EXPECTED_KEYS[kind]
        for knode, _ in map_items(item):
            key = self.as_string(knode)
            if key not in expected:
                self.result.add_warning(
                    WarningCode.LOAD_UNKNOWN_KEY, msg("unknown_key", key=key), ctx
                )

    # -- exceptions -----------------------------------------------------------------------------
    def decode_exception_entry(
        self, item: Node, key: str | None, out: ExceptionEntry, ctx: Context, optional: bool
    ) -> None:
        val = item if key is None else get(item, key)
        if val is None:
            if optional:
                return
            raise _yaml_validate(msg("no_mapping", key=key), ctx)
        valctx = self.ctx(val, ItemType.VALUE_FOR, key or "", ctx)
        if is_scalar(val):
            text = scalar_text(val)
            if not text:
                raise _yaml_validate(msg("must_be_non_empty"), valctx)
            out.is_list = False
            out.item = text
        if is_sequence(val):
            out.is_list = True
            for v in seq_items(val):
                tmp = ExceptionEntry()
                lctx = self.ctx(v, ItemType.EXCEPTION, "", valctx)
                # optional is always false once past the outer values
                self.decode_exception_entry(v, None, tmp, lctx, optional=False)
                out.items.append(tmp)

    def read_exceptions(self, item: Node, parent: Context, append: bool) -> list[ExceptionInfo]:
        exceptions: list[ExceptionInfo] = []
        exs = get(item, "exceptions")
        # No exceptions property, or one with nothing in it, is allowed.
        if exs is None or is_null(exs):
            return exceptions
        exes_ctx = self.ctx(exs, ItemType.EXCEPTIONS, "", parent)
        if not is_sequence(exs):
            raise _yaml_validate(msg("exceptions_not_seq"), exes_ctx)
        for ex in seq_items(exs):
            tmp = self.ctx(ex, ItemType.EXCEPTION, "", exes_ctx)
            if not is_mapping(ex):
                raise _yaml_validate(msg("exception_not_map"), tmp)
            name = self.decode_str(ex, "name", tmp)
            ex_ctx = self.ctx(ex, ItemType.EXCEPTION, name, parent)
            info = ExceptionInfo(ex_ctx, name)
            for other in exceptions:
                if other.name == name:
                    self.result.add_warning(
                        WarningCode.LOAD_EXCEPTION_NAME_NOT_UNIQUE,
                        msg("exception_name_not_unique", name=name),
                        ex_ctx,
                    )
            # fields are optional when appending
            self.decode_exception_entry(ex, "fields", info.fields, ex_ctx, optional=append)
            self.decode_exception_entry(ex, "comps", info.comps, ex_ctx, optional=True)
            exvals = get(ex, "values")
            if exvals is not None:
                vals_ctx = self.ctx(exvals, ItemType.EXCEPTION_VALUES, "", ex_ctx)
                if not is_sequence(exvals):
                    raise _yaml_validate(msg("exception_values_not_seq"), vals_ctx)
                for val in seq_items(exvals):
                    vctx = self.ctx(val, ItemType.EXCEPTION_VALUE, "", vals_ctx)
                    entry = ExceptionEntry()
                    self.decode_exception_entry(val, None, entry, vctx, optional=False)
                    info.values.append(entry)
            elif append:
                self.result.add_warning(
                    WarningCode.LOAD_APPEND_NO_VALUES, msg("append_no_values"), ex_ctx
                )
            exceptions.append(info)
        return exceptions

    # -- items ----------------------------------------------------------------------------------
    def read_item(self, item: Node, parent: Context) -> Iterator[tuple[Op, Item]]:
        tmp = self.ctx(item, ItemType.RULES_CONTENT_ITEM, "", parent)
        if not is_mapping(item):
            raise _yaml_validate(msg("item_not_map"), tmp)
        if get(item, "required_engine_version") is not None:
            yield from self.read_engine_version(item, parent)
        elif get(item, "required_plugin_versions") is not None:
            yield from self.read_plugin_versions(item, parent)
        elif get(item, "list") is not None:
            yield from self.read_list(item, parent)
        elif get(item, "macro") is not None:
            yield from self.read_macro(item, parent)
        elif get(item, "rule") is not None:
            yield from self.read_rule(item, parent)
        else:
            ctx = self.ctx(item, ItemType.RULES_CONTENT_ITEM, "", parent)
            self.result.add_warning(WarningCode.LOAD_UNKNOWN_ITEM, msg("unknown_item"), ctx)

    def read_engine_version(self, item: Node, parent: Context) -> Iterator[tuple[Op, Item]]:
        ctx = self.ctx(item, ItemType.REQUIRED_ENGINE_VERSION, "", parent)
        info = EngineVersionInfo(ctx)
        try:
            minor = self.decode_uint(item, "required_engine_version", ctx)
            # Legacy integer versions are the minor of the engine's semver.
            engine = engine_version()
            info.version = Version(engine.major, minor, engine.patch)
        except ItemError:
            text = self.decode_str(item, "required_engine_version", ctx)
            info.version = Version.parse(text)
            if not info.version.valid:
                raise _yaml_validate(msg("engine_version_semver", version=text), ctx) from None
        yield Op.DEFINE, info
        self.warn_unknown_keys(item, "required_engine_version", ctx)

    def read_plugin_versions(self, item: Node, parent: Context) -> Iterator[tuple[Op, Item]]:
        req = _present(item, "required_plugin_versions")
        ctx = self.ctx(req, ItemType.REQUIRED_PLUGIN_VERSIONS, "", parent)
        if not is_sequence(req):
            raise _yaml_validate(msg("plugin_versions_not_seq"), ctx)
        for plugin in seq_items(req):
            tmp = self.ctx(plugin, ItemType.REQUIRED_PLUGIN_VERSIONS_ENTRY, "", ctx)
            if not is_mapping(plugin):
                raise _yaml_validate(msg("plugin_version_not_map"), tmp)
            name = self.decode_str(plugin, "name", tmp)
            pctx = self.ctx(plugin, ItemType.REQUIRED_PLUGIN_VERSIONS_ENTRY, name, ctx)
            info = PluginVersionInfo(pctx)
            version = self.decode_str(plugin, "version", pctx)
            info.alternatives.append(PluginRequirement(name, version))
            alternatives = get(plugin, "alternatives")
            if alternatives is not None:
                if not is_sequence(alternatives):
                    raise _yaml_validate(msg("plugin_alternatives_not_seq"), pctx)
                for alt in seq_items(alternatives):
                    atmp = self.ctx(alt, ItemType.REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE, "", pctx)
                    if not is_mapping(alt):
                        raise _yaml_validate(msg("plugin_alternative_not_map"), atmp)
                    alt_name = self.decode_str(alt, "name", atmp)
                    actx = self.ctx(
                        alt, ItemType.REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE, alt_name, pctx
                    )
                    alt_version = self.decode_str(alt, "version", actx)
                    info.alternatives.append(PluginRequirement(alt_name, alt_version))
            yield Op.DEFINE, info
        rpv_ctx = self.ctx(item, ItemType.REQUIRED_PLUGIN_VERSIONS, "", parent)
        self.warn_unknown_keys(item, "required_plugin_versions", rpv_ctx)

    def read_list(self, item: Node, parent: Context) -> Iterator[tuple[Op, Item]]:
        tmp = self.ctx(item, ItemType.LIST, "", parent)
        name = self.decode_str(item, "list", tmp)
        ctx = self.ctx(item, ItemType.LIST, name, parent)
        if not _RGX_BARESTR.fullmatch(name):
            self.result.add_warning(
                WarningCode.LOAD_INVALID_LIST_NAME, msg("invalid_list_name"), ctx
            )
        info = ListInfo(ctx, name=self.decode_str(item, "list", ctx))
        info.items = self.decode_seq(item, "items", ctx, optional=False) or []
        # A list only has items: appending them appends the whole item.
        append = self.decode_append(item, ctx, LIST_OVERRIDABLE, "items")
        yield (Op.APPEND if append else Op.DEFINE), info
        self.warn_unknown_keys(item, "list", ctx)

    def decode_append(self, item: Node, ctx: Context, overridable: Any, key: str) -> bool:
        """Whether a list or macro item appends: ``append: true`` (deprecated) or
        ``override: {key: append}``, never both. Their only overridable key is ``key``."""
        append = bool(self.optional_bool(item, "append", ctx))
        if append:
            self.result.add_warning(WarningCode.LOAD_DEPRECATED_ITEM, msg("warning_append"), ctx)
        ov_append, ov_replace = self.decode_overrides(item, ctx, overridable, overridable)
        if append and (ov_append or ov_replace):
            raise _yaml_validate(msg("override_append"), ctx)
        return append or key in ov_append

    def read_macro(self, item: Node, parent: Context) -> Iterator[tuple[Op, Item]]:
        tmp = self.ctx(item, ItemType.MACRO, "", parent)
        name = self.decode_str(item, "macro", tmp)
        ctx = self.ctx(item, ItemType.MACRO, name, parent)
        if not _RGX_IDENTIFIER.fullmatch(name):
            self.result.add_warning(
                WarningCode.LOAD_INVALID_MACRO_NAME, msg("invalid_macro_name"), ctx
            )
        cond = self.decode_str(item, "condition", ctx)
        cond_ctx = self.ctx(_present(item, "condition"), ItemType.MACRO_CONDITION, "", ctx)
        info = MacroInfo(ctx, cond_ctx, name, cond)
        append = self.decode_append(item, ctx, MACRO_OVERRIDABLE, "condition")
        yield (Op.APPEND if append else Op.DEFINE), info
        self.warn_unknown_keys(item, "macro", ctx)

    def read_rule(self, item: Node, parent: Context) -> Iterator[tuple[Op, Item]]:
        tmp = self.ctx(item, ItemType.RULE, "", parent)
        name = self.decode_str(item, "rule", tmp)
        ctx = self.ctx(item, ItemType.RULE, name, parent)
        source = self.optional_empty_str(item, "source", ctx) or ""
        has_append_flag = bool(self.optional_bool(item, "append", ctx))
        if has_append_flag:
            self.result.add_warning(WarningCode.LOAD_DEPRECATED_ITEM, msg("warning_append"), ctx)
        ov_append, ov_replace = self.decode_overrides(item, ctx, RULE_APPENDABLE, RULE_REPLACEABLE)
        if has_append_flag and (ov_append or ov_replace):
            raise _yaml_validate(msg("override_append"), ctx)
        if ov_append or ov_replace:
            yield from self.read_rule_overrides(item, ctx, name, source, ov_append, ov_replace)
        elif has_append_flag:
            update = RuleUpdateInfo(ctx, ctx, name=name, source=source)
            cond_node = get(item, "condition")
            if cond_node is not None:
                update.cond_ctx = self.ctx(cond_node, ItemType.RULE_CONDITION, "", ctx)
                update.cond = self.decode_str(item, "condition", ctx)
            if get(item, "exceptions") is not None:
                update.exceptions = self.read_exceptions(item, ctx, append=True)
            yield Op.APPEND, update
        elif all(get(item, k) is None for k in ("condition", "output", "desc", "priority")):
            # An item with only 'enabled' toggles an earlier rule (deprecated).
            info = self._rule_info(ctx, name)
            info.enabled = self.decode_bool(item, "enabled", ctx)
            self.result.add_warning(WarningCode.LOAD_DEPRECATED_ITEM, msg("warning_enabled"), ctx)
            yield Op.ENABLE, info
        else:
            yield Op.DEFINE, self.read_full_rule(item, ctx, name)
        self.warn_unknown_keys(item, "rule", ctx)

    @staticmethod
    def _rule_info(ctx: Context, name: str) -> RuleInfo:
        return RuleInfo(ctx, ctx, ctx, name=name)

    def read_full_rule(self, item: Node, ctx: Context, name: str) -> RuleInfo:
        info = self._rule_info(ctx, name)
        info.cond = self.decode_str(item, "condition", ctx)
        info.cond_ctx = self.ctx(_present(item, "condition"), ItemType.RULE_CONDITION, "", ctx)
        info.output = self.decode_str(item, "output", ctx)
        info.output_ctx = self.ctx(_present(item, "output"), ItemType.RULE_OUTPUT, "", ctx)
        info.desc = self.decode_str(item, "desc", ctx)
        priority = self.decode_str(item, "priority", ctx)
        info.output = _trim(info.output)
        info.source = DEFAULT_RULE_SOURCE
        info.priority = self.parse_priority(item, priority, ctx)
        source = self.optional_str(item, "source", ctx)
        if source is not None:
            info.source = source
        for key, attr, decode in (
            ("enabled", "enabled", self.optional_bool),
            ("capture", "capture", self.optional_bool),
            ("capture_duration", "capture_duration", self.optional_uint),
            ("warn_evttypes", "warn_evttypes", self.optional_bool),
            ("skip-if-unknown-filter", "skip_if_unknown_filter", self.optional_bool),
        ):
            value = decode(item, key, ctx)
            if value is not None:
                setattr(info, attr, value)
        info.tags = self.decode_tags(item, ctx)
        info.exceptions = self.read_exceptions(item, ctx, append=False)
        response = get(item, RESPONSE_KEY)
        if response is not None:
            info.response = read_response(response, ctx, self.ctx)
        return info

    def parse_priority(self, item: Node, text: str, ctx: Context) -> Priority:
        prictx = self.ctx(_present(item, "priority"), ItemType.RULE_PRIORITY, "", ctx)
        priority = parse_priority(text)
        if priority is None:
            raise _yaml_validate(msg("invalid_priority"), prictx)
        return priority

    def read_rule_overrides(
        self,
        item: Node,
        ctx: Context,
        name: str,
        source: str,
        ov_append: set[str],
        ov_replace: set[str],
    ) -> Iterator[tuple[Op, Item]]:
        # The keys the item defines among those that can be overridden.
        expected = {k for k in RULE_APPENDABLE | RULE_REPLACEABLE if get(item, k) is not None}

        def wants(overrides: set[str], op: str, key: str) -> bool:
            if key not in overrides:
                return False
            if key not in expected:
                raise _yaml_validate(msg("override_key_undefined", op=op, key=key), ctx)
            expected.discard(key)
            return True

        def shared(update: RuleUpdateInfo, ov: set[str], op: str) -> None:
            """The keys both override operations take: condition, exceptions, output, desc, tags."""
            if wants(ov, op, "condition"):
                update.source = source
                update.cond = self.decode_str(item, "condition", ctx)
            if wants(ov, op, "exceptions"):
                update.exceptions = self.read_exceptions(item, ctx, append=op == "append")
            if wants(ov, op, "output"):
                update.output = self.decode_str(item, "output", ctx)
            if wants(ov, op, "desc"):
                update.desc = self.decode_str(item, "desc", ctx)
            if wants(ov, op, "tags"):
                update.tags = self.decode_tags(item, ctx)

        if ov_append:
            update = RuleUpdateInfo(ctx, ctx, name=name)
            shared(update, ov_append, "append")
            yield Op.APPEND, update

        if ov_replace:
            update = RuleUpdateInfo(ctx, ctx, name=name)
            shared(update, ov_replace, "replace")
            if wants(ov_replace, "replace", "priority"):
                text = self.decode_str(item, "priority", ctx)
                update.priority = self.parse_priority(item, text, ctx)
            if wants(ov_replace, "replace", "capture"):
                update.capture = self.decode_bool(item, "capture", ctx)
            if wants(ov_replace, "replace", "capture_duration"):
                update.capture_duration = self.decode_uint(item, "capture_duration", ctx)
            if wants(ov_replace, "replace", "enabled"):
                update.enabled = self.decode_bool(item, "enabled", ctx)
            if wants(ov_replace, "replace", "warn_evttypes"):
                update.warn_evttypes = self.decode_bool(item, "warn_evttypes", ctx)
            if wants(ov_replace, "replace", "skip-if-unknown-filter"):
                update.skip_if_unknown_filter = self.decode_bool(
                    item, "skip-if-unknown-filter", ctx
                )
            if wants(ov_replace, "replace", RESPONSE_KEY):
                update.response = read_response(_present(item, RESPONSE_KEY), ctx, self.ctx)
            yield Op.REPLACE, update

        # Any overridable key left without an 'override' entry is an error.
        for key in sorted(expected):
            keyctx = self.ctx(_present(item, key), ItemType.OVERRIDE, key, ctx)
            raise _yaml_validate(msg("unexpected_key", key=key), keyctx)
