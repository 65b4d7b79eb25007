"""The Alert value object (secengine.alert)."""

from __future__ import annotations

import pickle

import pytest

from secengine.alert import Alert
from secengine.priority import Priority


def _alert(**kw: object) -> Alert:
    base: dict[str, object] = {
        "rule": "r",
        "priority": Priority.WARNING,
        "source": "syscall",
        "time": 1,
        "output": "o",
        "output_fields": {"evt.time": 1},
        "tags": ("a", "b"),
        "hostname": "h",
        "message": "m",
    }
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


def test_slotted() -> None:
    a = _alert()
    assert not hasattr(a, "__dict__")
    with pytest.raises(AttributeError):
        a.extra = 1  # type: ignore[attr-defined]


def test_equality_and_pickle() -> None:
    a = _alert()
    assert a == _alert()
    assert a != _alert(rule="other")
    assert pickle.loads(pickle.dumps(a)) == a
