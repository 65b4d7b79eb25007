"""The condition AST: a closed set of node types, each carrying its position.

Mirrors libsinsp's ``filter/ast.h``. The Lark parse tree is thrown away once
this AST exists; every later pass (macro resolution, event-type extraction,
warnings, type checking, compilation) works on these nodes.

``to_string`` renders Falco's canonical form (libsinsp ``string_visitor``),
which golden tests compare against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "And",
    "BinaryCheck",
    "Expr",
    "FieldExpr",
    "FieldRef",
    "ListValue",
    "MacroRef",
    "Not",
    "Or",
    "Pos",
    "RightExpr",
    "Transformer",
    "TransformerList",
    "UnaryCheck",
    "Value",
    "escape_str",
    "to_string",
]


@dataclass(frozen=True, slots=True)
class Pos:
    """A position in condition text: 0-based ``idx``, 1-based ``line`` and ``col``."""

    idx: int = 0
    line: int = 1
    col: int = 1


_NOPOS = Pos()


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Expr, ...]
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Expr, ...]
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Expr
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class MacroRef:
    """A bare identifier in check position: a macro reference (libsinsp identifier_expr)."""

    name: str
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field with its optional argument as written: ``proc.aname[2]``, ``evt.arg.flags``."""

    name: str
    arg: str | None = None
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class Transformer:
    """``tolower(...)``, ``val(...)`` and friends; ``args`` are fields, transformers or values."""

    name: str
    args: tuple[TransformerArg, ...]
    arg: str | None = None
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class Value:
    """A literal (already unescaped)."""

    value: str
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class ListValue:
    """A parenthesised list of literals, ``(a, "b c")``."""

    values: tuple[str, ...]
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class TransformerList:
    """A parenthesised list inside transformer arguments (``join(",", (a, b))``)."""

    items: tuple[TransformerArg, ...]
    pos: Pos = field(default=_NOPOS, compare=False)


FieldExpr = FieldRef | Transformer
TransformerArg = FieldRef | Transformer | Value | TransformerList
RightExpr = Value | ListValue | Transformer


@dataclass(frozen=True, slots=True)
class UnaryCheck:
    left: FieldExpr
    op: str  # only "exists"
    pos: Pos = field(default=_NOPOS, compare=False)


@dataclass(frozen=True, slots=True)
class BinaryCheck:
    """``left op right``; ``op`` is the trimmed operator, with a modifier as ``"startswith oneof"``."""

    left: FieldExpr
    op: str
    right: RightExpr
    pos: Pos = field(default=_NOPOS, compare=False)


Expr = And | Or | Not | MacroRef | UnaryCheck | BinaryCheck


_ESCAPES = {
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\\": "\\\\",
    '"': '\\"',
}
_QUOTE_TRIGGERS = frozenset("\b\f\n\r\t \\=\"'\0")


def escape_str(s: str) -> str:
    """libsinsp ``escape_str``: quote a value when it holds blanks, quotes, ``=`` or backslashes."""
    if not any(c in _QUOTE_TRIGGERS for c in s):
        return s
    return '"' + "".join(_ESCAPES.get(c, c) for c in s) + '"'


def _arg(arg: str | None) -> str:
    return "" if arg is None else "[" + escape_str(arg) + "]"


def to_string(node: object) -> str:
    """Falco's canonical string of an AST (libsinsp ``string_visitor``)."""
    if isinstance(node, And):
        return "(" + " and ".join(to_string(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " or ".join(to_string(c) for c in node.children) + ")"
    if isinstance(node, Not):
        return "not " + to_string(node.child)
    if isinstance(node, MacroRef):
        return node.name
    if isinstance(node, UnaryCheck):
        return to_string(node.left) + " " + node.op
    if isinstance(node, BinaryCheck):
        return to_string(node.left) + " " + node.op + " " + to_string(node.right)
    if isinstance(node, FieldRef):
        return node.name + _arg(node.arg)
    if isinstance(node, Transformer):
        return node.name + "(" + ",".join(to_string(a) for a in node.args) + ")" + _arg(node.arg)
    if isinstance(node, Value):
        return escape_str(node.value)
    if isinstance(node, ListValue):
        return "(" + ", ".join(escape_str(v) for v in node.values) + ")"
    if isinstance(node, TransformerList):
        return "(" + ",".join(to_string(a) for a in node.items) + ")"
    raise TypeError(f"not an AST node: {node!r}")
