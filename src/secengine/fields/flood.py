"""secengine's own flood fields: ``flood.*``, on the syscall source's ``flood`` events.

The probe gives every producer (thread group) a budget of events per second
per class (bulk; priority: exec, credential and namespace changes, connects).
Past it, the producer's events are counted in the kernel instead of sent, and
a ``flood`` event names the producer at most once per report interval
(``docs/syscall-source.md``, "Producer budgets"). The event carries the
producer's ``proc.*``/``container.*`` fields like any other syscall event, and
these. Falco has no such event; rules select it with ``evt.type = flood``.

The live syscall source extracts them (``live=``) from the flood record's report.
"""

from __future__ import annotations

from typing import Any

from secengine.events import MISSING
from secengine.fields.base import FieldClass, FieldDef, FieldType
from secengine.fields.live import LiveExtractor, LiveFieldValues

__all__ = ["FIELD_CLASS", "FLOOD_EVENT"]

#: The ``evt.type`` of flood events.
FLOOD_EVENT = "flood"


def _flood(i: int) -> LiveExtractor:
    """The extractor of item ``i`` of a flood record's report (missing on other events)."""

    def get(v: LiveFieldValues, arg: str | None) -> Any:
        report = v.rec.flood()
        return MISSING if report is None else report[i]

    return get


FIELD_CLASS = FieldClass(
    name="flood",
    desc="A producer over its event budget: what the probe suppressed (flood events only).",
    sources=("syscall",),
    fields=(
        FieldDef(
            "flood.count",
            FieldType.UINT64,
            "Events of this producer suppressed since its previous flood event.",
            suggested=True,
            live=_flood(0),
        ),
        FieldDef(
            "flood.total",
            FieldType.UINT64,
            "Events of this producer suppressed since the probe first saw it.",
            live=_flood(1),
        ),
        FieldDef(
            "flood.admitted",
            FieldType.UINT64,
            "Events of this producer its budget let through since the probe first saw it.",
            live=_flood(2),
        ),
        FieldDef(
            "flood.evttype",
            FieldType.CHARBUF,
            "The event type of the last suppressed event (e.g. openat).",
            suggested=True,
            live=_flood(3),
        ),
        FieldDef(
            "flood.class",
            FieldType.CHARBUF,
            "The budget that ran out: 'bulk', or 'priority' (exec failures, credential and "
            "namespace changes, connects).",
            live=_flood(4),
        ),
        FieldDef(
            "flood.comm",
            FieldType.CHARBUF,
            "The producer's command name when the probe wrote the event (available even "
            "when the process has already exited).",
            live=_flood(5),
        ),
        FieldDef(
            "flood.cgroup",
            FieldType.CHARBUF,
            "The producer's cgroup path when the probe wrote the event.",
            live=_flood(6),
        ),
    ),
)
