"""Reading request bodies in bounded size and time (what granian leaves to the application).

hyper bounds the time to receive a request's headers but not its body: a
client may send ``Content-Length: 10000000`` and then one byte a minute.
:class:`BodyReaders` gives up on a body after ``timeout`` seconds (the
caller answers 408 and the server closes the connection: an unread body
cannot be skipped), and, when the listener is full, gives up first on the
body that has been arriving the longest (:meth:`BodyReaders.shed_oldest`),
so that slow clients make room for the next request instead of the next
request being refused. The bytes of the bodies being received at once are
bounded too (``budget``): past it a request is answered 503 (and the oldest
slow body shed), so that many clients sending large bodies together cannot
exhaust the agent's memory.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Final

from secengine.errors import SecengineError

__all__ = ["BodyOverBudget", "BodyReaders", "BodyShed", "BodyTimeout", "BodyTooLarge", "ClientGone"]

#: A body must have been arriving this long (seconds) before it can be shed:
#: a fast client's body is complete well within it, even on a busy loop.
SHED_AFTER: Final = 1.0


class BodyTooLarge(SecengineError):
    """The body is, or says it is, larger than allowed (answer 413)."""


class BodyTimeout(SecengineError):
    """The body did not arrive in time (answer 408)."""


class BodyOverBudget(SecengineError):
    """Receiving this body would exceed the bytes allowed in flight (answer 503)."""


class ClientGone(SecengineError):
    """The client closed the connection before its body arrived (nothing to answer)."""


class BodyShed(BodyTimeout):
    """The body was given up to make room for another request (answer 503)."""


class BodyReaders:
    """The bodies being received on one listener's event loop, oldest first."""

    def __init__(self, timeout: float, budget: int) -> None:
        self.timeout = timeout
        self.budget = budget
        #: Bytes reserved by the bodies being received.
        self.buffered = 0
        self._reading: dict[int, tuple[float, asyncio.Timeout]] = {}  # insertion order: oldest
        self._shed: set[int] = set()
        self._ids = itertools.count()

    async def read(self, scope: Any, proto: Any, limit: int) -> bytes:
        """The RSGI request's body: at most ``limit`` bytes, within the timeout."""
        # granian (and uvloop) load when a listener starts, not when its source class is
        # imported: every command that builds the source table imports that class (docs/performance.md)
        from granian.rsgi import ProtocolClosed, ProtocolError

        loop = asyncio.get_running_loop()
        key = next(self._ids)
        reserved = [0]
        try:
            async with asyncio.timeout(self.timeout) as deadline:
                self._reading[key] = (loop.time(), deadline)
                return await self._read(scope, proto, limit, reserved)
        except TimeoutError:
            if key in self._shed:
                raise BodyShed from None
            raise BodyTimeout from None
        except (ProtocolClosed, ProtocolError):
            raise ClientGone from None
        finally:
            self.buffered -= reserved[0]
            self._reading.pop(key, None)
            self._shed.discard(key)

    def _reserve(self, size: int, reserved: list[int]) -> None:
        if self.buffered + size > self.budget:
            self.shed_oldest()  # makes room for the retry
            raise BodyOverBudget
        self.buffered += size
        reserved[0] += size

    async def _read(self, scope: Any, proto: Any, limit: int, reserved: list[int]) -> bytes:
        length = scope.headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = limit + 1
            if declared > limit:
                raise BodyTooLarge
            self._reserve(declared, reserved)
            body: bytes = await proto()
            return body
        chunks: list[bytes] = []
        size = 0
        async for chunk in proto:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            self._reserve(len(chunk), reserved)
            chunks.append(chunk)
        return b"".join(chunks)

    def shed_oldest(self) -> bool:
        """Give up the body arriving the longest, if for over :data:`SHED_AFTER` s; True if so."""
        if not self._reading:
            return False
        key = next(iter(self._reading))
        started, deadline = self._reading[key]
        loop = asyncio.get_running_loop()
        if loop.time() - started < SHED_AFTER:
            return False
        del self._reading[key]
        self._shed.add(key)
        deadline.reschedule(loop.time())
        return True
