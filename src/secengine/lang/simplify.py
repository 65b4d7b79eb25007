"""Rewrite a rule's typed IR into an equivalent, cheaper one for one event-type bucket.

Conditions have no side effects and every leaf is a total function of the
event, so boolean algebra applies freely. The passes, run bottom-up:

- **fold**: ``evt.type`` checks become constants when the bucket's type is known,
  and so do equality and set tests of a field whose value is known (the
  compiler's dispatch on one field's value, :mod:`secengine.lang.codegen`);
- **factor**: ``(A and B) or (A and C)`` → ``A and (B or C)`` (Falco's macros repeat
  a first conjunct, e.g. ``proc.pexe endswith java`` ten times);
- **merge**: alternatives testing one field with one operator become one test:
  ``f = a or f in (b, c)`` → ``f in (a, b, c)``, ``f startswith a or f startswith b`` →
  ``f startswith anyof (a, b)``; and a conjunction of such negations
  (``not f startswith a and not f startswith b``, rule exceptions) becomes the
  negation of the merged test.

The interpreter runs the unsimplified IR, so the hypothesis test comparing the
two also checks these rewrites.
"""

from __future__ import annotations

from typing import Any, Final

from secengine.lang.fielddefs import FieldKind
from secengine.lang.ir import IAnd, IBool, ICheck, IField, INot, IOr, Node

__all__ = ["OTHER", "Known", "foldable_key", "simplify"]


class _Other:
    """The type of :data:`OTHER`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OTHER"


#: A known value that is present, not null, and equal to none of the literals
#: the folded tests compare it with (so ``=``/``in`` are false and ``!=`` true).
OTHER: Final = _Other()

#: A field whose value is known: (the key read, its value or :data:`OTHER`).
Known = tuple[str, Any]

_EQ_OPS = ("=", "==", "!=", "in", "intersects")

_EVTTYPE_FIELDS = ("evt.type", "syscall.type")
_SET_OPS = ("=", "==", "in", "intersects")
_PREFIX_OPS = ("startswith", "endswith")


def foldable_key(node: Node) -> str | None:
    """The key read by ``node`` if it is a test that a known value of that key decides.

    Those are ``=``, ``!=``, ``in`` and ``intersects`` (and ``= anyof``) of a
    single-valued string, number or bool field against literals: each is plain
    Python equality with the literals, as in :func:`secengine.lang.ops.compare`.
    """
    if not isinstance(node, ICheck) or node.rhs is not None or node.op not in _EQ_OPS:
        return None
    if node.modifier is not None and not (node.modifier == "anyof" and node.op in ("=", "==")):
        return None
    left = node.left
    if (
        not isinstance(left, IField)
        or left.is_list
        or left.any_of
        or left.kind not in (FieldKind.STRING, FieldKind.NUMBER, FieldKind.BOOL)
    ):
        return None
    keys = left.rf.field.value_keys
    if len(keys) > 1:
        return None
    return keys[0] if keys else left.rf.key


def fold_value(node: ICheck, value: Any) -> bool:
    """The outcome of a :func:`foldable_key` test for a present, non-null ``value``."""
    hit = value is not OTHER and any(value == lit for lit in node.values)
    return not hit if node.op == "!=" else hit


def simplify(node: Node, evt_type: str | None, known: Known | None = None) -> Node:
    """An equivalent IR for events whose type is ``evt_type`` (None: type unknown).

    With ``known`` = (key, value), tests that the value of that key decides
    (:func:`foldable_key`) become constants; the value must be present and not
    null (:data:`OTHER` for one that equals no literal of those tests).
    """
    if isinstance(node, IAnd):
        kids: list[Node] = []
        for c in node.children:
            c = simplify(c, evt_type, known)
            if isinstance(c, IBool):
                if not c.value:
                    return IBool(False)
                continue
            kids.append(c)
        if not kids:
            return IBool(True)
        kids = _merge_negations(kids)
        return kids[0] if len(kids) == 1 else IAnd(tuple(kids))
    if isinstance(node, IOr):
        kids = []
        for c in node.children:
            c = simplify(c, evt_type, known)
            if isinstance(c, IBool):
                if c.value:
                    return IBool(True)
                continue
            kids.append(c)
        if not kids:
            return IBool(False)
        kids = _merge_alternatives(_factor(kids))
        return kids[0] if len(kids) == 1 else IOr(tuple(kids))
    if isinstance(node, INot):
        c = simplify(node.child, evt_type, known)
        if isinstance(c, IBool):
            return IBool(not c.value)
        if isinstance(c, INot):
            return c.child
        return INot(c)
    if (
        evt_type is not None
        and isinstance(node, ICheck)
        and node.rhs is None
        and node.modifier is None
        and isinstance(node.left, IField)
        and node.left.rf.name in _EVTTYPE_FIELDS
        and node.left.rf.arg is None
        and node.op in ("=", "==", "!=", "in", "intersects")
    ):
        hit = evt_type in node.values
        return IBool(not hit if node.op == "!=" else hit)
    if known is not None and isinstance(node, ICheck) and foldable_key(node) == known[0]:
        return IBool(fold_value(node, known[1]))
    return node


def _factor(alternatives: list[Node]) -> list[Node]:
    groups: dict[Node, list[tuple[Node, ...]]] = {}
    for alt in alternatives:
        conj = alt.children if isinstance(alt, IAnd) else (alt,)
        groups.setdefault(conj[0], []).append(conj[1:])
    if len(groups) == len(alternatives):
        return alternatives
    out: list[Node] = []
    for head, rests in groups.items():
        if any(not r for r in rests):
            out.append(head)  # head or (head and x) is head
        elif len(rests) == 1:
            out.append(IAnd((head,) + rests[0]))
        else:
            inner = _merge_alternatives(_factor([r[0] if len(r) == 1 else IAnd(r) for r in rests]))
            out.append(IAnd((head, inner[0] if len(inner) == 1 else IOr(tuple(inner)))))
    return out


def _merge_key(node: Node) -> tuple[IField, str] | None:
    """Which merged test a leaf can join, or None."""
    if not isinstance(node, ICheck) or node.rhs is not None or node.modifier is not None:
        return None
    left = node.left
    if not isinstance(left, IField) or left.is_list or left.any_of:
        return None
    if node.op in _SET_OPS and left.kind in (FieldKind.STRING, FieldKind.NUMBER, FieldKind.BOOL):
        return (left, "in")
    if node.op in _PREFIX_OPS and left.kind is FieldKind.STRING:
        return (left, node.op)
    return None


def _merged(key: tuple[IField, str], leaves: list[ICheck]) -> ICheck:
    values = tuple(dict.fromkeys(v for leaf in leaves for v in leaf.values))
    field, op = key
    if op == "in":
        return ICheck(field, "in", values, pos=leaves[0].pos)
    return ICheck(field, op, values, modifier="anyof", pos=leaves[0].pos)


def _merge_alternatives(alternatives: list[Node]) -> list[Node]:
    groups: dict[tuple[IField, str], list[ICheck]] = {}
    for alt in alternatives:
        key = _merge_key(alt)
        if key is not None:
            groups.setdefault(key, []).append(alt)  # type: ignore[arg-type]
    if all(len(g) < 2 for g in groups.values()):
        return alternatives
    out: list[Node] = []
    done: set[tuple[IField, str]] = set()
    for alt in alternatives:
        key = _merge_key(alt)
        if key is None or len(groups[key]) < 2:
            out.append(alt)
        elif key not in done:
            done.add(key)
            out.append(_merged(key, groups[key]))
    return out


def _merge_negations(conjuncts: list[Node]) -> list[Node]:
    groups: dict[tuple[IField, str], list[ICheck]] = {}
    for c in conjuncts:
        key = _merge_key(c.child) if isinstance(c, INot) else None
        if key is not None:
            groups.setdefault(key, []).append(c.child)  # type: ignore[union-attr, arg-type]
    if all(len(g) < 2 for g in groups.values()):
        return conjuncts
    out: list[Node] = []
    done: set[tuple[IField, str]] = set()
    for c in conjuncts:
        key = _merge_key(c.child) if isinstance(c, INot) else None
        if key is None or len(groups[key]) < 2:
            out.append(c)
        elif key not in done:
            done.add(key)
            out.append(INot(_merged(key, groups[key])))
    return out
