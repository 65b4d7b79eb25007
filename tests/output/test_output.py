"""Output templates and Falco's alert text/JSON (secengine.output).

A small fake field registry keeps these tests independent of the real field
catalog: it declares just the shapes the formatter must handle (plain,
indexed, keyed, dotted, list, bool, number, filter-only, time fields).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from secengine.errors import OutputFormatError
from secengine.events import Event
from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldType
from secengine.fields.registry import FieldRegistry
from secengine.output import (
    AlertFormatter,
    OutputFormat,
    escape_line,
    json_value,
    render_value,
)
from secengine.priority import Priority

TS = 1470327477881781397  # 2016-08-04T16:17:57.881781397Z, Falco's own test capture


def _registry() -> FieldRegistry:
    generic = FieldClass(
        "evt",
        "generic",
        (),
        (
            FieldDef("evt.time", FieldType.CHARBUF, "time"),
            FieldDef("evt.time.iso8601", FieldType.CHARBUF, "iso time"),
            FieldDef("evt.datetime", FieldType.CHARBUF, "datetime"),
            FieldDef("evt.rawtime", FieldType.ABSTIME, "raw time"),
            FieldDef("evt.rawtime.ns", FieldType.ABSTIME, "raw ns"),
            FieldDef("evt.reltime", FieldType.RELTIME, "relative to the first event"),
        ),
        generic=True,
    )
    sys = FieldClass(
        "sys",
        "syscall test fields",
        ("syscall",),
        (
            FieldDef("evt.type", FieldType.CHARBUF, "type"),
            FieldDef(
                "evt.arg",
                FieldType.CHARBUF,
                "arg",
                arg=ArgMode.REQUIRED,
                arg_key=True,
                dotted_arg=True,
            ),
            FieldDef("proc.name", FieldType.CHARBUF, "name"),
            FieldDef("proc.cmdline", FieldType.CHARBUF, "cmdline"),
            FieldDef(
                "proc.aname",
                FieldType.CHARBUF,
                "ancestor",
                arg=ArgMode.OPTIONAL,
                arg_index=True,
                any_without_index=True,
            ),
            FieldDef("proc.env", FieldType.CHARBUF, "env", arg=ArgMode.OPTIONAL, arg_key=True),
            FieldDef("proc.tty", FieldType.UINT32, "tty"),
            FieldDef("fd.name", FieldType.FSPATH, "fd name"),
            FieldDef("fd.num", FieldType.INT64, "fd num"),
            FieldDef("fd.net", FieldType.IPNET, "net", filter_only=True),
            FieldDef("fd.connected", FieldType.BOOL, "connected"),
            FieldDef("evt.buffer", FieldType.BYTEBUF, "buffer"),
            FieldDef("thread.cap_list", FieldType.CHARBUF, "caps", is_list=True),
        ),
    )
    k8s = FieldClass(
        "ka", "audit test fields", ("k8s_audit",), (FieldDef("ka.verb", FieldType.CHARBUF, "verb"),)
    )
    return FieldRegistry([generic, sys, k8s])


REG = _registry()


def compile_(fmt: str, source: str = "syscall") -> OutputFormat:
    return OutputFormat.compile(fmt, source, REG)


def ev(fields: dict[str, Any], ts: int = TS) -> Event:
    return Event("syscall", ts, fields)


# --- parsing -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt, fields, expected",
    [
        ("plain text", {}, "plain text"),
        ("name=%proc.name", {"proc.name": "cat"}, "name=cat"),
        ("(%proc.name)", {"proc.name": "cat"}, "(cat)"),
        ("%fd.name, next", {"fd.name": "/etc/shadow"}, "/etc/shadow, next"),
        ("%proc.name.", {"proc.name": "cat"}, "cat."),
        ("%proc.name.extra", {"proc.name": "cat"}, "cat.extra"),
        ("%proc.aname[2] x", {"proc.aname[2]": "bash"}, "bash x"),
        ("%proc.env[HOME]", {"proc.env[HOME]": "/root"}, "/root"),
        ('%proc.env["HOME"]', {"proc.env[HOME]": "/root"}, "/root"),
        ("%evt.arg.flags", {"evt.arg.flags": "O_RDONLY"}, "O_RDONLY"),
        ("%evt.arg[flags]", {"evt.arg[flags]": "O_RDONLY"}, "O_RDONLY"),
        ("%proc.name[x]", {"proc.name": "cat"}, "cat[x]"),
        ("%proc.aname[oops", {"proc.aname": ["sh", "init"]}, "sh init[oops"),
        ("*%proc.name", {"proc.name": "cat"}, "cat"),
        ("%proc.name%fd.name", {"proc.name": "a", "fd.name": "b"}, "ab"),
        ("100%s", {}, None),  # '%s' is not a field: error, checked below
    ],
)
def test_tokens(fmt: str, fields: dict[str, Any], expected: str | None) -> None:
    if expected is None:
        with pytest.raises(OutputFormatError):
            compile_(fmt)
        return
    assert compile_(fmt).render(ev(fields)) == expected


@pytest.mark.parametrize(
    "fmt, message",
    [
        ("", "empty formatting token"),
        ("ends with %", "invalid formatting syntax: formatting cannot end with a %"),
        ("width %20", "invalid formatting syntax: formatting cannot end with a number"),
        ("%(proc.name)", "unknown filter: unexpected token after '"),
        ("%nope.field", "unknown filter: unexpected token after '"),
        ("%%proc.name", "unknown filter: unexpected token after '"),
        ("%fd.net", "unknown filter: unexpected token after '"),  # filter-only
        ("%tolower(proc.tty)", "unknown filter: unexpected token after '"),  # type mismatch
        ("%tolower(proc.name", "unknown filter: unexpected token after '"),
        ('%join(",", (proc.name))', "unknown filter: unexpected token after '"),
    ],
)
def test_errors(fmt: str, message: str) -> None:
    with pytest.raises(OutputFormatError) as exc:
        compile_(fmt)
    assert str(exc.value) == message


def test_fields_are_resolved_per_source() -> None:
    with pytest.raises(OutputFormatError):
        compile_("%proc.name", source="k8s_audit")
    fmt = compile_("%evt.time %ka.verb", source="k8s_audit")
    assert [f.name for f in fmt.fields] == ["evt.time", "ka.verb"]


def test_fields_in_order_without_duplicates() -> None:
    fmt = compile_("%proc.name %fd.name %proc.name %tolower(proc.cmdline) %evt.arg.flags")
    assert [f.key for f in fmt.fields] == ["proc.name", "fd.name", "proc.cmdline", "evt.arg.flags"]


# --- rendering ---------------------------------------------------------------


def test_missing_renders_na() -> None:
    assert compile_("a=%proc.name b=%fd.name").render(ev({"proc.name": "x"})) == "a=x b=<NA>"


def test_width_pads_and_truncates() -> None:
    fmt = compile_("[%6proc.name][%2fd.name]")
    assert fmt.render(ev({"proc.name": "cat", "fd.name": "/etc"})) == "[cat   ][/e]"
    assert fmt.render(ev({})) == "[<NA>  ][<N]"


@pytest.mark.parametrize(
    "value, text",
    [
        ("s", "s"),
        (7, "7"),
        (-1, "-1"),
        (True, "true"),
        (False, "false"),
        (["a", "b"], "(a,b)"),
        ([], "()"),
        (1.25, "1.2"),
        (b"ab\xff", "ab\ufffd"),
    ],
)
def test_render_value(value: Any, text: str) -> None:
    assert render_value(value) == text


def test_list_field_and_any_ancestor() -> None:
    fmt = compile_("%thread.cap_list %proc.aname")
    e = ev({"thread.cap_list": ["CAP_CHOWN", "CAP_KILL"], "proc.aname": ["sh", "init"]})
    assert fmt.render(e) == "(CAP_CHOWN,CAP_KILL) sh init"
    assert fmt.values(e) == {"thread.cap_list": ["CAP_CHOWN", "CAP_KILL"], "proc.aname": "sh init"}


def test_transformers() -> None:
    fmt = compile_(
        "%toupper(proc.name) %tolower(fd.name) %basename(fd.name) %len(fd.name) "
        "%b64(evt.buffer) %len(thread.cap_list) %toupper(basename(fd.name))"
    )
    e = ev(
        {
            "proc.name": "Cat",
            "fd.name": "/Etc/Shadow",
            "evt.buffer": b"aGVsbG8=",
            "thread.cap_list": ["A", "B", "C"],
        }
    )
    assert fmt.render(e) == "CAT /etc/shadow Shadow 11 hello 3 SHADOW"
    # transformer results are not output fields; their inner fields are
    assert fmt.values(e) == {
        "proc.name": "Cat",
        "fd.name": "/Etc/Shadow",
        "evt.buffer": "aGVsbG8=",
        "thread.cap_list": ["A", "B", "C"],
    }
    assert compile_("%toupper(proc.name)").render(ev({})) == "<NA>"


def test_values_are_typed() -> None:
    fmt = compile_("%proc.name %proc.tty %fd.connected %fd.num %fd.name %evt.time %evt.rawtime.ns")
    e = ev({"proc.name": "cat", "proc.tty": 34816, "fd.connected": True, "fd.num": -1})
    assert fmt.values(e) == {
        "proc.name": "cat",
        "proc.tty": 34816,
        "fd.connected": True,
        "fd.num": -1,
        "fd.name": None,
        "evt.time": TS,
        "evt.rawtime.ns": 881781397,
    }


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ([1, "a"], [1, "a"]),
        ((1, 2), [1, 2]),
        (b"x", "x"),
        (3.5, 3.5),
    ],
)
def test_json_value(value: Any, expected: Any) -> None:
    assert json_value(value) == expected


# --- time fields -------------------------------------------------------------


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def tz_plus2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "EET-2")  # fixed UTC+2, no DST rule
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_time_fields_utc(utc: None) -> None:
    fmt = compile_("%evt.time|%evt.time.iso8601|%evt.datetime|%evt.rawtime|%evt.rawtime.ns")
    assert fmt.render(ev({})) == (
        "16:17:57.881781397|2016-08-04T16:17:57.881781397+0000|"
        "2016-08-04 16:17:57.881781397|1470327477881781397|881781397"
    )
    assert fmt.values(ev({})) == {
        "evt.time": TS,
        "evt.time.iso8601": TS,
        "evt.datetime": TS,
        "evt.rawtime": TS,
        "evt.rawtime.ns": 881781397,
    }


def test_reltime_is_missing_without_a_capture_start() -> None:
    fmt = compile_("rel=%evt.reltime")
    assert fmt.render(ev({})) == "rel=<NA>"
    assert fmt.values(ev({})) == {"evt.reltime": None}


def test_time_fields_local(tz_plus2: None) -> None:
    fmt = compile_("%evt.time %evt.time.iso8601")
    assert fmt.render(ev({})) == "18:17:57.881781397 2016-08-04T16:17:57.881781397+0000"


# --- alerts ------------------------------------------------------------------


class _Rule:
    def __init__(
        self,
        output: str,
        *,
        name: str = "open_from_cat",
        priority: Priority = Priority.WARNING,
        tags: tuple[str, ...] = ("testing", "filesystem", "process"),
    ) -> None:
        self.name = name
        self.priority = priority
        self.source = "syscall"
        self.tags = frozenset(tags)
        self.output_format = compile_(output)


OPEN = ev({"proc.cmdline": "cat /dev/null", "evt.type": "openat"}, ts=1470327477882054739)


def test_alert_text_like_falco(utc: None) -> None:
    f = AlertFormatter(hostname="h")
    alert = f.make_alert(_Rule("An open was seen (command=%proc.cmdline)"), OPEN)
    assert f.text(alert) == "16:17:57.882054739: Warning An open was seen (command=cat /dev/null)"
    assert alert.message == "An open was seen (command=cat /dev/null)"
    assert alert.tags == ("filesystem", "process", "testing")
    assert alert.output_fields == {"proc.cmdline": "cat /dev/null", "evt.time": 1470327477882054739}


def test_alert_json_like_falco_head(utc: None) -> None:
    f = AlertFormatter(hostname="h")
    alert = f.make_alert(_Rule("An open was seen (command=%proc.cmdline)"), OPEN)
    # The HEAD example of spec §3, byte for byte.
    assert f.json(alert) == (
        b'{"hostname":"h","output":"16:17:57.882054739: Warning An open was seen '
        b'(command=cat /dev/null)","output_fields":{"evt.time":1470327477882054739,'
        b'"proc.cmdline":"cat /dev/null"},"priority":"Warning","rule":"open_from_cat",'
        b'"source":"syscall","tags":["filesystem","process","testing"],'
        b'"time":"2016-08-04T16:17:57.882054739Z"}'
    )


def test_alert_iso8601_and_options() -> None:
    f = AlertFormatter(
        hostname="host",
        time_format_iso_8601=True,
        json_include_output_property=False,
        json_include_tags_property=False,
        json_include_message_property=True,
    )
    alert = f.make_alert(
        _Rule("cmd=%proc.cmdline %proc.name", priority=Priority.INFORMATIONAL, tags=()), OPEN
    )
    assert alert.output == (
        "2016-08-04T16:17:57.882054739+0000: Informational cmd=cat /dev/null <NA>"
    )
    obj = orjson.loads(f.json(alert))
    assert obj == {
        "hostname": "host",
        "message": "cmd=cat /dev/null <NA>",
        "output_fields": {
            "evt.time.iso8601": 1470327477882054739,
            "proc.cmdline": "cat /dev/null",
            "proc.name": None,
        },
        "priority": "Informational",
        "rule": "open_from_cat",
        "source": "syscall",
        "time": "2016-08-04T16:17:57.882054739Z",
    }
    assert list(obj) == sorted(obj)


def test_default_hostname_is_this_machine() -> None:
    import socket

    assert AlertFormatter().hostname == socket.gethostname()


def test_text_is_json_escaped(utc: None) -> None:
    f = AlertFormatter(hostname="h")
    e = ev({"proc.cmdline": 'sh -c "a\tb"\n\x01\ud800'}, ts=0)
    alert = f.make_alert(_Rule("cmd=%proc.cmdline", priority=Priority.CRITICAL), e)
    assert f.text(alert) == '00:00:00.000000000: Critical cmd=sh -c \\"a\\tb\\"\\n\\u0001\ufffd'
    # JSON output survives the lone surrogate too
    assert (
        orjson.loads(f.json(alert))["output_fields"]["proc.cmdline"] == 'sh -c "a\tb"\n\x01\ufffd'
    )


def test_escape_line_keeps_unicode() -> None:
    assert escape_line("é ✓ \x7f") == "é ✓ \x7f"
