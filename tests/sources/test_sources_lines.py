"""``secengine.sources.lines``: the line splitter every replay reader uses."""

from __future__ import annotations

import gzip
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secengine.sources.lines import OverlongLine, chunk_reader, split_lines


def _reader(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def _expected(data: bytes, max_line: int) -> list[bytes | int]:
    """What the splitter must give: the lines, an over-long one as its size."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [len(line) if len(line) > max_line else line for line in lines]


def _split(data: bytes, max_line: int, chunk: int) -> list[bytes | int]:
    out: list[bytes | int] = []
    for lines in split_lines(_reader(data).read, max_line, chunk):
        for line in lines:
            out.append(line.size if type(line) is OverlongLine else line)
    return out


@settings(max_examples=400, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"\n", b"a", b"bb", b"{}", b"\r", b"x" * 40]), max_size=60).map(
        b"".join
    ),
    max_line=st.integers(1, 64),
    chunk=st.integers(1, 70),
)
def test_same_lines_as_split_whatever_the_chunking(data: bytes, max_line: int, chunk: int) -> None:
    assert _split(data, max_line, chunk) == _expected(data, max_line)


@settings(max_examples=400, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"\n", b"a", b"bb", b"{}", b"\r", b"x" * 40]), max_size=60).map(
        b"".join
    ),
    max_line=st.integers(1, 64),
    chunk=st.integers(1, 70),
)
def test_keep_newline_gives_the_same_lines_with_their_newline(
    data: bytes, max_line: int, chunk: int
) -> None:
    """The replay reader's mode: same lines, same caps, each line's \\n kept."""
    out: list[bytes | int] = []
    for lines in split_lines(_reader(data).read, max_line, chunk, keep_newline=True):
        for line in lines:
            out.append(line.size if type(line) is OverlongLine else line)
    expected = _expected(data, max_line)
    newlines = [b"\n"] * len(expected)
    if data and not data.endswith(b"\n"):
        newlines[-1] = b""
    assert out == [e if isinstance(e, int) else e + nl for e, nl in zip(expected, newlines)]


def test_overlong_line_is_empty_and_sized() -> None:
    line = OverlongLine(123)
    assert line == b"" and not line.strip() and line.size == 123


def test_memory_of_an_overlong_line_is_not_kept() -> None:
    """Past the cap only the size is counted: the splitter holds at most cap + chunk."""
    held: list[int] = []

    def read(n: int, left: list[int] = [10_000]) -> bytes:  # noqa: B006 - the stream's state
        if left[0] <= 0:
            return b""
        left[0] -= 1
        return b"a" * n

    gen = split_lines(read, max_line=1000, chunk_size=100)
    out: list[bytes] = []
    for lines in gen:
        out.extend(lines)
        if gen.gi_frame is not None:  # the partial line it holds between chunks
            held.append(sum(len(x) for x in gen.gi_frame.f_locals["parts"]))
    assert max(held) <= 1000
    assert len(out) == 1 and type(out[0]) is OverlongLine and out[0].size == 1_000_000


def test_bad_cap() -> None:
    with pytest.raises(ValueError):
        list(split_lines(io.BytesIO(b"x").read, 0))


def test_truncated_gzip_ends_the_lines_and_drops_the_cut_line() -> None:
    data = gzip.compress(b"".join(b'{"n": %d}\n' % i for i in range(20000)))
    raw = io.BufferedReader(io.BytesIO(data[: len(data) // 2]))  # type: ignore[arg-type]
    errors: list[BaseException] = []
    lines = [ln for chunk in split_lines(chunk_reader(raw), on_error=errors.append) for ln in chunk]
    assert len(errors) == 1
    assert 0 < len(lines) < 20000
    assert lines == [b'{"n": %d}' % i for i in range(len(lines))]  # no cut line at the end


def test_gzip_is_recognised_by_its_magic() -> None:
    raw = io.BufferedReader(io.BytesIO(gzip.compress(b"a\nb\n")))  # type: ignore[arg-type]
    assert [ln for c in split_lines(chunk_reader(raw)) for ln in c] == [b"a", b"b"]
