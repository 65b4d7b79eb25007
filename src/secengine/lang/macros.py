"""Macro resolution: replace macro references with clones of the macros' ASTs.

A port of Falco's ``filter_macro_resolver``: references are replaced
recursively (so a macro may use macros), loops are reported as
``reference loop in macro 'x'``, and unknown identifiers are collected rather
than raised, so that the loader can report the first one with its position.
The AST is immutable, so "cloning" is sharing: substituted subtrees keep the
positions they had in the macro's own condition, as in Falco.
"""

from __future__ import annotations

from secengine.lang import ast

__all__ = ["MacroResolver"]


class MacroResolver:
    """Holds the visible macros and expands references in one condition per :meth:`run`."""

    def __init__(self) -> None:
        self._macros: dict[str, ast.Expr] = {}
        self.errors: list[tuple[str, ast.Pos]] = []
        self.unknown_macros: dict[str, ast.Pos] = {}
        self.resolved_macros: dict[str, ast.Pos] = {}

    def set_macro(self, name: str, expr: ast.Expr) -> None:
        self._macros[name] = expr

    def clear(self) -> None:
        self._macros.clear()

    def run(self, expr: ast.Expr) -> ast.Expr:
        """Return ``expr`` with every known macro expanded; problems go to the attributes."""
        self.errors = []
        self.unknown_macros = {}
        self.resolved_macros = {}
        return self._visit(expr, [])

    def _visit(self, node: ast.Expr, path: list[str]) -> ast.Expr:
        if isinstance(node, ast.And):
            return ast.And(tuple(self._visit(c, path) for c in node.children), node.pos)
        if isinstance(node, ast.Or):
            return ast.Or(tuple(self._visit(c, path) for c in node.children), node.pos)
        if isinstance(node, ast.Not):
            return ast.Not(self._visit(node.child, path), node.pos)
        if isinstance(node, ast.MacroRef):
            body = self._macros.get(node.name)
            if body is None:
                self.unknown_macros.setdefault(node.name, node.pos)
                return node
            if node.name in path:
                self.errors.append((f"reference loop in macro '{node.name}'", node.pos))
                self.unknown_macros.setdefault(node.name, node.pos)
                return node
            path.append(node.name)
            expanded = self._visit(body, path)
            path.pop()
            self.resolved_macros.setdefault(node.name, node.pos)
            return expanded
        return node
