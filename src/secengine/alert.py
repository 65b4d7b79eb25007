"""The alert a matching rule produces: what sinks receive and Falco consumers understand.

An :class:`Alert` is built once per match by
:meth:`secengine.output.AlertFormatter.make_alert` and then only read: sinks
turn it into a text line (:meth:`~secengine.output.AlertFormatter.text`) or
Falco's alert JSON (:meth:`~secengine.output.AlertFormatter.json`). It holds
plain values (no reference to the event or the compiled rule), so it can be
queued, pickled and compared in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from secengine.priority import Priority

__all__ = ["Alert"]


@dataclass(slots=True, eq=True)
class Alert:
    """One rule match, rendered.

    ``time`` is the event timestamp in nanoseconds since the epoch;
    ``output`` the full alert line (``<time>: <Priority> <message>``, not yet
    JSON-escaped); ``message`` the rule's rendered output alone;
    ``output_fields`` maps every ``%field`` of the output and of the time
    prefix to its typed JSON value (``None`` when missing); ``tags`` are
    sorted.
    """

    rule: str
    priority: Priority
    source: str
    time: int
    output: str
    output_fields: dict[str, Any]
    tags: tuple[str, ...]
    hostname: str
    message: str
