"""Compile the typed IR of many rules into one Python function per event-type bucket.

The engine asks for one function per (source, event type). Inside it:

- fields are read as ``f[key]`` from the event's :class:`FieldValues`; the
  :data:`MISSING` sentinel compares false with everything, so most checks
  need no separate missing test;
- the field of each rule's first test is read once into a local variable;
- a sub-condition shared by several rules (typically an expanded macro such as
  ``spawned_process and container``) is evaluated at most once per event and
  kept in a local variable;
- operators without a cheap inline form call small closures built once here.

A rule's position in the bucket is what the function returns: the first
matching index (``first`` mode, -1 for none), or the list of matching indexes.
Generated functions raise TypeError/AttributeError when an event's values do
not have the declared types; the engine then falls back to the interpreter.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from secengine.events import MISSING, FieldValues
from secengine.fields.base import FieldKind
from secengine.lang import ops
from secengine.lang.interpreter import check_leaf, present_values
from secengine.lang.ir import IAnd, IBool, ICheck, IField, INot, IOr, Node

__all__ = ["BucketFunction", "compile_bucket"]

BucketFunction = Callable[[Any], Any]

class _Emitter:
    """Turns IR nodes into Python expression text, collecting constants into a namespace."""

    def __init__(self, shared: set[Node], bound: dict[str, str] | None = None) -> None:
        self.ns: dict[str, Any] = {"M": MISSING, "_present": present_values}
        #: field key → local variable holding its value, read once at the top
        self.bound = bound or {}
        #: gathering expression of a multi-key field → its per-event local
        self.gathered: dict[str, str] = {}
        self._consts: dict[tuple[type, Any], str] = {}
        self._counter = itertools.count()
        self.shared = shared
        self.memo: dict[Node, str] = {}

    def const(self, value: Any) -> str:
        if value is None or isinstance(value, (str, int, bool)):
            return repr(value)
        try:
            key = (type(value), value)
            name = self._consts.get(key)
        except TypeError:
            key, name = None, None  # type: ignore[assignment]
        if name is None:
            name = f"_k{next(self._counter)}"
            self.ns[name] = value
            if key is not None:
                self._consts[key] = name
        return name

    def fn(self, func: Callable[..., Any]) -> str:
        name = f"_c{next(self._counter)}"
        self.ns[name] = func
        return name

    # -- boolean structure -------------------------------------------------------
    def expr(self, node: Node) -> str:
        if node in self.shared and not isinstance(node, IBool):
            var = self.memo.get(node)
            if var is None:
                var = self.memo[node] = f"_m{len(self.memo)}"
            return f"({var} if {var} is not None else ({var} := {self._raw(node)}))"
        return self._raw(node)

    def _raw(self, node: Node) -> str:
        if isinstance(node, IAnd):
            return "(" + " and ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, IOr):
            return "(" + " or ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, INot):
            return f"(not {self.expr(node.child)})"
        if isinstance(node, IBool):
            return "True" if node.value else "False"
        return self.check(node)

    # -- leaves -----------------------------------------------------------------------
    @staticmethod
    def read_key(key: str) -> str:
        """``f.get`` (a C call) unless a deriver may compute the key, then ``f[...]``.

        ``dict.get`` (bound once as ``g``) never runs ``__missing__``; event classes that compute every
        value lazily (live sources) therefore override ``get`` as well.
        """
        if FieldValues.has_deriver(key):
            return f"f[{key!r}]"
        return f"g({key!r}, M)"

    def read(self, field: IField) -> str:
        """The expression reading a field's value.

        Fields that stand for other keys read those directly: one key is an
        alias (``fd.snet`` tests ``fd.sip``); several are gathered once per
        event into a local list (``fd.ip``: both ends of the connection).
        """
        keys = field.rf.field.value_keys
        if len(keys) == 1:
            return self.read_key(keys[0])
        if keys:
            gather = "_present((" + ", ".join(self.read_key(k) for k in keys) + ",))"
            var = self.gathered.get(gather)
            if var is None:
                var = self.gathered[gather] = f"_p{len(self.gathered)}"
            return f"({var} if {var} is not None else ({var} := {gather}))"
        return self.read_key(field.rf.key)

    def check(self, c: ICheck) -> str:
        left = c.left
        if not isinstance(left, IField) or c.rhs is not None:
            return self._closure(c)
        f = self.bound.get(left.rf.key) or self.read(left)
        op = c.op
        if op == "exists":
            if left.any_of:
                return f"((_v := {f}) is not M and len(_v) > 0)"
            return f"((_v := {f}) is not M and _v is not None)"
        if left.kind in (FieldKind.IP, FieldKind.NET) and c.modifier is None \
                and op in ("=", "==", "!=", "in", "intersects") and not left.is_list:
            m = self.fn(ops.ip_matcher(tuple(c.values), negate=op == "!=", many=left.any_of))
            return f"((_v := {f}) is not M and _v is not None and {m}(_v))"
        if left.kind in (FieldKind.IP, FieldKind.NET, FieldKind.BUFFER):
            return self._closure(c)
        if left.is_list or left.any_of:
            if op in ("in", "intersects") or (op in ("=", "==") and left.any_of
                                               and c.modifier is None):
                s = self.const(frozenset(c.values))
                if left.is_list and op == "in":
                    return f"((_v := {f}) is not M and {s}.issuperset(_v))"
                return f"((_v := {f}) is not M and not {s}.isdisjoint(_v))"
            return self._closure(c)
        vals = c.values
        if c.modifier is not None:
            if c.modifier == "anyof" and op in ("startswith", "endswith"):
                return f"{f}.{op}({self.const(tuple(vals))})"
            if c.modifier == "anyof" and op in ("=", "=="):
                return f"({f} in {self.const(frozenset(vals))})"
            return self._closure(c)
        if op in ("in", "intersects"):
            return f"({f} in {self.const(frozenset(vals))})"
        lit: Any = vals[0] if vals else None
        if op == "!=":
            # JSON null reads as missing: `!=` must be false for it, like for MISSING
            return f"((_v := {f}) != {self.const(lit)} and _v is not None)"
        if op in ("=", "==", "<", "<=", ">", ">="):
            pyop = "==" if op == "=" else op
            return f"({f} {pyop} {self.const(lit)})"
        if op in ("startswith", "endswith"):
            return f"{f}.{op}({self.const(lit)})"
        if op == "contains":
            return f"({self.const(lit)} in {f})"
        if op == "icontains":
            return f"({self.const(lit.lower())} in {f}.lower())"
        if op in ("glob", "iglob"):
            m = self.fn(ops.compile_glob(lit, op == "iglob").fullmatch)
            return f"((_v := {f}) is not M and {m}(_v) is not None)"
        if op == "regex":
            m = self.fn(lit.fullmatch)
            return f"((_v := {f}) is not M and {m}(_v))"
        if op == "pmatch":
            pats = self.const(tuple(vals))
            pm = self.fn(ops.pmatch)
            return f"((_v := {f}) is not M and {pm}(_v, {pats}))"
        return self._closure(c)

    def _closure(self, c: ICheck) -> str:
        """Fallback for rare checks: evaluate this leaf with the reference semantics."""
        def leaf(fields: Any, _c: ICheck = c) -> bool:
            return check_leaf(_c, fields)
        return f"{self.fn(leaf)}(f)"


def _shared_subtrees(trees: Sequence[Node]) -> set[Node]:
    """Non-trivial subtrees that occur more than once across the bucket's rules."""
    counts: Counter[Node] = Counter()

    def walk(n: Node) -> None:
        if isinstance(n, (IAnd, IOr, INot)):
            counts[n] += 1
            kids = n.children if not isinstance(n, INot) else (n.child,)
            for k in kids:
                walk(k)
        elif isinstance(n, ICheck) and (
                n.op in ("glob", "iglob", "regex", "pmatch", "icontains") or n.rhs is not None
                or n.modifier is not None or not isinstance(n.left, IField)):
            counts[n] += 1

    for t in trees:
        walk(t)
    return {n for n, k in counts.items() if k > 1}


def _certain_fields(node: Node, out: dict[str, IField]) -> None:
    """Fields read whenever ``node`` is evaluated (its first leaf, whatever the outcome)."""
    while isinstance(node, (IAnd, IOr, INot)):
        node = node.child if isinstance(node, INot) else node.children[0]
    if isinstance(node, ICheck) and isinstance(node.left, IField):
        out.setdefault(node.left.rf.key, node.left)


def compile_bucket(trees: Sequence[Node], *, all_matches: bool, catch_all_from: int | None = None,
                   name: str = "bucket") -> BucketFunction:
    """One function evaluating ``trees`` in order for an event.

    With ``all_matches`` it returns the list of matching indexes; rules from
    ``catch_all_from`` on run only if none before them matched (Falco skips
    its catch-all list once the per-type list matched). Otherwise it returns
    the first matching index, or -1.
    """
    # The first leaf of every rule runs for every event of the bucket (only an
    # earlier match can skip it), so its field is read once into a local.
    fields: dict[str, IField] = {}
    for t in trees:
        _certain_fields(t, fields)
    bound = {key: f"_f{i}" for i, key in enumerate(fields)}
    em = _Emitter(_shared_subtrees(trees), bound)
    body: list[str] = []
    for i, t in enumerate(trees):
        cond = em.expr(t)
        if cond == "False":
            continue
        if all_matches:
            if catch_all_from is not None and i == catch_all_from:
                body.append("    if r: return r")
            body.append(f"    if {cond}: r.append({i})")
        else:
            body.append(f"    if {cond}: return {i}")
    # f, g (its bound get) and M (the sentinel) are locals: the cheapest loads there are.
    lines = [f"def {name}(ev, M=M):", "    f = ev.fields", "    g = f.get"]
    first_reads = [f"    {var} = {em.read(fields[key])}" for key, var in bound.items()]
    if em.memo or em.gathered:
        lines.append("    " + " = ".join([*em.memo.values(), *em.gathered.values()]) + " = None")
    lines.extend(first_reads)
    if all_matches:
        lines.append("    r = []")
    lines.extend(body)
    lines.append("    return r" if all_matches else "    return -1")
    source = "\n".join(lines) + "\n"
    code = compile(source, f"<secengine {name}>", "exec")
    ns = dict(em.ns)
    exec(code, ns)  # noqa: S102 - the source is generated from checked IR, never from input text
    fn = ns[name]
    fn.__secengine_source__ = source  # kept for debugging and tests
    return fn
