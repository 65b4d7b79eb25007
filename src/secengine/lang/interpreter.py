"""The reference evaluator: walks the typed IR for one event, plainly and slowly.

It is the specification the compiled form must agree with (a hypothesis test
checks that), and the engine's fallback for events whose values do not have
the declared types: any leaf that cannot compare its values is false.

In that fallback the engine passes a ``report`` callback: every field whose
extractor raised (:class:`~secengine.events.FieldExtractionError`) or whose
value is not of its field's type is reported as ``report(key, reason)``, so
that such a field is counted and logged instead of silently not matching.
The answers do not change; only the compiled path's cost is kept free of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from secengine.events import MISSING, FieldExtractionError, FieldValues
from secengine.lang import ops
from secengine.lang.fielddefs import FieldKind, FieldType
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

__all__ = ["Report", "check_leaf", "evaluate", "operand_value", "present_values", "well_typed"]

#: ``report(key, reason)``: a field that could not be extracted or has a value of the wrong type.
Report = Callable[[str, str], object]

#: The Python types a value of each kind may have (numbers: not bools).
_KIND_TYPES: Final[dict[FieldKind, tuple[type, ...]]] = {
    FieldKind.STRING: (str,),
    FieldKind.NUMBER: (int, float),
    FieldKind.BOOL: (bool,),
    FieldKind.IP: (str,),
    FieldKind.NET: (str,),
    FieldKind.BUFFER: (bytes, bytearray, str),
}


def present_values(values: tuple[Any, ...]) -> Any:
    """The values that are present, as a list; MISSING when none is (fields like ``fd.ip``)."""
    found = [v for v in values if v is not MISSING and v is not None]
    return found or MISSING


def evaluate(node: Node, fields: FieldValues, report: Report | None = None) -> bool:
    """Truth of ``node`` for an event with these field values (``report``: see the module doc)."""
    if isinstance(node, IAnd):
        return all(evaluate(c, fields, report) for c in node.children)
    if isinstance(node, IOr):
        return any(evaluate(c, fields, report) for c in node.children)
    if isinstance(node, INot):
        return not evaluate(node.child, fields, report)
    if isinstance(node, IBool):
        return node.value
    try:
        return _check(node, fields, report)
    except (TypeError, AttributeError, ValueError, FieldExtractionError):
        return False


def check_leaf(c: ICheck, fields: FieldValues) -> bool:
    """One check, letting a failed extraction or a comparison that does not apply raise.

    Generated code calls this for checks it has no inline form for, so that
    such an event falls back to :func:`evaluate` (with ``report``) like any
    other whose values the compiled code could not compare.
    """
    return _check(c, fields)


def well_typed(op: IField, value: Any) -> bool:
    """Whether ``value`` (present) has a Python type the field ``op`` can hold."""
    ftype = op.rf.field.type
    if ftype is FieldType.DYN:
        return True
    kind = ftype.kind
    if isinstance(value, list):
        return (op.is_list or op.any_of) and all(x is None or _of_kind(kind, x) for x in value)
    return _of_kind(kind, value)


def _of_kind(kind: FieldKind, value: Any) -> bool:
    if kind is FieldKind.BOOL:
        return isinstance(value, bool)
    return isinstance(value, _KIND_TYPES[kind]) and not isinstance(value, bool)


def _read(fields: FieldValues, key: str, op: IField, report: Report | None) -> Any:
    if report is None:
        return fields[key]
    try:
        v = fields[key]
    except FieldExtractionError as e:
        report(key, f"its extractor raised {type(e.error).__name__}: {e.error}")
        raise
    if v is not MISSING and v is not None and not well_typed(op, v):
        report(key, f"its value is of type {type(v).__name__}, not {op.rf.field.type.falco_name}")
    return v


def operand_value(op: Operand, fields: FieldValues, report: Report | None = None) -> Any:
    """The value of an operand, or MISSING. Lists are Python lists."""
    if isinstance(op, IField):
        keys = op.rf.field.value_keys
        if len(keys) > 1:
            return present_values(tuple(_read(fields, k, op, report) for k in keys))
        v = _read(fields, keys[0] if keys else op.rf.key, op, report)
        if v is MISSING or v is None:
            return MISSING
        if (op.is_list or op.any_of) and not isinstance(v, list):
            v = [v]
        return v
    if isinstance(op, IConst):
        return op.value
    return _transform(op, fields, report)


def _transform(t: ITransform, fields: FieldValues, report: Report | None) -> Any:
    args = [operand_value(a, fields, report) for a in t.args]
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


def _check(c: ICheck, fields: FieldValues, report: Report | None = None) -> bool:
    left = operand_value(c.left, fields, report)
    if c.op == "exists":
        if isinstance(c.left, IField) and c.left.any_of:
            return left is not MISSING and len(left) > 0
        return left is not MISSING
    if left is MISSING:
        return False
    if c.rhs is not None:
        right = operand_value(c.rhs, fields, report)
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
