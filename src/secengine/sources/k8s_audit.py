"""Kubernetes audit events: decoding audit payloads, and replaying audit log files.

kube-apiserver writes audit events (``audit.k8s.io/v1`` ``Event`` objects)
to a log file, one JSON object per line, or posts them to a webhook in
``EventList`` batches. This module turns either into engine events, as
Falco's k8saudit plugin does (``source.go``, ``ParseAuditEventsJSON``):

- a payload is a JSON array (of payloads), an object with ``kind: EventList``
  (the events are its ``items``) or an object with ``kind: Event``; anything
  else (``{"kind": 0}``) is not an audit payload;
- each event needs a ``stageTimestamp`` in RFC 3339 (nanoseconds allowed),
  which becomes the event time in ns; events bigger than ``max_event_size``
  once serialised are refused, as the plugin's ``maxEventSize`` does.

An engine event keeps the parsed audit object in an :class:`AuditFieldValues`,
whose ``__missing__`` extracts ``ka.*``/``jevt.*`` values on first use and
caches them, so a field costs at most one extraction per event.

:class:`K8sAuditFileSource` replays audit files: JSON Lines where each line is
an Event, an EventList or an array of events (what the log backend writes),
a file holding one pretty-printed EventList or Event, a directory of such
files, gzip-compressed or not. A line that is not an audit event is reported
(``file:line: reason``), counted, and skipped.
"""

from __future__ import annotations

import calendar
import gzip
import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, ClassVar, Final

import orjson

from secengine.errors import EventFormatError, SecengineError
from secengine.events import MISSING, NO_EXTRACTION, Event, Extraction, FieldValues
from secengine.fields import catalog, json_fields, k8s_audit
from secengine.fields.gen_event import TIME_FIELDS, filter_time_value
from secengine.sources.base import BatchSource, SourceSpec
from secengine.sources.lines import (
    DEFAULT_MAX_LINE,
    READ_ERRORS,
    OverlongLine,
    chunk_reader,
    overlong_message,
    split_lines,
)
from secengine.sources.replay import ReplayStats

__all__ = [
    "MAX_EVENT_SIZE",
    "SOURCE",
    "SPEC",
    "AuditFieldValues",
    "AuditPayloadError",
    "K8sAuditFileSource",
    "audit_events",
    "audit_replay_source",
    "decode_payload",
    "is_field_map_file",
    "make_event",
    "parse_timestamp",
]

#: The event source name of Kubernetes audit events.
SOURCE: Final = "k8s_audit"
#: Kubernetes audit events: the k8saudit and json plugins' field classes, one rule
#: bucket, no shipped rules; ``secengine replay`` reads audit logs (:func:`audit_replay_source`).
SPEC: Final = SourceSpec(
    name=SOURCE,
    field_classes=catalog.k8s_audit_classes,
    replay_reader="secengine.sources.k8s_audit:audit_replay_source",
    event_noun="audit event",
)
#: The plugin's default ``maxEventSize``: the largest audit event accepted, serialised.
MAX_EVENT_SIZE: Final = 262144
_PLUGIN_NAME: Final = "k8saudit"
_GZIP_MAGIC: Final = b"\x1f\x8b"
_NS: Final = 1_000_000_000


class AuditPayloadError(SecengineError, ValueError):
    """A JSON value that is not an audit event or payload; the message says why."""


# ---------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))\Z"
)
#: The seconds of recently seen timestamps (audit events come in bursts of the
#: same second): the date arithmetic is done once per second, not per event.
_SECONDS_CACHE: dict[str, int] = {}
_SECONDS_CACHE_MAX: Final = 256


def parse_timestamp(text: Any) -> int:
    """An RFC 3339 timestamp (Go's ``time.RFC3339Nano`` layout) as ns since the epoch.

    ``2024-05-02T10:00:00.123456789Z``, ``...+02:00``; up to nine fractional
    digits count, more are truncated. Raises :class:`AuditPayloadError`.
    """
    if type(text) is not str:
        raise AuditPayloadError(f"stageTimestamp is not a string: {_short(text)}")
    m = _RFC3339.match(text)
    if m is None:
        raise AuditPayloadError(f"cannot parse stageTimestamp {text!r} as RFC 3339")
    whole = text[:19]
    tz = m.group(8) or text[m.start(9) :]
    cache_key = whole + tz
    secs = _SECONDS_CACHE.get(cache_key)
    if secs is None:
        year, month, day, hour, minute, sec = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
        if not (
            1 <= month <= 12
            and 1 <= day <= calendar.monthrange(year, month)[1]
            and hour < 24
            and minute < 60
            and sec < 60
        ):
            raise AuditPayloadError(f"stageTimestamp {text!r} is out of range")
        secs = calendar.timegm((year, month, day, hour, minute, sec, 0, 0, 0))
        if m.group(9) is not None:
            oh, om = int(m.group(10)), int(m.group(11))
            if oh > 23 or om > 59:
                raise AuditPayloadError(f"stageTimestamp {text!r} has a bad time zone")
            offset = oh * 3600 + om * 60
            secs += -offset if m.group(9) == "+" else offset
        if len(_SECONDS_CACHE) >= _SECONDS_CACHE_MAX:
            _SECONDS_CACHE.clear()
        _SECONDS_CACHE[cache_key] = secs
    frac = m.group(7)
    ns = int((frac + "00000000")[:9]) if frac else 0
    return secs * _NS + ns


def _short(value: Any, limit: int = 60) -> str:
    text = orjson.dumps(value).decode("utf-8", "replace") if value is not MISSING else "missing"
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------
# field values
# ---------------------------------------------------------------------------


def _time(values: AuditFieldValues, key: str) -> Any:
    return filter_time_value(key, values.ts)


def _constant(value: Any) -> json_fields.Extractor:
    return lambda values, arg: value


class AuditFieldValues(FieldValues):
    """The field values of one audit event, extracted from its JSON on first use.

    ``doc`` is the parsed audit ``Event`` (a dict), ``ts`` its time in ns.
    Values given explicitly (as a field-map event would) take precedence.
    ``__missing__`` (:class:`~secengine.events.FieldValues`) runs the field's
    extractor, found once per key by :meth:`find_extraction`.
    """

    __slots__ = ("doc", "ts")

    def __init__(self, doc: dict[str, Any], ts: int) -> None:
        super().__init__()
        self.doc = doc
        self.ts = ts

    @classmethod
    def find_extraction(cls, key: str) -> Extraction:
        """The ``ka.*``/``json.*`` field class's extractor of ``key``, the time fields,
        ``evt.source`` and ``evt.pluginname``; anything else is missing."""
        ex = k8s_audit.extractor(key) or json_fields.extractor(key)
        if ex is not None:
            return ex, None
        if key in TIME_FIELDS:
            return _time, key
        if key == "evt.source":
            return _constant(SOURCE), None
        if key == "evt.pluginname":
            return _constant(_PLUGIN_NAME), None
        return NO_EXTRACTION

    def get(self, key: str, default: Any = None) -> Any:
        """Compiled rules read with ``get(key, MISSING)``: extract here too, not only in ``[]``."""
        value = self[key]
        return default if value is MISSING else value

    def __reduce__(self) -> Any:  # keep doc and ts when pickled or copied
        return (AuditFieldValues, (self.doc, self.ts), None, None, iter(self.items()))


def make_event(doc: Any, num: int = 0, *, max_event_size: int | None = None) -> Event:
    """One engine event from one parsed audit ``Event`` object.

    Raises :class:`AuditPayloadError` when ``doc`` is not an object, has no
    usable ``stageTimestamp``, or (with ``max_event_size``) is bigger than
    that once serialised.
    """
    if type(doc) is not dict:
        raise AuditPayloadError(f"audit event is not a JSON object: {_short(doc)}")
    stamp = doc.get("stageTimestamp", MISSING)
    if stamp is MISSING:
        raise AuditPayloadError("audit event has no stageTimestamp")
    ts = parse_timestamp(stamp)
    if max_event_size is not None:
        size = len(orjson.dumps(doc))
        if size > max_event_size:
            raise AuditPayloadError(f"audit event larger than maxEventSize: size={size}")
    return Event(SOURCE, ts, AuditFieldValues(doc, ts), num)


def audit_events(payload: Any) -> list[Any]:
    """The audit event objects of a decoded payload, in order (not yet checked one by one).

    ``kind: EventList`` gives its ``items``, ``kind: Event`` itself, and a
    JSON array the events of each of its items (events, EventLists, arrays).
    An array item that is none of these stays in the list as an
    :class:`AuditPayloadError`, so that the caller can report it and keep the
    others. Raises :class:`AuditPayloadError` when ``payload`` itself is not
    an audit payload.
    """
    t = type(payload)
    if t is dict:
        kind = payload.get("kind", MISSING)
        if kind == "EventList":
            items = payload.get("items")
            if type(items) is list:
                return items
            raise AuditPayloadError("EventList has no items array")
        if kind == "Event":
            return [payload]
        raise AuditPayloadError(f"data not recognized as a k8s audit event (kind: {_short(kind)})")
    if t is list:
        out: list[Any] = []
        for item in payload:
            try:
                out.extend(audit_events(item))
            except AuditPayloadError as e:
                out.append(e)
        return out
    raise AuditPayloadError(f"data not recognized as a k8s audit event: {_short(payload)}")


def decode_payload(
    payload: Any,
    *,
    max_event_size: int | None = None,
    first_num: int = 1,
    on_reject: Callable[[AuditPayloadError, int], None] | None = None,
) -> list[Event]:
    """Engine events for every valid audit event of a decoded payload, in order.

    An event that cannot be used is passed to ``on_reject(error, position)``
    (its 0-based position among the payload's events) and skipped; a payload
    that is not an audit payload at all raises :class:`AuditPayloadError`.
    Events are numbered from ``first_num``.
    """
    docs = audit_events(payload)
    events: list[Event] = []
    num = first_num
    for pos, doc in enumerate(docs):
        try:
            if type(doc) is AuditPayloadError:
                raise doc
            events.append(make_event(doc, num, max_event_size=max_event_size))
        except AuditPayloadError as e:
            if on_reject is not None:
                on_reject(e, pos)
            continue
        num += 1
    return events


# ---------------------------------------------------------------------------
# replaying audit files
# ---------------------------------------------------------------------------

ErrorHandler = Callable[[EventFormatError], None]


def expand_inputs(inputs: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Paths to read: files as given, directories as their regular files.

    A directory's files are read oldest first (by modification time, then
    name), as the plugin does, so rotated logs replay in order.
    """
    out: list[str] = []
    for item in inputs:
        path = os.fspath(item)
        if os.path.isdir(path):
            entries = [os.path.join(path, n) for n in os.listdir(path)]
            files = [p for p in entries if os.path.isfile(p)]
            files.sort(key=lambda p: (os.stat(p).st_mtime_ns, p))
            out.extend(files)
        else:
            out.append(path)
    return out


def _first_line(path: str) -> bytes:
    """The start of the first non-blank line of a file (gunzipped), at most 64 KiB."""
    try:
        with open(path, "rb") as raw:
            stream: IO[bytes] = raw
            if raw.peek(2)[:2] == _GZIP_MAGIC:
                stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
            for line in iter(lambda: stream.readline(1 << 16), b""):
                if line.strip():
                    return line
    except READ_ERRORS:
        pass
    return b""


def _stdin_first_line() -> bytes:
    """The first non-blank line of stdin as far as it is buffered, without consuming it."""
    stdin = sys.stdin.buffer
    head = stdin.peek(1 << 16) if isinstance(stdin, io.BufferedReader) else b""
    if head[:2] == _GZIP_MAGIC:
        return b""
    return next((ln for ln in head.split(b"\n") if ln.strip()), b"")


def is_field_map_file(path: str) -> bool:
    """Whether a file (``-``: stdin) holds field-map events (``{"time":..., "fields":{...}}``).

    Audit events never have a top-level ``fields`` key; field-map events
    always do. Used by ``secengine replay --source k8s_audit`` to accept both.
    """
    try:
        first = orjson.loads(_stdin_first_line() if path == "-" else _first_line(path))
    except orjson.JSONDecodeError:
        return False
    return type(first) is dict and "fields" in first and "time" in first


def audit_replay_source(
    inputs: Sequence[str],
    *,
    on_error: ErrorHandler | None = None,
    max_line_size: int = DEFAULT_MAX_LINE,
) -> K8sAuditFileSource | None:
    """The audit-file reader for ``secengine replay --source k8s_audit``, or None.

    None when an input is a field-map file (the generic replay format, whose
    unlabelled events then get the ``k8s_audit`` source).
    """
    if any(is_field_map_file(p) for p in expand_inputs(inputs)):
        return None
    return K8sAuditFileSource(inputs, on_error=on_error, max_line_size=max_line_size)


class K8sAuditFileSource(BatchSource):
    """Audit events from log files, as :class:`~secengine.sources.base.BatchSource` batches.

    ``inputs`` are files or directories (``"-"`` is stdin). Each file is JSON
    Lines, or, when its first line is not a complete JSON value, one JSON
    document spread over many lines. Rejected lines are handed to
    ``on_error`` as :class:`~secengine.errors.EventFormatError` naming
    ``file:line`` and counted in :attr:`stats` (a :class:`ReplayStats`).
    A line (or a one-document file) longer than ``max_line_size`` bytes is
    rejected without being held in memory.
    """

    name: ClassVar[str] = SOURCE

    def __init__(
        self,
        inputs: Sequence[str | os.PathLike[str]],
        *,
        on_error: ErrorHandler | None = None,
        max_event_size: int | None = MAX_EVENT_SIZE,
        batch_size: int = 512,
        keep_errors: int = 100,
        max_line_size: int = DEFAULT_MAX_LINE,
    ) -> None:
        self.inputs = expand_inputs(inputs)
        self.max_line_size = max_line_size
        self.on_error = on_error
        self.max_event_size = max_event_size
        self.batch_size = batch_size
        self.keep_errors = keep_errors
        self.stats = ReplayStats()
        self.stats.bytes_total = self._total_size()
        #: Inputs that could not be opened, with the reason.
        self.unreadable: list[tuple[str, str]] = []
        self._num = 0

    def _total_size(self) -> int | None:
        total = 0
        for p in self.inputs:
            if p == "-":
                return None
            try:
                total += os.stat(p).st_size
            except OSError:
                continue
        return total

    def batches(self) -> Iterator[list[Event]]:
        for path in self.inputs:
            if path == "-":
                yield from self._read_stream(sys.stdin.buffer, "<stdin>", counted=False)
                continue
            try:
                raw = open(path, "rb")  # noqa: SIM115 - closed below
            except OSError as e:
                reason = e.strerror or str(e)
                self.unreadable.append((path, reason))
                self._reject(EventFormatError(f"cannot open: {reason}", path))
                continue
            with raw:
                yield from self._read_stream(raw, path, counted=True)

    # -- one file -----------------------------------------------------------------
    def _read_stream(self, raw: IO[bytes], label: str, counted: bool) -> Iterator[list[Event]]:
        stats = self.stats
        stats.files += 1
        done_before = stats.bytes_read
        events_before, rejected_before = stats.events, stats.rejected
        batch: list[Event] = []
        first = True
        lines = _lines(chunk_reader(raw), label, self.max_line_size, self._reject)
        for lineno, line in lines:
            if first and line.strip():
                first = False
                if line.lstrip()[:1] in (b"{", b"[") and not _is_json(line):
                    # Not JSON Lines: maybe one document spread over several lines.
                    yield from self._whole_document(line, lines, label, lineno)
                    break
            batch.extend(self._line(line, label, lineno))
            if len(batch) >= self.batch_size:
                self._account(batch, raw, counted, done_before)
                yield batch
                batch = []
        self._account(batch, raw, counted, done_before)
        if batch:
            yield batch
        stats.finish_input(label, events_before, rejected_before)

    def _line(self, line: bytes, label: str, lineno: int) -> list[Event]:
        self.stats.lines += 1
        if not line.strip():
            if type(line) is OverlongLine:
                self._reject(
                    EventFormatError(overlong_message(line.size, self.max_line_size), label, lineno)
                )
            return []
        try:
            payload = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            self._reject(EventFormatError(f"invalid JSON: {e}", label, lineno))
            return []
        return self._decode(payload, label, lineno)

    def _whole_document(
        self, first: bytes, rest: Iterator[tuple[int, bytes]], label: str, first_line: int
    ) -> Iterator[list[Event]]:
        """A file that is one JSON document (a pretty-printed EventList or Event).

        The document is held whole to be parsed, so it is held to the line cap:
        a longer one is reported once and the rest of the file skipped. If it
        does not parse as one document, its lines are read as JSON Lines
        after all, so that every bad line is reported and every good one kept.
        """
        lines = [first]
        size = len(first)
        for _, line in rest:
            size += len(line) + 1
            if size > self.max_line_size or type(line) is OverlongLine:
                self.stats.lines += len(lines)
                self._reject(
                    EventFormatError(
                        f"JSON document of more than {self.max_line_size} bytes (the limit, "
                        "--max-line-size, replay.max_line_size); rest of the file skipped",
                        label,
                        first_line,
                    )
                )
                return
            lines.append(line)
        try:
            payload = orjson.loads(b"\n".join(lines))
        except orjson.JSONDecodeError:
            events: list[Event] = []
            for offset, line in enumerate(lines):
                events.extend(self._line(line, label, first_line + offset))
        else:
            self.stats.lines += len(lines)
            events = self._decode(payload, label, first_line)
        for i in range(0, len(events), self.batch_size):
            batch = events[i : i + self.batch_size]
            self.stats.events += len(batch)
            yield batch

    def _decode(self, payload: Any, label: str, lineno: int) -> list[Event]:
        def reject(err: AuditPayloadError, pos: int) -> None:
            where = (
                f"event {pos + 1}: "
                if type(payload) is not dict or payload.get("kind") == "EventList"
                else ""
            )
            self._reject(EventFormatError(where + str(err), label, lineno))

        try:
            events = decode_payload(
                payload,
                max_event_size=self.max_event_size,
                first_num=self._num + 1,
                on_reject=reject,
            )
        except AuditPayloadError as e:
            self._reject(EventFormatError(str(e), label, lineno))
            return []
        self._num += len(events)
        return events

    def _account(self, batch: list[Event], raw: IO[bytes], counted: bool, done_before: int) -> None:
        self.stats.events += len(batch)
        if counted:
            try:
                self.stats.bytes_read = done_before + raw.tell()
            except (OSError, ValueError):
                pass

    def _reject(self, error: EventFormatError) -> None:
        self.stats.reject(error, self.keep_errors, self.on_error)


def _lines(
    read_stream: Callable[[int], bytes],
    label: str,
    max_line: int,
    reject: Callable[[EventFormatError], None],
) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every line of a stream; a corrupt gzip ends it, reported."""
    lineno = 0

    def unreadable(e: OSError | EOFError) -> None:
        reject(EventFormatError(f"unreadable input: {e}", label, lineno + 1))

    for lines in split_lines(read_stream, max_line, on_error=unreadable):
        for line in lines:
            lineno += 1
            yield lineno, line


def _is_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True
