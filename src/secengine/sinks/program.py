"""The ``program`` sink: alerts piped into a shell command's stdin (Falco's ``program_output``).

The command runs under ``/bin/sh -c`` as ``popen(3)`` runs it, with the
agent's stdout and stderr. With ``keep_alive: false`` (Falco's default) a new
process gets each alert and is waited for, as ``pclose`` does; with
``keep_alive: true`` one process reads every alert, one per line.

A long-running program that dies is started again: the next alert (or the
one whose write found the pipe broken) goes to a new process. Restarts are
counted in ``stats.retries`` and spaced by a backoff that doubles, up to
``restart_backoff_max`` seconds, while the program keeps dying quickly, so a
command that cannot start does not spin.

What counts as delivered: with ``keep_alive: false``, the process read its
line and exited with status 0 within ``close_timeout`` seconds of its stdin
closing; a non-zero status, a signal, or a process still running then (it is
terminated) fails the alert. With ``keep_alive: true``, the program read the
line out of its pipe: a written line stays awaiting confirmation until the
pipe's unread byte count (``FIONREAD`` on our end) shows it was taken, and
the lines still unread when the program dies (or is stopped without having
exited 0) fail. When shutdown gives up, :meth:`interrupt` kills the
program's process group, so a write blocked on a program that never reads
returns.
"""

from __future__ import annotations

import collections
import fcntl
import os
import signal
import struct
import subprocess
import termios
import time
from typing import IO, Any, ClassVar

from secengine.alert import Alert
from secengine.sinks.base import Sink, SinkError

__all__ = ["ProgramSink"]

#: A process that lived this long is considered to have run normally.
_HEALTHY_SECONDS = 10.0


class ProgramSink(Sink):
    """Writes alert lines to the stdin of ``program`` (a shell command line)."""

    name: ClassVar[str] = "program"

    def __init__(
        self,
        program: str,
        *,
        keep_alive: bool = False,
        restart_backoff: float = 0.5,
        restart_backoff_max: float = 30.0,
        close_timeout: float = 5.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if not program.strip():
            raise ValueError("program sink needs a command")
        self.program = program
        self.keep_alive = keep_alive
        self.restart_backoff = restart_backoff
        self.restart_backoff_max = restart_backoff_max
        self.close_timeout = close_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._current: subprocess.Popen[bytes] | None = None  # the per-alert process
        self._started_at = 0.0
        self._quick_deaths = 0
        # keep_alive: sizes of the lines written to self._proc that it has not been seen
        # to read yet (oldest first); the base class holds as many alerts awaiting confirmation
        self._unread: collections.deque[int] = collections.deque()
        #: Processes started so far (the first one included).
        self.spawned = 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        try:
            # its own process group, so that interrupt() reaches the shell's children too
            proc = subprocess.Popen(
                ["/bin/sh", "-c", self.program], stdin=subprocess.PIPE, process_group=0
            )
        except OSError as e:
            raise SinkError(f"failed to start program output {self.program!r}: {e}") from e
        self.spawned += 1
        self._started_at = time.monotonic()
        return proc

    def open(self) -> None:
        if self.keep_alive and self._proc is None:
            self._proc = self._spawn()

    def deliver(self, alert: Alert) -> None:
        data = self.renderer.line(alert) + b"\n"
        if not self.keep_alive:
            self._deliver_once(data)
            return
        current = self._proc
        proc = current if current is not None and current.poll() is None else self._restart()
        try:
            self._write(proc.stdin, data)
        except OSError:
            proc = self._restart()
            self._write(proc.stdin, data)
        self._unread.append(len(data))

    def _deliver_once(self, data: bytes) -> None:
        """One process for one alert, as Falco's popen/pclose: its exit status decides."""
        proc = self._current = self._spawn()
        try:
            try:
                self._write(proc.stdin, data)
            except OSError as e:
                self._finish(proc)
                raise SinkError(
                    f"program {self.program!r} did not read its input "
                    f"({e.strerror or e}; exit status {proc.returncode})"
                ) from e
            if not self._finish(proc):
                raise SinkError(
                    f"program {self.program!r} did not exit within "
                    f"{self.close_timeout}s of its input closing: terminated"
                )
        finally:
            self._current = None
        if proc.returncode != 0:
            raise SinkError(f"program {self.program!r} exited with status {proc.returncode}")

    @staticmethod
    def _write(stdin: IO[bytes] | None, data: bytes) -> None:
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def _restart(self) -> subprocess.Popen[bytes]:
        old = self._proc
        if old is not None:
            lived = time.monotonic() - self._started_at
            self._quick_deaths = 0 if lived >= _HEALTHY_SECONDS else self._quick_deaths + 1
            self._bury(old)
            self.report_failure(
                "restart",
                f"program {self.program!r} exited (status {old.returncode}); restarting it",
            )
        self._proc = None
        if self.abandoned:
            raise SinkError(f"program {self.program!r} not restarted: shutting down")
        if self._quick_deaths:
            delay = min(
                self.restart_backoff * 2 ** (self._quick_deaths - 1), self.restart_backoff_max
            )
            if not self.wait_or_abandon(delay):
                raise SinkError(f"program {self.program!r} not restarted: shutting down")
        self.stats.retries += 1
        self._proc = self._spawn()
        return self._proc

    def _finish(self, proc: subprocess.Popen[bytes]) -> bool:
        """Close the pipe and wait for the process, as ``pclose`` does, at most
        ``close_timeout`` seconds (less at shutdown); False if it had to be terminated."""
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + self.close_timeout
        while proc.poll() is None:
            if self.abandoned or time.monotonic() > deadline:
                _signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(1.0)
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                    proc.wait()
                return False
            time.sleep(0.01)
        return True

    def flush(self) -> int | None:
        """keep_alive: confirm the lines the program has read; how many still await it."""
        if self._proc is None or self._proc.stdin is None:
            return None
        try:
            self._proc.stdin.flush()
        except OSError:
            pass  # reported by the next delivery, which restarts the program
        self._forget_read(_unread_bytes(self._proc.stdin))
        return len(self._unread)

    def _forget_read(self, unread: int | None) -> int:
        """Drop from ``_unread`` (and confirm) the oldest lines wholly read; how many."""
        pending = self._unread
        if unread is None:  # the pipe's count is unknown: no line is confirmed yet
            return 0
        taken = sum(pending) - unread
        n = 0
        while pending and pending[0] <= taken:
            taken -= pending.popleft()
            n += 1
        return n

    def _bury(self, proc: subprocess.Popen[bytes]) -> None:
        """Close and reap a keep_alive program: the lines it read are delivered, the rest
        failed (all delivered when it read to the end and exited 0)."""
        unread = _unread_bytes(proc.stdin) if proc.stdin is not None else None
        read = self._forget_read(unread)
        ended = self._finish(proc)
        if ended and proc.returncode == 0:
            read += len(self._unread)
        self._unread.clear()
        self.resolve_pending(read)

    def interrupt(self) -> None:
        """Kill the program being written to, so that a blocked write returns."""
        for proc in (self._current, self._proc):
            if proc is not None and proc.poll() is None:
                _signal_group(proc, signal.SIGKILL)

    def close(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            self._bury(proc)

    @property
    def pid(self) -> int | None:
        """The running program's process id (``keep_alive`` only)."""
        return self._proc.pid if self._proc is not None else None


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the program's process group (the shell and what it started)."""
    try:
        os.killpg(proc.pid, signum)
    except OSError:
        pass


def _unread_bytes(pipe: IO[bytes]) -> int | None:
    """Bytes written into ``pipe`` that its reader has not read yet (Linux ``FIONREAD``)."""
    try:
        raw = fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except (OSError, ValueError):
        return None
    return int(struct.unpack("i", raw)[0])
