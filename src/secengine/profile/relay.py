"""Pass a command's stderr through secengine: scrubbed of secrets, its tail kept.

``profile run`` and ``verify`` must say *why* a container never started, in
the engine's own words (``Error: ...: image not known``), and must not print
the container's environment values, which the engine echoes in some of its
errors. So the command's stderr is a pipe that secengine reads while it
waits: complete lines are scrubbed (:class:`~.redact.Scrubber`) and written
to secengine's stderr; the last :data:`TAIL_BYTES` are kept for the message.
A line still incomplete after :data:`PARTIAL_FLUSH_S` (a prompt) or longer
than :data:`PARTIAL_FLUSH_BYTES` is passed on as it is, scrubbed; a value
split across such a flush could show, which is why only long-pending
pieces are flushed.
"""

from __future__ import annotations

import os
import select
import time
from typing import Final

from secengine.profile.redact import Scrubber

__all__ = ["PARTIAL_FLUSH_BYTES", "PARTIAL_FLUSH_S", "TAIL_BYTES", "StderrRelay"]

#: How much of the end of the command's stderr is kept for the error message.
TAIL_BYTES: Final = 8192
#: An incomplete line is passed on after waiting this long for its end...
PARTIAL_FLUSH_S: Final = 0.2
#: ...or once it is this long.
PARTIAL_FLUSH_BYTES: Final = 4096
_READ: Final = 65536


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class StderrRelay:
    """The read end of a command's stderr pipe; :meth:`pump` it while the command runs."""

    def __init__(self, scrub: Scrubber | None = None, out_fd: int = 2) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self._scrub = scrub or Scrubber(())
        self._out = out_fd
        self._pending = b""
        self._pending_since = 0.0
        self._tail = b""
        self._eof = False

    def child_side(self) -> int:
        """The fd the child writes to; the parent closes its copy once the child is forked."""
        return self.write_fd

    def forked(self) -> None:
        os.close(self.write_fd)
        self.write_fd = -1

    def pump(self, timeout: float = 0.0) -> None:
        """Forward what the command wrote, waiting at most ``timeout`` seconds for it."""
        if self._eof:
            if timeout:
                time.sleep(timeout)
            return
        ready, _, _ = select.select([self.read_fd], [], [], timeout)
        while ready:
            try:
                data = os.read(self.read_fd, _READ)
            except BlockingIOError:
                break
            if not data:
                self._eof = True
                self._emit(self._pending)
                self._pending = b""
                break
            self._take(data)
        if self._pending and (
            time.monotonic() - self._pending_since >= PARTIAL_FLUSH_S
            or len(self._pending) >= PARTIAL_FLUSH_BYTES
        ):
            self._emit(self._pending)
            self._pending = b""

    def drain(self, timeout: float) -> None:
        """Forward until the pipe is closed (every writer gone) or ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while not self._eof and time.monotonic() < end:
            self.pump(min(0.05, max(0.0, end - time.monotonic())))
        self._emit(self._pending)
        self._pending = b""

    def close(self) -> None:
        self.drain(0.0)
        for fd in (self.read_fd, self.write_fd):
            if fd >= 0:
                os.close(fd)
        self.read_fd = self.write_fd = -1

    @property
    def tail(self) -> str:
        """The end of what the command wrote (scrubbed), complete lines first."""
        return _text(self._tail)

    def _take(self, data: bytes) -> None:
        if not self._pending:
            self._pending_since = time.monotonic()
        data = self._pending + data
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        if cut:
            self._pending_since = time.monotonic()
            self._emit(data[:cut])

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        clean = self._scrub(_text(data)).encode("utf-8", "surrogateescape")
        self._tail = (self._tail + clean)[-TAIL_BYTES:]

        try:
            while clean:
                clean = clean[os.write(self._out, clean) :]
        except OSError:
            pass  # our stderr is gone: the tail still says why
