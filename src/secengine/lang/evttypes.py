"""Which event types can a condition match? (libsinsp ``ppm_codes.cpp``)

The engine indexes rules by event type with this. ``and`` intersects, ``or``
unites, and negations are pushed to the leaves with De Morgan's laws. Only
``evt.type`` compared with ``= == != in`` gives a concrete set; other checks
are neutral ("every type") and are not inverted by ``not``. ``evt.num``'s
invariant (it starts at 1) makes ``evt.num=0`` match nothing, as in Falco HEAD.

Sets are kept symbolically as a name set or its complement, because the
universe of event names is large and open (plugins, future syscalls).
"""

from __future__ import annotations

from dataclasses import dataclass

from secengine.lang import ast

__all__ = ["TypeSet", "event_type_set", "event_types", "evt_num_invariant"]


@dataclass(frozen=True, slots=True)
class TypeSet:
    """``names`` if not ``complement``, else every event type except ``names``."""

    names: frozenset[str] = frozenset()
    complement: bool = False

    @staticmethod
    def all() -> TypeSet:
        return TypeSet(frozenset(), True)

    @staticmethod
    def none() -> TypeSet:
        return TypeSet(frozenset(), False)

    def invert(self) -> TypeSet:
        return TypeSet(self.names, not self.complement)

    def intersect(self, o: TypeSet) -> TypeSet:
        if not self.complement and not o.complement:
            return TypeSet(self.names & o.names)
        if self.complement and o.complement:
            return TypeSet(self.names | o.names, True)
        pos, neg = (self, o) if not self.complement else (o, self)
        return TypeSet(pos.names - neg.names)

    def union(self, o: TypeSet) -> TypeSet:
        if not self.complement and not o.complement:
            return TypeSet(self.names | o.names)
        if self.complement and o.complement:
            return TypeSet(self.names & o.names, True)
        pos, neg = (self, o) if not self.complement else (o, self)
        return TypeSet(neg.names - pos.names, True)

    def __contains__(self, name: object) -> bool:
        return (name in self.names) != self.complement

    @property
    def is_empty(self) -> bool:
        return not self.complement and not self.names


def evt_num_invariant(node: ast.BinaryCheck) -> TypeSet | None:
    """Falco's static evaluation of ``evt.num`` checks (values start at 1)."""
    left = node.left
    if not isinstance(left, ast.FieldRef) or left.name != "evt.num" or left.arg is not None:
        return None
    op, right = node.op, node.right
    if op == "in":
        if not isinstance(right, ast.ListValue):
            return None
        if all(_u64(v) == 0 for v in right.values):
            return TypeSet.none()
        return None
    if not isinstance(right, ast.Value):
        return None
    n = _u64(right.value)
    if n is None:
        return None
    if op in ("=", "=="):
        return TypeSet.none() if n == 0 else None
    if op == "!=":
        return TypeSet.all() if n == 0 else None
    if op == "<":
        return TypeSet.none() if n <= 1 else None
    if op == "<=":
        return TypeSet.none() if n == 0 else None
    if op == ">":
        return TypeSet.all() if n == 0 else None
    if op == ">=":
        return TypeSet.all() if n <= 1 else None
    return None


def _u64(text: str) -> int | None:
    t = text.strip()
    if not t or not (t.isdigit() or (t[0] == "-" and t[1:].isdigit())):
        return None
    return int(t) % (1 << 64)


def _is_evttype_field(node: object) -> bool:
    return (
        isinstance(node, ast.FieldRef)
        and node.name in ("evt.type", "syscall.type")
        and node.arg is None
    )


def _visit(node: ast.Expr, negated: bool) -> TypeSet:
    if isinstance(node, (ast.And, ast.Or)):
        # an 'and' intersects its children's sets, an 'or' unites them; under a 'not' the
        # other way round (De Morgan)
        intersect = isinstance(node, ast.And) != negated
        sets = [_visit(c, negated) for c in node.children]
        result = sets[0]
        for s in sets[1:]:
            result = result.intersect(s) if intersect else result.union(s)
        return result
    if isinstance(node, ast.Not):
        return _visit(node.child, not negated)
    if isinstance(node, ast.BinaryCheck):
        fixed = evt_num_invariant(node)
        if fixed is not None:
            return fixed.invert() if negated else fixed
        if node.op in ("=", "==", "!=", "in") and _is_evttype_field(node.left):
            right = node.right
            if isinstance(right, ast.Value):
                s = TypeSet(frozenset((right.value,)))
            elif isinstance(right, ast.ListValue):
                s = TypeSet(frozenset(right.values))
            else:
                raise ValueError(
                    "right-hand field comparisons on `evt.type`/`syscall.type` "
                    "checks are not supported by event code search"
                )
            if negated:
                s = s.invert()
            if node.op == "!=":
                s = s.invert()
            return s
        return TypeSet.all()
    if isinstance(node, ast.UnaryCheck):
        if _is_evttype_field(node.left) and negated:
            return TypeSet.none()
        return TypeSet.all()
    return TypeSet.all()


def event_type_set(expr: ast.Expr) -> TypeSet:
    """The symbolic set of event types ``expr`` can be true for."""
    return _visit(expr, False)


def event_types(expr: ast.Expr) -> frozenset[str] | None:
    """The event types ``expr`` can match, or ``None`` when it is (a complement of) every type."""
    s = event_type_set(expr)
    return None if s.complement else s.names
