"""Why a rule's condition is false (or true) for an event: the deciding leaves, with values.

A rule test that fails should say which part of the condition decided, not
just "expected 1 alert, got 0". This module walks the rule's expanded
condition (the AST, for Falco's canonical text of each check) and its typed
IR (for evaluation) side by side, using the reference interpreter
(:func:`secengine.lang.interpreter.evaluate`) — the engine's own
specification — to find:

- when the condition is **false**: for ``and``, the first false child; for
  ``or``, every alternative (all false); under ``not``, why the inner part
  is *true*. The first leaf found is the *first failing leaf*.
- when it is **true**: for ``and``, every child; for ``or``, the first true
  alternative; under ``not``, why the inner part is false.

Each :class:`Leaf` carries the check's text and the actual values of the
fields it reads (``<missing>`` for an absent value, which makes any
comparison false).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from secengine.events import MISSING, FieldValues
from secengine.lang import ast
from secengine.lang.interpreter import evaluate, operand_value
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

__all__ = ["Leaf", "explain", "format_value", "leaf_lines"]

#: Leaf texts longer than this are shortened in reports (long lists of names).
MAX_TEXT = 240


@dataclass(frozen=True, slots=True)
class Leaf:
    """One check of the condition, its truth for the event, and the values it read.

    ``negated`` is true when the check sits under an odd number of ``not``:
    then the check being *true* is what made the condition false.
    """

    text: str
    result: bool
    values: tuple[tuple[str, Any], ...]
    negated: bool


def explain(condition: ast.Expr, ir: Node, fields: FieldValues, want: bool) -> list[Leaf]:
    """The leaves that make the condition evaluate to ``want`` for these field values.

    ``want`` must be the condition's actual truth value; the list is empty
    otherwise. ``condition`` is the rule's expanded AST (``Rule.condition``)
    and ``ir`` its checked form (``Rule.checked.ir``); when their shapes
    differ, leaf texts are rendered from the IR instead.
    """
    if evaluate(ir, fields) != want:
        return []
    out: list[Leaf] = []
    _walk(condition, ir, fields, want, False, out)
    return out


def _walk(
    node: ast.Expr | None, ir: Node, fields: FieldValues, want: bool, negated: bool, out: list[Leaf]
) -> None:
    if isinstance(ir, INot):
        child = node.child if isinstance(node, ast.Not) else None
        _walk(child, ir.child, fields, not want, not negated, out)
        return
    if isinstance(ir, (IAnd, IOr)):
        kids = _children(node, ir)
        pairs = list(zip(kids, ir.children))
        # and-false / or-true: one child decides; and-true / or-false: every child does.
        single = isinstance(ir, IAnd) != want
        for ast_child, ir_child in pairs:
            if evaluate(ir_child, fields) == want:
                _walk(ast_child, ir_child, fields, want, negated, out)
                if single:
                    return
        return
    out.append(_leaf(node, ir, fields, want, negated))


def _children(node: ast.Expr | None, ir: IAnd | IOr) -> list[ast.Expr | None]:
    expected = ast.And if isinstance(ir, IAnd) else ast.Or
    if isinstance(node, expected) and len(node.children) == len(ir.children):
        return list(node.children)
    return [None] * len(ir.children)


def _leaf(
    node: ast.Expr | None, ir: ICheck | IBool, fields: FieldValues, result: bool, negated: bool
) -> Leaf:
    if isinstance(node, (ast.BinaryCheck, ast.UnaryCheck)):
        text = ast.to_string(node)
    else:
        text = ir_text(ir)
    if isinstance(ir, IBool):
        note = "never true: evt.num counts from 1" if not ir.value else "always true"
        return Leaf(_shorten(text), result, (("(constant)", note),), negated)
    values: list[tuple[str, Any]] = []
    left_text = (
        ast.to_string(node.left)
        if isinstance(node, (ast.BinaryCheck, ast.UnaryCheck))
        else operand_text(ir.left)
    )
    values.append((left_text, operand_value(ir.left, fields)))
    for inner in _inner_fields(ir.left):
        if inner.key != left_text:
            values.append((inner.key, operand_value(inner, fields)))
    if ir.rhs is not None:
        values.append((operand_text(ir.rhs), operand_value(ir.rhs, fields)))
    return Leaf(_shorten(text), result, tuple(values), negated)


def _inner_fields(op: Operand) -> list[IField]:
    if isinstance(op, ITransform):
        out: list[IField] = []
        for arg in op.args:
            if isinstance(arg, IField):
                out.append(arg)
            else:
                out.extend(_inner_fields(arg))
        return out
    return []


# ---------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------


def operand_text(op: Operand) -> str:
    if isinstance(op, IField):
        return op.key
    if isinstance(op, IConst):
        return ast.escape_str(str(op.value))
    inner = ",".join(operand_text(a) for a in op.args)
    if op.name == "list":
        return f"({inner})"
    return f"{op.name}({inner})" + (f"[{op.arg}]" if op.arg is not None else "")


def ir_text(ir: Node) -> str:
    """A readable form of an IR node (used when no AST node is at hand)."""
    if isinstance(ir, IBool):
        return "true" if ir.value else "false"
    if isinstance(ir, INot):
        return "not " + ir_text(ir.child)
    if isinstance(ir, (IAnd, IOr)):
        sep = " and " if isinstance(ir, IAnd) else " or "
        return "(" + sep.join(ir_text(c) for c in ir.children) + ")"
    left = operand_text(ir.left)
    op = ir.op if ir.modifier is None else f"{ir.op} {ir.modifier}"
    if ir.op == "exists":
        return f"{left} exists"
    if ir.rhs is not None:
        return f"{left} {op} {operand_text(ir.rhs)}"
    values = [ast.escape_str(str(v)) for v in ir.values]
    if ir.op in ("in", "intersects", "pmatch") or ir.modifier is not None:
        return f"{left} {op} ({', '.join(values)})"
    return f"{left} {op} {values[0] if values else ''}"


def _shorten(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT - 5] + " ...)"


def format_value(value: Any) -> str:
    """A field value as reports print it: JSON, ``<missing>`` for an absent value."""
    if value is MISSING or value is None:
        return "<missing>"
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:
        return repr(value)


def leaf_lines(leaf: Leaf) -> list[str]:
    """Two or more report lines for a leaf: the check and its verdict, then the values."""
    verdict = "true" if leaf.result else "false"
    if leaf.negated:
        verdict += " (under 'not')"
    lines = [f"{leaf.text}  ->  {verdict}"]
    for name, value in leaf.values:
        if name == "(constant)":
            lines.append(f"    {value}")
        else:
            lines.append(f"    {name} = {format_value(value)}")
    return lines
