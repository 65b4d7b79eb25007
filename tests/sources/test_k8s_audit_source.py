"""Audit payload decoding, timestamps, and the audit-file replay source."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from k8s_audit_cases import audit_event, simple

from secengine.errors import EventFormatError
from secengine.events import MISSING
from secengine.sources.k8s_audit import (
    MAX_EVENT_SIZE,
    AuditFieldValues,
    AuditPayloadError,
    K8sAuditFileSource,
    audit_events,
    decode_payload,
    make_event,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2024-05-02T10:15:30Z", 1714644930_000000000),
        ("2024-05-02T10:15:30.1Z", 1714644930_100000000),
        ("2024-05-02T10:15:30.123456Z", 1714644930_123456000),
        ("2024-05-02T10:15:30.123456789Z", 1714644930_123456789),
        ("2024-05-02T10:15:30.1234567891Z", 1714644930_123456789),
        ("2024-05-02T12:15:30.5+02:00", 1714644930_500000000),
        ("2024-05-02T05:45:30-04:30", 1714644930_000000000),
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_parse_timestamp(text: str, ns: int) -> None:
    assert parse_timestamp(text) == ns
    assert parse_timestamp(text) == ns  # cached seconds give the same answer


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-02 10:15:30Z",
        "2024-05-02T10:15:30",
        "2024-13-02T10:15:30Z",
        "2024-02-30T10:15:30Z",
        "2024-05-02T24:00:00Z",
        "yesterday",
        "",
        1714644930,
        None,
        "2024-05-02T10:15:30+25:00",
    ],
)
def test_bad_timestamps(text: Any) -> None:
    with pytest.raises(AuditPayloadError):
        parse_timestamp(text)


def test_make_event() -> None:
    doc = simple("get", "pods", "p", "default")
    ev = make_event(doc, 7)
    assert (ev.source, ev.num, ev.ts, ev.type) == ("k8s_audit", 7, 1714644930123456789, None)
    assert isinstance(ev.fields, AuditFieldValues) and ev.fields.doc is doc
    assert ev.fields["ka.verb"] == "get"
    assert ev.fields.get("ka.verb", MISSING) == "get"
    assert ev.fields.get("ka.nope") is None
    assert ev.fields["ka.nope"] is MISSING
    assert ev.fields["evt.source"] == "k8s_audit"
    assert ev.fields["evt.pluginname"] == "k8saudit"
    assert ev.fields["evt.rawtime"] == 1714644930123456789
    assert "ka.verb" in ev.fields  # cached after the first read


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "not a JSON object"),
        ({"kind": "Event", "auditID": "x"}, "no stageTimestamp"),
        ({"kind": "Event", "stageTimestamp": "now"}, "cannot parse stageTimestamp"),
    ],
)
def test_make_event_rejects(doc: Any, message: str) -> None:
    with pytest.raises(AuditPayloadError, match=message):
        make_event(doc)


def test_max_event_size() -> None:
    doc = audit_event(
        verb="create",
        resource="configmaps",
        name="big",
        namespace="d",
        request_object={"data": {"blob": "x" * MAX_EVENT_SIZE}},
    )
    with pytest.raises(AuditPayloadError, match="larger than maxEventSize"):
        make_event(doc, max_event_size=MAX_EVENT_SIZE)
    assert make_event(doc).fields["ka.target.name"] == "big"


def test_payload_shapes() -> None:
    a, b, c = (simple("get", "pods", n, "d") for n in "abc")
    assert audit_events(a) == [a]
    assert audit_events(
        {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": [a, b]}
    ) == [a, b]
    assert audit_events([a, {"kind": "EventList", "items": [b, c]}]) == [a, b, c]
    assert audit_events({"kind": "EventList", "items": []}) == []
    for bad in (
        {"kind": 0},
        {"kind": "Pod"},
        {"items": [a]},
        "text",
        3,
        None,
        {"kind": "EventList"},
    ):
        with pytest.raises(AuditPayloadError):
            audit_events(bad)


def test_decode_payload_keeps_the_good_events() -> None:
    good = simple("get", "pods", "p", "d")
    rejected: list[tuple[str, int]] = []
    events = decode_payload(
        [good, {"kind": 0}, dict(good, stageTimestamp=None), good],
        first_num=10,
        on_reject=lambda e, pos: rejected.append((str(e), pos)),
    )
    assert [e.num for e in events] == [10, 11]
    assert [pos for _, pos in rejected] == [1, 2]
    assert "data not recognized" in rejected[0][0]
    assert "stageTimestamp is not a string" in rejected[1][0]


# ---------------------------------------------------------------------------
# the file source
# ---------------------------------------------------------------------------


def _line(doc: Any) -> bytes:
    return orjson.dumps(doc) + b"\n"


def _read(
    *paths: Path | str, **kw: Any
) -> tuple[list[Any], list[EventFormatError], K8sAuditFileSource]:
    errors: list[EventFormatError] = []
    src = K8sAuditFileSource([str(p) for p in paths], on_error=errors.append, **kw)
    return list(src), errors, src


def test_jsonl_log_file(tmp_path: Path) -> None:
    docs = [simple("get", "pods", f"p{i}", "d") for i in range(5)]
    log = tmp_path / "audit.log"
    log.write_bytes(
        b"".join(_line(d) for d in docs[:2])
        + b"\n"
        + _line({"kind": "EventList", "items": docs[2:4]})
        + _line([docs[4]])
    )
    events, errors, src = _read(log)
    assert errors == []
    assert [e.fields["ka.target.name"] for e in events] == ["p0", "p1", "p2", "p3", "p4"]
    assert [e.num for e in events] == [1, 2, 3, 4, 5]
    assert (src.stats.files, src.stats.lines, src.stats.events, src.stats.rejected) == (1, 5, 5, 0)
    assert src.stats.bytes_read == src.stats.bytes_total == log.stat().st_size


def test_rejected_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    good = simple("get", "pods", "p", "d")
    log = tmp_path / "audit.log"
    log.write_bytes(
        _line(good)
        + b'{"kind": 0}\n'
        + _line({**good, "stageTimestamp": None})
        + b"{not json\n"
        + _line(dict(good, kind="Event"))
        + b"[1]\n"
    )
    events, errors, src = _read(log)
    assert len(events) == 2
    assert [(e.path, e.line) for e in errors] == [
        (str(log), 2),
        (str(log), 3),
        (str(log), 4),
        (str(log), 6),
    ]
    assert str(errors[0]).startswith(f"{log}:2: data not recognized as a k8s audit event")
    assert "stageTimestamp" in str(errors[1])
    assert "invalid JSON" in str(errors[2])
    assert "event 1:" in str(errors[3])
    assert src.stats.rejected == 4


def test_a_pretty_printed_event_list(tmp_path: Path) -> None:
    docs = [simple("delete", "secrets", f"s{i}", "d") for i in range(3)]
    path = tmp_path / "events.json"
    path.write_bytes(
        orjson.dumps(
            {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": docs},
            option=orjson.OPT_INDENT_2,
        )
    )
    events, errors, _ = _read(path)
    assert errors == [] and [e.fields["ka.target.name"] for e in events] == ["s0", "s1", "s2"]
    single = tmp_path / "event.json"
    single.write_bytes(b"\n" + orjson.dumps(docs[0], option=orjson.OPT_INDENT_2))
    events, errors, _ = _read(single)
    assert errors == [] and len(events) == 1


def test_a_broken_first_line_does_not_lose_the_rest(tmp_path: Path) -> None:
    good = simple("get", "pods", "p", "d")
    log = tmp_path / "audit.log"
    log.write_bytes(b'{"kind":"Event","auditID":\n' + _line(good) + _line(good))
    events, errors, _ = _read(log)
    assert len(events) == 2
    assert [(e.line, "invalid JSON" in str(e)) for e in errors] == [(1, True)]


def test_directory_gzip_and_stdin_names(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    d.mkdir()
    old, new = d / "audit-2024-05-01.log.gz", d / "audit.log"
    with gzip.open(old, "wb") as fh:
        fh.write(_line(simple("get", "pods", "first", "d")))
    new.write_bytes(_line(simple("get", "pods", "second", "d")))
    os.utime(old, (1_000_000, 1_000_000))
    (d / "sub").mkdir()
    events, errors, src = _read(d)
    assert errors == [] and src.stats.files == 2
    assert [e.fields["ka.target.name"] for e in events] == ["first", "second"]


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.log.gz"
    data = gzip.compress(b"".join(_line(simple("get", "pods", f"p{i}", "d")) for i in range(200)))
    path.write_bytes(data[: len(data) // 2])
    events, errors, _ = _read(path)
    assert errors and "unreadable input" in str(errors[-1])
    assert 0 < len(events) < 200


def test_unreadable_inputs_are_counted(tmp_path: Path) -> None:
    events, errors, src = _read(tmp_path / "missing.log")
    assert events == [] and src.unreadable and src.stats.rejected == 1
    assert "cannot open" in str(errors[0])


def test_batches_are_bounded(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"".join(_line(simple("get", "pods", f"p{i}", "d")) for i in range(10)))
    src = K8sAuditFileSource([str(log)], batch_size=4)
    assert [len(b) for b in src.batches()] == [4, 4, 2]
