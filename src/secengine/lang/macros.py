"""Macro resolution: replace macro references with clones of the macros' ASTs.

A port of Falco's ``filter_macro_resolver``: references are replaced
recursively (so a macro may use macros), loops are reported as
``reference loop in macro 'x'``, and unknown identifiers are collected rather
than raised, so that the loader can report the first one with its position.
The AST is immutable, so "cloning" is sharing: substituted subtrees keep the
positions they had in the macro's own condition, as in Falco, and a macro
used twice is one shared sub-tree (the result is a DAG).
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
        self._expanded: dict[str, ast.Expr] = {}
        self._active: set[str] = set()
        #: id of a node already visited in this run → its expansion (a DAG is walked once)
        self._seen: dict[int, ast.Expr] = {}

    def set_macro(self, name: str, expr: ast.Expr) -> None:
        self._macros[name] = expr

    def clear(self) -> None:
        self._macros.clear()

    def run(self, expr: ast.Expr) -> ast.Expr:
        """Return ``expr`` with every known macro expanded; problems go to the attributes.

        Each macro is expanded once per run and its result shared wherever it is
        referenced, so ``m2: m1 or m1`` costs one expansion of ``m1``, not two: the
        work is linear in the macros' text, however much the result's tree doubles
        (its size is measured and bounded by the loader, ``lang.budget``).
        """
        self.errors = []
        self.unknown_macros = {}
        self.resolved_macros = {}
        self._expanded = {}
        self._active = set()
        self._seen = {}
        try:
            return self._visit(expr)
        finally:
            self._seen = {}

    def _visit(self, node: ast.Expr) -> ast.Expr:
        done = self._seen.get(id(node))
        if done is not None:
            return done
        result = self._visit_new(node)
        self._seen[id(node)] = result
        return result

    def _visit_new(self, node: ast.Expr) -> ast.Expr:
        if isinstance(node, (ast.And, ast.Or)):
            kids = tuple(self._visit(c) for c in node.children)
            if all(k is c for k, c in zip(kids, node.children)):
                return node
            return type(node)(kids, node.pos)
        if isinstance(node, ast.Not):
            child = self._visit(node.child)
            return node if child is node.child else ast.Not(child, node.pos)
        if isinstance(node, ast.MacroRef):
            return self._macro(node)
        return node

    def _macro(self, node: ast.MacroRef) -> ast.Expr:
        name = node.name
        if self.errors:  # only the first loop is reported: stop expanding
            return node
        done = self._expanded.get(name)
        if done is not None:
            self.resolved_macros.setdefault(name, node.pos)
            return done
        body = self._macros.get(name)
        if body is None:
            self.unknown_macros.setdefault(name, node.pos)
            return node
        if name in self._active:
            self.errors.append((f"reference loop in macro '{name}'", node.pos))
            self.unknown_macros.setdefault(name, node.pos)
            return node
        self._active.add(name)
        expanded = self._visit(body)
        self._active.discard(name)
        self.resolved_macros.setdefault(name, node.pos)
        if not self.errors:
            self._expanded[name] = expanded
        return expanded
