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
import resource
from dataclasses import dataclass
from typing import Final

from secengine.errors import ConfigError

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "HttpLimits",
]

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
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not 0.001 <= value <= 86400
            ):
                raise ConfigError(
                    f"{key}: {value!r} is not a number of seconds between 0.001 and 86400"
                )
        if not isinstance(self.keepalive, bool):
            raise ConfigError(f"keepalive: {self.keepalive!r} is not true or false")


#: Open files the agent needs besides its listeners' connections (rules, outputs, probe maps).
FILE_RESERVE: Final = 256


def raise_open_file_limit() -> tuple[int, int]:
    """Raise this process' soft limit of open files to its hard limit; (old, new) soft limits.

    Every connection is a file descriptor, and the usual soft limit of 1,024
    would turn ``max_connections`` into about 1,000 (accept() fails with
    EMFILE beyond, and the connection waits in the kernel's queue). Go
    programs (Falco's webhook among them) do the same at start. Only the
    ``secengine run`` command calls this: a library changes no process limit.
    """

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError):
            return soft, soft
        return soft, hard
    return soft, soft


def open_file_shortfall(limits: HttpLimits) -> int | None:
    """The open-file soft limit when it is too low for ``limits.max_connections``, else None."""

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or soft >= limits.max_connections + FILE_RESERVE:
        return None
    return int(soft)
