"""The field-map event format (secengine.sources.fieldmap)."""

from __future__ import annotations

import pytest

from secengine.events import MISSING, Event
from secengine.sources.fieldmap import (
    FieldMapError,
    dumps_event,
    event_from_obj,
    parse_line,
    parse_time,
)


@pytest.mark.parametrize(
    "text, ns",
    [
        (1700000000000000000, 1700000000000000000),
        ("2023-11-14T22:13:20Z", 1700000000000000000),
        ("2023-11-14T22:13:20.123456789Z", 1700000000123456789),
        ("2023-11-14T22:13:20.5z", 1700000000500000000),
        ("2023-11-14t23:13:20.000000001+01:00", 1700000000000000001),
        ("2023-11-14T20:13:20-02:00", 1700000000000000000),
        ("2023-11-14 22:13:20.1234567891234Z", 1700000000123456789),  # extra digits dropped
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_parse_time(text: object, ns: int) -> None:
    assert parse_time(text) == ns


@pytest.mark.parametrize(
    "bad",
    [
        "2023-11-14T22:13:20",
        "2023-13-14T22:13:20Z",
        "2023-11-32T22:13:20Z",
        "2023-11-14T25:13:20Z",
        "yesterday",
        1.5,
        True,
        None,
        [],
    ],
)
def test_parse_time_rejects(bad: object) -> None:
    with pytest.raises(FieldMapError):
        parse_time(bad)


def test_parse_line() -> None:
    ev = parse_line(
        b'{"source":"k8s_audit","time":"2023-11-14T22:13:20Z",'
        b'"fields":{"ka.verb":"create","ka.req.pod.containers.image":["a","b"]}}',
        num=7,
    )
    assert isinstance(ev, Event)
    assert (ev.source, ev.ts, ev.num, ev.type) == ("k8s_audit", 1700000000000000000, 7, None)
    assert ev.fields["ka.req.pod.containers.image"] == ["a", "b"]
    assert ev.fields["ka.uri"] is MISSING


def test_default_source_and_type() -> None:
    ev = parse_line('{"time": 1, "fields": {"evt.type": "openat"}}', default_source="other")
    assert ev is not None and (ev.source, ev.type) == ("other", "openat")


def test_blank_lines_are_not_events() -> None:
    assert parse_line(b"") is None
    assert parse_line(b"  \r") is None


@pytest.mark.parametrize(
    "line, reason",
    [
        (b"{", "invalid JSON: "),
        (b"[1]", "an event must be a JSON object"),
        (b'{"time": 1}', 'missing "fields"'),
        (b'{"time": 1, "fields": [1]}', '"fields" must be an object'),
        (b'{"fields": {}}', 'missing "time"'),
        (b'{"time": "soon", "fields": {}}', '"time" must be an integer of nanoseconds'),
        (b'{"time": 1, "fields": {}, "source": 3}', '"source" must be a non-empty string'),
        (b'{"time": 1, "fields": {}, "source": ""}', '"source" must be a non-empty string'),
        (b'{"time": 1, "fields": {"a": "\xff"}}', "invalid JSON: "),
    ],
)
def test_malformed(line: bytes, reason: str) -> None:
    with pytest.raises(FieldMapError) as exc:
        parse_line(line)
    assert str(exc.value).startswith(reason)


def test_event_from_obj_accepts_decoded_objects() -> None:
    ev = event_from_obj({"time": 5, "fields": {"proc.name": "sh"}})
    assert ev.fields["proc.name"] == "sh"


def test_round_trip() -> None:
    ev = Event("syscall", 42, {"evt.type": "execve", "proc.aname[2]": "bash", "x": [1, 2]})
    back = parse_line(dumps_event(ev))
    assert back is not None
    assert (back.source, back.ts, dict(back.fields)) == (ev.source, ev.ts, dict(ev.fields))
