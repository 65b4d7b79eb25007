"""Type checking: resolve fields, check operators against types, parse literals.

A port of what libsinsp's ``sinsp_filter_compiler`` checks before it builds a
filter: unknown fields and event types, operators not supported by a field's
type (``'contains' operator not supported for numeric filters``), literals
that do not parse with the field's type (``0x10 is not a valid number``),
``val()`` restrictions, and the value warnings (``LOAD_COMPILE_CONDITION``).
The result is the typed IR (:mod:`secengine.lang.ir`) that both the
interpreter and the code generator consume.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from secengine.errors import ConditionCompileError
from secengine.events import FieldValues
from secengine.lang import ast
from secengine.lang.evttypes import evt_num_invariant
from secengine.lang.fielddefs import FieldKind, FieldType, ResolvedField
from secengine.lang.ir import (
    IAnd,
    IBool,
    ICheck,
    IConst,
    IField,
    INot,
    IOr,
    ITransform,
    Node,
    Operand,
)
from secengine.lang.regex import compile_regex
from secengine.lang.resolver import FieldResolver
from secengine.lang.transformers import BY_NAME, TRANSFORMER_NAMES
from secengine.lang.warnings import LangWarning

__all__ = ["Checked", "TypeChecker", "check_condition"]

_LIST_OPS = frozenset(("in", "intersects", "pmatch"))
_NUMERIC_OPS = frozenset(("=", "==", "!=", "<", "<=", ">", ">=", "in", "intersects", "exists"))
_BOOL_OPS = frozenset(("=", "==", "!=", "in", "intersects", "exists"))
_STRING_OPS = frozenset(
    (
        "=",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "contains",
        "in",
        "exists",
        "icontains",
        "startswith",
        "glob",
        "pmatch",
        "endswith",
        "intersects",
        "iglob",
        "regex",
    )
)
_BUFFER_OPS = frozenset(
    (
        "=",
        "==",
        "!=",
        "contains",
        "in",
        "exists",
        "startswith",
        "endswith",
        "intersects",
        "bcontains",
        "bstartswith",
    )
)
_IP_OPS = frozenset(("=", "==", "!=", "in", "exists", "intersects"))
_ANY_LIST_OPS = frozenset(("in", "exists", "intersects"))

_KIND_OPS: dict[FieldKind, tuple[frozenset[str], str]] = {
    FieldKind.NUMBER: (_NUMERIC_OPS, "numeric"),
    FieldKind.BOOL: (_BOOL_OPS, "numeric"),
    FieldKind.STRING: (_STRING_OPS, "string"),
    FieldKind.BUFFER: (_BUFFER_OPS, "buffer"),
    FieldKind.IP: (_IP_OPS, "ip address and network"),
    FieldKind.NET: (_IP_OPS, "ip address and network"),
}

_INT_BITS: dict[FieldType, tuple[int, bool]] = {
    FieldType.INT8: (8, True),
    FieldType.INT16: (16, True),
    FieldType.INT32: (32, True),
    FieldType.INT64: (64, True),
    FieldType.ERRNO: (64, True),
    FieldType.PID: (64, True),
    FieldType.FD: (64, True),
    FieldType.UINT8: (8, False),
    FieldType.UINT16: (16, False),
    FieldType.UINT32: (32, False),
    FieldType.UINT64: (64, False),
    FieldType.UID: (32, False),
    FieldType.GID: (32, False),
    FieldType.MODE: (32, False),
    FieldType.RELTIME: (64, False),
    FieldType.ABSTIME: (64, False),
    FieldType.PORT: (16, False),
}
_DECIMAL = re.compile(r"\s*[+-]?[0-9]+")
_RGX_SPECIAL = set(".+*?^$()[]{}|\\")


@dataclass(slots=True)
class Checked:
    """A checked condition: its typed IR, the fields it reads, and value warnings."""

    ir: Node
    fields: tuple[ResolvedField, ...]
    warnings: list[LangWarning] = field(default_factory=list)


def check_condition(expr: ast.Expr, source: str, registry: FieldResolver) -> Checked:
    """Check ``expr`` (macros already expanded) for ``source``; raise ConditionCompileError."""
    return TypeChecker(source, registry).check(expr)


def _fail(message: str, pos: ast.Pos) -> ConditionCompileError:
    return ConditionCompileError(message, pos.idx, pos.line, pos.col)


class TypeChecker:
    """One pass over the AST producing IR; collects the fields read and value warnings."""

    def __init__(self, source: str, registry: FieldResolver) -> None:
        self.source = source
        self.registry = registry
        self.fields: dict[str, ResolvedField] = {}
        self.warnings: list[LangWarning] = []

    def check(self, expr: ast.Expr) -> Checked:
        ir = self._node(expr)
        return Checked(ir, tuple(self.fields.values()), self.warnings)

    # -- boolean structure ---------------------------------------------------
    def _node(self, node: ast.Expr) -> Node:
        if isinstance(node, ast.And):
            return IAnd(tuple(self._node(c) for c in node.children))
        if isinstance(node, ast.Or):
            return IOr(tuple(self._node(c) for c in node.children))
        if isinstance(node, ast.Not):
            return INot(self._node(node.child))
        if isinstance(node, ast.MacroRef):
            raise _fail(f"filter error: unexpected identifier '{node.name}'", node.pos)
        if isinstance(node, ast.UnaryCheck):
            left = self._operand(node.left)
            return ICheck(left, "exists", pos=node.pos)
        if isinstance(node, ast.BinaryCheck):
            checked = self._binary(node)
            fixed = evt_num_invariant(node)
            if fixed is not None:
                # Falco's invariant: evt.num starts at 1, so `evt.num = 0` (the
                # `never_true` macro) can never hold and `evt.num != 0` always does.
                return IBool(not fixed.is_empty)
            return checked
        raise TypeError(f"not a condition node: {node!r}")

    # -- operands --------------------------------------------------------------
    def _field(self, ref: ast.FieldRef) -> IField:
        try:
            rf = self.registry.resolve(self.source, ref.name, ref.arg)
        except ConditionCompileError as e:
            raise _fail(e.message, ref.pos) from None
        self.fields.setdefault(rf.key, rf)
        fdef = rf.field
        if fdef.derive is not None and rf.key != fdef.name:
            # Exact keys make FieldValues.__missing__ find the deriver in one lookup.
            FieldValues.derivers.setdefault(rf.key, fdef.derive)
        any_of = (fdef.any_without_index and rf.arg is None) or fdef.any_value
        bits = 0
        spec = _INT_BITS.get(fdef.type)
        if spec is not None and not spec[1]:
            bits = spec[0]
        return IField(rf, fdef.kind, fdef.is_list, any_of, bits)

    def _operand(self, node: object) -> Operand:
        if isinstance(node, ast.FieldRef):
            return self._field(node)
        if isinstance(node, ast.Transformer):
            return self._transformer(node)
        if isinstance(node, ast.Value):
            return IConst(node.value)
        if isinstance(node, ast.TransformerList):
            items = tuple(self._operand(i) for i in node.items)
            return ITransform("list", items, FieldKind.STRING, True)
        raise TypeError(f"not an operand: {node!r}")

    def _transformer(self, node: ast.Transformer) -> Operand:
        name = node.name
        if name == "val":
            if node.arg is not None:
                raise _fail(
                    "filter error: transformer 'val' does not support field arguments", node.pos
                )
            return self._field(node.args[0])  # type: ignore[arg-type]
        args = tuple(self._operand(a) for a in node.args)
        spec = BY_NAME.get(name)
        if spec is not None and spec.unary:
            if len(args) != 1 or isinstance(args[0], IConst):
                raise _fail(
                    f"transformer '{name}' expects exactly one field or transformer", node.pos
                )
            if node.arg is not None:
                raise _fail(f"transformer '{name}' does not support field arguments", node.pos)
            inner = args[0]
            kind = inner.kind if not isinstance(inner, IConst) else FieldKind.STRING
            if kind not in spec.kinds and not (spec.counts_list and inner.is_list):
                raise _fail(f"field type is not supported by transformer '{name}'", node.pos)
            return ITransform(name, args, spec.result_kind, inner.is_list and not spec.counts_list)
        if name == "join":
            if len(args) != 2:
                raise _fail("join() requires exactly 2 arguments: separator and list", node.pos)
            if _is_list(args[0]):
                raise _fail(
                    "join() first argument (separator) must be a single value, not a list", node.pos
                )
            if not _is_list(args[1]):
                raise _fail("join() second argument must be a list", node.pos)
            return ITransform(name, args, FieldKind.STRING, False)
        if name == "concat":
            if len(args) < 2:
                raise _fail("concat() requires at least 2 arguments", node.pos)
            for a in args:
                if _is_list(a) or _kind(a) is not FieldKind.STRING:
                    raise _fail("concat() arguments must be strings", node.pos)
            return ITransform(name, args, FieldKind.STRING, False)
        if name == "getopt":
            if len(args) != 2:
                raise _fail(
                    "getopt() requires exactly 2 arguments: args list and optstring", node.pos
                )
            if not _is_list(args[0]):
                raise _fail("getopt() first argument must be a list", node.pos)
            if _is_list(args[1]):
                raise _fail("getopt() second argument (optstring) must be a single value", node.pos)
            if _kind(args[0]) is not FieldKind.STRING or _kind(args[1]) is not FieldKind.STRING:
                raise _fail("getopt() arguments must be strings", node.pos)
            if node.arg is not None and len(node.arg) != 1:
                raise _fail("getopt() field argument must be a single option character", node.pos)
            return ITransform(name, args, FieldKind.STRING, node.arg is None, node.arg)
        raise _fail(f"unknown transformer '{name}'", node.pos)

    # -- checks ----------------------------------------------------------------
    def _binary(self, node: ast.BinaryCheck) -> ICheck:
        left = self._operand(node.left)
        if isinstance(left, IConst):
            raise _fail("filter error: missing field in left-hand of binary check", node.pos)
        op, _, modifier = node.op.partition(" ")
        mod = modifier or None
        self._check_op(left, op, node.pos)
        right = node.right
        if isinstance(right, ast.Transformer):
            if (
                op in ("=", "==", "!=", "in")
                and isinstance(node.left, ast.FieldRef)
                and node.left.name in ("evt.type", "syscall.type")
                and node.left.arg is None
            ):
                # libsinsp's event-type resolver refuses these when the rule loads
                raise _fail(
                    "right-hand field comparisons on `evt.type`/`syscall.type` checks "
                    "are not supported by event code search",
                    node.pos,
                )
            rhs = self._operand(right)
            self._check_rhs_field(left, op, rhs, node.pos)
            return ICheck(left, op, (), rhs, mod, node.pos)
        raw = right.values if isinstance(right, ast.ListValue) else (right.value,)
        rpos = right.pos
        if isinstance(right, ast.ListValue) and op not in _LIST_OPS and mod is None:
            raise _fail(f"filter error: operator '{op}' does not accept a list of values", rpos)
        for v in raw:
            self._value_warnings(op, v, rpos)
        values = tuple(self._literal(left, op, v, rpos) for v in raw)
        if (
            isinstance(left, IField)
            and left.rf.name in ("evt.type", "syscall.type")
            and left.rf.arg is None
        ):
            self._check_event_types(raw, rpos)
        return ICheck(left, op, values, None, mod, node.pos)

    def _check_op(self, left: Operand, op: str, pos: ast.Pos) -> None:
        if op == "exists":
            return
        if _is_list(left):
            if op not in _ANY_LIST_OPS:
                raise _fail(f"filter error: '{op}' operator not supported list filters", pos)
            return
        allowed, label = _KIND_OPS[_kind(left)]
        if op not in allowed:
            raise _fail(f"filter error: '{op}' operator not supported for {label} filters", pos)

    def _check_rhs_field(self, left: Operand, op: str, rhs: Operand, pos: ast.Pos) -> None:
        if op in ("pmatch", "regex"):
            raise _fail(f"operator '{op}' does not support right-hand side fields", pos)
        for side, verb in (
            (left, "doesn't support right-hand side fields"),
            (rhs, "can't be used as a right-hand side field"),
        ):
            if isinstance(side, IField) and (side.rf.field.no_rhs or side.any_of):
                raise _fail(f"field '{side.rf.name}' {verb}", pos)
            if isinstance(side, IField) and side.kind is FieldKind.NET and side is left:
                raise _fail("field type 'IPNET' doesn't support right-hand side fields", pos)
        if _kind(left) is not _kind(rhs) or _is_list(left) != _is_list(rhs):
            raise _fail("left and right fields of the comparison must have the same type", pos)

    def _check_event_types(self, names: tuple[str, ...], pos: ast.Pos) -> None:
        """Falco checks ``evt.type`` names only where rules are indexed by them (syscall)."""
        index = self.registry.event_index(self.source)
        if index is None:
            return
        for n in names:
            if not index.is_known(n):
                raise _fail(f"unknown event type {n}", pos)

    # -- literals --------------------------------------------------------------
    def _literal(self, left: Operand, op: str, text: str, pos: ast.Pos) -> Any:
        if "\0" in text:
            raise _fail("filter error: filter value cannot contain a NUL byte (\\x00)", pos)
        if op in ("bcontains", "bstartswith"):
            try:
                if len(text) % 2:
                    raise ValueError
                return bytes.fromhex(text)
            except ValueError:
                raise _fail(
                    "filter error: bcontains and bstartswith operator support hex strings only", pos
                ) from None
        kind = _kind(left)
        try:
            if kind is FieldKind.NUMBER:
                ftype = left.rf.field.type if isinstance(left, IField) else FieldType.UINT64
                return _parse_int(text, ftype)
            if kind is FieldKind.BOOL:
                if text == "true":
                    return True
                if text == "false":
                    return False
                raise ValueError(f"filter error: unrecognized boolean value {text}")
            if kind is FieldKind.IP:
                return _parse_ip(text)
            if kind is FieldKind.NET:
                if "/" not in text:
                    raise ValueError(f"unrecognized IP network {text}")
                return ipaddress.ip_network(text, strict=False)
            if kind is FieldKind.BUFFER:
                return text.encode("utf-8", "surrogateescape")
        except ValueError as e:
            message = str(e) if str(e) else f"{text} is not a valid number"
            raise _fail(message, pos) from None
        if op == "regex":
            try:
                return compile_regex(text)
            except ValueError as e:
                raise _fail(f"invalid regular expression '{text}': {e}", pos) from None
        return text

    def _value_warnings(self, op: str, v: str, pos: ast.Pos) -> None:
        nospaces = "".join(c for c in v if not c.isspace())
        if op == "regex":
            self._regex_warning(v, pos)
        if (
            "." in nospaces
            and self.registry.lookup(self.source, nospaces.split("[", 1)[0]) is not None
        ):
            self.warnings.append(
                LangWarning(
                    "LOAD_COMPILE_CONDITION",
                    f"'{v}' may be a valid field misused as a const string value",
                    pos,
                )
            )
        for t in TRANSFORMER_NAMES:
            if (
                len(nospaces) >= len(t) + 2
                and nospaces.startswith(t)
                and nospaces[len(t)] == "("
                and nospaces.endswith(")")
            ):
                self.warnings.append(
                    LangWarning(
                        "LOAD_COMPILE_CONDITION",
                        f"'{v}' may be a valid field transformer misused as a const string value",
                        pos,
                    )
                )

    def _regex_warning(self, v: str, pos: ast.Pos) -> None:
        n = len(v)
        i = 0
        while i < n:
            c = v[i]
            if (i == 0 and c == "^") or (i == n - 1 and c == "$"):
                i += 1
                continue
            if ((i == 0 and n > 1) or i == n - 2) and c == "." and i + 1 < n and v[i + 1] in "+*?":
                i += 2
                continue
            if c in _RGX_SPECIAL:
                return
            i += 1
        self.warnings.append(
            LangWarning(
                "LOAD_COMPILE_CONDITION",
                f"regex check with '{v}' may be optimized with simpler operators such as "
                "'=', 'contains', 'startswith', 'endswith'",
                pos,
            )
        )


def _is_list(op: Operand) -> bool:
    return op.is_list


def _kind(op: Operand) -> FieldKind:
    return FieldKind.STRING if isinstance(op, IConst) else op.kind


def _parse_int(text: str, ftype: FieldType) -> int:
    if ftype is FieldType.PORT and text and not text.isdigit():
        try:
            return socket.getservbyname(text)
        except OSError:
            raise ValueError(f"unrecognized protocol {text}") from None
    m = _DECIMAL.fullmatch(text)
    if m is None:
        raise ValueError(f"{text} is not a valid number")
    n = int(text)
    bits, signed = _INT_BITS.get(ftype, (64, False))
    n %= 1 << bits
    if signed and n >= 1 << (bits - 1):
        n -= 1 << bits
    return n


def _parse_ip(text: str) -> Any:
    if "/" in text:
        try:
            return ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"unrecognized IP network {text}") from None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        kind = "IPv4" if "." in text else "IPv6"
        raise ValueError(f"unrecognized {kind} address {text}") from None
