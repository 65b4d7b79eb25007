"""The size of a condition once its macros are expanded, counted without expanding it.

Macro expansion shares sub-trees (the AST is immutable), so a condition is a
DAG: ``m2: m1 or m1`` doubles the tree but adds one node. Every later pass
(type checking, event types, simplification, code generation, canonical
text) walks it as a tree, so the loader measures the tree here, in time
linear in the DAG, and refuses conditions past its limits before any of
those passes run (see docs/rules-loading.md, "Hostile rules and events").
"""

from __future__ import annotations

from dataclasses import dataclass

from secengine.lang import ast

__all__ = ["TreeSize", "tree_size"]


@dataclass(frozen=True, slots=True)
class TreeSize:
    """Nodes and depth of the fully expanded tree (boolean nodes, checks, list values)."""

    nodes: int
    depth: int


def _children(node: ast.Expr) -> tuple[ast.Expr, ...]:
    if isinstance(node, (ast.And, ast.Or)):
        return node.children
    if isinstance(node, ast.Not):
        return (node.child,)
    return ()


def _leaf_size(node: ast.Expr) -> int:
    right = getattr(node, "right", None)
    if isinstance(right, ast.ListValue):
        return 1 + len(right.values)
    return 1


def tree_size(expr: ast.Expr) -> TreeSize:
    """The expanded tree's size, each shared sub-tree measured once (iteratively: the DAG
    may be deeper than Python's recursion limit)."""
    memo: dict[int, tuple[int, int]] = {}
    stack: list[tuple[ast.Expr, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in memo:
            continue
        kids = _children(node)
        if not kids:
            memo[key] = (_leaf_size(node), 1)
        elif expanded:
            sizes = [memo[id(k)] for k in kids]
            memo[key] = (1 + sum(s for s, _ in sizes), 1 + max(d for _, d in sizes))
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in memo)
    nodes, depth = memo[id(expr)]
    return TreeSize(nodes, depth)
