"""Record the live stream to ``.scap`` files: state first, then every record, bounded.

A :class:`CaptureRecorder` writes records that a state machine has just
applied: the state blocks from its tables when it starts, then each record's
events (so an exec's event carries the new image, as the driver's does).
``secengine run --capture OUT.scap`` (:meth:`SyscallSource.record_to
<secengine.sources.syscall.SyscallSource.record_to>`) runs one in the
converter process of :mod:`.spool`, off the live path; an embedder with
records and tables of its own can run one in process.

Size: ``max_bytes`` bounds each file. With ``files`` > 1 the files rotate
(``OUT.scap`` -> ``OUT.scap.1`` ... the oldest dropped), each new file
starting with the state tables as they are then, so every file reads on
its own; with ``files`` = 1 (the default) writing stops at the bound and
the records past it are counted in :attr:`CaptureStats.dropped`, never
silently lost. A name ending in ``.gz`` is written gzip-compressed.

A write error (a full disk) closes the capture with one sentence in
:attr:`CaptureRecorder.error` and counts what could not be written; the
live source keeps running.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from secengine.capture.probe_events import ProbeEvents
from secengine.capture.state_blocks import write_state
from secengine.capture.writer import ScapWriter
from secengine.fields.live import ProcessView
from secengine.state.decode import Rec
from secengine.state.threads import Process

__all__ = ["CaptureRecorder", "CaptureStats"]

_BUFFER = 1 << 20


@dataclass(slots=True)
class CaptureStats:
    """What a recorder wrote and what it could not."""

    records: int = 0
    events: int = 0
    bytes: int = 0
    files: int = 0
    #: records past the size bound (no rotation) or after a write error
    dropped: int = 0
    #: records with no capture event (see :class:`~.probe_events.ProbeEvents`)
    skipped: int = 0
    #: records the writer could not encode (a bug: the first reason is kept)
    unencodable: int = 0


class CaptureRecorder:
    """Writes records to ``path`` (see the module docstring for bounds and rotation)."""

    def __init__(self, path: str, *, max_bytes: int = 0, files: int = 1) -> None:
        if max_bytes < 0 or files < 1:
            raise ValueError("max_bytes must be >= 0 and files >= 1")
        self.path = path
        self.max_bytes = max_bytes
        self.files = files
        self.stats = CaptureStats()
        self.error: str | None = None
        self.unencodable_reason: str | None = None
        self._out: BinaryIO | None = None
        self._writer: ScapWriter | None = None
        self._events: ProbeEvents | None = None
        self._procs: Callable[[], Iterable[Process]] = list
        self._full = False
        self._written_before = 0

    # -- lifecycle ----------------------------------------------------------
    def start(self, procs: Callable[[], Iterable[Process]]) -> None:
        """Open the first file and write the state ``procs()`` gives (called again at each
        rotation for the tables as they are then)."""
        self._procs = procs
        self._open()

    def _open(self) -> None:
        raw: BinaryIO
        if self.path.endswith(".gz"):
            raw = gzip.open(self.path, "wb", compresslevel=1)  # type: ignore[assignment]  # noqa: SIM115
        else:
            raw = open(self.path, "wb", buffering=_BUFFER)  # noqa: SIM115 - closed by close()
        self._out = raw
        self._writer = w = ScapWriter(raw)
        self._events = ProbeEvents(w)
        self.stats.files += 1
        try:
            write_state(w, self._procs())
        except OSError as e:
            self._fail(e)

    def close(self) -> None:
        """Flush and close the current file (idempotent)."""
        out = self._out
        if out is None:
            return
        self._account()
        if self._writer is not None:
            self._written_before += self._writer.bytes_written
        self._out = self._writer = None
        try:
            out.close()
        except OSError as e:
            self.error = self.error or f"{self.path}: cannot write the capture: {e.strerror or e}"

    def _account(self) -> None:
        w, ev = self._writer, self._events
        if w is not None and ev is not None:
            self.stats.bytes = self._written_before + w.bytes_written
            self.stats.events = self.stats.events + w.events
            w.events = 0
            self.stats.skipped += ev.skipped
            ev.skipped = 0

    def _fail(self, e: OSError) -> None:
        self.error = f"{self.path}: cannot write the capture: {e.strerror or e}"
        out, self._out, self._writer = self._out, None, None
        if out is not None:
            try:
                out.close()
            except OSError:
                pass

    # -- records ------------------------------------------------------------
    def write(self, rec: Rec, proc: ProcessView | None) -> None:
        """Write ``rec`` (already applied to the state; ``proc`` is its process)."""
        self.stats.records += 1
        w, ev = self._writer, self._events
        if w is None or ev is None:
            self.stats.dropped += 1
            return
        if self.max_bytes and w.bytes_written >= self.max_bytes:
            if self.files == 1:
                self.stats.dropped += 1
                self._full = True
                return
            self._rotate()
            w, ev = self._writer, self._events
            if w is None or ev is None:
                self.stats.dropped += 1
                return
        try:
            ev.write(rec, proc)
        except OSError as e:
            self.stats.dropped += 1
            self._fail(e)
        except (ValueError, IndexError, struct.error) as e:
            # a record this writer cannot encode: counted, named once, the stream goes on
            self.stats.unencodable += 1
            if self.unencodable_reason is None:
                self.unencodable_reason = f"{rec.name} record at {rec.ts}: {e}"

    def _rotate(self) -> None:
        self.close()
        try:
            for i in range(self.files - 1, 0, -1):
                src = self.path if i == 1 else f"{self.path}.{i - 1}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i}")
        except OSError as e:
            self._fail(e)
            return
        self._open()

    @property
    def full(self) -> bool:
        """Whether the size bound stopped the writing (no rotation)."""
        return self._full

    def snapshot(self) -> CaptureStats:
        """The counters now (bytes and events include the open file's)."""
        self._account()
        return dataclasses.replace(self.stats)
