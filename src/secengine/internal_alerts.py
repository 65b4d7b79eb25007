"""Falco's internal alerts (``Falco internal: syscall event drop``), made in one place.

Both run paths (the agent and the single-source ``secengine run`` loop)
report lost events with the same alert: priority Debug, source
``internal``, the message Falco prints, and the counts as string output
fields, as Falco's ``output_fields`` carry them.
"""

from __future__ import annotations

import time

from secengine.alert import Alert
from secengine.priority import Priority

__all__ = ["INTERNAL_SOURCE", "drop_alert", "internal_alert"]

#: The source of alerts secengine makes about itself.
INTERNAL_SOURCE = "internal"


def internal_alert(rule: str, message: str, fields: dict[str, str], hostname: str,
                   ts: int | None = None) -> Alert:
    """An internal alert: ``<time>: Debug <message> (k="v" ...)``."""
    from secengine.fields.gen_event import render_time

    ts = time.time_ns() if ts is None else ts
    ordered = dict(sorted(fields.items()))
    pairs = " ".join(f'{k}="{v}"' for k, v in ordered.items())
    return Alert(rule=rule, priority=Priority.DEBUG, source=INTERNAL_SOURCE, time=ts,
                 output=f"{render_time('evt.time', ts)}: Debug {message} ({pairs})",
                 output_fields=ordered, tags=(), hostname=hostname, message=message)


def drop_alert(source: str, n_drops: int, n_events: int, hostname: str,
               ts: int | None = None) -> Alert:
    """Falco's drop alert for ``n_drops`` events of ``source`` lost in the last interval."""
    kind = "system calls" if source == "syscall" else "events"
    rule = f"Falco internal: {source} event drop"
    message = f"{rule}. {n_drops} {kind} dropped in last second."
    fields = {"n_drops": str(n_drops), "n_evts": str(n_events + n_drops)}
    if source == "syscall":
        fields["ebpf_enabled"] = "1"
    return internal_alert(rule, message, fields, hostname, ts)
