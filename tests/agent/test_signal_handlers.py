"""Signal handlers of ``secengine run`` take no lock: they note the signal and wake the loop.

A handler runs in the main thread wherever that thread is, including inside
``threading.Event.wait`` just after it took the event's lock back; one that set that event
waited for itself forever (``secengine run`` hung on SIGTERM after a SIGSTOP/SIGCONT).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from secengine.agent import Agent
from secengine.agent.signals import Waker, install_handlers
from secengine.config import load_config

_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)


def _locks_taken_by(call: Any) -> list[str]:
    """The lock acquisitions (``acquire``, ``__enter__`` of a C lock) made by ``call()``."""
    taken: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call" and getattr(arg, "__name__", "") in ("acquire", "__enter__"):
            taken.append(repr(arg))

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return taken


def test_the_agents_signal_handlers_take_no_lock(rules_file: Path) -> None:
    agent = Agent(
        load_config(options=[f"rules_files=[{rules_file}]", "stdout_output.enabled=false"])
    )
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    agent.install_signal_handlers()
    try:
        for signum in _SIGNALS:
            handler = signal.getsignal(signum)
            assert callable(handler)
            assert _locks_taken_by(lambda h=handler, s=signum: h(s, None)) == [], signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_the_loop_acts_on_the_signals_in_the_order_they_came() -> None:
    waker = Waker()
    done: list[str] = []
    handlers = install_handlers(
        lambda: done.append("stop"),
        lambda: done.append("reload"),
        lambda: done.append("reopen"),
        waker,
    )
    assert handlers is not None
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGTERM)
        assert waker.wait(5)
        time.sleep(0.05)  # the handlers run between bytecodes of this thread
        assert done == []  # nothing but the note in the handler itself
        handlers.dispatch()
        assert done == ["reload", "reopen", "stop"]
        handlers.dispatch()
        assert done == ["reload", "reopen", "stop"]
    finally:
        handlers.restore()
    assert signal.getsignal(signal.SIGTERM) is not handlers._note


def test_a_waker_wakes_once_set_and_never_blocks_the_setter() -> None:
    waker = Waker()
    assert not waker.wait(0)
    for _ in range(200_000):  # more than a pipe holds: the extra wake-ups are dropped
        waker.set()
    assert waker.wait(0)
    waker.clear()
    assert not waker.wait(0.01)


def test_a_waker_works_above_fd_setsize() -> None:
    """select() refuses descriptors from 1024 up; an embedding process may hold that many."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1100:
        raise AssertionError(f"RLIMIT_NOFILE hard limit {hard}: cannot open 1100 descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    held = []
    try:
        while not held or held[-1] < 1030:
            held.append(os.open("/dev/null", os.O_RDONLY))
        waker = Waker()
        waker.set()
        assert waker.wait(1)
        waker.clear()
        assert not waker.wait(0)
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
