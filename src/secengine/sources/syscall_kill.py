"""Which kill responses the probe can carry out itself, compiled into its kill rules.

A rule that asks for ``kill_process`` (its ``secengine_response`` plan, with
``in_kernel: auto``) is killed in the kernel when the probe can decide the
whole condition from the event alone, at the syscall's exit; every other
such rule falls back to the user-space response. Deciding means: the
condition is a conjunction (macros and exceptions expanded) whose every
part is one of

- ``evt.type`` (the rule's event types, which must all be syscalls the probe
  sees at sys_exit; ``evt.dir = <`` is always true there);
- ``proc.name`` ``=``/``in``/``!=``, or negated (the kernel's ``comm``);
- ``proc.exepath`` and, on opens, ``fd.name``: ``=``/``in``/``startswith``/
  ``pmatch``, or negated (the executable's / the opened file's path, taken
  from the kernel's dentries: canonical, so a symlink, ``..`` or a relative
  path reaches the same name);
- ``container.id = host`` / ``!= host`` (the probe: the task's mount
  namespace is the host's or not);
- on opens: success (``fd.num >= 0``, ``evt.failed = false``,
  ``evt.res = SUCCESS``, ``evt.rawres >= 0``), ``evt.is_open_read = true``,
  ``evt.is_open_write = true``, ``fd.typechar = f`` / ``fd.type = file``;
- a constant true.

Anything else (another field, an ``or`` of conditions, two checks of the same
name set, a path the probe's keys cannot hold) makes the rule user space's,
and :attr:`KillPlan.fallback` says why, in one sentence. Opens are judged by
the file they opened (the probe reads it from the fd the call returned), so a
failed open is never killed in the kernel: it read nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from secengine.bpf import layout as L
from secengine.bpf.kill import COMM_MAX, KillRule, PathSet
from secengine.bpf.syscalls import BY_NR, COMPAT_BY_NR
from secengine.errors import SecengineError
from secengine.lang.ir import IAnd, IBool, ICheck, IField, INot
from secengine.ruleset.model import Rule

__all__ = ["KillPlan", "NotDecidable", "compile_kill_rule", "kill_plan", "wants_kernel_kill"]

#: Paths the probe compares: an exact path keeps a byte for its NUL.
_PATH_MAX: Final = L.KILL_PATH
_SUCCESS: Final = {
    ("fd.num", ">=", 0),
    ("evt.failed", "=", False),
    ("evt.res", "=", "SUCCESS"),
    ("evt.rawres", ">=", 0),
}
#: checks that hold only for a file an open returned: the flag the probe tests
_OPEN_FACTS: Final = {
    ("evt.is_open_read", "=", True): L.KR_READ,
    ("evt.is_open_write", "=", True): L.KR_WRITE,
    ("fd.typechar", "=", "f"): L.KR_REG,
    ("fd.type", "=", "file"): L.KR_REG,
}
_EQ: Final = frozenset({"=", "=="})


class NotDecidable(SecengineError):
    """The probe cannot decide this rule's condition; the message says which part and why
    (the rule's kill is then user space's: :attr:`KillPlan.fallback`)."""


@dataclass(frozen=True, slots=True)
class KillPlan:
    """The rules the probe kills for (in slot order) and the kill rules left to user space."""

    rules: tuple[KillRule, ...] = ()
    #: rule name -> why the probe cannot decide it (user space responds instead)
    fallback: dict[str, str] = field(default_factory=dict)

    @property
    def in_kernel(self) -> frozenset[str]:
        """The names of the rules the probe kills for."""
        return frozenset(r.name for r in self.rules)

    def rule_named(self, rule_id: int) -> str | None:
        """The name of the rule whose kill records carry ``rule_id``."""
        for r in self.rules:
            if r.id == rule_id:
                return r.name
        return None


def wants_kernel_kill(rule: Rule) -> bool:
    """Whether ``rule`` asks for a kill the probe may do (``kill_process``, ``in_kernel: auto``)."""
    return rule.response is not None and rule.response.kernel_kill_candidate


def _conjuncts(node: Any) -> Iterable[Any]:
    if isinstance(node, IAnd):
        for child in node.children:
            yield from _conjuncts(child)
    else:
        yield node


def _keys(evttypes: frozenset[str] | None) -> tuple[frozenset[int], bool]:
    """(the entry keys of these event types, whether every one returns an fd: an open)."""
    if not evttypes:
        raise NotDecidable("it is not bound to event types (it would look at every syscall)")
    keys = {nr for nr, s in BY_NR.items() if s.name in evttypes}
    keys |= {L.MAX_SYSCALLS + nr for nr, s in COMPAT_BY_NR.items() if s.name in evttypes}
    seen = {s.name for s in BY_NR.values()} | {s.name for s in COMPAT_BY_NR.values()}
    missing = sorted(evttypes - seen)
    if missing:
        raise NotDecidable(
            f"its event types {', '.join(missing)} are not syscalls the probe sees at their exit"
        )
    specs = [BY_NR.get(k) or COMPAT_BY_NR.get(k - L.MAX_SYSCALLS) for k in keys]
    opens = all(s is not None and s.extras & L.X_FILE_RES for s in specs)
    return frozenset(keys), opens


def _key(check: ICheck) -> str:
    return check.left.key if isinstance(check.left, IField) else "a transformed value"


def _strings(check: ICheck) -> list[str]:
    if not all(isinstance(v, str) for v in check.values):
        raise NotDecidable(f"{_key(check)} {check.op} compares with a value that is no text")
    return list(check.values)


def _paths(check: ICheck) -> PathSet:
    """The exact paths and prefixes a positive path check accepts."""
    values = _strings(check)
    op = check.op
    if op in _EQ or op == "in":
        out = PathSet(exact=frozenset(values))
    elif op == "startswith":
        out = PathSet(prefixes=frozenset(values))
    elif op == "pmatch":
        out = PathSet(
            exact=frozenset(v.rstrip("/") or "/" for v in values),
            prefixes=frozenset(v.rstrip("/") + "/" for v in values),
        )
    else:
        raise NotDecidable(f"{_key(check)} {op} is not an operator the probe can compare with")
    for p in out.exact:
        if len(p.encode("utf-8", "surrogateescape")) + 1 > _PATH_MAX:
            raise NotDecidable(f"the path {p!r} is longer than the probe compares")
    for p in out.prefixes:
        if not p or len(p.encode("utf-8", "surrogateescape")) > _PATH_MAX:
            raise NotDecidable(f"the prefix {p!r} is empty or longer than the probe compares")
    return out


class _Builder:
    """The parts of one kill rule, filled conjunct by conjunct."""

    def __init__(self, opens: bool) -> None:
        self.opens = opens
        self.flags = 0
        self.sets: dict[str, Any] = {}

    def set_once(self, name: str, value: Any, what: str) -> None:
        if name in self.sets:
            raise NotDecidable(f"it checks {what} twice (the probe holds one set per check)")
        self.sets[name] = value

    def fact(self, flag: int, what: str) -> None:
        if not self.opens:
            raise NotDecidable(f"{what} is decided in the probe only on opens")
        self.flags |= flag

    def leaf(self, node: Any, negated: bool = False) -> None:
        if isinstance(node, IBool):
            if node.value != negated:
                return
            raise NotDecidable("its condition is constantly false")
        if isinstance(node, INot) and not negated:
            self.leaf(node.child, negated=True)
            return
        if not (
            isinstance(node, ICheck)
            and isinstance(node.left, IField)
            and node.rhs is None
            and node.modifier is None
            and not node.left.any_of
        ):
            raise NotDecidable(f"a part of its condition ({type(node).__name__}) is not a check")
        key, op = node.left.key, node.op
        if op == "!=":
            negated, op = not negated, "="
        if key == "evt.type":
            return  # exactly the rule's event types, which the probe's keys hold
        if key == "evt.dir" and op in _EQ and not negated and node.values == ("<",):
            return  # the probe decides at exit
        if key == "container.id" and op in _EQ and node.values == ("host",):
            self.flags |= L.KR_CONTAINER if negated else L.KR_HOST
            return
        if not negated and len(node.values) == 1:
            probe = (key, "=" if op in _EQ else op, node.values[0])
            if probe in _SUCCESS:
                self.fact(L.KR_SUCCESS, f"{key} {op} {node.values[0]}")
                return
            if probe in _OPEN_FACTS:
                self.fact(_OPEN_FACTS[probe], f"{key} {op} {node.values[0]}")
                return
        if key == "proc.name" and (op in _EQ or op == "in"):
            names = frozenset(_strings(node))
            if negated:
                self.set_once("not_comms", frozenset(n for n in names if len(n) <= COMM_MAX), key)
                return
            fits = frozenset(n for n in names if len(n.encode()) <= COMM_MAX)
            if not fits:
                raise NotDecidable("proc.name is compared only with names longer than a comm")
            self.set_once("comms", fits, key)
            return
        if key == "proc.exepath":
            self.set_once("not_exes" if negated else "exes", _paths(node), key)
            return
        if key == "fd.name":
            if not self.opens:
                raise NotDecidable("fd.name is decided in the probe only on opens")
            self.set_once("not_files" if negated else "files", _paths(node), key)
            if not negated:
                self.flags |= L.KR_SUCCESS
            return
        raise NotDecidable(f"{'not ' if negated else ''}{key} {op} is not decidable in the probe")


def compile_kill_rule(rule: Rule, rule_id: int, dry_run: bool = False) -> KillRule:
    """The probe's form of ``rule`` (which asks for a kill); raises :class:`NotDecidable`."""
    if rule.source != "syscall":
        raise NotDecidable(f"it is a {rule.source} rule, not a syscall one")
    keys, opens = _keys(rule.evttypes)
    b = _Builder(opens)
    for part in _conjuncts(rule.checked.ir):
        b.leaf(part)
    if b.flags & L.KR_CONTAINER and b.flags & L.KR_HOST:
        raise NotDecidable("it asks for a container and the host at once")
    return replace(
        KillRule(id=rule_id, name=rule.name, keys=keys),
        flags=b.flags | (L.KR_DRY_RUN if dry_run else 0),
        **b.sets,
    )


def kill_plan(rules: Iterable[Rule], first_id: int = 1) -> KillPlan:
    """Compile every rule that asks for an in-kernel kill; the first ``layout.KILL_RULES``
    decidable ones go to the probe (ids from ``first_id``), the rest to user space."""
    out: list[KillRule] = []
    fallback: dict[str, str] = {}
    for rule in rules:
        if not wants_kernel_kill(rule):
            continue
        dry_run = rule.response is not None and rule.response.dry_run
        try:
            compiled = compile_kill_rule(rule, first_id + len(out), dry_run)
        except NotDecidable as e:
            fallback[rule.name] = f"the probe cannot decide it: {e}"
            continue
        if len(out) >= L.KILL_RULES:
            fallback[rule.name] = f"the probe holds {L.KILL_RULES} kill rules and they are taken"
            continue
        out.append(compiled)
    return KillPlan(tuple(out), fallback)
