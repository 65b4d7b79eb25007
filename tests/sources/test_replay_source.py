"""The replay reader (secengine.sources.replay): files, gzip, stdin, errors, speed."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from secengine.errors import EventFormatError
from secengine.events import Event
from secengine.sources import Source
from secengine.sources.replay import MemorySource, ReplaySource, read_events


def _line(i: int, **extra: object) -> bytes:
    obj = {
        "source": "syscall",
        "time": 1_700_000_000_000_000_000 + i,
        "fields": {
            "evt.type": "openat",
            "proc.name": f"p{i}",
            "fd.name": "/etc/passwd",
            "proc.aname[2]": "bash",
        },
    }
    obj.update(extra)
    return orjson.dumps(obj)


def _write(path: Path, lines: list[bytes], *, gz: bool = False, final_newline: bool = True) -> Path:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_reads_events_in_order(tmp_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [_line(i) for i in range(5)], final_newline=False)
    events = list(read_events(f))
    assert [e.fields["proc.name"] for e in events] == [f"p{i}" for i in range(5)]
    assert [e.num for e in events] == [1, 2, 3, 4, 5]
    assert all(isinstance(e, Event) and e.type == "openat" for e in events)


def test_several_files_gzip_and_small_chunks(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", [_line(i) for i in range(100)])
    b = _write(tmp_path / "b.data", [_line(i) for i in range(100, 250)], gz=True)
    src = ReplaySource([a, b], chunk_size=97)  # lines straddle chunk boundaries
    names = [e.fields["proc.name"] for e in src]
    assert names == [f"p{i}" for i in range(250)]
    st = src.stats
    assert (st.files, st.lines, st.events, st.rejected) == (2, 250, 250, 0)
    assert st.bytes_total == a.stat().st_size + b.stat().st_size
    assert st.bytes_read == st.bytes_total and st.fraction == 1.0


def test_batches_per_chunk(tmp_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [_line(i) for i in range(1000)])
    batches = list(ReplaySource([f], chunk_size=4096).batches())
    assert len(batches) > 1
    assert sum(map(len, batches)) == 1000


def test_malformed_lines_are_skipped_counted_and_named(tmp_path: Path) -> None:
    lines = [
        _line(0),
        b"",
        b"{not json",
        _line(1),
        b'{"time": 1}',
        b"  ",
        _line(2, time="2023-11-14T22:13:20.000000001Z"),
        b"[]",
        _line(3, source=7),
    ]
    f = _write(tmp_path / "bad.jsonl", lines)
    seen: list[EventFormatError] = []
    src = ReplaySource([f], on_error=seen.append)
    events = list(src)
    assert [e.fields["proc.name"] for e in events] == ["p0", "p1", "p2"]
    assert events[2].ts == 1700000000000000001
    assert [e.num for e in events] == [1, 2, 3]
    assert [(e.path, e.line) for e in seen] == [(str(f), 3), (str(f), 5), (str(f), 8), (str(f), 9)]
    assert str(seen[1]) == f'{f}:5: missing "fields"'
    assert src.stats.rejected == 4 and src.stats.errors == seen
    assert src.stats.lines == 9 and src.stats.events == 3


def test_default_source(tmp_path: Path) -> None:
    f = _write(tmp_path / "a.jsonl", [b'{"time": 1, "fields": {}}', _line(1)])
    assert [e.source for e in ReplaySource([f], default_source="k8s_audit")] == [
        "k8s_audit",
        "syscall",
    ]


def test_corrupt_gzip_is_reported_not_fatal(tmp_path: Path) -> None:
    data = gzip.compress(b"\n".join(_line(i) for i in range(50)) + b"\n")
    f = tmp_path / "cut.jsonl.gz"
    f.write_bytes(data[: len(data) // 2])
    src = ReplaySource([f])
    events = list(src)
    assert len(events) < 50
    assert src.stats.rejected == 1
    assert "unreadable input" in str(src.stats.errors[0])


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(ReplaySource([tmp_path / "nope.jsonl"]))


def test_stdin(tmp_path: Path) -> None:
    data = gzip.compress(b"\n".join(_line(i) for i in range(3)) + b"\nbroken\n")
    code = (
        "import sys\nfrom secengine.sources.replay import ReplaySource\n"
        "s = ReplaySource(['-'], on_error=lambda e: print(e))\n"
        "print([e.fields['proc.name'] for e in s], s.stats.bytes_total)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, check=True
    ).stdout.decode()
    first, second = out.splitlines()
    assert first.startswith("<stdin>:4: invalid JSON: ")
    assert second == "['p0', 'p1', 'p2'] None"


def test_sources_satisfy_the_protocol(tmp_path: Path) -> None:
    events = [Event("syscall", i, {}) for i in range(5)]
    mem = MemorySource(events, batch_size=2)
    assert isinstance(mem, Source) and isinstance(ReplaySource([]), Source)
    assert [len(b) for b in mem.batches()] == [2, 2, 1]
    assert list(MemorySource(events)) == events


def test_memory_source_stats() -> None:
    src = MemorySource([Event("syscall", 0, {})] * 3)
    list(src)
    assert src.stats.events == 3


@pytest.mark.parametrize("bad", [b'{"time": 1, "fields": {', b"{", b"not json", b'{"time": 1}'])
def test_rejection_reasons_do_not_see_the_kept_newline(tmp_path: Path, bad: bytes) -> None:
    """The splitter keeps each line's newline for the fast path; reasons are those of the bare line."""
    from secengine.sources.fieldmap import FieldMapError, parse_line

    with pytest.raises(FieldMapError) as bare:
        parse_line(bad)
    for final in (True, False):
        errors: list[EventFormatError] = []
        f = _write(tmp_path / "bad.jsonl", [_line(1), bad], final_newline=final)
        assert len(list(ReplaySource([f], on_error=errors.append))) == 1
        assert [str(e) for e in errors] == [f"{f}:2: {bare.value}"]
