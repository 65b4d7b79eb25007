"""Signals of ``secengine run``: SIGTERM/SIGINT stop, SIGHUP reloads, SIGUSR1 reopens outputs.

A Python signal handler runs in the main thread between two bytecodes, wherever that thread
is, including inside ``threading.Event.wait`` right after it took the event's lock back. A
handler that then sets that event (or takes any lock the main thread may hold) waits for
itself forever: ``secengine run`` hung on SIGTERM that way after a SIGSTOP/SIGCONT, and a
hung agent never drains its queue, so the alerts in it were lost uncounted. So the handlers
here take no lock: they note the signal and wake the main loop through a pipe (:class:`Waker`),
and the loop acts on it (:meth:`SignalHandlers.dispatch`).
"""

from __future__ import annotations

import collections
import os
import select
import signal
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["SignalHandlers", "Waker", "install_handlers"]


def _close(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


class Waker:
    """A wake-up that any thread and any signal handler can give, and one thread waits for.

    Like ``threading.Event`` for one waiter, but :meth:`set` only writes a byte to a pipe: no
    lock, so a signal handler may call it whatever the main thread holds.
    """

    def __init__(self) -> None:
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # closed with the object: a late set() can never write into a reused descriptor
        weakref.finalize(self, _close, self._r, self._w)
        # poll, not select: an embedding process may hold more than FD_SETSIZE descriptors
        self._poll = select.poll()
        self._poll.register(self._r, select.POLLIN)

    def set(self) -> None:
        try:
            os.write(self._w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups: the waiter wakes anyway

    def wait(self, timeout: float | None = None) -> bool:
        """Until :meth:`set` (since the last :meth:`clear`) or ``timeout`` seconds; True if set."""
        return bool(self._poll.poll(None if timeout is None else timeout * 1000))

    def clear(self) -> None:
        try:
            while os.read(self._r, 4096):
                pass
        except BlockingIOError:
            pass


class SignalHandlers:
    """The installed handlers: the signals they noted, acted on by :meth:`dispatch`."""

    def __init__(self, actions: dict[int, Callable[[], None]], waker: Waker) -> None:
        self._actions = actions
        self._waker = waker
        #: signals received and not dispatched yet (deque appends and pops take no lock)
        self._pending: collections.deque[int] = collections.deque()
        self._previous = {signum: signal.signal(signum, self._note) for signum in actions}

    def _note(self, signum: int, frame: Any) -> None:
        self._pending.append(signum)
        self._waker.set()

    def dispatch(self) -> None:
        """Run the action of each signal received since the last call, in order."""
        while self._pending:
            self._actions[self._pending.popleft()]()

    def restore(self) -> None:
        """Put the previous handlers back."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def install_handlers(
    stop: Callable[[], None],
    reload: Callable[[], None],
    reopen: Callable[[], None],
    waker: Waker,
) -> SignalHandlers | None:
    """Install the handlers, which wake ``waker``; the caller's loop then calls
    :meth:`SignalHandlers.dispatch`, which runs ``stop``, ``reload`` or ``reopen``.

    Does nothing (returns None) outside the main thread, where Python refuses
    signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    return SignalHandlers(
        {
            signal.SIGTERM: stop,
            signal.SIGINT: stop,
            signal.SIGHUP: reload,
            signal.SIGUSR1: reopen,
        },
        waker,
    )
