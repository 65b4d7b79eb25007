"""Start a command held at the door: its pid is known before it runs anything.

The recorder must follow a process from its first syscall, so the command
is forked, registered with the recorder by pid, and only then released to
``exec``. ``subprocess.Popen`` cannot do this (it waits for the ``exec``),
hence this small fork/exec with two pipes: one that holds the child, one
that carries an ``exec`` failure back as an errno.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence

from secengine.profile.errors import ProfileError

__all__ = ["HeldChild"]


class HeldChild:
    """A forked child waiting to ``exec`` ``argv`` until :meth:`release`."""

    def __init__(self, argv: Sequence[str], *, stdout_to_stderr: bool = False) -> None:
        """``stdout_to_stderr``: the command writes its output to our stderr (our stdout
        carries a machine-readable result)."""
        if not argv:
            raise ProfileError("no command given")
        self.argv = list(argv)
        hold_r, hold_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child execs or exits
            try:
                os.close(hold_w)
                os.close(err_r)
                os.set_inheritable(err_w, False)
                os.read(hold_r, 1)
                os.close(hold_r)
                if stdout_to_stderr:
                    os.dup2(2, 1)
                os.execvp(self.argv[0], self.argv)
            except OSError as e:
                os.write(err_w, str(e.errno or 1).encode())
            finally:
                os._exit(127)
        os.close(hold_r)
        os.close(err_w)
        self.pid = pid
        self._hold = hold_w
        self._err = err_r
        self.returncode: int | None = None
        self.started_at = 0.0
        self.ended_at = 0.0

    def release(self) -> None:
        """Let the child ``exec``; raises ProfileError if the command could not be run."""
        self.started_at = time.monotonic()
        os.write(self._hold, b"x")
        os.close(self._hold)
        data = os.read(self._err, 16)
        os.close(self._err)
        if data:
            self.wait()
            err = int(data)
            raise ProfileError(f"cannot run {self.argv[0]!r}: {os.strerror(err)}")

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._done(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the child (at most ``timeout`` seconds); its exit code, or None."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if end is None:
                _pid, status = os.waitpid(self.pid, 0)
                self._done(status)
                break
            if self.poll() is not None or time.monotonic() >= end:
                break
            time.sleep(0.05)
        return self.returncode

    def _done(self, status: int) -> None:
        self.ended_at = time.monotonic()
        self.returncode = os.waitstatus_to_exitcode(status)

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    @property
    def duration(self) -> float:
        end = self.ended_at or time.monotonic()
        return max(0.0, end - self.started_at) if self.started_at else 0.0
