"""How a sink turns an :class:`~secengine.alert.Alert` into bytes: Falco's text line or alert JSON.

One :class:`AlertRenderer` wraps the engine's
:class:`~secengine.output.AlertFormatter` (which holds the ``json_include_*``
and ``time_format_iso_8601`` choices) and the ``json_output`` choice, so
every sink renders alike; a sink may be given its own renderer to override
``json_output`` for itself.

Internal alerts (source ``internal``: event drops) are rendered as Falco's
``falco_outputs::handle_msg`` does: the text line already carries its
``(key=value ...)`` fields and is not escaped again, and the JSON object has
no ``tags``.
"""

from __future__ import annotations

from typing import Any

import orjson

from secengine.alert import Alert
from secengine.internal_alerts import INTERNAL_SOURCE
from secengine.output import AlertFormatter

__all__ = ["INTERNAL_SOURCE", "AlertRenderer"]

#: The source of alerts the agent makes itself (Falco's ``s_internal_source``).


class AlertRenderer:
    """Renders alerts as text lines or Falco JSON, as ``json_output`` says."""

    __slots__ = ("formatter", "json_output")

    def __init__(self, formatter: AlertFormatter | None = None, json_output: bool = False) -> None:
        self.formatter = formatter if formatter is not None else AlertFormatter()
        self.json_output = json_output

    def with_json(self, json_output: bool | None) -> AlertRenderer:
        """This renderer, or a copy with another ``json_output`` (None keeps it)."""
        if json_output is None or json_output == self.json_output:
            return self
        return AlertRenderer(self.formatter, json_output)

    def text(self, alert: Alert) -> str:
        """Falco's text line (``<time>: <Priority> <message>``), without a newline."""
        if alert.source == INTERNAL_SOURCE:
            return alert.output
        return self.formatter.text(alert)

    def to_dict(self, alert: Alert) -> dict[str, Any]:
        """Falco's alert JSON object."""
        if alert.source == INTERNAL_SOURCE:
            return {
                "hostname": alert.hostname,
                "output": alert.message,
                "output_fields": alert.output_fields,
                "priority": alert.priority.title,
                "rule": alert.rule,
                "source": alert.source,
                "time": self.formatter.to_dict(alert)["time"],
            }
        return self.formatter.to_dict(alert)

    def json(self, alert: Alert) -> bytes:
        """Falco's alert JSON: one compact line, keys sorted, no newline."""
        if alert.source == INTERNAL_SOURCE:
            return orjson.dumps(self.to_dict(alert), option=orjson.OPT_SORT_KEYS)
        return self.formatter.json(alert)

    def line(self, alert: Alert) -> bytes:
        """The alert as ``json_output`` asks, UTF-8, without a newline."""
        if self.json_output:
            return self.json(alert)
        return self.text(alert).encode("utf-8")
