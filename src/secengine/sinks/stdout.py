"""The ``stdout`` sink: one alert per line on standard output (Falco's ``stdout_output``).

Once the reader has gone (``EPIPE``: ``secengine replay | head -1``),
standard output stays closed for this sink: each later alert fails at once,
counted, without another write.
"""

from __future__ import annotations

import sys
from typing import IO, Any, ClassVar

from secengine.alert import Alert
from secengine.sinks.base import Sink, SinkError

__all__ = ["StdoutSink"]


class StdoutSink(Sink):
    """Writes each alert's text line or JSON to ``stream`` (default: ``sys.stdout`` at start)."""

    name: ClassVar[str] = "stdout"

    def __init__(self, *, stream: IO[bytes] | None = None, **common: Any) -> None:
        super().__init__(**common)
        self._given = stream
        self._out: IO[bytes] | None = None
        self._gone = False

    def open(self) -> None:
        self._out = self._given if self._given is not None else sys.stdout.buffer

    def deliver(self, alert: Alert) -> None:
        assert self._out is not None
        if self._gone:
            raise SinkError("standard output is closed (broken pipe)")
        try:
            self._out.write(self.renderer.line(alert) + b"\n")
        except BrokenPipeError as e:
            self._gone = True
            raise SinkError("standard output is closed (broken pipe)") from e

    def flush(self) -> None:
        if self._gone:
            raise SinkError("standard output is closed (broken pipe)")
        if self._out is not None:
            try:
                self._out.flush()
            except BrokenPipeError as e:
                self._gone = True
                raise SinkError("standard output is closed (broken pipe)") from e
