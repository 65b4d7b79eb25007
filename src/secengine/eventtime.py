"""Event timestamps as Falco prints them: the generic ``evt.time`` family of values.

An :class:`~secengine.events.Event` carries its timestamp in nanoseconds;
libsinsp's generic field class turns it into ``evt.time``, ``evt.datetime``,
``evt.rawtime.s``... Both the output formatter (the alert line starts with
``evt.time``) and the generic field class (:mod:`secengine.fields.gen_event`,
which declares these fields) need the same conversions, so they live here,
below both.
"""

from __future__ import annotations

import datetime as _dt
import functools
import time as _time
from typing import Any, Final

from secengine.events import MISSING

__all__ = ["TIME_FIELDS", "filter_time_value", "render_time", "time_value"]

_NS: Final = 1_000_000_000

#: The fields computed from the event timestamp (and, for ``evt.reltime*``,
#: the timestamp of the first event of the capture).
TIME_FIELDS: Final = frozenset(
    {
        "evt.time",
        "evt.time.s",
        "evt.time.iso8601",
        "evt.datetime",
        "evt.datetime.s",
        "evt.rawtime",
        "evt.rawtime.s",
        "evt.rawtime.ns",
        "evt.reltime",
        "evt.reltime.s",
        "evt.reltime.ns",
    }
)

#: Time fields whose Falco type is a string (their JSON value is still the ts in ns).
_STRING_TIME_FIELDS: Final = frozenset(
    {
        "evt.time",
        "evt.time.s",
        "evt.time.iso8601",
        "evt.datetime",
        "evt.datetime.s",
    }
)


def _local_offset() -> int:
    """Seconds east of UTC *now*, as libsinsp's ``gmt2local(0)`` computes it for every ts."""
    return _time.localtime().tm_gmtoff


def render_time(key: str, ts_ns: int, first_ts_ns: int | None = None) -> str:
    """The text of a time field for timestamp ``ts_ns``, as libsinsp prints it.

    - ``evt.time``: local ``HH:MM:SS.nnnnnnnnn``; ``evt.time.s`` without the ns
    - ``evt.datetime``: local ``YYYY-MM-DD HH:MM:SS.nnnnnnnnn``; ``.s`` without the ns
    - ``evt.time.iso8601``: UTC ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000``
    - ``evt.rawtime``/``.s`` decimal; ``.ns`` and ``evt.reltime.ns`` zero-padded
      to 9 digits (PF_10_PADDED_DEC)
    - ``evt.reltime*``: relative to ``first_ts_ns``; ``"<NA>"`` without it

    Local time uses the host's current UTC offset for every timestamp, as
    libsinsp's ``ts_to_string`` does. Raises ``KeyError`` for a non-time field.
    """
    if key not in _STRING_TIME_FIELDS:  # (their value is the timestamp itself)
        if key not in TIME_FIELDS:
            raise KeyError(key)
        value = time_value(key, ts_ns, first_ts_ns)
        if value is MISSING:
            return "<NA>"
        if key in ("evt.rawtime.ns", "evt.reltime.ns"):
            return f"{value:09d}"
        return str(value)
    sec, nsec = divmod(ts_ns, _NS)
    if key == "evt.time.iso8601":
        d = _dt.datetime.fromtimestamp(sec, _dt.UTC)
        return f"{d:%Y-%m-%dT%H:%M:%S}.{nsec:09d}+0000"
    text = _local_clock(sec + _local_offset(), key.startswith("evt.datetime"))
    return f"{text}.{nsec:09d}" if key in ("evt.time", "evt.datetime") else text


@functools.lru_cache(maxsize=64)
def _local_clock(local: int, with_date: bool) -> str:
    """``HH:MM:SS`` (after ``YYYY-MM-DD`` ``with_date``) of ``local`` seconds since the epoch.

    Kept for the last seconds rendered: every alert's line starts with its time,
    and alerts come in bursts within a second.
    """
    s = local % 86400
    text = f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if with_date:
        day = _dt.datetime.fromtimestamp(local - s, _dt.UTC)
        text = f"{day:%Y-%m-%d} {text}"
    return text


def time_value(key: str, ts_ns: int, first_ts_ns: int | None = None) -> Any:
    """The typed value of a time field, as Falco's JSON ``output_fields`` carries it.

    The string-typed fields (``evt.time``, ``evt.time.iso8601``, ...) give the
    timestamp in integer nanoseconds (libsinsp ``extract_as_js``);
    ``evt.rawtime.s``/``.ns`` the seconds / the nanosecond part;
    ``evt.reltime*`` the same relative to ``first_ts_ns`` (MISSING without it).
    Raises ``KeyError`` for a non-time field.
    """
    if key not in TIME_FIELDS:
        raise KeyError(key)
    if key.startswith("evt.reltime"):
        if first_ts_ns is None:
            return MISSING
        ts_ns = ts_ns - first_ts_ns
        if key == "evt.reltime.s":
            return ts_ns // _NS
        if key == "evt.reltime.ns":
            return ts_ns % _NS
        return ts_ns
    if key == "evt.rawtime.s":
        return ts_ns // _NS
    if key == "evt.rawtime.ns":
        return ts_ns % _NS
    return ts_ns


def filter_time_value(key: str, ts_ns: int, first_ts_ns: int | None = None) -> Any:
    """The value a condition compares for a time field: the text for the string-typed
    ones (``evt.time contains ...``), the number for the others."""
    if key in _STRING_TIME_FIELDS:
        return render_time(key, ts_ns, first_ts_ns)
    return time_value(key, ts_ns, first_ts_ns)
