"""How much an HTTP client may hold of a listener, and for how long.

A listener facing the network must keep serving its legitimate clients
(kube-apiserver, a Prometheus scraper, a kubelet probe) while others connect
and send nothing, send headers a byte at a time, or trickle a body
("slowloris"). Each limit below turns such a client into a closed
connection after a bounded time, so that the slots it held go back to the
good ones:

- ``max_connections`` bounds the connections served at once (granian's
  ``backpressure``); past it, new connections wait in the kernel's listen
  queue until a slot frees, which the timeouts below guarantee;
- ``header_timeout`` closes a connection whose request line and headers are
  not complete in time: one that connects and says nothing, one that sends
  its headers a byte at a time, and an idle keep-alive connection (hyper's
  ``header_read_timeout``, running from the moment a request is awaited);
- ``body_timeout`` answers 408 and closes the connection when a request's
  body is not complete in time (checked by the application,
  :func:`secengine.web.body.read_body`);
- ``keepalive`` off closes every connection after one answer.

A TLS handshake is bounded separately by granian (10 seconds, not
configurable) and does not take a connection slot until it is complete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from secengine.errors import ConfigError

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_HEADER_TIMEOUT", "DEFAULT_MAX_CONNECTIONS",
           "HttpLimits"]

#: Connections served at once per listener. 2,000 or more idle clients must not
#: starve the good ones (the issue this bound comes from saw 1,100 stall the
#: webhook); each costs a file descriptor and a few kilobytes.
DEFAULT_MAX_CONNECTIONS: Final = 4096
#: Seconds to receive a request's line and headers (kube-apiserver sends them at once).
DEFAULT_HEADER_TIMEOUT: Final = 10.0
#: Seconds to receive a request's body: a 10 MiB audit batch at 3 Mbit/s.
DEFAULT_BODY_TIMEOUT: Final = 30.0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The limits of one listener (see the module docstring); checked when built."""

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    keepalive: bool = True
    #: The kernel's queue of connections not accepted yet.
    backlog: int = 1024

    def __post_init__(self) -> None:
        for key in ("max_connections", "backlog"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key}: {value!r} is not a whole number of at least 1")
        for key in ("header_timeout", "body_timeout"):
            value = getattr(self, key)
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or not 0.001 <= value <= 86400):
                raise ConfigError(f"{key}: {value!r} is not a number of seconds "
                                  f"between 0.001 and 86400")
        if not isinstance(self.keepalive, bool):
            raise ConfigError(f"keepalive: {self.keepalive!r} is not true or false")
