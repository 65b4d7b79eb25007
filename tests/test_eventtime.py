"""render_time keeps the clock text of recent seconds: the cache must follow the UTC offset."""

from __future__ import annotations

import pytest

from secengine import eventtime
from secengine.eventtime import render_time

TS = 1_700_000_000_123_456_789  # 2023-11-14 22:13:20 UTC


def test_the_same_timestamp_renders_with_the_offset_of_the_moment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(eventtime, "_local_offset", lambda: 0)
    assert render_time("evt.time", TS) == "22:13:20.123456789"
    assert render_time("evt.datetime.s", TS) == "2023-11-14 22:13:20"
    # a daylight-saving change (or TZ) between two alerts: libsinsp uses the current offset
    monkeypatch.setattr(eventtime, "_local_offset", lambda: 3600)
    assert render_time("evt.time", TS) == "23:13:20.123456789"
    assert render_time("evt.time.s", TS) == "23:13:20"
    assert render_time("evt.datetime", TS) == "2023-11-14 23:13:20.123456789"
    monkeypatch.setattr(eventtime, "_local_offset", lambda: -23 * 3600)
    assert render_time("evt.datetime.s", TS) == "2023-11-13 23:13:20"


def test_fields_that_are_not_clock_texts_render_as_before() -> None:
    assert render_time("evt.rawtime", TS) == str(TS)
    assert render_time("evt.rawtime.ns", TS) == "123456789"
    assert render_time("evt.reltime", TS) == "<NA>"
    assert render_time("evt.reltime.ns", TS, TS - 5) == "000000005"
    assert render_time("evt.time.iso8601", TS) == "2023-11-14T22:13:20.123456789+0000"
    with pytest.raises(KeyError):
        render_time("proc.name", TS)
