"""Splitting a byte stream into lines in linear time and bounded memory.

Every reader of line-oriented input (field-map JSON Lines, Kubernetes audit
logs; plain, gzip or stdin) goes through :func:`split_lines`, because the
input may come from whoever the agent watches: a line of a gigabyte must
cost time linear in its size and no more memory than the cap.

Two faults this module exists to prevent:

- re-joining the partial line with every chunk read (``rest + chunk``),
  which is quadratic in the line's length (a 100 MB line took minutes);
- holding an over-long line whole just to reject it. Once a line passes
  ``max_line`` bytes its start is dropped and the rest is only counted, so
  memory stays below ``max_line + chunk_size``.

An over-long line is not dropped silently: it comes out as an
:class:`OverlongLine`, which is empty (readers that skip blank lines skip it
without a test on their fast path) and carries the line's full size, so the
reader can report ``file:line: reason`` with :func:`overlong_message`.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Final, Self

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_MAX_LINE",
    "READ_ERRORS",
    "OverlongLine",
    "chunk_reader",
    "overlong_message",
    "split_lines",
]

#: The default cap on one input line: 16 MiB. A Kubernetes audit event with a
#: large object (a ConfigMap, a CRD) can be several MiB on one line.
DEFAULT_MAX_LINE: Final = 16 << 20
#: Bytes asked of the stream per read (small enough that events die young).
DEFAULT_CHUNK: Final = 1 << 16
_GZIP_MAGIC: Final = b"\x1f\x8b"
#: What reading a (gzip) stream can raise: I/O errors, gzip's BadGzipFile (an
#: OSError), EOFError for a truncated stream, and zlib.error for corrupt
#: deflate data, which is not an OSError.
READ_ERRORS: Final = (OSError, EOFError, zlib.error)
_NEWLINE: Final = ord("\n")


class OverlongLine(bytes):
    """Stands for a line longer than the cap: equal to ``b""``, with the line's ``size``."""

    size: int

    def __new__(cls, size: int) -> Self:
        self = super().__new__(cls, b"")
        self.size = size
        return self


def chunk_reader(raw: IO[bytes]) -> Callable[[int], bytes]:
    """``read(n)`` of a stream's content, gunzipped when it starts with gzip's magic bytes.

    Gzip is read with ``read1``: on a truncated stream, ``read(n)`` raises
    and loses the up to ``n`` bytes it had decompressed, ``read1`` returns
    them first and raises on the next call. Corrupt deflate data raises
    :class:`OSError` here (zlib's own error is not one), so that callers
    catch one kind of error.
    """
    head = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
    if head != _GZIP_MAGIC:
        return raw.read
    read1 = gzip.GzipFile(fileobj=raw, mode="rb").read1

    def read(size: int) -> bytes:
        try:
            return read1(size)
        except zlib.error as e:
            raise OSError(f"corrupt gzip data ({e})") from None

    return read


def overlong_message(size: int, max_line: int) -> str:
    """The reason given for an over-long line (the caller prefixes ``file:line:``)."""
    return (
        f"line of {size} bytes is longer than the limit of {max_line} "
        "(--max-line-size, replay.max_line_size)"
    )


def _readlines(chunk: bytes) -> list[bytes]:
    """The lines of ``chunk``, each with its ``\\n`` (the last one may have none)."""
    return io.BytesIO(chunk).readlines()


def split_lines(
    read: Callable[[int], bytes],
    max_line: int = DEFAULT_MAX_LINE,
    chunk_size: int = DEFAULT_CHUNK,
    on_error: Callable[[OSError | EOFError], None] | None = None,
    keep_newline: bool = False,
) -> Iterator[list[bytes]]:
    """The lines of a stream, without their ``\\n``, as one list per chunk read.

    ``read(n)`` returns up to ``n`` bytes, ``b""`` at the end. A list may be
    empty (a chunk inside a long line). A last line without ``\\n`` is
    returned too. A line longer than ``max_line`` bytes (not counting its
    ``\\n``) is an :class:`OverlongLine` in its place, so line numbers stay
    right. With ``keep_newline`` the lines keep their ``\\n`` (the last line
    of a stream may have none): a reader that parses JSON, which ignores it,
    then saves a copy of every line.

    When ``read`` raises :class:`OSError` or :class:`EOFError` (a truncated
    or corrupt gzip stream), ``on_error`` gets the exception and the lines
    end there: the partial line the error cut is dropped, not passed on as
    a line of its own. Without ``on_error`` the exception propagates.

    A chunk is cut with ``BytesIO.readlines``, which finds each ``\\n`` with
    ``memchr``; ``bytes.split(b"\\n")`` compares byte by byte and cost 5 times
    as many instructions on lines of 1 KB.
    """
    if max_line < 1:
        raise ValueError("max_line must be at least 1")
    parts: list[bytes] = []  # the start of the current line, when it spans chunks
    pending = 0  # its length so far (also counted while an over-long line is skipped)
    skipping = False  # the current line passed max_line: its bytes are only counted
    newline = 1 if keep_newline else 0  # the length of the \n the lines keep
    limit = max_line + newline  # the longest line allowed, as the list holds it
    check_all = max_line < chunk_size  # else only a line that spans chunks can be too long
    readlines = _readlines
    while True:
        try:
            chunk = read(chunk_size)
        except (OSError, EOFError) as e:
            if on_error is None:
                raise
            on_error(e)
            return
        if not chunk:
            break
        lines = readlines(chunk)
        tail = b"" if chunk[-1] == _NEWLINE else lines.pop()
        if lines:  # the current line ends in this chunk
            if not keep_newline:
                lines = [line[:-1] for line in lines]
            head = lines[0]
            if skipping or pending + len(head) > limit:
                lines[0] = OverlongLine(pending + len(head) - newline)
            elif parts:
                parts.append(head)
                lines[0] = b"".join(parts)
            if check_all:
                for i in range(1, len(lines)):
                    if len(lines[i]) > limit:
                        lines[i] = OverlongLine(len(lines[i]) - newline)
            parts = []
            pending = 0
            skipping = False
        if tail:
            pending += len(tail)
            if skipping:
                pass
            elif pending > max_line:
                skipping = True
                parts = []
            else:
                parts.append(tail)
        yield lines
    if skipping:
        yield [OverlongLine(pending)]
    elif parts:
        yield [b"".join(parts)]
