"""Three-valued (Kleene) evaluation of a checked condition when only some fields are known.

A source that can filter before it builds an event (the syscall probe drops
what no rule can match) asks whether a rule *may* match an event of which
only a few values are known: True or False when those values decide the
condition, None when it could go either way. Each check of a known field is
evaluated with the reference interpreter, so the answer follows the
language's own semantics.
"""

from __future__ import annotations

from typing import Any

from secengine.events import FieldValues
from secengine.lang.interpreter import check_leaf
from secengine.lang.ir import IAnd, IBool, ICheck, IField, INot, IOr

__all__ = ["may_match"]


def may_match(node: Any, known: dict[str, Any]) -> bool | None:
    """Kleene evaluation: True or False when ``known`` decides ``node``, None when it may go
    either way. Checks of fields not in ``known`` are unknown."""
    if isinstance(node, IAnd):
        result: bool | None = True
        for child in node.children:
            v = may_match(child, known)
            if v is False:
                return False
            if v is None:
                result = None
        return result
    if isinstance(node, IOr):
        result = False
        for child in node.children:
            v = may_match(child, known)
            if v is True:
                return True
            if v is None:
                result = None
        return result
    if isinstance(node, INot):
        v = may_match(node.child, known)
        return None if v is None else not v
    if isinstance(node, IBool):
        return node.value
    if (
        isinstance(node, ICheck)
        and isinstance(node.left, IField)
        and node.rhs is None
        and node.left.key in known
    ):
        try:
            return check_leaf(node, FieldValues({node.left.key: known[node.left.key]}))
        except (TypeError, AttributeError, ValueError):
            return None
    return None
