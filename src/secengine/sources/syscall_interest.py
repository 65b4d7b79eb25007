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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from secengine.events import FieldValues
from secengine.lang.interpreter import _check
from secengine.lang.ir import IAnd, IBool, ICheck, IField, INot, IOr

__all__ = ["may_match", "rule_event_types", "stream_skippable"]

_STREAM_IO = ("sendto", "sendmsg", "recvfrom", "recvmsg")


def rule_event_types(rules: Iterable[Any], source: str = "syscall") -> frozenset[str] | None:
    """The event types ``source``'s rules need; None when one of them needs every type."""
    types: set[str] = set()
    for rule in rules:
        if rule.source != source:
            continue
        if rule.evttypes is None:
            return None
        types |= rule.evttypes
    return frozenset(types)


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
    if isinstance(node, ICheck) and isinstance(node.left, IField) and node.rhs is None \
            and node.left.key in known:
        try:
            return _check(node, FieldValues({node.left.key: known[node.left.key]}))
        except (TypeError, AttributeError, ValueError):
            return None
    return None


def stream_skippable(rules: Iterable[Any], source: str = "syscall") -> frozenset[str]:
    """The socket I/O event types no rule can match on a stream (TCP) socket."""
    rules = [r for r in rules if r.source == source]
    out = set()
    for evtype in _STREAM_IO:
        known = {"evt.type": evtype, "fd.l4proto": "tcp"}
        if all(may_match(r.checked.ir, known) is False for r in rules
               if r.evttypes is None or evtype in r.evttypes):
            out.add(evtype)
    return frozenset(out)
