"""Field-map events: one JSON object per line, with field values as rules name them.

This is the ingestion edge for recorded or hand-written events (the format
is described in ``docs/replay-format.md``)::

    {"source": "syscall", "time": 1700000000000000000,
     "fields": {"evt.type": "openat", "proc.name": "cat", "proc.aname[2]": "bash"}}

``fields`` keys are full field names as rules write them, lists are JSON
arrays, and an absent key is a missing value. ``time`` is nanoseconds since
the epoch (an integer) or an RFC 3339 string with up to nanosecond
precision; ``source`` defaults to ``syscall``.

The values are not checked here: that would cost a Python call per field on
every event, and the engine already handles a value of the wrong type when
(and if) a rule reads it. Only the envelope is validated, and only when the
fast path fails.
"""

from __future__ import annotations

import calendar
import re
from typing import Any

import orjson

from secengine.errors import SecengineError
from secengine.events import Event, FieldValues

__all__ = [
    "DEFAULT_SOURCE",
    "FieldMapError",
    "dumps_event",
    "event_from_obj",
    "event_to_obj",
    "parse_line",
    "parse_time",
]

DEFAULT_SOURCE = "syscall"


class FieldMapError(SecengineError, ValueError):
    """Why one field-map line was rejected (the caller adds file and line)."""


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))\Z"
)

_TIME_ERROR = '"time" must be an integer of nanoseconds or an RFC 3339 string'


def parse_time(value: Any) -> int:
    """Nanoseconds since the epoch from an integer or an RFC 3339 string.

    ``2023-11-14T22:13:20.123456789Z`` and ``...+01:00`` offsets are accepted;
    digits past the ninth fractional digit are dropped.
    """
    if type(value) is int:
        return value
    if not isinstance(value, str):
        raise FieldMapError(_TIME_ERROR)
    m = _RFC3339.match(value.strip())
    if m is None:
        raise FieldMapError(f"{_TIME_ERROR}, got {value!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or ""
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        raise FieldMapError(f"{_TIME_ERROR}, got {value!r}") from None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        raise FieldMapError(f"{_TIME_ERROR}, got {value!r}")
    if m.group(9):
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        seconds -= offset if m.group(9) == "+" else -offset
    return seconds * 1_000_000_000 + int((frac + "000000000")[:9])


def event_from_obj(obj: Any, default_source: str = DEFAULT_SOURCE, num: int = 0) -> Event:
    """Build an :class:`Event` from a decoded field-map object, validating its envelope."""
    if not isinstance(obj, dict):
        raise FieldMapError("an event must be a JSON object")
    if "fields" not in obj:
        raise FieldMapError('missing "fields"')
    fields = obj["fields"]
    if not isinstance(fields, dict):
        raise FieldMapError('"fields" must be an object')
    if "time" not in obj:
        raise FieldMapError('missing "time"')
    ts = parse_time(obj["time"])
    source = obj.get("source", default_source)
    if not isinstance(source, str) or not source:
        raise FieldMapError('"source" must be a non-empty string')
    return Event(source, ts, FieldValues(fields), num)


def parse_line(
    line: bytes | str, default_source: str = DEFAULT_SOURCE, num: int = 0
) -> Event | None:
    """Parse one line; ``None`` for a blank line, :class:`FieldMapError` if malformed.

    The replay reader inlines the fast path of this function; this is the
    complete, careful version it falls back to.
    """
    if not line.strip():
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise FieldMapError(f"invalid JSON: {e}") from None
    return event_from_obj(obj, default_source, num)


def event_to_obj(event: Event) -> dict[str, Any]:
    """The field-map object of an event (values as they are, MISSING never stored)."""
    return {"source": event.source, "time": event.ts, "fields": dict(event.fields)}


def dumps_event(event: Event) -> bytes:
    """One field-map line for ``event`` (without the newline)."""
    return orjson.dumps(event_to_obj(event), default=str)
