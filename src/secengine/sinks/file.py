"""The ``file`` sink: alerts appended to a file, one per line, with optional size-based rotation.

As Falco's ``file_output``: the file is opened in append mode; with
``keep_alive: false`` (Falco's default) it is reopened for every alert, so
an outside tool may move it at any time; with ``keep_alive: true`` it stays
open, and :meth:`reopen` (SIGUSR1) closes and opens it again.

Rotation (a secengine addition) keeps the file below ``max_size`` bytes:
before a line that would make it larger, ``name`` becomes ``name.1``,
``name.1`` becomes ``name.2`` and so on up to ``backups`` files (the oldest
is deleted), and a new ``name`` is started. A single line longer than
``max_size`` is still written, alone in its file.

A write or flush the disk refuses (``ENOSPC``, ``EIO``) fails the alerts
not yet on disk, and the file is closed, its buffer discarded, so the next
alert reopens it rather than writing a torn line after lost ones.
"""

from __future__ import annotations

import os
from typing import IO, Any, ClassVar

from secengine.alert import Alert
from secengine.sinks.base import Sink, SinkError

__all__ = ["FileSink"]


class FileSink(Sink):
    """Appends alert lines to ``filename`` (text or JSON Lines, as the renderer says)."""

    name: ClassVar[str] = "file"

    def __init__(
        self,
        filename: str | os.PathLike[str],
        *,
        keep_alive: bool = False,
        max_size: int = 0,
        backups: int = 5,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if max_size < 0 or backups < 0:
            raise ValueError("max_size and backups must not be negative")
        self.filename = os.fspath(filename)
        self.keep_alive = keep_alive
        self.max_size = max_size
        self.backups = backups
        self._file: IO[bytes] | None = None
        self._size = 0
        #: Set when buffered lines were discarded: the next flush reports them failed.
        self._lost: OSError | None = None

    def open(self) -> None:
        self._open()
        if not self.keep_alive:
            self.close()

    def _open(self) -> IO[bytes]:
        if self._file is None:
            try:
                self._file = open(self.filename, "ab")  # noqa: SIM115 - kept open across calls
            except OSError as e:
                raise SinkError(f"failed to open output file {self.filename}: {e.strerror}") from e
            self._size = self._file.tell()
        return self._file

    def deliver(self, alert: Alert) -> None:
        data = self.renderer.line(alert) + b"\n"
        out = self._open()
        if self.max_size and self._size and self._size + len(data) > self.max_size:
            self._rotate()
            out = self._open()
        try:
            out.write(data)
        except OSError as e:
            self._drop_buffer(e)
            raise SinkError(f"writing {self.filename} failed: {e.strerror or e}") from e
        self._size += len(data)
        if not self.keep_alive:
            try:
                self.close()
            except OSError as e:
                raise SinkError(f"writing {self.filename} failed: {e.strerror or e}") from e

    def _rotate(self) -> None:
        self.close()
        if self.backups == 0:
            os.truncate(self.filename, 0)
            return
        for i in range(self.backups - 1, 0, -1):
            older = f"{self.filename}.{i}"
            if os.path.exists(older):
                os.replace(older, f"{self.filename}.{i + 1}")
        os.replace(self.filename, f"{self.filename}.1")

    def flush(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as e:
                self._drop_buffer(e)
        if self._lost is not None:
            lost, self._lost = self._lost, None
            raise SinkError(f"writing {self.filename} failed: {lost.strerror or lost}")

    def _drop_buffer(self, error: OSError) -> None:
        """Close the file dropping its buffer (those lines failed); the next alert reopens it."""
        self._lost = error
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass  # the same error again, for the same lines

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None

    def reopen(self) -> None:
        self.close()
        if self.keep_alive:
            self._open()
