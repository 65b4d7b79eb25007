"""Alert outputs: one :class:`Sink` plugin per kind of receiver, each with its own queue and worker.

Built-in plugins (looked up by name through :mod:`secengine.plugins`):
``stdout``, ``file``, ``http``, ``syslog``, ``program`` and ``memory``;
:class:`CallbackSink` hands alerts to a function. Third-party sinks register
in the ``secengine.sinks`` entry-point group.
"""

from __future__ import annotations

from secengine.sinks.base import DEFAULT_QUEUE_CAPACITY, RateLimitedLog, Sink, SinkError, SinkStats
from secengine.sinks.memory import CallbackSink, MemorySink
from secengine.sinks.render import INTERNAL_SOURCE, AlertRenderer

__all__ = [
    "DEFAULT_QUEUE_CAPACITY",
    "INTERNAL_SOURCE",
    "AlertRenderer",
    "CallbackSink",
    "MemorySink",
    "RateLimitedLog",
    "Sink",
    "SinkError",
    "SinkStats",
]
