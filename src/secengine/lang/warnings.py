"""Falco's non-fatal diagnostics on a condition (``filter_warning_resolver``).

- ``LOAD_UNSAFE_NA_CHECK``: a ``ka.*``/``jevt.*`` field compared for equality
  with the literal ``<NA>``, which never tests for a missing value.
- ``LOAD_DEPRECATED_ITEM``: use of ``evt.dir`` / ``evt.latency*`` (deprecated in HEAD).

The value warnings of the filter compiler (``LOAD_COMPILE_CONDITION``: a field
name or transformer used as a string, a regex that could be a simpler
operator) come from :mod:`secengine.lang.checker`, which sees the values.
"""

from __future__ import annotations

from dataclasses import dataclass

from secengine.lang import ast

__all__ = ["DEPRECATED_FIELDS", "LangWarning", "condition_warnings"]

_NA = "<NA>"
_EQUALITY_OPS = frozenset(("==", "=", "!=", "in", "intersects", "pmatch"))

#: Deprecated fields and Falco's description of each (``falco_load_result.cpp``).
_LATENCY = "field is not available due to the drop of enter events."
DEPRECATED_FIELDS: dict[str, str] = {
    "evt.dir": "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and "
    "'evt.dir = >' always evaluates to false. The rule expression can be simplified "
    "by removing the condition on 'evt.dir'",
    "evt.latency": _LATENCY,
    "evt.latency.s": _LATENCY,
    "evt.latency.ns": _LATENCY,
    "evt.latency.human": _LATENCY,
    "evt.wait_latency": _LATENCY,
}


@dataclass(frozen=True, slots=True)
class LangWarning:
    """A warning code (Falco's ``LOAD_*`` name), its message and where it applies."""

    code: str
    message: str
    pos: ast.Pos


def _is_unsafe_field(name: str) -> bool:
    return name.startswith(("ka.", "jevt."))


def _fields_of(node: object) -> list[ast.FieldRef]:
    if isinstance(node, ast.FieldRef):
        return [node]
    if isinstance(node, ast.Transformer):
        return [f for a in node.args for f in _fields_of(a)]
    if isinstance(node, ast.TransformerList):
        return [f for a in node.items for f in _fields_of(a)]
    return []


def condition_warnings(expr: ast.Expr, source: str) -> list[LangWarning]:
    """Warnings for ``expr``; each code is reported once, as Falco does."""
    found: dict[str, LangWarning] = {}
    deprecated: dict[str, LangWarning] = {}
    stack: list[object] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.And, ast.Or)):
            stack.extend(reversed(node.children))
        elif isinstance(node, ast.Not):
            stack.append(node.child)
        elif isinstance(node, (ast.UnaryCheck, ast.BinaryCheck)):
            for f in _fields_of(node.left) + (
                _fields_of(node.right) if isinstance(node, ast.BinaryCheck) else []
            ):
                if f.name in DEPRECATED_FIELDS and f.name not in deprecated:
                    deprecated[f.name] = LangWarning(
                        "LOAD_DEPRECATED_ITEM", DEPRECATED_FIELDS[f.name], f.pos
                    )
            if (
                isinstance(node, ast.BinaryCheck)
                and isinstance(node.left, ast.FieldRef)
                and _is_unsafe_field(node.left.name)
                and node.op in _EQUALITY_OPS
            ):
                right = node.right
                if (isinstance(right, ast.Value) and right.value == _NA) or (
                    isinstance(right, ast.ListValue) and _NA in right.values
                ):
                    found.setdefault(
                        "LOAD_UNSAFE_NA_CHECK", LangWarning("LOAD_UNSAFE_NA_CHECK", "", node.pos)
                    )
    return list(found.values()) + list(deprecated.values())
