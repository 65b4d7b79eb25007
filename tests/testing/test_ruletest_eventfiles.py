"""secengine.testing.eventfiles: event files by format (field-map, k8s audit logs), read strictly."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from secengine.errors import EventFormatError
from secengine.events import Event
from secengine.testing import eventfiles
from secengine.testing.eventfiles import (
    detect_format,
    event_formats,
    read_event_file,
    register_event_format,
)
from secengine.testing.runner import RuleTestRunner

AUDIT_EVENT = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "Request",
    "auditID": "a1",
    "stage": "ResponseComplete",
    "verb": "create",
    "requestURI": "/api/v1/namespaces/default/pods/web/exec?command=sh",
    "user": {"username": "alice"},
    "objectRef": {"resource": "pods", "namespace": "default", "name": "web", "subresource": "exec"},
    "responseStatus": {"code": 101},
    "stageTimestamp": "2024-05-14T09:00:00.000000Z",
}

K8S_RULES = """\
- rule: Exec into pod
  desc: someone ran a command in a pod
  condition: ka.verb = create and ka.target.subresource = exec
  output: exec by %ka.user.name into %ka.target.name
  priority: NOTICE
  source: k8s_audit
"""


def _fieldmap(*lines: str) -> bytes:
    return "\n".join(lines).encode() + b"\n"


def test_fieldmap_files_keep_lines_and_accept_gzip(tmp_path: Path) -> None:
    data = _fieldmap(
        '{"time": 1, "fields": {"evt.type": "execve"}}',
        "",
        '{"time": 2, "source": "k8s_audit", "fields": {"ka.verb": "get"}}',
    )
    plain = tmp_path / "e.jsonl"
    plain.write_bytes(data)
    packed = tmp_path / "e.jsonl.gz"
    packed.write_bytes(gzip.compress(data))
    for path in (plain, packed):
        events = read_event_file(path)
        assert [(line, ev.source, ev.ts, ev.num) for line, ev in events] == [
            (1, "syscall", 1, 1),
            (3, "k8s_audit", 2, 2),
        ]


def test_a_bad_line_is_an_error_not_a_skip(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(_fieldmap('{"time": 1, "fields": {}}', '{"fields": {}}'))
    with pytest.raises(EventFormatError, match=r"e\.jsonl:2: missing \"time\""):
        read_event_file(path)


def test_detect_format(tmp_path: Path) -> None:
    fm = tmp_path / "fm.jsonl"
    fm.write_bytes(_fieldmap("", '{"time": 1, "fields": {}}'))
    audit = tmp_path / "audit.log"
    audit.write_bytes(orjson.dumps(AUDIT_EVENT) + b"\n")
    assert detect_format(fm, "k8s_audit") == "fieldmap"
    assert detect_format(audit, "k8s_audit") == "k8s_audit"
    assert detect_format(audit, None) == "fieldmap"  # and the field-map reader then says why


def test_k8s_audit_logs(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    other = dict(AUDIT_EVENT, verb="get", auditID="a2")
    path.write_bytes(
        orjson.dumps(AUDIT_EVENT)
        + b"\n"
        + orjson.dumps({"kind": "EventList", "items": [other]})
        + b"\n"
    )
    events = read_event_file(path, "k8s_audit")
    assert [(line, ev.source) for line, ev in events] == [(None, "k8s_audit")] * 2
    assert events[0][1].fields["ka.verb"] == "create"
    path.write_bytes(b'{"kind": "Event"}\n')
    with pytest.raises(EventFormatError, match="audit.log:1: audit event has no stageTimestamp"):
        read_event_file(path, "k8s_audit")


def test_audit_files_in_rule_tests(tmp_path: Path) -> None:
    (tmp_path / "k8s_rules.yaml").write_text(K8S_RULES)
    (tmp_path / "audit.log").write_bytes(
        orjson.dumps(AUDIT_EVENT) + b"\n" + orjson.dumps(dict(AUDIT_EVENT, verb="get")) + b"\n"
    )
    (tmp_path / "k.ruletest.yaml").write_text("""\
rules_files: [k8s_rules.yaml]
cases:
  - name: exec from an audit log
    events: [{file: audit.log, source: k8s_audit}]
    expect:
      - rule: Exec into pod
        output: exec by alice into web
  - name: inline field-map events of the k8s_audit source
    events:
      - {source: k8s_audit, fields: {ka.verb: create, ka.target.subresource: exec,
                                     ka.user.name: bob, ka.target.name: db}}
      - {source: k8s_audit, fields: {ka.verb: get, ka.target.subresource: exec}}
    expect:
      - rule: Exec into pod
        output: exec by bob into db
  - name: wrong on purpose
    events: [{file: audit.log, format: k8s_audit}]
    expect: [{rule: Exec into pod, count: 2}]
""")
    result = RuleTestRunner().run([tmp_path])
    ok, inline, wrong = result.cases
    assert ok.passed, ok.report()
    assert inline.passed, inline.report()
    report = wrong.report()
    assert "rule 'Exec into pod' fired once, expected 2 times" in report
    assert "audit.log (event 2)" in report
    assert '"(document)":{"kind":"Event"' in report
    assert "ka.verb = create  ->  false" in report and 'ka.verb = "get"' in report


def test_register_event_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventfiles, "_registered", dict(eventfiles._registered))

    def read_lines(path: Path, source: str | None) -> list[tuple[int | None, Event]]:
        return [
            (i, Event(source or "syscall", i, {"evt.type": t}))
            for i, t in enumerate(path.read_text().split(), start=1)
        ]

    register_event_format("types", read_lines)
    register_event_format("types", read_lines)  # the same reader again is fine
    with pytest.raises(ValueError, match="already registered"):
        register_event_format("types", lambda p, s: [])
    assert "types" in event_formats()
    path = tmp_path / "t.txt"
    path.write_text("execve openat\n")
    assert [ev.type for _, ev in read_event_file(path, "types")] == ["execve", "openat"]
    with pytest.raises(EventFormatError, match="unknown event-file format 'nope'"):
        read_event_file(path, "nope")
