"""AlertRenderer: Falco's text line and alert JSON, and internal alerts as Falco's handle_msg."""

from __future__ import annotations

from typing import Any

import orjson

from secengine.alert import Alert
from secengine.output import AlertFormatter
from secengine.priority import Priority
from secengine.sinks.render import INTERNAL_SOURCE, AlertRenderer


def test_text_and_json_lines(alert: Any) -> None:
    a = alert()
    r = AlertRenderer(AlertFormatter(hostname="x"))
    assert r.line(a) == a.output.encode()
    j = r.with_json(True)
    assert j.json_output and not r.json_output
    assert r.with_json(None) is r
    assert j.line(a) == (
        b'{"hostname":"test-host","output":"16:17:57.882054739: Warning An open was seen '
        b'(command=cat /dev/null n=0)","output_fields":{"evt.time":1470327477882054739,"n":0,'
        b'"proc.cmdline":"cat /dev/null"},"priority":"Warning","rule":"open_from_cat",'
        b'"source":"syscall","tags":["filesystem","process"],"time":"2016-08-04T16:17:57.882054739Z"}'
    )


def test_internal_alert_has_no_tags_and_keeps_its_quoted_fields() -> None:
    msg = "Falco internal: syscall event drop. 3 system calls dropped in last second."
    a = Alert(
        rule="Falco internal: syscall event drop",
        priority=Priority.DEBUG,
        source=INTERNAL_SOURCE,
        time=1470327477882054739,
        output=f'16:17:57.882054739: Debug {msg} (n_drops="3")',
        output_fields={"n_drops": "3"},
        tags=(),
        hostname="h",
        message=msg,
    )
    r = AlertRenderer(json_output=True)
    obj = orjson.loads(r.line(a))
    assert obj == {
        "hostname": "h",
        "output": msg,
        "output_fields": {"n_drops": "3"},
        "priority": "Debug",
        "rule": "Falco internal: syscall event drop",
        "source": "internal",
        "time": "2016-08-04T16:17:57.882054739Z",
    }
    assert r.with_json(False).line(a).endswith(b'(n_drops="3")')
