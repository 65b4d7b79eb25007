"""The replay source: field-map events from files (``.jsonl``, ``.jsonl.gz``) or stdin,
and Falco/sysdig captures (``.scap``, gzip-compressed or not: the magic decides).

Replay is how rules are tested and demonstrated without a kernel probe, so it
must keep up with the engine: files are read in large binary chunks, split
into lines (which keep their ``\\n``: orjson ignores it, and removing it
would copy the line), and each line costs one ``orjson.loads``, three dictionary reads
and the construction of the :class:`~secengine.events.Event`. Anything
unusual (a blank line, an RFC 3339 time, a malformed line) drops to the slow
path in :mod:`secengine.sources.fieldmap`.

A malformed line is never fatal: it becomes an
:class:`~secengine.errors.EventFormatError` naming ``file:line``, is handed to
the ``on_error`` callback, counted in :attr:`ReplayStats.rejected`, and the
run continues.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ClassVar

import orjson

from secengine.capture.blocks import CaptureFormatError
from secengine.capture.replay import CaptureReplay, open_capture
from secengine.capture.replay import sniff as sniff_capture
from secengine.errors import EventFormatError
from secengine.events import Event, FieldValues
from secengine.sources.base import BatchSource
from secengine.sources.fieldmap import DEFAULT_SOURCE, FieldMapError, parse_line
from secengine.sources.lines import (
    DEFAULT_CHUNK,
    DEFAULT_MAX_LINE,
    OverlongLine,
    chunk_reader,
    overlong_message,
    split_lines,
)

__all__ = ["STDIN", "MemorySource", "ReplaySource", "ReplayStats", "read_events"]

#: The input name that means standard input.
STDIN = "-"
_STDIN_LABEL = "<stdin>"

ErrorHandler = Callable[[EventFormatError], None]


@dataclass(slots=True)
class ReplayStats:
    """Counters of one replay run; updated once per chunk while reading.

    ``bytes_total`` is the summed size of the input files (compressed size for
    ``.gz``), or ``None`` when an input has no known size (stdin, a pipe);
    ``bytes_read`` counts the same bytes as they are consumed.
    """

    files: int = 0
    lines: int = 0
    events: int = 0
    rejected: int = 0
    dropped: int = 0  # a replay never drops: it waits for room instead
    bytes_read: int = 0
    bytes_total: int | None = 0
    #: The first rejected lines (up to ``ReplaySource.keep_errors``), for reports.
    errors: list[EventFormatError] = field(default_factory=list)
    #: Inputs that had lines but not one usable event (binary junk, the wrong
    #: format): a run with any is not clean (``secengine replay`` exits 2).
    unusable: list[str] = field(default_factory=list)

    def reject(
        self, error: EventFormatError, keep: int, on_error: ErrorHandler | None = None
    ) -> None:
        """Count a rejected line, keep its error (up to ``keep``) and report it."""
        self.rejected += 1
        if len(self.errors) < keep:
            self.errors.append(error)
        if on_error is not None:
            on_error(error)

    def finish_input(self, label: str, events_before: int, rejected_before: int) -> None:
        """Note an input that is done: unusable if it had rejected lines and gave no event."""
        if self.events == events_before and self.rejected > rejected_before:
            self.unusable.append(label)

    @property
    def fraction(self) -> float | None:
        """Share of the input consumed so far, when the total is known."""
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_read / self.bytes_total)


class ReplaySource(BatchSource):
    """Field-map events from files, in order, as an iterator or in batches.

    ``inputs`` are paths (``str`` or :class:`~pathlib.Path`); ``"-"`` reads
    stdin. Gzip input is recognised by its magic bytes, whatever the name.
    ``default_source`` is the source of events that do not name one.
    ``on_error`` receives each rejected line's error (it must not raise);
    errors are also counted and the first ``keep_errors`` kept in
    :attr:`stats`. A line longer than ``max_line_size`` bytes is skipped
    and rejected without being held in memory (:mod:`secengine.sources.lines`).
    """

    name: ClassVar[str] = "replay"

    def __init__(
        self,
        inputs: Sequence[str | os.PathLike[str]],
        *,
        default_source: str = DEFAULT_SOURCE,
        on_error: ErrorHandler | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        keep_errors: int = 100,
        max_line_size: int = DEFAULT_MAX_LINE,
    ) -> None:
        self.inputs = [os.fspath(p) for p in inputs]
        self.default_source = default_source
        self.on_error = on_error
        self.chunk_size = chunk_size
        self.keep_errors = keep_errors
        self.max_line_size = max_line_size
        self.stats = ReplayStats()
        self.stats.bytes_total = self._total_size()
        self._num = 0
        self._capture_interest: frozenset[str] | None = None

    def set_interest(self, evttypes: frozenset[str] | None) -> None:
        """The event types the ``syscall`` rules need (None: all): a capture's other events
        change the state but are not yielded (they are counted), as the live probe does.
        Field-map lines are yielded whole."""
        self._capture_interest = evttypes

    def _total_size(self) -> int | None:
        total = 0
        for p in self.inputs:
            if p == STDIN:
                return None
            try:
                st = os.stat(p)
            except OSError:
                continue  # reported when opened
            if not os.path.isfile(p):
                return None
            total += st.st_size
        return total

    # -- iteration ----------------------------------------------------------
    def batches(self) -> Iterator[list[Event]]:
        """Lists of events, one per chunk read (a few thousand events each).

        Raises :class:`OSError` if an input cannot be opened.
        """
        for path in self.inputs:
            if path == STDIN:
                yield from self._read(sys.stdin.buffer, _STDIN_LABEL, None)
                continue
            with open(path, "rb") as raw:
                if sniff_capture(raw):  # a .scap capture (the format is in the magic)
                    yield from self._read_capture(raw, path)
                else:
                    yield from self._read(raw, path, raw)

    def _read_capture(self, raw: IO[bytes], label: str) -> Iterator[list[Event]]:
        """A capture's events, through the syscall state machine (:mod:`secengine.capture`);
        a fault ends the file as a rejected ``file:offset: reason``, and what the reader
        skipped is reported once per kind, with its count, when the file is done."""
        stats = self.stats
        stats.files += 1
        start, done_before = raw.tell(), stats.bytes_read
        events_before, rejected_before = stats.events, stats.rejected
        replay = CaptureReplay(open_capture(raw), label, first_num=self._num)
        replay.set_interest(self._capture_interest)
        try:
            for n, batch in enumerate(replay.batches()):
                if n & 63 == 0:  # the counters of the progress display, now and then
                    stats.events = events_before + replay.events
                    stats.bytes_read = done_before + raw.tell() - start
                yield batch
        except CaptureFormatError as e:
            self._reject(e)
        finally:
            self._num = replay.num
            stats.events = events_before + replay.events
            stats.bytes_read = done_before + raw.tell() - start
        for what, (count, offset) in replay.unknown_first.items():
            if self.on_error is not None:
                self.on_error(CaptureFormatError(label, offset, f"skipped {count}x: {what}"))
        stats.finish_input(label, events_before, rejected_before)

    def _read(self, raw: IO[bytes], label: str, counted: IO[bytes] | None) -> Iterator[list[Event]]:
        stats = self.stats
        stats.files += 1
        read_stream = chunk_reader(raw)
        start = counted.tell() if counted is not None else 0
        done_before = stats.bytes_read
        events_before, rejected_before = stats.events, stats.rejected
        loads = orjson.loads
        make_event = Event
        make_fields = FieldValues
        default = self.default_source
        lineno = 0
        num = self._num

        def read(size: int) -> bytes:
            data = read_stream(size)
            stats.bytes_read += len(data)
            return data

        def unreadable(e: OSError | EOFError) -> None:  # truncated or corrupt gzip
            self._reject(EventFormatError(f"unreadable input: {e}", label, lineno + 1))

        for lines in split_lines(
            read if counted is None else read_stream,
            self.max_line_size,
            self.chunk_size,
            unreadable,
            keep_newline=True,
        ):
            batch: list[Event] = []
            append = batch.append
            for line in lines:
                lineno += 1
                try:
                    obj = loads(line)
                    fields = obj["fields"]
                    ts = obj["time"]
                    src = obj.get("source", default)
                    if type(fields) is not dict or type(ts) is not int or type(src) is not str:
                        raise TypeError
                except Exception:  # noqa: BLE001 - any failure: the slow path says why
                    event = self._slow(line, label, lineno, num + 1)
                    if event is None:
                        continue
                    num += 1
                    append(event)
                    continue
                num += 1
                append(make_event(src, ts, make_fields(fields), num))
            stats.lines += len(lines)
            stats.events += len(batch)
            if counted is not None:
                stats.bytes_read = done_before + counted.tell() - start
            self._num = num
            if batch:
                yield batch
        stats.finish_input(label, events_before, rejected_before)

    def _slow(self, line: bytes, label: str, lineno: int, num: int) -> Event | None:
        if type(line) is OverlongLine:
            self._reject(
                EventFormatError(overlong_message(line.size, self.max_line_size), label, lineno)
            )
            return None
        if line.endswith(b"\n"):  # kept by the splitter for the fast path's sake
            line = line[:-1]
        try:
            return parse_line(line, self.default_source, num)
        except FieldMapError as e:
            self._reject(EventFormatError(str(e), label, lineno))
            return None

    def _reject(self, error: EventFormatError) -> None:
        self.stats.reject(error, self.keep_errors, self.on_error)


class MemorySource(BatchSource):
    """An in-memory replay source: the test double of any event source."""

    name: ClassVar[str] = "memory"

    def __init__(self, events: Iterable[Event], batch_size: int = 1024) -> None:
        self.events = list(events)
        self.batch_size = batch_size
        self.stats = ReplayStats(events=0, bytes_total=None)

    def batches(self) -> Iterator[list[Event]]:
        for i in range(0, len(self.events), self.batch_size):
            batch = self.events[i : i + self.batch_size]
            self.stats.events += len(batch)
            yield batch


def read_events(
    *inputs: str | Path, default_source: str = DEFAULT_SOURCE, on_error: ErrorHandler | None = None
) -> Iterator[Event]:
    """Every valid event of the given field-map files, in order (errors go to ``on_error``)."""
    return iter(ReplaySource(inputs, default_source=default_source, on_error=on_error))
