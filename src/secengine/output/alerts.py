"""Falco's alert: built from a matching rule and its event, rendered as a text line or as JSON.

The JSON follows falco ``formats.cpp``, so Falcosidekick and other Falco
consumers accept it as is.
"""

from __future__ import annotations

import datetime as _dt
import socket
from typing import Any, Protocol

import orjson

from secengine.alert import Alert
from secengine.events import Event
from secengine.eventtime import render_time
from secengine.output.format import OutputFormat
from secengine.output.values import dumps, escape_line
from secengine.priority import Priority

__all__ = ["AlertFormatter", "RuleLike"]

_NS = 1_000_000_000


class RuleLike(Protocol):
    """What :meth:`AlertFormatter.make_alert` needs of a compiled rule."""

    name: str
    priority: Priority
    source: str
    tags: Any  # an iterable of str
    output_format: OutputFormat


def _utc_z(ts: int) -> str:
    sec, nsec = divmod(ts, _NS)
    d = _dt.datetime.fromtimestamp(sec, _dt.UTC)
    return f"{d:%Y-%m-%dT%H:%M:%S}.{nsec:09d}Z"


class AlertFormatter:
    """Builds alerts from matches and renders them as Falco does.

    Options mirror Falco's configuration keys of the same names. ``hostname``
    defaults to this machine's name (``socket.gethostname()``), read when the
    formatter is created.
    """

    __slots__ = (
        "_time_key",
        "hostname",
        "json_include_message_property",
        "json_include_output_fields_property",
        "json_include_output_property",
        "json_include_tags_property",
        "time_format_iso_8601",
    )

    def __init__(
        self,
        *,
        time_format_iso_8601: bool = False,
        json_include_output_property: bool = True,
        json_include_tags_property: bool = True,
        json_include_message_property: bool = False,
        json_include_output_fields_property: bool = True,
        hostname: str | None = None,
    ) -> None:
        self.time_format_iso_8601 = time_format_iso_8601
        self.json_include_output_property = json_include_output_property
        self.json_include_tags_property = json_include_tags_property
        self.json_include_message_property = json_include_message_property
        self.json_include_output_fields_property = json_include_output_fields_property
        self.hostname = socket.gethostname() if hostname is None else hostname
        self._time_key = "evt.time.iso8601" if time_format_iso_8601 else "evt.time"

    def make_alert(self, rule: RuleLike, event: Event) -> Alert:
        """The alert for ``rule`` matching ``event`` (renders the output once)."""
        fmt = rule.output_format
        ts = event.ts
        message = fmt.render(event)
        output_fields = fmt.values(event)
        output_fields[self._time_key] = ts
        priority = rule.priority
        return Alert(
            rule=rule.name,
            priority=priority,
            source=rule.source,
            time=ts,
            output=f"{render_time(self._time_key, ts)}: {priority.title} {message}",
            output_fields=output_fields,
            tags=tuple(sorted(rule.tags)),
            hostname=self.hostname,
            message=message,
        )

    def text(self, alert: Alert) -> str:
        """The text line ``<time>: <Priority> <message>``, JSON-escaped as Falco prints it."""
        return escape_line(alert.output)

    def to_dict(self, alert: Alert) -> dict[str, Any]:
        """Falco's alert JSON object as a dict (the keys this formatter includes)."""
        obj: dict[str, Any] = {
            "hostname": alert.hostname,
            "priority": alert.priority.title,
            "rule": alert.rule,
            "source": alert.source,
            "time": _utc_z(alert.time),
        }
        if self.json_include_output_property:
            obj["output"] = alert.output
        if self.json_include_output_fields_property:
            obj["output_fields"] = alert.output_fields
        if self.json_include_tags_property:
            obj["tags"] = list(alert.tags)
        if self.json_include_message_property:
            obj["message"] = alert.message
        return obj

    def json(self, alert: Alert) -> bytes:
        """Falco's alert JSON: one compact line (no newline), keys sorted."""
        return dumps(self.to_dict(alert), orjson.OPT_SORT_KEYS)
