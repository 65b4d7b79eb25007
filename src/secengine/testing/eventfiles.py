"""Event files that rule tests may use, by format: one reader per format name.

A case can take its events from a file (``{file: x.jsonl}``) instead of
writing them inline. ``fieldmap`` (the replay format, any source) is built
in; a source with a native recording format registers a reader under the
source's name, so a test says ``{file: audit.jsonl, format: k8s_audit}``.

A reader is a callable ``(path, default_source) -> Iterable[(line, Event)]``:
``line`` is the 1-based line (or record number) of the event, used in
failure reports; ``default_source`` is the test's ``source:`` or ``None``.
It raises :class:`~secengine.errors.EventFormatError` naming ``file:line``
for input it cannot read. Unlike ``secengine replay``, a test never skips a
bad line: a test whose input is broken fails.

Readers are registered with :func:`register_event_format`, or listed in
:data:`BUILTIN_FORMATS` as ``"module:function"`` and imported on first use.
"""

from __future__ import annotations

import gzip
import importlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from secengine.errors import EventFormatError
from secengine.events import Event
from secengine.sources.fieldmap import DEFAULT_SOURCE, FieldMapError, parse_line

__all__ = [
    "BUILTIN_FORMATS",
    "EventFileReader",
    "event_formats",
    "read_event_file",
    "read_fieldmap_file",
    "register_event_format",
]

EventFileReader = Callable[[Path, "str | None"], Iterable[tuple[int, Event]]]

#: Formats whose reader is imported when first used: name → ``"module:function"``.
BUILTIN_FORMATS: dict[str, str] = {
    "fieldmap": "secengine.testing.eventfiles:read_fieldmap_file",
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
    reader = getattr(importlib.import_module(module), attr)
    _registered[name] = reader
    return reader


def read_event_file(path: Path, fmt: str = "fieldmap", default_source: str | None = None
                    ) -> list[tuple[int, Event]]:
    """Every event of ``path`` in format ``fmt``, with its line.

    Raises :class:`EventFormatError` for an unknown format, an unreadable
    file or a malformed record.
    """
    try:
        reader = _reader(fmt)
    except KeyError:
        raise EventFormatError(f"unknown event-file format {fmt!r} "
                               f"(known: {', '.join(event_formats())})", str(path)) from None
    try:
        return list(reader(path, default_source))
    except OSError as e:
        raise EventFormatError(f"cannot read events: {e.strerror or e}", str(path)) from None


def read_fieldmap_file(path: Path, default_source: str | None = None
                       ) -> Iterator[tuple[int, Event]]:
    """Field-map events (``docs/replay-format.md``), plain or gzip, strictly: a bad line raises."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
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
