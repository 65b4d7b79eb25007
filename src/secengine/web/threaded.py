"""An :class:`~secengine.web.server.EmbeddedHttpServer` on a thread and event loop of its own.

Both of the agent's listeners run so: the agent's threads never wait for a
client, and a client never waits for the agent's threads. :meth:`start`
returns once the socket listens (or raises why it cannot); :meth:`stop`
stops listening, lets requests in progress finish for up to
``shutdown_timeout`` seconds, then returns.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from secengine.web.server import EmbeddedHttpServer

__all__ = ["ThreadedHttpServer"]

_log = logging.getLogger("secengine.web")


class ThreadedHttpServer:
    """Runs ``server`` on a daemon thread named ``name``.

    ``on_stopping`` runs on the server's loop when a stop is asked, before
    the socket stops listening (the webhook starts answering 503 there);
    ``in_progress`` says how many requests are still being handled, and
    :meth:`stop` waits for none to be left.
    """

    def __init__(
        self,
        server: EmbeddedHttpServer,
        *,
        name: str,
        shutdown_timeout: float = 10.0,
        on_stopping: Callable[[], None] | None = None,
        in_progress: Callable[[], int] | None = None,
    ) -> None:
        self.server = server
        self.name = name
        self.shutdown_timeout = shutdown_timeout
        self._on_stopping = on_stopping
        self._in_progress = in_progress
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._start_error: BaseException | None = None
        self._address: tuple[str, int] | None = None

    def start(self) -> None:
        """Bind and serve; return once listening. Raises what prevented it (OSError...)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) bound; available once :meth:`start` returned."""
        if self._address is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._address

    @property
    def finished(self) -> bool:
        return self._stopped.is_set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop listening, finish requests in progress, then return (after ``timeout`` at most)."""
        loop, thread, stop_event = self._loop, self._thread, self._stop_event
        if loop is None or thread is None:
            return
        if not self._stopped.is_set() and stop_event is not None:
            try:
                loop.call_soon_threadsafe(stop_event.set)
            except RuntimeError:
                pass  # loop already closed
        thread.join(timeout)

    def _run(self) -> None:
        # granian (and uvloop) load when a listener starts, not when its source class is
        # imported: every command that builds the source table imports that class (docs/performance.md)
        import uvloop

        loop = uvloop.new_event_loop()
        asyncio.set_event_loop(loop)  # granian's embedded workers look the loop up
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:  # noqa: BLE001 - reported by start(); never raised in the thread
            if not self._ready.is_set():
                self._start_error = e
            else:
                _log.error("%s stopped on error: %s", self.name, e)
        finally:
            self._stopped.set()
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        server = self.server
        stop_event = self._stop_event = asyncio.Event()
        await server.start()
        try:
            self._address = server.address
            self._ready.set()
            await stop_event.wait()
            if self._on_stopping is not None:
                self._on_stopping()
            await server.stop_listening()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.shutdown_timeout
            left = self._in_progress
            while left is not None and left() and loop.time() < deadline:
                await asyncio.sleep(0.01)
            if left is not None and left():
                _log.warning(
                    "%s: %d request(s) still in progress after %.0fs, abandoned",
                    self.name,
                    left(),
                    self.shutdown_timeout,
                )
        finally:
            await server.close(self.shutdown_timeout)
