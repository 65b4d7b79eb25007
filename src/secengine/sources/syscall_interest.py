"""What the syscall probe must capture for a set of rules: event types, and where it can do less.

The in-kernel interest map holds the union of the rules' event types
(:func:`rule_event_types`) plus the state set. On top of that, the probe can drop socket I/O (``sendto``,
``sendmsg``, ``recvfrom``, ``recvmsg``) on *stream* sockets before building
a record: a busy TCP server or client (redis, a web server) makes one such
call per request, and Falco's stable rules only look at datagram sockets
there (the ``outbound`` macro requires ``fd.l4proto != tcp`` for them).

Whether that is safe is decided from the loaded rules themselves, not from
a list: each rule that can see the event type is evaluated in three-valued
logic on an event of which only ``evt.type`` and ``fd.l4proto = tcp`` are
known (:func:`may_match`). If no rule can be true, stream sockets are
skipped for that type. The state tracker needs these calls only for
datagram sockets' addresses, so it loses nothing.

The same reasoning pushes down a second filter, *success only*
(:func:`success_only_types`): when no rule that can see an event type can be
true for a failed call, whatever the errno, the probe drops that type's
failures in the kernel (only for types whose failures the state tracker does
not need, ``syscalls.FAILURE_STATELESS``). Falco's ``fd.num >= 0`` in
``open_read`` and our ``evt.res = SUCCESS`` both prove it; a rule that looks
at ``evt.res = EACCES`` keeps failures coming. Every errno the kernel can
return at a syscall's exit is tried, so the answer holds for all of them.

A third, *netlink only* (:func:`netlink_only_types`): when no rule that can
see ``sendto`` or ``sendmsg`` can be true for a send on a socket that is not
netlink (``evt.netlink.proto`` missing), the probe drops every other send
in the kernel. The CVE pack's nf_tables and traffic-control rules read sends
only for netlink; without this, loading them brought every UDP and datagram
unix send of the node (DNS, syslog) to userspace.

A fourth, *failed writes only* (:func:`failed_write_only_types`): when no
rule that can see ``open`` or ``openat`` can be true for a failed open that
was not for writing (``evt.is_open_write`` false), whatever the errno, the
probe drops those failures in the kernel. The CVE pack's rules read refused
opens only for writing (``core_pattern``, ``release_agent``, an overlayfs
copy-up), so the success-only filter cannot apply with the pack loaded; this
one still drops the bulk of failed opens, the read-only lookups (ENOENT)
of library and PATH searches. It is path-aware: a rule that reads failed
read-only opens only of some paths as passed (``fd.nameraw`` or
``evt.arg.name`` with ``startswith``, ``glob``, ``pmatch``, ``=``, ``in``:
CVE-2024-21626's ``/proc/*/fd/*/*``) leaves the filter on, with those paths'
literal prefixes kept (``/proc/``). Checks of the resolved name (``fd.name``)
do not: the probe sees the path as passed (relative, ``..``, ``//``).

A fifth, *32-bit only* (:func:`compat_only_types`): when no rule that can see an event
type can be true for an x86_64 call (``evt.is_compat`` false), the probe leaves the x86_64
syscall out of its interest and captures only the ia32 one. CVE-2021-22555's rule reads
only 32-bit ``setsockopt`` (the compat x_tables path is the bug); without this, the
``setsockopt`` a TCP server makes on each connection it accepts (``TCP_NODELAY``,
keep-alive) all reached userspace. State types are never dropped (the tracker needs them).

Finally, :func:`priority_paths` collects the files and directories the rules
compare an open's ``fd.name``/``fd.directory`` with: opens of those are
priority records in the probe (kept ahead of bulk ones when the ring fills).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from secengine.bpf.layout import FAIL_PATH_DIRFD_RELATIVE
from secengine.bpf.syscalls import (
    COMPAT_BY_NR,
    FAILED_WRITE_FILTERABLE,
    NETLINK_FILTERABLE,
    STATE_EVENT_TYPES,
)
from secengine.events import MISSING
from secengine.fields.evt import errno_name
from secengine.lang.ir import IAnd, IBool, ICheck, IField, INot, IOr, Node
from secengine.lang.partial import may_match
from secengine.sources.base import rule_event_types

__all__ = [
    "DIRFD_RELATIVE",
    "compat_only_types",
    "failed_write_only_types",
    "may_match",
    "netlink_only_types",
    "priority_paths",
    "rule_event_types",
    "stream_skippable",
    "success_only_types",
]

_STREAM_IO = ("sendto", "sendmsg", "recvfrom", "recvmsg")
_OPENS = frozenset({"open", "openat", "openat2", "creat"})
#: Every errno a syscall can return at its exit: the standard ones and the kernel's internal
#: restart codes (ERESTARTSYS... 512-530), which the exit tracepoint sees before a restart.
_ERRNOS = (*range(1, 134), *range(512, 531))
#: What the fields of the file a failed open opened read: none was opened, so the probe found
#: nothing about it (``fd.is_outside_root``: the file's walk to the mount namespace's root),
#: except for a relative path given with a directory fd, whose directory the probe walks.
_FAILED_OPEN_FILE: dict[str, Any] = {"fd.is_outside_root": False}
#: The prefix that keeps failed opens relative to a directory fd (the probe's lookup key).
DIRFD_RELATIVE = FAIL_PATH_DIRFD_RELATIVE
#: The failed-open types the probe can tell a path relative to a directory fd for.
_DIRFD_OPENS = frozenset({"openat"})
#: Fields holding an open's path as passed, which the probe can compare with a prefix.
_RAW_PATH_FIELDS = frozenset({"fd.nameraw", "evt.arg.name"})
#: Operators whose every match starts with a literal prefix of the value (glob: up to its
#: first wildcard).
_PREFIX_OPS = frozenset({"=", "==", "in", "startswith", "pmatch", "glob"})
#: Fields naming the file an open refers to, and whether a value is a directory.
_PATH_FIELDS = {"fd.name": False, "fd.nameraw": False, "evt.arg.name": False, "fd.directory": True}


def stream_skippable(rules: Iterable[Any], source: str = "syscall") -> frozenset[str]:
    """The socket I/O event types no rule can match on a stream (TCP) socket."""
    rules = [r for r in rules if r.source == source]
    out = set()
    for evtype in _STREAM_IO:
        known = {"evt.type": evtype, "fd.l4proto": "tcp"}
        if all(
            may_match(r.checked.ir, known) is False
            for r in rules
            if r.evttypes is None or evtype in r.evttypes
        ):
            out.add(evtype)
    return frozenset(out)


def netlink_only_types(rules: Iterable[Any], source: str = "syscall") -> frozenset[str]:
    """The sends no rule can match unless their socket is a netlink socket."""
    rules = list(rules)
    out = set()
    for evtype in NETLINK_FILTERABLE:
        known = {"evt.type": evtype, "evt.netlink.proto": MISSING}
        if all(
            may_match(r.checked.ir, known) is False for r in _rules_seeing(rules, evtype, source)
        ):
            out.add(evtype)
    return frozenset(out)


def compat_only_types(rules: Iterable[Any], source: str = "syscall") -> frozenset[str]:
    """The event types no rule can match on an x86_64 call: only their ia32 call is wanted.

    Types some rule does not restrict (a rule with no event type sees every type) and the
    state types stay whole."""
    rules = list(rules)
    out = set()
    for evtype in {s.name for s in COMPAT_BY_NR.values()} - STATE_EVENT_TYPES:
        seeing = _rules_seeing(rules, evtype, source)
        known = {"evt.type": evtype, "evt.is_compat": False}
        if seeing and all(may_match(r.checked.ir, known) is False for r in seeing):
            out.add(evtype)
    return frozenset(out)


def _rules_seeing(rules: Iterable[Any], evtype: str, source: str) -> list[Any]:
    return [r for r in rules if r.source == source and (r.evttypes is None or evtype in r.evttypes)]


def _conditions_seeing(rules: Iterable[Any], evtype: str, source: str) -> list[Node]:
    return [r.checked.ir for r in _rules_seeing(rules, evtype, source)]


def _failure_may_match(
    conditions: list[Node],
    evtype: str,
    known_more: dict[str, Any],
    open_file: dict[str, Any] = _FAILED_OPEN_FILE,
) -> bool:
    """Whether one of ``conditions`` may be true for a failed ``evtype``, for some errno
    (an open's file reading ``open_file``)."""
    for e in _ERRNOS:
        known: dict[str, Any] = {
            "evt.type": evtype,
            "evt.res": errno_name(-e),
            "evt.rawres": -e,
            "evt.failed": True,
            **known_more,
        }
        if evtype in _OPENS:
            known["fd.num"] = -e  # an open's fd is its result
            known.update(open_file)
        if any(may_match(c, known) is not False for c in conditions):
            return True
    return False


def success_only_types(
    rules: Iterable[Any], candidates: Iterable[str], source: str = "syscall"
) -> frozenset[str]:
    """The ``candidates`` event types no rule can match when the call failed, for any errno."""
    rules = list(rules)
    return frozenset(
        evtype
        for evtype in candidates
        if not _failure_may_match(_conditions_seeing(rules, evtype, source), evtype, {})
    )


def failed_write_only_types(
    rules: Iterable[Any], source: str = "syscall"
) -> dict[str, frozenset[str]]:
    """The opens whose failed read-only calls (``evt.is_open_write`` false,
    ``evt.is_open_read`` true) the probe may drop, each with the path prefixes to keep
    (empty: drop them all). A type is left out when some rule may match such a failure
    whatever its path."""
    rules = list(rules)
    read_only = {"evt.is_open_write": False, "evt.is_open_read": True}
    out: dict[str, frozenset[str]] = {}
    for evtype in FAILED_WRITE_FILTERABLE:
        keep: set[str] = set()
        # each condition that may match such a failure, as it reads for a path starting
        # with none of the prefixes it names
        outside = [
            _outside_paths(c, keep)
            for c in _conditions_seeing(rules, evtype, source)
            if _failure_may_match([c], evtype, read_only, {})
        ]
        if not _failure_may_match(outside, evtype, read_only):
            # a relative path with a directory fd: its directory's walk is unknown here
            if evtype in _DIRFD_OPENS and _failure_may_match(outside, evtype, read_only, {}):
                keep.add(DIRFD_RELATIVE)
            out[evtype] = frozenset(keep)
    return out


def _literal_prefix(op: str, value: Any) -> str:
    """The text every path matching ``op value`` starts with ("" when none)."""
    if not isinstance(value, str):
        return ""
    if op == "glob":
        cut = min((i for i, c in enumerate(value) if c in "*?[\\"), default=len(value))
        return value[:cut]
    return value


def _outside_paths(node: Node, keep: set[str], positive: bool = True) -> Node:
    """``node`` with each check of an open's path as passed that only paths starting with a
    literal prefix can satisfy replaced by false, those prefixes added to ``keep``. Only
    where the check counts positively: under a ``not`` it stays unknown."""
    if isinstance(node, (IAnd, IOr)):
        children = tuple(_outside_paths(c, keep, positive) for c in node.children)
        return IAnd(children) if isinstance(node, IAnd) else IOr(children)
    if isinstance(node, INot):
        return INot(_outside_paths(node.child, keep, not positive))
    if (
        positive
        and isinstance(node, ICheck)
        and isinstance(node.left, IField)
        and node.left.key in _RAW_PATH_FIELDS
        and node.rhs is None
        and node.modifier is None
        and node.op in _PREFIX_OPS
        and node.values
    ):
        prefixes = [_literal_prefix(node.op, v) for v in node.values]
        if all(p.startswith("/") for p in prefixes):
            keep.update(prefixes)
            return IBool(False)
    return node


def _path_literals(node: Any, names: set[str], prefixes: set[str]) -> None:
    if isinstance(node, (IAnd, IOr)):
        for child in node.children:
            _path_literals(child, names, prefixes)
    elif isinstance(node, INot):
        _path_literals(node.child, names, prefixes)
    elif isinstance(node, ICheck) and isinstance(node.left, IField) and node.rhs is None:
        is_dir = _PATH_FIELDS.get(node.left.key)
        if is_dir is None:
            return
        for value in node.values:
            if not isinstance(value, str) or not value.startswith("/"):
                continue
            if is_dir and node.op in ("=", "==", "in"):
                prefixes.add(value.rstrip("/") + "/")
            elif node.op in ("=", "==", "in"):
                names.add(value)
            elif node.op in ("startswith", "pmatch"):
                prefixes.add(value)


def priority_paths(
    rules: Iterable[Any], source: str = "syscall"
) -> tuple[frozenset[str], frozenset[str]]:
    """(exact file names, path prefixes) that rules on opens compare the opened file with.

    Taken from checks of ``fd.name``, ``fd.nameraw``, ``evt.arg.name`` (``=``, ``in``:
    names; ``startswith``, ``pmatch``: prefixes) and ``fd.directory`` (a prefix). Negated
    checks count too: an exception naming a file still means a rule looks at it.
    """
    names: set[str] = set()
    prefixes: set[str] = set()
    for rule in rules:
        if rule.source != source:
            continue
        if rule.evttypes is not None and not rule.evttypes & _OPENS:
            continue
        _path_literals(rule.checked.ir, names, prefixes)
    return frozenset(names), frozenset(prefixes)
