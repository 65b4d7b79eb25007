"""Falco's internal alerts (``Falco internal: syscall event drop``), made in one place.

Both run paths (the agent and the single-source ``secengine run`` loop)
report lost events with the same alert: priority Debug, source
``internal``, the message Falco prints, and the counts as string output
fields, as Falco's ``output_fields`` carry them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from secengine.alert import Alert
from secengine.eventtime import render_time
from secengine.priority import Priority

__all__ = ["INTERNAL_SOURCE", "drop_alert", "internal_alert"]

#: The source of alerts secengine makes about itself.
INTERNAL_SOURCE = "internal"


def internal_alert(
    rule: str, message: str, fields: dict[str, str], hostname: str, ts: int | None = None
) -> Alert:
    """An internal alert: ``<time>: Debug <message> (k="v" ...)``."""
    ts = time.time_ns() if ts is None else ts
    ordered = dict(sorted(fields.items()))
    pairs = " ".join(f'{k}="{v}"' for k, v in ordered.items())
    return Alert(
        rule=rule,
        priority=Priority.DEBUG,
        source=INTERNAL_SOURCE,
        time=ts,
        output=f"{render_time('evt.time', ts)}: Debug {message} ({pairs})",
        output_fields=ordered,
        tags=(),
        hostname=hostname,
        message=message,
    )


def drop_alert(
    source: str,
    n_drops: int,
    n_events: int,
    hostname: str,
    ts: int | None = None,
    throttled: Sequence[tuple[int, str, int]] = (),
    *,
    noun: str = "events",
    extra: Sequence[tuple[str, str]] = (),
) -> Alert:
    """Falco's drop alert for ``n_drops`` events of ``source`` lost in the last interval.

    ``noun`` and ``extra`` come from the source's spec (``SourceSpec.drop_noun``,
    ``drop_fields``): Falco says "system calls" and adds ``ebpf_enabled`` for syscalls.

    ``throttled``: (pid, comm, events suppressed) of the producers whose budget ran out
    since the last drop alert; the first five are named in the message and in the
    ``throttled`` field, so that a flood says who flooded.
    """
    rule = f"Falco internal: {source} event drop"
    message = f"{rule}. {n_drops} {noun} dropped in last second."
    fields = {"n_drops": str(n_drops), "n_evts": str(n_events + n_drops), **dict(extra)}
    if throttled:
        named = ", ".join(f"{comm}(pid {pid}) {n}" for pid, comm, n in throttled[:5])
        more = len(throttled) - 5
        fields["throttled"] = named + (f" and {more} more" if more > 0 else "")
        message += f" Throttled producers (events suppressed): {fields['throttled']}."
    return internal_alert(rule, message, fields, hostname, ts)
