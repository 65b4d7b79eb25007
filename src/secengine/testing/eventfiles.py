"""Event files that rule tests may use, by format: one reader per format name.

A case can take its events from a file (``{file: x.jsonl}``) instead of
writing them inline. Two formats are built in:

- ``fieldmap``: the replay format (``docs/replay-format.md``), events of any source;
- ``k8s_audit``: Kubernetes audit logs as kube-apiserver writes them (JSON
  Lines of ``Event``/``EventList`` objects, or one such document).

Without an explicit ``format:``, the format is chosen by looking at the
file: field-map events are recognised by their ``{"time": ..., "fields":
{...}}`` shape; anything else is read in the native format of the test's
``source:`` when one is registered under that name. So a new source plugs
in by registering a reader under its own name.

A reader is a callable ``(path, default_source) -> Iterable[(line, Event)]``:
``line`` is the 1-based line of the event (``None`` when the format has no
one line per event), used in failure reports; ``default_source`` is the
test's ``source:`` or ``None``. It raises
:class:`~secengine.errors.EventFormatError` naming ``file:line`` for input
it cannot read: unlike ``secengine replay``, a test never skips a bad line.

Readers are registered with :func:`register_event_format`, or listed in
:data:`BUILTIN_FORMATS` as ``"module:function"`` and imported on first use.
"""

from __future__ import annotations

import gzip
import importlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import orjson

from secengine.errors import EventFormatError
from secengine.events import Event
from secengine.sources.fieldmap import DEFAULT_SOURCE, FieldMapError, parse_line
from secengine.sources.k8s_audit import K8sAuditFileSource
from secengine.sources.lines import READ_ERRORS

__all__ = [
    "BUILTIN_FORMATS",
    "EventFileReader",
    "detect_format",
    "event_formats",
    "read_event_file",
    "read_fieldmap_file",
    "read_k8s_audit_file",
    "register_event_format",
]

EventFileReader = Callable[[Path, "str | None"], Iterable[tuple["int | None", Event]]]

#: Formats whose reader is imported when first used: name → ``"module:function"``.
BUILTIN_FORMATS: dict[str, str] = {
    "fieldmap": "secengine.testing.eventfiles:read_fieldmap_file",
    "k8s_audit": "secengine.testing.eventfiles:read_k8s_audit_file",
}

_registered: dict[str, EventFileReader] = {}


def register_event_format(name: str, reader: EventFileReader) -> None:
    """Make ``format: name`` available to test files; refuses to replace another reader."""
    existing = _registered.get(name)
    if existing is not None and existing is not reader:
        raise ValueError(f"an event-file format named {name!r} is already registered")
    _registered[name] = reader


def event_formats() -> list[str]:
    """The format names test files may use."""
    return sorted(set(BUILTIN_FORMATS) | set(_registered))


def _reader(name: str) -> EventFileReader:
    reader = _registered.get(name)
    if reader is not None:
        return reader
    target = BUILTIN_FORMATS.get(name)
    if target is None:
        raise KeyError(name)
    module, _, attr = target.partition(":")
    loaded: EventFileReader = getattr(importlib.import_module(module), attr)
    _registered[name] = loaded
    return loaded


def read_event_file(
    path: Path, fmt: str | None = None, default_source: str | None = None
) -> list[tuple[int | None, Event]]:
    """Every event of ``path`` with its line; ``fmt=None`` detects the format (see above).

    Raises :class:`EventFormatError` for an unknown format, an unreadable
    file or a malformed record.
    """
    try:
        if fmt is None:
            fmt = detect_format(path, default_source)
        reader = _reader(fmt)
    except KeyError:
        raise EventFormatError(
            f"unknown event-file format {fmt!r} (known: {', '.join(event_formats())})", str(path)
        ) from None
    except OSError as e:
        raise EventFormatError(f"cannot read events: {e.strerror or e}", str(path)) from None
    try:
        return list(reader(path, default_source))
    except OSError as e:
        raise EventFormatError(f"cannot read events: {e.strerror or e}", str(path)) from None


def detect_format(path: Path, default_source: str | None) -> str:
    """``fieldmap`` if the first record looks like a field-map event, else the
    format registered under ``default_source`` if there is one, else ``fieldmap``."""
    first = _first_line(path)
    try:
        obj = orjson.loads(first) if first else None
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict) and "fields" in obj and "time" in obj:
        return "fieldmap"
    if default_source is not None and default_source in event_formats():
        return default_source
    return "fieldmap"


def _first_line(path: Path) -> bytes:
    with open(path, "rb") as raw:
        head = raw.read(2)
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw  # type: ignore[assignment]
        try:
            for line in stream:
                if line.strip():
                    return line
        except READ_ERRORS:
            pass
    return b""


def read_fieldmap_file(
    path: Path, default_source: str | None = None
) -> Iterator[tuple[int | None, Event]]:
    """Field-map events (``docs/replay-format.md``), plain or gzip, strictly: a bad line raises."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except READ_ERRORS as e:
            raise EventFormatError(f"unreadable gzip input: {e}", str(path)) from None
    source = default_source or DEFAULT_SOURCE
    num = 0
    for lineno, line in enumerate(data.splitlines(), start=1):
        try:
            event = parse_line(line, source, num + 1)
        except FieldMapError as e:
            raise EventFormatError(str(e), str(path), lineno) from None
        if event is not None:
            num += 1
            yield lineno, event


def read_k8s_audit_file(
    path: Path, default_source: str | None = None
) -> Iterator[tuple[int | None, Event]]:
    """Kubernetes audit events from an audit log file (the k8s_audit source's reader), strictly."""
    errors: list[EventFormatError] = []
    source = K8sAuditFileSource([str(path)], on_error=errors.append)
    events = [ev for batch in source.batches() for ev in batch]
    if errors:
        raise errors[0]
    for ev in events:
        yield None, ev
