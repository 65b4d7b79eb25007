"""Compile the typed IR of many rules into one Python function per event-type bucket.

The engine asks for one function per (source, event type). Inside it:

- fields are read as ``f[key]`` from the event's :class:`FieldValues`; the
  :data:`MISSING` sentinel compares false with everything, so most checks
  need no separate missing test;
- the field of each rule's first test is read once into a local variable;
- a field read by more than one test of the bucket is read at most once per
  event, on first use, into a local variable (a local load is a few
  nanoseconds, a dictionary read through ``get`` some thirty); where every
  path to a use has set it, the use is the bare local, and where only some
  paths have, the field is read again (:class:`_Emitter`);
- consecutive rules that start with the same test (a macro such as
  ``open_read``) are nested under one ``if`` on it (:func:`_emit_rules`);
- a sub-condition shared by several rules (typically an expanded macro such as
  ``spawned_process and container``) is evaluated at most once per event and
  kept in a local variable;
- the operands of ``and``/``or`` that call something costly (closures,
  regexes, globs, address matching, gathered fields: :func:`_costly`) are
  evaluated after the cheap ones. The operands of ``and`` are further ranked
  (:func:`_conjunction_order`): shared sub-conditions first, then selective
  comparisons with literals, other operands, negations (exception lists);
  ``or`` keeps the rule's order. Conditions have no side effects and each leaf
  is a total function of the event, so the order does not change a result (an
  extractor that raises may now be reached where the written order stopped
  earlier: the rule still does not match, and the error is counted);
  nested conjunctions that are not shared are flattened into their parent
  first, so that a cheap test inside a macro can move ahead of an expensive one
  outside it;
- a field tested with ``icontains`` is lowered once per event;
- ``startswith`` a literal is two string comparisons (:func:`prefix_bounds`):
  ``str.startswith`` passes its arguments through a tuple and a format parser,
  about twice the cost; with several prefixes, the same two comparisons on
  the lowest and highest bound keep most values from calling it;
- operators without a cheap inline form call small closures built once here.

When many tests of the bucket compare one field with literals (``proc.name in
(shells)``, ``proc.name = find``, ...), the bucket is compiled once per group
of values that decide those tests alike, with the tests folded to constants
(:func:`secengine.lang.simplify.simplify` with a known value), and the bucket's
function reads that field and runs the code of its value's group, inlined in
the same function (no second call per event): most events then skip most rules
without testing anything (:func:`_dispatch_plan`, :class:`_Dispatch`).

For a long stream, :func:`compile_batch` puts the code of every bucket of a
source in one generated loop over a batch of events, chosen by the event's
type, so that an event costs no call of its own (the engine compiles it once
a source has served enough events to pay for compiling it).

A rule's position in the bucket is what the function returns: the first
matching index (``first`` mode, -1 for none), or the list of matching indexes.
Generated functions raise TypeError/AttributeError when an event's values do
not have the declared types; the engine then falls back to the interpreter.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

from secengine.events import MISSING, FieldValues
from secengine.lang import ops
from secengine.lang.fielddefs import FieldKind
from secengine.lang.interpreter import check_leaf, present_values
from secengine.lang.ir import IAnd, IBool, ICheck, IField, INot, IOr, Node
from secengine.lang.simplify import OTHER, fold_value, foldable_key, simplify

__all__ = [
    "BatchFunction",
    "BucketFunction",
    "compile_batch",
    "compile_bucket",
    "generation",
    "prefix_bounds",
]

BucketFunction = Callable[[Any], Any]


#: What the code emitted so far has assigned, at one point of a bucket function: the
#: per-event locals assigned on every path reaching it, and those assigned on some path.
_State = tuple[frozenset[str], frozenset[str]]
_START: _State = (frozenset(), frozenset())


def _merge(a: _State, b: _State) -> _State:
    """The state where two paths join: assigned on both, or on either."""
    return a[0] & b[0], a[1] | b[1]


def _assigned(st: _State, var: str) -> _State:
    return st[0] | {var}, st[1] | {var}


class _Emitter:
    """Turns IR nodes into Python expression text, collecting constants into a namespace.

    A per-event local (a field read or a shared sub-condition kept for later tests)
    is emitted in one of three forms, decided by where it is used (the
    :data:`_State` threaded through the short-circuit order of evaluation): the bare
    name where every path to that point has assigned it, ``(var := ...)`` where no
    path has, and where some paths have, the same assignment again for a field
    read (one C call) or ``(var if var is not None else (var := ...))`` for a
    shared sub-condition or gathered field (which may cost far more); only locals
    of that last kind are set to None at the top, for every event.
    """

    def __init__(
        self,
        shared: set[Node],
        bound: dict[str, str] | None = None,
        repeated: set[str] | frozenset[str] = frozenset(),
        prefix: str = "",
        subscript: bool = False,
    ) -> None:
        self.ns: dict[str, Any] = {"M": MISSING, "_present": present_values}
        #: read every field as ``f[key]`` (see :func:`compile_bucket`)
        self.subscript = subscript
        #: distinguishes the constants of functions sharing one namespace (dispatch groups)
        self.prefix = prefix
        #: field key → local variable holding its value, read once at the top
        self.bound = bound or {}
        #: read expressions emitted (counted, so that a second pass can cache repeated ones)
        self.reads: Counter[str] = Counter()
        #: read expressions that occur more than once: each gets a lazily set local
        self.repeated = repeated
        self.cached: dict[str, str] = {}
        #: keys of a multi-key field → the per-event local of their gathered values
        self.gathered: dict[tuple[str, ...], str] = {}
        #: field key → the per-event local of its value lowered (``icontains``)
        self.lowered: dict[str, str] = {}
        #: per-event locals used where they may or may not be assigned: set to None first
        self.unset: list[str] = []
        self._consts: dict[tuple[type, Any], str] = {}
        self._counter = itertools.count()
        self.shared = shared
        self.memo: dict[Node, str] = {}

    def const(self, value: Any) -> str:
        if value is None or isinstance(value, (str, int, bool)):
            return repr(value)
        key: tuple[type, Any] | None = (type(value), value)
        try:
            name = self._consts.get(key)  # type: ignore[arg-type]
        except TypeError:
            key, name = None, None
        if name is None:
            name = f"_k{self.prefix}{next(self._counter)}"
            self.ns[name] = value
            if key is not None:
                self._consts[key] = name
        return name

    def fn(self, func: Callable[..., Any]) -> str:
        name = f"_c{self.prefix}{next(self._counter)}"
        self.ns[name] = func
        return name

    def _once(
        self,
        var: str,
        st: _State,
        make: Callable[[_State], tuple[str, _State]],
        reread: bool = False,
    ) -> tuple[str, _State]:
        """``var``, computed by ``make`` on its first use on the path (see the class doc).

        With ``reread`` (a plain field read: one C call), a use where only some
        paths have assigned ``var`` reads again and assigns it, instead of testing
        it: the test saves a read only on the paths that made it, while setting
        the local to None first costs every event.
        """
        if var in st[0]:
            return var, st
        inner, after = make(st)
        if var not in st[1] or reread:
            return f"({var} := {inner})", _assigned(after, var)
        if var not in self.unset:
            self.unset.append(var)
        return (
            f"({var} if {var} is not None else ({var} := {inner}))",
            _assigned(_merge(st, after), var),
        )

    # -- boolean structure -------------------------------------------------------
    def expr(self, node: Node, st: _State = _START) -> tuple[str, _State, _State]:
        """The text of ``node`` and the states after it where it is true and where it is false."""
        if node in self.shared and not isinstance(node, IBool):
            var = self.memo.get(node)
            if var is None:
                var = self.memo[node] = f"_m{len(self.memo)}"
            if var in st[0]:
                return var, st, st
            raw, yes, no = self._raw(node, st)
            if var not in st[1]:
                return f"({var} := {raw})", _assigned(yes, var), _assigned(no, var)
            if var not in self.unset:
                self.unset.append(var)
            text = f"({var} if {var} is not None else ({var} := {raw}))"
            return text, _assigned(_merge(st, yes), var), _assigned(_merge(st, no), var)
        return self._raw(node, st)

    def _raw(self, node: Node, st: _State) -> tuple[str, _State, _State]:
        if isinstance(node, (IAnd, IOr)):
            conj = isinstance(node, IAnd)
            texts: list[str] = []
            exits: list[_State] = []  # where the operator stops early
            kids = self._flat(node)
            for c in _conjunction_order(kids, self.shared) if conj else self.ordered(kids):
                text, yes, no = self.expr(c, st)
                texts.append(text)
                exits.append(no if conj else yes)
                st = yes if conj else no
            stop = exits[0]
            for e in exits[1:]:
                stop = _merge(stop, e)
            joined = "(" + (" and " if conj else " or ").join(texts) + ")"
            return (joined, st, stop) if conj else (joined, stop, st)
        if isinstance(node, INot):
            text, yes, no = self.expr(node.child, st)
            return f"(not {text})", no, yes
        if isinstance(node, IBool):
            return ("True" if node.value else "False"), st, st
        text, st = self.check(node, st)
        return text, st, st

    def _flat(self, node: IAnd | IOr) -> list[Node]:
        """The operands of ``node``, with nested operands of the same kind lifted into it.

        A nested node shared between rules stays whole: it is evaluated once per
        event and kept, which lifting its operands would undo.
        """
        out: list[Node] = []
        for c in node.children:
            if isinstance(c, (IAnd, IOr)) and type(c) is type(node) and c not in self.shared:
                out.extend(self._flat(c))
            else:
                out.append(c)
        return out

    def conjuncts(self, node: Node) -> list[Node]:
        """The operands of a rule's condition in the order :meth:`expr` evaluates them
        (the node itself when it is not a conjunction, or one kept whole as shared)."""
        if isinstance(node, IAnd) and node not in self.shared:
            return _conjunction_order(self._flat(node), self.shared)
        return [node]

    def first_leaf(self, node: Node) -> Node:
        """The leaf :meth:`expr` evaluates first in ``node``, whatever the outcome."""
        while isinstance(node, (IAnd, IOr, INot)):
            if isinstance(node, INot):
                node = node.child
                continue
            kids = self._flat(node)
            order = _conjunction_order(kids, self.shared) if isinstance(node, IAnd) else None
            node = (order or self.ordered(kids))[0]
        return node

    @staticmethod
    def ordered(kids: list[Node]) -> list[Node]:
        """Cheap operands first, costly ones (:func:`_costly`) after; otherwise the rule's order."""
        return sorted(kids, key=_costly)

    # -- leaves -----------------------------------------------------------------------
    def read_key(self, key: str, st: _State, cache: bool = True) -> tuple[str, _State]:
        """The expression reading ``key`` (:func:`_read_text`).

        A read that occurs more than once in the bucket goes through a local set on first use.
        """
        text = _read_text(key, self.subscript)
        if not cache:
            return text, st
        self.reads[text] += 1
        if text not in self.repeated:
            return text, st
        var = self.cached.get(text)
        if var is None:
            var = self.cached[text] = f"_r{len(self.cached)}"
        return self._once(var, st, lambda s: (text, s), reread=True)

    def read(self, field: IField, st: _State, cache: bool = True) -> tuple[str, _State]:
        """The expression reading a field's value.

        Fields that stand for other keys read those directly: one key is an
        alias (``fd.snet`` tests ``fd.sip``); several are gathered once per
        event into a local list (``fd.ip``: both ends of the connection).
        """
        keys = field.rf.field.value_keys
        if len(keys) == 1:
            return self.read_key(keys[0], st, cache)
        if keys:
            var = self.gathered.get(keys)
            if var is None:
                var = self.gathered[keys] = f"_p{len(self.gathered)}"

            def gather(s: _State) -> tuple[str, _State]:
                texts = []
                for k in keys:
                    text, s = self.read_key(k, s)
                    texts.append(text)
                return "_present((" + ", ".join(texts) + ",))", s

            return self._once(var, st, gather)
        return self.read_key(field.rf.key, st, cache)

    def check(self, c: ICheck, st: _State) -> tuple[str, _State]:
        """A leaf's text (it reads its field once, first) and the state after it."""
        left = c.left
        if not isinstance(left, IField) or c.rhs is not None:
            return self._closure(c), st
        if _lowers(c, left):
            return self._icontains(c, left, st)
        bound = self.bound.get(left.rf.key)
        f, after = (bound, st) if bound is not None else self.read(left, st)
        text = self._compare(c, left, f)
        return (self._closure(c), st) if text is None else (text, after)

    def _icontains(self, c: ICheck, left: IField, st: _State) -> tuple[str, _State]:
        """``lit in value.lower()``, the value lowered once per event into a local.

        Falco's rules test one field against many words ignoring case
        (``proc.args icontains "begin private"`` or ...): each test lowered the
        value again. The local is set on first use (:meth:`_once`; where only some
        paths set it, it is lowered again). A value that is not a string raises
        AttributeError at its first lowering, as each test did.
        """
        key = left.rf.key
        var = self.lowered.get(key)
        if var is None:
            var = self.lowered[key] = f"_l{len(self.lowered)}"
        bound = self.bound.get(key)

        def lower(s: _State) -> tuple[str, _State]:
            f, after = (bound, s) if bound is not None else self.read(left, s)
            return f"{f}.lower()", after

        low, after = self._once(var, st, lower, reread=True)
        return f"({self.const(c.values[0].lower())} in {low})", after

    def _compare(self, c: ICheck, left: IField, f: str) -> str | None:
        """The text of leaf ``c`` comparing the value that expression ``f`` reads (once).

        None when the leaf has no inline form (then a closure evaluates it, reading by itself).
        """
        op = c.op
        if op == "exists":
            if left.any_of:
                return f"((_v := {f}) is not M and len(_v) > 0)"
            return f"((_v := {f}) is not M and _v is not None)"
        if (
            left.kind in (FieldKind.IP, FieldKind.NET)
            and c.modifier is None
            and op in ("=", "==", "!=", "in", "intersects")
            and not left.is_list
        ):
            m = self.fn(ops.ip_matcher(tuple(c.values), negate=op == "!=", many=left.any_of))
            return f"((_v := {f}) is not M and _v is not None and {m}(_v))"
        if left.kind in (FieldKind.IP, FieldKind.NET, FieldKind.BUFFER):
            return None
        if left.is_list or left.any_of:
            if op in ("in", "intersects") or (
                op in ("=", "==") and left.any_of and c.modifier is None
            ):
                s = self.const(frozenset(c.values))
                if left.is_list and op == "in":
                    return f"((_v := {f}) is not M and {s}.issuperset(_v))"
                return f"((_v := {f}) is not M and not {s}.isdisjoint(_v))"
            return None
        vals = c.values
        if c.modifier is not None:
            if c.modifier == "anyof" and op == "startswith":
                return self._startswith(f, vals)
            if c.modifier == "anyof" and op == "endswith":
                return f"{f}.{op}({self.const(tuple(vals))})"
            if c.modifier == "anyof" and op in ("=", "=="):
                return f"({f} in {self.const(frozenset(vals))})"
            return None
        if op in ("in", "intersects"):
            return f"({f} in {self.const(frozenset(vals))})"
        lit: Any = vals[0] if vals else None
        if op == "!=":
            # JSON null reads as missing: `!=` must be false for it, like for MISSING
            return f"((_v := {f}) != {self.const(lit)} and _v is not None)"
        if op in ("=", "==", "<", "<=", ">", ">="):
            pyop = "==" if op == "=" else op
            return f"({f} {pyop} {self.const(lit)})"
        if op == "startswith":
            return self._startswith(f, (lit,))
        if op == "endswith":
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
        return None

    def _startswith(self, f: str, prefixes: Sequence[Any]) -> str:
        """Whether the value of ``f`` starts with one of ``prefixes``.

        Two string comparisons cost half a call of ``str.startswith`` (its
        arguments go through a tuple and a format parser): one prefix is
        ``low <= v < high`` (:func:`prefix_bounds`); several call ``startswith``
        only for values between the lowest and the highest bound of them all,
        which the others (most values) fail with two comparisons.
        """
        bounds = [prefix_bounds(p) for p in prefixes]
        if not bounds or any(b is None for b in bounds):
            return f"{f}.startswith({self.const(tuple(prefixes))})"
        low = self.const(min(b[0] for b in bounds if b is not None))
        high = self.const(max(b[1] for b in bounds if b is not None))
        if len(bounds) == 1:
            return f"((_v := {f}) >= {low} and _v < {high})"
        return f"((_v := {f}) >= {low} and _v < {high} and _v.startswith({self.const(tuple(prefixes))}))"

    def _closure(self, c: ICheck) -> str:
        """Fallback for rare checks: evaluate this leaf with the reference semantics."""

        def leaf(fields: Any, _c: ICheck = c) -> bool:
            return check_leaf(_c, fields)

        return f"{self.fn(leaf)}(f)"


def _lowers(c: ICheck, left: IField) -> bool:
    """Whether leaf ``c`` is the inline ``icontains`` of :meth:`_Emitter._compare` (one
    string literal against a scalar field's value, lowered)."""
    return (
        c.op == "icontains"
        and c.modifier is None
        and not (left.is_list or left.any_of)
        and left.kind not in (FieldKind.IP, FieldKind.NET, FieldKind.BUFFER)
        and len(c.values) > 0
        and isinstance(c.values[0], str)
    )


def _read_text(key: str, subscript: bool) -> str:
    """``g(key, M)`` (``f.get``, a C call) unless a deriver may compute the key or
    ``subscript`` says every read must go through ``f[key]`` (and ``__missing__``).

    ``dict.get`` never runs ``__missing__``; event classes that compute every
    value lazily (live sources) therefore override ``get`` in Python, and there
    ``f[key]`` gives the same value one Python call sooner (see :func:`compile_bucket`).
    """
    if subscript or FieldValues.has_deriver(key):
        return f"f[{key!r}]"
    return f"g({key!r}, M)"


def prefix_bounds(prefix: Any) -> tuple[str, str] | None:
    """``(low, high)`` such that a string starts with ``prefix`` exactly when ``low <= s < high``.

    Strings compare by code point: those starting with ``prefix`` are the ones from
    ``prefix`` itself up to, not including, ``prefix`` with its last character
    replaced by the next code point. A value of another type makes the comparison
    raise TypeError, as ``startswith`` raised AttributeError (the engine falls back to
    the interpreter either way); :data:`MISSING` compares false. None for an empty
    prefix or one ending in the last code point, and for a literal that is not a string.
    """
    if not isinstance(prefix, str) or not prefix or prefix[-1] == "\U0010ffff":
        return None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


#: Operators compiled to a call of a closure or a compiled pattern.
_CALL_OPS = frozenset(("glob", "iglob", "regex", "pmatch"))


def _costly(node: Node) -> bool:
    """Whether evaluating ``node`` calls something that costs far more than a field read.

    Costly: a closure (a check with a transformer or ``val()``, or a rare
    operator form), a regex, glob or ``pmatch``, address matching, buffers, and
    fields gathered from several keys. Everything else (a read and an inline
    comparison) is cheap (:func:`_conjunction_order` ranks the cheap operands of
    ``and``; those of ``or`` keep the rule's order). ``and`` is costly when its first
    operand is (the rest runs only when that passes); ``or`` when any operand
    is (an alternative that does not hold, the common case, evaluates every one).
    """
    if isinstance(node, IBool):
        return False
    if isinstance(node, INot):
        return _costly(node.child)
    if isinstance(node, IAnd):
        return all(_costly(c) for c in node.children)
    if isinstance(node, IOr):
        return any(_costly(c) for c in node.children)
    left = node.left
    if not isinstance(left, IField) or node.rhs is not None:
        return True
    if (
        len(left.rf.field.value_keys) > 1
        or node.op in _CALL_OPS
        or left.kind in (FieldKind.IP, FieldKind.NET, FieldKind.BUFFER)
    ):
        return True
    if node.modifier is not None:
        return not (node.modifier == "anyof" and node.op in ("startswith", "endswith", "=", "=="))
    if left.is_list or left.any_of:
        return node.op not in ("in", "intersects", "=", "==", "exists")
    return False


#: Comparisons that few values pass (a literal equal to, in, inside or at an end of the value).
_SELECTIVE_OPS = frozenset(("=", "==", "in", "contains", "icontains", "startswith", "endswith"))


def _conjunction_order(kids: list[Node], shared: set[Node]) -> list[Node]:
    """The operands of ``and`` in the order they are evaluated: the likeliest to fail
    cheaply first.

    Conditions have no side effects and each leaf is a total function of the event,
    so any order gives the same answer; only the work done on events that fail
    differs, and most events fail. Without measurements the operands are ranked by
    their form:

    0. sub-conditions shared with other rules of the bucket (a macro such as
       ``open_read``): evaluated once per event and kept, they cost nothing where
       an earlier rule evaluated them, and rules that start with the same one nest
       under one ``if`` (:func:`_emit_rules`). The selective ones
       (:func:`_selective`: Falco's ``sensitive_files``, ``fd.name in (...) or
       fd.directory in (...)``) first, then the others, each in the rule's order;
    1. a cheap positive comparison with literals (``fd.nameraw contains ../``):
       few values pass it;
    2. other cheap operands: an ``or`` of alternatives (the ``etc_dir or
       user_ssh_directory or ...`` of Falco's directory-traversal rule) costs one
       test per alternative when it fails;
    3. negations: a rule's exception lists (``not proc.name in (...)``), which
       nearly every event passes;
    4. costly operands (:func:`_costly`).

    Within a rank, the rule's order.
    """
    return sorted(kids, key=lambda node: _and_rank(node, shared))


def _and_rank(node: Node, shared: set[Node]) -> float:
    if node in shared:
        return -0.5 if _selective(node) else 0
    if _costly(node):
        return 4
    if isinstance(node, INot):
        return 3
    if _selective_leaf(node):
        return 1
    return 2


def _selective_leaf(node: Node) -> bool:
    """A cheap positive comparison of a field with literals that few values pass."""
    return (
        isinstance(node, ICheck)
        and node.op in _SELECTIVE_OPS
        and node.modifier is None
        and isinstance(node.left, IField)
        and not _costly(node)
    )


def _selective(node: Node) -> bool:
    """Whether few events pass ``node``, judged by its form: a selective leaf, or an
    ``and``/``or`` of selective operands only (``fd.typechar = f`` looks selective and
    is not: an ``and`` with other operands, such as ``open_read``, is not counted)."""
    if isinstance(node, (IAnd, IOr)):
        return all(_selective(c) for c in node.children)
    return _selective_leaf(node)


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
            n.op in ("glob", "iglob", "regex", "pmatch", "icontains")
            or n.rhs is not None
            or n.modifier is not None
            or not isinstance(n.left, IField)
        ):
            counts[n] += 1

    for t in trees:
        walk(t)
    return {n for n, k in counts.items() if k > 1}


#: At most this many groups of values get a function of their own.
_MAX_GROUPS = 24
#: Only the keys with the most foldable tests are tried (each try simplifies every tree).
_CANDIDATES = 3
#: A dispatch must cut the tests of a typical event by at least this factor.
_MIN_GAIN = 0.6


def _leaves(trees: Sequence[Node]) -> int:
    """How many tests ``trees`` hold (a proxy for the cost of evaluating them)."""
    n = 0
    stack = list(trees)
    while stack:
        node = stack.pop()
        if isinstance(node, (IAnd, IOr)):
            stack.extend(node.children)
        elif isinstance(node, INot):
            stack.append(node.child)
        elif isinstance(node, ICheck):
            n += 1
    return n


def _foldable(trees: Sequence[Node]) -> dict[str, list[ICheck]]:
    """The tests of ``trees`` that a known value decides, by the key they read."""
    out: dict[str, list[ICheck]] = {}
    stack = list(trees)
    while stack:
        node = stack.pop()
        if isinstance(node, (IAnd, IOr)):
            stack.extend(node.children)
        elif isinstance(node, INot):
            stack.append(node.child)
        elif isinstance(node, ICheck):
            key = foldable_key(node)
            if key is not None:
                out.setdefault(key, []).append(node)
    return out


class _Plan:
    """Dispatch on the value of ``key``: ``groups`` maps each value-signature to its values."""

    __slots__ = ("groups", "key", "other", "trees")

    def __init__(
        self,
        key: str,
        groups: dict[tuple[bool, ...], list[Any]],
        trees: dict[tuple[bool, ...], list[Node]],
        other: tuple[bool, ...],
    ) -> None:
        self.key = key
        self.groups = groups
        self.trees = trees
        self.other = other


def _dispatch_plan(trees: Sequence[Node]) -> _Plan | None:
    """The field whose value, once known, removes the most tests from the bucket, if worth it.

    The values that the bucket's tests compare a key with are grouped by the
    outcomes they give those tests (every shell name gives the same ones); values
    outside every group give the outcomes of :data:`OTHER`. A key is worth a
    dispatch when its groups keep under ``_MIN_GAIN`` of the tests: the mean of
    the largest group and of the average one, since which values are common is
    not known here (most ``open`` events have ``fd.typechar = f``).
    """
    sizes_of = [_leaves((t,)) for t in trees]
    total = sum(sizes_of)
    per_tree = [_foldable((t,)) for t in trees]
    best: tuple[float, _Plan] | None = None
    candidates = sorted(_foldable(trees).items(), key=lambda kv: -len(kv[1]))[:_CANDIDATES]
    for key, tests in candidates:
        if len(tests) < 3:
            continue
        literals = dict.fromkeys(v for t in tests for v in t.values)
        other = tuple(fold_value(t, OTHER) for t in tests)
        groups: dict[tuple[bool, ...], list[Any]] = {}
        try:
            for v in literals:
                groups.setdefault(tuple(fold_value(t, v) for t in tests), []).append(v)
        except TypeError:  # a literal that is not hashable: no table of values
            continue
        if len(groups) > _MAX_GROUPS:
            continue
        # only the trees that test the key change; the others are shared by every group
        mentioning = [i for i, f in enumerate(per_tree) if key in f]
        specialised: dict[tuple[bool, ...], list[Node]] = {}
        sizes: list[int] = []
        for sig, vs in [*groups.items(), (other, [OTHER])]:
            ts = list(trees)
            for i in mentioning:
                ts[i] = simplify(trees[i], None, (key, vs[0] if sig != other else OTHER))
            specialised[sig] = ts
            sizes.append(total + sum(_leaves((ts[i],)) - sizes_of[i] for i in mentioning))
        score = (max(sizes) + sum(sizes) / len(sizes)) / 2
        if score <= _MIN_GAIN * total and (best is None or score < best[0]):
            best = (score, _Plan(key, groups, specialised, other))
    return None if best is None else best[1]


def compile_bucket(
    trees: Sequence[Node],
    *,
    all_matches: bool,
    catch_all_from: int | None = None,
    name: str = "bucket",
    subscript_reads: bool = False,
) -> BucketFunction:
    """One function evaluating ``trees`` in order for an event.

    With ``subscript_reads`` every field is read as ``fields[key]`` instead of
    ``fields.get(key, MISSING)``: the same value for any :class:`FieldValues`
    (an absent key without a deriver reads as MISSING either way), and cheaper
    for event classes whose ``get`` is a Python method (live sources compute
    every value on first read: their ``get`` calls ``__missing__`` itself).

    With ``all_matches`` it returns the list of matching indexes; rules from
    ``catch_all_from`` on run only if none before them matched (Falco skips
    its catch-all list once the per-type list matched). Otherwise it returns
    the first matching index, or -1.
    """
    try:  # buckets with the same trees (execve and execveat, the open family) share one function
        key: Hashable = (
            tuple(trees),
            all_matches,
            catch_all_from,
            frozenset(FieldValues.derivers),
            subscript_reads,
        )
        cached = _CACHE.get(key)
    except TypeError:  # a literal that cannot be hashed
        key, cached = None, None
    if cached is not None:
        return cached
    fn = _compile_bucket(trees, all_matches, catch_all_from, name, subscript_reads)
    if key is not None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = fn
    return fn


#: Compiled buckets by (trees, mode, catch-all split, keys that derivers compute): the
#: generated code depends on nothing else. Functions keep no state between calls.
_CACHE: dict[Hashable, BucketFunction] = {}
_CACHE_SIZE = 256


def _compile_bucket(
    trees: Sequence[Node],
    all_matches: bool,
    catch_all_from: int | None,
    name: str,
    subscript: bool = False,
) -> BucketFunction:
    """:func:`compile_bucket` without the cache."""
    plan = _dispatch_plan(trees)
    if plan is None:
        return _compile(trees, all_matches, catch_all_from, name, subscript)
    return _Dispatch(plan, list(trees), all_matches, catch_all_from, name, subscript).fn


class _Dispatch:
    """One function that reads the dispatch key and runs the code of its value's group.

    Group 0 holds the values outside every group; group 1 a missing or null
    value, which decides none of the folded tests as group 0 does (``!=`` is
    false for it), so it runs the unspecialised trees; groups 2... the values of
    ``plan.groups``. A group's code is emitted on its first event (an event
    stream meets few of them, and emitting one costs milliseconds) and runs as a
    function of its own, called from the bucket's. Once the bucket has served
    :data:`_INLINE_AFTER` events, its function is compiled again, once, with the
    code of the groups that served at least a sixteenth of them inline (saving a
    call per event), commonest first, and takes the old code's place: the function
    object stays the one the engine holds. Short runs and rare groups thus never
    pay for recompiling.
    """

    def __init__(
        self,
        plan: _Plan,
        trees: list[Node],
        all_matches: bool,
        catch_all_from: int | None,
        name: str,
        subscript: bool = False,
    ) -> None:
        self.subscript = subscript
        self.all_matches = all_matches
        self.catch_all_from = catch_all_from
        self.name = name
        self.key = plan.key
        self.trees: list[list[Node]] = [plan.trees[plan.other], trees]
        #: dispatch value → its group's index (values outside every group: absent)
        self.index: dict[Any, int] = {}
        for sig, ts in plan.trees.items():
            if sig != plan.other:
                self.index.update(dict.fromkeys(plan.groups[sig], len(self.trees)))
                self.trees.append(ts)
        # a missing or null value is group 1: in the table, so that one lookup decides
        self.index[MISSING] = self.index[None] = 1
        self.groups = [repr(plan.groups[sig]) for sig in plan.trees if sig != plan.other]
        #: emitted groups: index → (body lines, its own function, events it served)
        self.emitted: dict[int, tuple[list[str], BucketFunction, list[int]]] = {}
        #: groups whose code is inline in the bucket's function, commonest first
        self.inline: list[int] = []
        #: events evaluated by groups that are not inline
        self.served = 0
        #: makes this bucket's global names unique, so that a batch loop can inline its code
        self.prefix = _unique_prefix()
        self.table_name = f"_t{self.prefix}"
        self.other_name = f"_o{self.prefix}"
        self.ns: dict[str, Any] = {
            "M": MISSING,
            self.table_name: self.index.get,
            self.other_name: self.other,
        }
        self.fn: BucketFunction = self._build()

    def other(self, ev: Any, k: int) -> Any:
        """Evaluate ``ev`` with group ``k``, whose code is not inline (yet)."""
        found = self.emitted.get(k)
        if found is None:
            lines, ns = _emit(
                self.trees[k],
                self.all_matches,
                self.catch_all_from,
                prefix=f"{self.prefix}g{k}_",
                subscript=self.subscript,
            )
            self.ns.update(ns)
            name = f"{self.name}_{k}"
            found = self.emitted[k] = (lines, _define(name, lines, self.ns), [0])
        lines, fn, served = found
        served[0] += 1
        self.served += 1
        if self.served == _INLINE_AFTER:
            # once: recompiling costs about what compiling the groups did
            common = [i for i, e in self.emitted.items() if e[2][0] * 16 >= _INLINE_AFTER]
            self.inline = sorted(common, key=lambda i: -self.emitted[i][2][0])
            new = self._build()
            self.fn.__code__ = new.__code__
            self.fn.__secengine_source__ = new.__secengine_source__  # type: ignore[attr-defined]
            self.fn.__secengine_body__ = new.__secengine_body__  # type: ignore[attr-defined]
            _GENERATION[0] += 1  # batch loops that inline this bucket's code compile it again
        return fn(ev)

    def _build(self) -> BucketFunction:
        lines = [f"    k = {self.table_name}({_read_text(self.key, self.subscript)}, 0)"]
        for n, k in enumerate(self.inline):
            lines.append(f"    {'el' if n else ''}if k == {k}:")
            lines.extend("    " + line for line in self.emitted[k][0])
        lines.append(f"    {_RET}{self.other_name}(ev, k)")
        fn = _define(self.name, lines, self.ns)
        fn.__secengine_source__ += (  # type: ignore[attr-defined]
            "# groups 2...: " + ", ".join(self.groups) + "\n"
        )
        return fn


#: After this many events a dispatching bucket's function is recompiled with its common groups inline.
_INLINE_AFTER = 4096


def _header(name: str, body: Sequence[str]) -> list[str]:
    """The first lines of a bucket function; f, g (its bound get) and M (the sentinel)
    are locals: the cheapest loads there are. ``g`` only where ``body`` calls it
    (:func:`_calls_get`)."""
    head = [f"def {name}(ev, M=M):", "    f = ev.fields"]
    return [*head, "    g = f.get"] if _calls_get(body) else head


#: A call of ``g``, the bound ``get`` (a literal holding the text only costs the binding).
_GET_CALL = re.compile(r"(?<![\w.])g\(")


def _calls_get(body: Sequence[str]) -> bool:
    """Whether generated ``body`` reads a field through ``g``: a source whose values read
    through subscripts (:func:`compile_bucket`) does not, and binding ``f.get`` costs a
    method object per event (a Python method's, for the live source)."""
    return any(_GET_CALL.search(line) for line in body)


#: Marks where a body's code gives the bucket's answer (the value follows, up to the end of
#: the line): ``return`` in a bucket function; in a batch loop, see :func:`_answer_in_loop`.
#: ``repr`` escapes this character, so no literal in the code can contain it.
_RET = "\0"
#: Counts the bucket bodies that changed since they were compiled (a dispatching bucket
#: inlining its common groups): batch loops built before are compiled again.
_GENERATION = [0]
_PREFIXES = itertools.count()


def _unique_prefix() -> str:
    """A prefix making the global names of one compiled bucket unlike any other bucket's."""
    return f"b{next(_PREFIXES)}_"


def generation() -> int:
    """Changes whenever a bucket's body changes (see :func:`compile_batch`)."""
    return _GENERATION[0]


def _exec(source: str, name: str, ns: dict[str, Any]) -> Callable[..., Any]:
    code = compile(source, f"<secengine {name}>", "exec")
    exec(code, ns)  # noqa: S102 - the source is generated from checked IR, never from input text
    fn: Callable[..., Any] = ns.pop(name)
    fn.__secengine_source__ = source  # type: ignore[attr-defined]  # kept for debugging and tests
    return fn


def _define(name: str, body: list[str], ns: dict[str, Any]) -> BucketFunction:
    """The bucket function ``name`` running ``body`` (lines with :data:`_RET` marks), ``ns`` its globals.

    The body is kept on the function (``__secengine_body__``) for :func:`compile_batch`.
    """
    lines = [line.replace(_RET, "return ") for line in body]
    source = "\n".join(_header(name, body) + lines) + "\n"
    fn: BucketFunction = _exec(source, name, ns)
    fn.__secengine_body__ = body  # type: ignore[attr-defined]
    return fn


def _compile(
    trees: Sequence[Node],
    all_matches: bool,
    catch_all_from: int | None,
    name: str,
    subscript: bool = False,
) -> BucketFunction:
    """The function of one list of trees (see :func:`compile_bucket`)."""
    body, ns = _emit(trees, all_matches, catch_all_from, _unique_prefix(), subscript)
    return _define(name, body, ns)


def _emit_rules(
    em: _Emitter,
    rules: list[tuple[int, list[Node]]],
    st: _State,
    all_matches: bool,
    indent: str,
    body: list[str],
) -> _State:
    """Emit the tests of ``rules`` (index, conjuncts in evaluation order) into ``body``.

    Consecutive rules whose first conjunct is the same node (typically a macro
    such as ``open_read``) are nested under one ``if`` on it: when it fails,
    none of them is looked at again, and inside the block every local its
    evaluation assigned is known to be set, so later tests use it bare instead
    of reading or testing it again. The order of evaluation, and so every
    answer, is that of the rules one after the other. Returns the state after
    the last rule (where none matched, in ``first`` mode).
    """
    i = 0
    while i < len(rules):
        index, parts = rules[i]
        j = i + 1
        while (
            len(parts) > 1
            and j < len(rules)
            and len(rules[j][1]) > 1
            and rules[j][1][0] == parts[0]
        ):
            j += 1
        if j - i > 1:
            cond, yes, no = em.expr(parts[0], st)
            body.append(f"{indent}if {cond}:")
            rest = [(k, ps[1:]) for k, ps in rules[i:j]]
            st = _merge(no, _emit_rules(em, rest, yes, all_matches, indent + "    ", body))
        else:
            node = parts[0] if len(parts) == 1 else IAnd(tuple(parts)) if parts else IBool(True)
            cond, yes, no = em.expr(node, st)
            if cond == "False":
                pass
            elif all_matches:
                body.append(f"{indent}if {cond}: r.append({index})")
                st = _merge(yes, no)
            else:
                body.append(f"{indent}if {cond}: {_RET}{index}")
                st = no
        i = j
    return st


def _emit(
    trees: Sequence[Node],
    all_matches: bool,
    catch_all_from: int | None,
    prefix: str = "",
    subscript: bool = False,
) -> tuple[list[str], dict[str, Any]]:
    """The body of a function evaluating ``trees`` (it expects ``f``, ``g`` and ``M``), and its
    namespace (constants and closures, named with ``prefix``)."""
    # The first leaf (in the order of evaluation) of every rule runs for every event of
    # the bucket (only an earlier match can skip it), so its field is read once into a local.
    shared = _shared_subtrees(trees)
    order = _Emitter(shared)
    fields: dict[str, IField] = {}
    for t in trees:
        leaf = order.first_leaf(t)
        if isinstance(leaf, ICheck) and isinstance(leaf.left, IField):
            fields.setdefault(leaf.left.rf.key, leaf.left)
    bound = {key: f"_f{i}" for i, key in enumerate(fields)}
    # A first pass counts the reads of each field; the second emits the code, reading
    # those that occur more than once into a local on first use.
    counting = _Emitter(shared, bound, subscript=subscript)
    for t in trees:
        counting.expr(t)
    repeated = {r for r, n in counting.reads.items() if n > 1}
    em = _Emitter(shared, bound, repeated, prefix, subscript)
    st = _START
    first_reads: list[str] = []
    for key, var in bound.items():
        text, st = em.read(fields[key], st, False)
        first_reads.append(f"    {var} = {text}")
    body: list[str] = []
    rules = [(i, em.conjuncts(t)) for i, t in enumerate(trees)]
    split = len(rules) if not all_matches or catch_all_from is None else catch_all_from
    st = _emit_rules(em, rules[:split], st, all_matches, "    ", body)
    if split < len(rules):
        body.append(f"    if r: {_RET}r")  # also when the first catch-all rule folded away
        _emit_rules(em, rules[split:], st, all_matches, "    ", body)
    lines: list[str] = []
    if em.unset:
        lines.append("    " + " = ".join(em.unset) + " = None")
    lines.extend(first_reads)
    if all_matches:
        lines.append("    r = []")
    lines.extend(body)
    lines.append(f"    {_RET}r" if all_matches else f"    {_RET}-1")
    return lines, em.ns


#: Evaluates a batch's events (an iterator) until it ends (False) or until the caller must
#: compile the loop again (True: a bucket it does not inline was built). See :func:`compile_batch`.
BatchFunction = Callable[[Iterator[Any], list[Any]], bool]


class _Hit(Exception):  # a signal inside generated code, never seen outside it
    """Raised by a batch loop's code when an event matched (its answer is in ``_x``)."""


def _answer_in_loop(line: str, found: str) -> list[str]:
    """A body line with its answer (:data:`_RET`) rewritten for :func:`compile_batch`'s loop.

    No match (``-1``) goes on with the next event (``continue``); a match keeps its
    answer in ``_x`` and raises :class:`_Hit`, whose handler makes the alerts outside
    the ``try`` that catches the values the code cannot compare (so an error while
    making an alert is never mistaken for one of those). Matches are rare; an event
    that matches nothing pays for no test of its answer after the code.
    """
    head, mark, value = line.partition(_RET)
    if not mark:
        return [line]
    if value == "-1":
        return [f"{head}continue"]
    if value.isdigit():
        return [f"{head}_x = {value}; raise _H"]
    indent = head[: len(head) - len(head.lstrip())]
    lines = [f"{indent}_x = {value}", f"{indent}if {found}: raise _H", f"{indent}continue"]
    if head.strip():  # a one-line `if ...: ` before the answer becomes a block
        return [head.rstrip(), *("    " + text for text in lines)]
    return lines


def compile_batch(
    buckets: Sequence[BucketFunction], helpers: dict[str, Any], *, all_matches: bool, name: str
) -> BatchFunction:
    """One loop over a batch of events with the code of every bucket inline.

    A call of a bucket function per event costs about as much as a bucket's
    tests (a frame, its locals, the call and return, the bound ``get``); this
    loop runs the code of ``buckets`` (their ``__secengine_body__``) in place,
    bucket ``i`` for the events whose type the mapping ``_tk`` gives ``i``. The
    engine supplies ``helpers``: ``_src`` the loop's source, ``_tk`` (a live
    dict: the engine adds types to it), ``_slow(ev, out)`` evaluating an event of
    another source or an unknown type the ordinary way and answering whether the
    loop must be compiled again, ``_hit(result, ev, out)`` making the alerts of
    a match, ``_interp(ev)`` the interpreter's answer when the code raises
    (values of undeclared types), and ``_E`` the exceptions that mean that.
    The bodies' global names are unique per bucket (:func:`_unique_prefix`), so
    their namespaces merge.
    """
    ns: dict[str, Any] = {"M": MISSING, "_H": _Hit}
    for bucket in buckets:
        ns.update(bucket.__globals__)
    ns.pop("__builtins__", None)
    ns.update(helpers)
    found = "_x" if all_matches else "_x >= 0"
    lines = [
        f"def {name}(events, out, M=M):",
        "    for ev in events:",
        "        if ev.source != _src:",
        "            if _slow(ev, out): return True",
        "            continue",
        "        try:",
        "            _b = _tk[ev.type]",
        "        except KeyError:",
        "            if _slow(ev, out): return True",
        "            continue",
        "        f = ev.fields",
        *(["        g = f.get"] if any(_calls_get(b.__secengine_body__) for b in buckets) else []),  # type: ignore[attr-defined]
        "        try:",
    ]
    for i, bucket in enumerate(buckets):
        lines.append(f"            {'el' if i else ''}if _b == {i}:")
        for line in bucket.__secengine_body__:  # type: ignore[attr-defined]
            lines.extend(_answer_in_loop("            " + line, found))
    if not buckets:
        lines.extend(_answer_in_loop(f"            {_RET}_interp(ev)", found))
    lines += [
        "        except _H:",
        "            _hit(_x, ev, out)",
        "        except _E:",
        "            _x = _interp(ev)",
        f"            if {found}: _hit(_x, ev, out)",
        "    return False",
    ]
    loop: BatchFunction = _exec("\n".join(lines) + "\n", name, ns)
    return loop
