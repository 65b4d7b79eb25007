"""Check the field names and value types of hand-written events against the field catalog.

A typo in a test event (``proc.nmae: bash``) or a value of the wrong type
(``proc.tty: "34816"``) would otherwise make a condition silently false and a
negative case pass for the wrong reason. Events of a source the registry
does not know are not checked (their rules cannot load either).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from secengine.errors import ConditionCompileError
from secengine.fields.base import FieldKind
from secengine.fields.gen_event import TIME_FIELDS
from secengine.fields.registry import FieldRegistry

__all__ = ["field_problems"]

_KEY = re.compile(r"([^\[\]]+)(?:\[(.*)\])?\Z", re.DOTALL)

_KIND_WORDS = {
    FieldKind.STRING: "strings",
    FieldKind.NUMBER: "numbers",
    FieldKind.BOOL: "booleans (true/false)",
    FieldKind.IP: "IP addresses (strings)",
    FieldKind.NET: "IP networks (strings)",
    FieldKind.BUFFER: "strings",
}


def field_problems(
    source: str, fields: dict[str, Any], registry: FieldRegistry
) -> list[tuple[str, str]]:
    """``(key, what is wrong)`` for each bad field value of an event of ``source``."""
    if not registry.has_source(source):
        return []
    problems: list[tuple[str, str]] = []
    for key, value in fields.items():
        problem = _problem(source, key, value, registry)
        if problem is not None:
            problems.append((key, problem))
    return problems


def _problem(source: str, key: str, value: Any, registry: FieldRegistry) -> str | None:
    m = _KEY.match(key)
    if m is None:
        return f"{key!r} is not a field name"
    name, arg = m.group(1), m.group(2)
    if name in TIME_FIELDS:
        return f"{key!r} is computed from the event's 'time'; set 'time' instead"
    try:
        rf = registry.resolve(source, name, arg)
    except ConditionCompileError:
        if arg is not None and registry.lookup(source, name) is not None:
            return None  # an argument spelling the registry does not resolve (evt.arg[flags])
        return f"unknown field {key!r} for source {source!r}"
    kind = rf.kind
    if isinstance(value, list):
        if not rf.is_list:
            return f"field {key!r} holds one value, not a list"
        for item in value:
            bad = _type_problem(key, kind, item)
            if bad is not None:
                return bad
        return None
    return _type_problem(key, kind, value)


def _type_problem(key: str, kind: FieldKind, value: Any) -> str | None:
    ok: bool
    if kind is FieldKind.NUMBER:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is FieldKind.BOOL:
        ok = isinstance(value, bool)
    elif kind is FieldKind.IP:
        ok = isinstance(value, str) and _is_ip(value)
    elif kind is FieldKind.NET:
        ok = isinstance(value, str) and _is_net(value)
    else:
        ok = isinstance(value, str)
    if ok:
        return None
    hint = ""
    if kind in (FieldKind.STRING, FieldKind.BUFFER) and isinstance(value, (int, float, bool)):
        hint = " (quote it)"
    return f"field {key!r} holds {_KIND_WORDS[kind]}; got {_describe(value)}{hint}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_net(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
