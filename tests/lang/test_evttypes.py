"""Event-type sets: and/or/not with De Morgan, neutral checks, evt.num invariants."""

from __future__ import annotations

import pytest

from secengine.lang import event_types, parse_condition
from secengine.lang.evttypes import event_type_set

CASES = [
    ("evt.type = open", {"open"}),
    ("evt.type in (open, openat)", {"open", "openat"}),
    ("evt.type in (open, openat) and proc.name = cat", {"open", "openat"}),
    ("evt.type = open or evt.type = close", {"open", "close"}),
    ("evt.type in (open, openat) and evt.type in (openat, openat2)", {"openat"}),
    ("(evt.type = open or proc.name = x) and evt.type = close", {"close"}),
    ("proc.name = cat", None),
    ("not proc.name = cat", None),
    ("evt.type != open", None),
    ("not evt.type = open", None),
    ("not evt.type != open", {"open"}),
    ("not (evt.type != open or evt.type != close)", set()),
    ("not (evt.type != open and evt.type != close)", {"open", "close"}),
    ("evt.type exists", None),
    ("not evt.type exists", set()),
    ("evt.num = 0", set()),
    ("evt.num != 0", None),
    ("evt.num < 1", set()),
    ("evt.num in (0)", set()),
    ("evt.num = 5", None),
    ("evt.type = open and evt.num = 0", set()),
    ("evt.type = open or evt.num = 0", {"open"}),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_event_types(text: str, expected: set[str] | None) -> None:
    got = event_types(parse_condition(text))
    assert got == (None if expected is None else frozenset(expected))


def test_complement_membership() -> None:
    s = event_type_set(parse_condition("evt.type != open"))
    assert "close" in s and "open" not in s
