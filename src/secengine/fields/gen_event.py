"""The generic ``evt`` field class: fields every event source has (libsinsp ``gen_event``).

Falco flags this class FL_GENERIC: it applies to every source, plugin sources
included (``k8s_audit`` rules print ``%evt.time``). Its table follows
``sinsp_filtercheck_gen_event.cpp``.

Most of these fields are not carried in an event's values but computed from
the :class:`~secengine.events.Event` itself: the ``evt.time`` family from
``Event.ts``. The engine and the output formatter fill them with
:func:`time_value` (the typed value, as Falco's JSON ``output_fields`` carries
it) and :func:`render_time` (the text, as ``%evt.time`` prints it and as
conditions on the string-typed ones compare). The rest (``evt.num``,
``evt.source``, ``evt.hostname``, ``evt.pluginname``...) come from the event
or the host; a field-map event may also give any of them directly.
"""

from __future__ import annotations

from typing import Any

from secengine.events import MISSING, FieldValues
from secengine.eventtime import TIME_FIELDS, filter_time_value, render_time, time_value
from secengine.fields.base import FieldClass, FieldDef, FieldType

__all__ = ["FIELD_CLASS", "TIME_FIELDS", "filter_time_value", "render_time", "time_value"]

_TS_NOTE = " Computed from the event timestamp."

_FROM_EVENT = " Field-map events: the event's number when not given."


def _derive_num(values: FieldValues, key: str) -> Any:
    num = getattr(values, "num", 0)
    return num if num else MISSING


def _derive_time(values: FieldValues, key: str) -> Any:
    """Conditions on ``evt.time``, ``evt.rawtime``... compare the event's own timestamp."""
    ts = getattr(values, "ts", None)
    return MISSING if ts is None else filter_time_value(key, ts)


FIELD_CLASS = FieldClass(
    name="evt",
    shortdesc="All event types",
    desc="These fields can be used for all event types",
    sources=(),
    generic=True,
    fields=(
        FieldDef("evt.num", FieldType.UINT64, "event number." + _FROM_EVENT, derive=_derive_num),
        FieldDef(
            "evt.time",
            FieldType.CHARBUF,
            "event timestamp as a time string that includes the nanosecond part." + _TS_NOTE,
            derive=_derive_time,
        ),
        FieldDef(
            "evt.time.s",
            FieldType.CHARBUF,
            "event timestamp as a time string with no nanoseconds." + _TS_NOTE,
            derive=_derive_time,
        ),
        FieldDef(
            "evt.time.iso8601",
            FieldType.CHARBUF,
            "event timestamp in ISO 8601 format, including nanoseconds and time zone offset "
            "(in UTC)." + _TS_NOTE,
            derive=_derive_time,
        ),
        FieldDef(
            "evt.datetime",
            FieldType.CHARBUF,
            "event timestamp as a time string that includes the date." + _TS_NOTE,
            derive=_derive_time,
        ),
        FieldDef(
            "evt.datetime.s",
            FieldType.CHARBUF,
            "event timestamp as a datetime string with no nanoseconds." + _TS_NOTE,
            derive=_derive_time,
        ),
        FieldDef(
            "evt.rawtime",
            FieldType.ABSTIME,
            "absolute event timestamp, i.e. nanoseconds from epoch." + _TS_NOTE,
            derive=_derive_time,
        ),
        FieldDef(
            "evt.rawtime.s",
            FieldType.ABSTIME,
            "integer part of the event timestamp (e.g. seconds since epoch)." + _TS_NOTE,
            derive=_derive_time,
        ),
        FieldDef(
            "evt.rawtime.ns",
            FieldType.ABSTIME,
            "fractional part of the absolute event timestamp." + _TS_NOTE,
            derive=_derive_time,
        ),
        FieldDef(
            "evt.reltime",
            FieldType.RELTIME,
            "number of nanoseconds from the beginning of the capture.",
        ),
        FieldDef(
            "evt.reltime.s",
            FieldType.RELTIME,
            "number of seconds from the beginning of the capture.",
        ),
        FieldDef(
            "evt.reltime.ns",
            FieldType.RELTIME,
            "fractional part (in ns) of the time from the beginning of the capture.",
        ),
        FieldDef(
            "evt.pluginname",
            FieldType.CHARBUF,
            "if the event comes from a plugin-defined event source, the name of the plugin "
            "that generated it. The plugin must be currently loaded.",
        ),
        FieldDef(
            "evt.plugininfo",
            FieldType.CHARBUF,
            "if the event comes from a plugin-defined event source, a summary of the event "
            "as formatted by the plugin. The plugin must be currently loaded.",
        ),
        FieldDef(
            "evt.source", FieldType.CHARBUF, "the name of the source that produced the event."
        ),
        FieldDef(
            "evt.is_async", FieldType.BOOL, "'true' for asynchronous events, 'false' otherwise."
        ),
        FieldDef(
            "evt.asynctype",
            FieldType.CHARBUF,
            "If the event is asynchronous, the type of the event (e.g. 'container').",
        ),
        FieldDef(
            "evt.hostname",
            FieldType.CHARBUF,
            "The hostname of the underlying host can be customized by setting an "
            "environment variable (e.g. FALCO_HOSTNAME for the Falco agent). This is "
            "valuable in Kubernetes setups, where the hostname can match the pod name "
            "particularly in DaemonSet deployments. To achieve this, assign Kubernetes' "
            "spec.nodeName to the environment variable. Notably, spec.nodeName generally "
            "includes the cluster name.",
        ),
    ),
)
