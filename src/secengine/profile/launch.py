"""Start a command held at the door: its pid is known before it runs anything.

The recorder must follow a process from its first syscall, so the command
is forked, registered with the recorder by pid, and only then released to
``exec``. ``subprocess.Popen`` cannot do this (it waits for the ``exec``),
hence this small fork/exec with two pipes: one that holds the child, one
that carries an ``exec`` failure back as an errno. The child runs the command
only when told to: if secengine dies while holding it (the hold pipe closes
without a word), it exits instead of running unobserved.

The command's stderr can go through a :class:`~.relay.StderrRelay` (its
error message is kept, secrets scrubbed); :meth:`HeldChild.terminate_tree`
stops the command and the processes it started.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence

from secengine.profile.errors import ProfileError
from secengine.profile.relay import StderrRelay

__all__ = ["HeldChild", "descendants"]

_GO: bytes = b"x"


def descendants(pid: int, proc: str = "/proc") -> list[int]:
    """The pids of every process below ``pid`` (children first), from each one's parent pid."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            out.append(child)
            todo.append(child)
    return out


def _pidfd(pid: int) -> int | None:
    """A pidfd (signals reach this process, never a later one with its pid), or None if gone."""
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


def _alive(fd: int) -> bool:
    try:
        signal.pidfd_send_signal(fd, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/self/fdinfo/{fd}") as f:  # a zombie still answers signal 0
        return not any(line.startswith("Pid:\t-1") for line in f)


class HeldChild:
    """A forked child waiting to ``exec`` ``argv`` until :meth:`release`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        stdout_to_stderr: bool = False,
        stderr: StderrRelay | None = None,
    ) -> None:
        """``stdout_to_stderr``: the command writes its output to our stderr (our stdout
        carries a machine-readable result). ``stderr``: its stderr goes through this relay,
        which :meth:`poll` and :meth:`wait` pump."""
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
                if os.read(hold_r, 1) != _GO:
                    os._exit(1)  # secengine is gone: do not run unobserved
                os.close(hold_r)
                if stderr is not None:
                    os.dup2(stderr.child_side(), 2)
                if stdout_to_stderr:
                    os.dup2(2, 1)
                os.execvp(self.argv[0], self.argv)
            except OSError as e:
                os.write(err_w, str(e.errno or 1).encode())
            finally:
                os._exit(127)
        os.close(hold_r)
        os.close(err_w)
        if stderr is not None:
            stderr.forked()
        self.relay = stderr
        self.pid = pid
        self._hold = hold_w
        self._err = err_r
        self.returncode: int | None = None
        self.started_at = 0.0
        self.ended_at = 0.0

    def release(self) -> None:
        """Let the child ``exec``; raises ProfileError if the command could not be run."""
        self.started_at = time.monotonic()
        os.write(self._hold, _GO)
        os.close(self._hold)
        data = os.read(self._err, 16)
        os.close(self._err)
        if data:
            self.wait()
            err = int(data)
            raise ProfileError(f"cannot run {self.argv[0]!r}: {os.strerror(err)}")

    def pump(self, timeout: float) -> None:
        """Wait ``timeout`` seconds, forwarding the command's stderr meanwhile."""
        if self.relay is not None:
            self.relay.pump(timeout)
        else:
            time.sleep(timeout)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._done(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the child (at most ``timeout`` seconds); its exit code, or None."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() >= end:
                break
            self.pump(0.05)  # not a blocking waitpid: the relay must keep the pipe flowing
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

    def terminate_tree(self, grace: float) -> None:
        """SIGTERM to the command and every process below it, SIGKILL after ``grace`` s.

        Processes that left the tree (daemons reparented to init) are not found.
        A child still held is killed: it never runs.
        """
        if self.returncode is not None:
            return
        fds = [fd for fd in map(_pidfd, [self.pid, *descendants(self.pid)]) if fd is not None]
        try:
            for fd in fds:
                try:
                    signal.pidfd_send_signal(fd, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            end = time.monotonic() + grace
            while time.monotonic() < end:
                self.poll()
                if not any(_alive(fd) for fd in fds):
                    break
                self.pump(0.05)
            late = [fd for fd in map(_pidfd, descendants(self.pid)) if fd is not None]
            fds += late
            for fd in fds:
                try:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        finally:
            for fd in fds:
                os.close(fd)
        self.wait()

    @property
    def duration(self) -> float:
        end = self.ended_at or time.monotonic()
        return max(0.0, end - self.started_at) if self.started_at else 0.0
