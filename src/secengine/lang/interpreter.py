"""The reference evaluator: walks the typed IR for one event, plainly and slowly.

It is the specification the compiled form must agree with (a hypothesis test
checks that), and the engine's fallback for events whose values do not have
the declared types: any leaf that cannot compare its values is false.
"""

from __future__ import annotations

from typing import Any

from secengine.events import MISSING, FieldValues
from secengine.fields.base import FieldKind
from secengine.lang import ops
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
from secengine.lang.transformers import BY_NAME

__all__ = ["evaluate", "operand_value", "present_values"]


def present_values(values: tuple[Any, ...]) -> Any:
    """The values that are present, as a list; MISSING when none is (fields like ``fd.ip``)."""
    found = [v for v in values if v is not MISSING and v is not None]
    return found or MISSING


def evaluate(node: Node, fields: FieldValues) -> bool:
    """Truth of ``node`` for an event with these field values."""
    if isinstance(node, IAnd):
        return all(evaluate(c, fields) for c in node.children)
    if isinstance(node, IOr):
        return any(evaluate(c, fields) for c in node.children)
    if isinstance(node, INot):
        return not evaluate(node.child, fields)
    if isinstance(node, IBool):
        return node.value
    try:
        return _check(node, fields)
    except (TypeError, AttributeError, ValueError):
        return False


def operand_value(op: Operand, fields: FieldValues) -> Any:
    """The value of an operand, or MISSING. Lists are Python lists."""
    if isinstance(op, IField):
        keys = op.rf.field.value_keys
        if len(keys) > 1:
            return present_values(tuple(fields[k] for k in keys))
        v = fields[keys[0] if keys else op.rf.key]
        if v is MISSING or v is None:
            return MISSING
        if (op.is_list or op.any_of) and not isinstance(v, list):
            v = [v]
        return v
    if isinstance(op, IConst):
        return op.value
    return _transform(op, fields)


def _transform(t: ITransform, fields: FieldValues) -> Any:
    args = [operand_value(a, fields) for a in t.args]
    if any(a is MISSING for a in args):
        return MISSING
    name = t.name
    if name == "list":
        out: list[Any] = []
        for a in args:
            out.extend(a if isinstance(a, list) else [a])
        return out
    spec = BY_NAME.get(name)
    if spec is None:
        raise ValueError(name)
    fn = spec.per_value
    if fn is not None:
        v = args[0]
        if spec.counts_list:
            return fn(v)
        if isinstance(v, list):
            res = [fn(x) for x in v]
            return MISSING if any(r is MISSING for r in res) else res
        return fn(v)
    assert spec.combine is not None, name
    return spec.combine(args, t.arg)


def _check(c: ICheck, fields: FieldValues) -> bool:
    left = operand_value(c.left, fields)
    if c.op == "exists":
        if isinstance(c.left, IField) and c.left.any_of:
            return left is not MISSING and len(left) > 0
        return left is not MISSING
    if left is MISSING:
        return False
    if c.rhs is not None:
        right = operand_value(c.rhs, fields)
        if right is MISSING:
            return False
        literals: tuple[Any, ...] = tuple(right) if isinstance(right, list) else (right,)
    else:
        literals = c.values
    kind = c.left.kind if not isinstance(c.left, IConst) else FieldKind.STRING
    multi = isinstance(left, list)
    if multi and isinstance(c.left, IField) and c.left.any_of:
        return any(_scalar(c, kind, x, literals) for x in left)
    if multi:
        if c.op not in ("in", "intersects"):
            return False
        member = _member_of(kind, literals)
        if c.op == "in":
            return all(member(x) for x in left)
        return any(member(x) for x in left)
    return _scalar(c, kind, left, literals)


def _member_of(kind: FieldKind, literals: tuple[Any, ...]) -> Any:
    """``x`` equals one of ``literals``: a set lookup where equality is plain ``==``.

    A list compared with a list of the event (``a intersects val(b)``) would
    otherwise cost len(a) * len(b) comparisons, both sizes an attacker's.
    """
    if kind not in (FieldKind.IP, FieldKind.NET, FieldKind.BUFFER):
        try:
            return frozenset(literals).__contains__
        except TypeError:  # unhashable values of the wrong type: compare one by one
            pass
    return lambda x: any(ops.compare("=", kind, x, lit) for lit in literals)


def _scalar(c: ICheck, kind: FieldKind, v: Any, literals: tuple[Any, ...]) -> bool:
    op = c.op
    if op in ("in", "intersects"):
        return any(ops.compare("=", kind, v, lit) for lit in literals)
    if op == "pmatch":
        return ops.pmatch(v, tuple(literals))
    if c.modifier is None:
        return ops.compare(op, kind, v, literals[0])
    hits = sum(1 for lit in literals if ops.compare(op, kind, v, lit))
    if c.modifier == "oneof":
        return hits == 1
    if c.modifier == "anyof":
        return hits >= 1
    return hits == len(literals)
