"""Signals of ``secengine run``: SIGTERM/SIGINT stop, SIGHUP reloads, SIGUSR1 reopens outputs."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install_handlers"]


def install_handlers(
    stop: Callable[[], None], reload: Callable[[], None], reopen: Callable[[], None]
) -> Callable[[], None] | None:
    """Install the handlers; returns a function restoring the previous ones.

    Does nothing (returns None) outside the main thread, where Python refuses
    signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    actions: dict[int, Callable[[], None]] = {
        signal.SIGTERM: stop,
        signal.SIGINT: stop,
        signal.SIGHUP: reload,
        signal.SIGUSR1: reopen,
    }
    previous = {}
    for signum, action in actions.items():
        previous[signum] = signal.signal(signum, _handler(action))

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _handler(action: Callable[[], None]) -> Callable[[int, Any], None]:
    def handle(signum: int, frame: Any) -> None:
        action()

    return handle
