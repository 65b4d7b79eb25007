"""The generic ``evt`` class and the evt.time family helpers."""

from __future__ import annotations

import pytest

from secengine import eventtime
from secengine.events import MISSING
from secengine.fields import FieldRegistry, FieldType, gen_event
from secengine.fields.gen_event import TIME_FIELDS, filter_time_value, render_time, time_value

# 2016-08-04T16:17:57.881781397Z, the timestamp of Falco's own output tests.
TS = 1470327477881781397


def test_class_is_generic_and_named_like_falco() -> None:
    fc = gen_event.FIELD_CLASS
    assert fc.generic and fc.name == "evt" and fc.shortdesc == "All event types"


@pytest.mark.parametrize(
    "name, ftype",
    [
        ("evt.num", FieldType.UINT64),
        ("evt.time", FieldType.CHARBUF),
        ("evt.time.iso8601", FieldType.CHARBUF),
        ("evt.datetime.s", FieldType.CHARBUF),
        ("evt.rawtime", FieldType.ABSTIME),
        ("evt.rawtime.ns", FieldType.ABSTIME),
        ("evt.reltime", FieldType.RELTIME),
        ("evt.source", FieldType.CHARBUF),
        ("evt.hostname", FieldType.CHARBUF),
        ("evt.is_async", FieldType.BOOL),
    ],
)
def test_types(name: str, ftype: FieldType) -> None:
    assert gen_event.FIELD_CLASS.by_name[name].type is ftype


def test_generic_fields_reach_every_source(registry: FieldRegistry) -> None:
    other = FieldRegistry([gen_event.FIELD_CLASS])
    from secengine.fields.base import FieldClass, FieldDef

    other.register(
        FieldClass("x", "", ("k8s_audit",), (FieldDef("ka.verb", FieldType.CHARBUF, "verb"),))
    )
    assert other.resolve("k8s_audit", "evt.time").key == "evt.time"
    assert registry.resolve("syscall", "evt.hostname").field.type is FieldType.CHARBUF


def test_render_utc_forms() -> None:
    assert render_time("evt.time.iso8601", TS) == "2016-08-04T16:17:57.881781397+0000"
    assert render_time("evt.rawtime", TS) == str(TS)
    assert render_time("evt.rawtime.s", TS) == "1470327477"
    assert render_time("evt.rawtime.ns", TS) == "881781397"
    assert render_time("evt.rawtime.ns", 1_000_000_005) == "000000005"


@pytest.mark.parametrize(
    "offset, expected",
    [
        (
            0,
            {
                "evt.time": "16:17:57.881781397",
                "evt.time.s": "16:17:57",
                "evt.datetime": "2016-08-04 16:17:57.881781397",
                "evt.datetime.s": "2016-08-04 16:17:57",
            },
        ),
        (
            9 * 3600,
            {"evt.time": "01:17:57.881781397", "evt.datetime": "2016-08-05 01:17:57.881781397"},
        ),
    ],
)
def test_render_local_forms(
    monkeypatch: pytest.MonkeyPatch, offset: int, expected: dict[str, str]
) -> None:
    monkeypatch.setattr(eventtime, "_local_offset", lambda: offset)
    for key, text in expected.items():
        assert render_time(key, TS) == text


def test_typed_values_follow_falco_json() -> None:
    # Falco's output_fields carry string-typed time fields as the ts in ns.
    for key in ("evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.rawtime"):
        assert time_value(key, TS) == TS
    assert time_value("evt.rawtime.s", TS) == 1470327477
    assert time_value("evt.rawtime.ns", TS) == 881781397


def test_reltime_needs_first_ts() -> None:
    assert time_value("evt.reltime", TS) is MISSING
    assert render_time("evt.reltime", TS) == "<NA>"
    first = TS - 2_000_000_003
    assert time_value("evt.reltime", TS, first) == 2_000_000_003
    assert time_value("evt.reltime.s", TS, first) == 2
    assert render_time("evt.reltime.ns", TS, first) == "000000003"


def test_filter_values_are_text_for_string_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventtime, "_local_offset", lambda: 0)
    assert filter_time_value("evt.time", TS) == "16:17:57.881781397"
    assert filter_time_value("evt.rawtime", TS) == TS


def test_time_fields_are_declared_and_helpers_reject_others() -> None:
    for key in TIME_FIELDS:
        assert key in gen_event.FIELD_CLASS.by_name
    with pytest.raises(KeyError):
        time_value("evt.num", TS)
    with pytest.raises(KeyError):
        render_time("proc.name", TS)


def test_evt_module_reexports_time_helpers() -> None:
    from secengine.fields import evt

    assert evt.time_value is time_value and evt.render_time is render_time
