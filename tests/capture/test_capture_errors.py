"""Malformed captures: a located ``file:offset: reason``, bounded memory, and the events
before the fault still count; unknown kinds are skipped and reported once each."""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapgen import block, capture, event, open_events

from secengine.capture import blocks as B
from secengine.capture.replay import CaptureReplay, open_capture

DATA = Path(__file__).with_name("data")
RULES = """
- rule: shadow opened
  desc: an open of /etc/shadow
  condition: evt.type=open and fd.name=/etc/shadow
  output: "shadow opened by tid %proc.pid (%fd.name)"
  priority: WARNING
"""


def replay(tmp_path: Path, data: bytes, name: str = "cap.scap") -> subprocess.CompletedProcess[str]:
    f = tmp_path / name
    f.write_bytes(data)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    return subprocess.run(
        [str(Path(sys.executable).with_name("secengine")), "replay", "-r", str(rules), str(f)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def events_of(data: bytes) -> tuple[list[str], dict[str, int]]:
    r = CaptureReplay(io.BytesIO(data), "x.scap")
    return [ev.type for b in r.batches() for ev in b], r.unknown


def test_a_clean_synthetic_capture_alerts(tmp_path: Path) -> None:
    p = replay(tmp_path, capture(*open_events()))
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("shadow opened by tid 100 (/etc/shadow)") == 1
    assert "\x1b" not in p.stderr  # no progress bar when stderr is not a terminal


def test_truncated_event_block_keeps_the_events_before(tmp_path: Path) -> None:
    good = capture(*open_events())
    cut = good + event("PPME_SYSCALL_OPEN_X", 100, [b"x" * 40])[:-10]
    p = replay(tmp_path, cut)
    assert f"cap.scap:{len(good)}: truncated block 0x216" in p.stderr
    assert "(line skipped)" not in p.stderr
    assert p.stdout.count("shadow opened") == 1  # the event before the fault was evaluated
    assert p.returncode == 0


def test_huge_declared_length_reads_nothing_more() -> None:
    reads: list[int] = []

    class Spy(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            reads.append(-1 if n is None else n)
            return super().read(n)

        def read1(self, n: int = -1) -> bytes:
            reads.append(n)
            return super().read1(n)

    data = capture() + struct.pack("<II", 0x204, 0xFFFFFFF0) + b"\0" * 64
    with pytest.raises(B.CaptureFormatError, match="over the 65544-byte limit") as ei:
        list(CaptureReplay(Spy(data), "x.scap").batches())
    assert ei.value.offset == len(capture())
    # the declared 4 GiB was never asked for: only the reader's fixed-size chunks
    assert reads and max(reads) <= 1 << 20


def test_wrong_trailer_length(tmp_path: Path) -> None:
    bad = bytearray(capture(*open_events()))
    bad[-4:] = struct.pack("<I", 7)
    p = replay(tmp_path, bytes(bad))
    assert "trailer length 7 differs" in p.stderr
    assert p.stdout.count("shadow opened") == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # nparams says 200 parameters: their lengths do not fit in the event
        (struct.pack("<H", 0) + struct.pack("<QQIHI", 1, 1, 26, 3, 200), "200 parameters"),
        # one parameter of 500 bytes in a 30-byte event
        (
            struct.pack("<H", 0)
            + struct.pack("<QQIHI", 1, 1, 30, 3, 1)
            + struct.pack("<H", 500)
            + b"ab",
            "runs past",
        ),
        # the event claims more bytes than its block has
        (struct.pack("<H", 0) + struct.pack("<QQIHI", 1, 1, 900, 3, 0), "outside its block"),
    ],
)
def test_wrong_event_lengths_are_located(body: bytes, reason: str) -> None:
    data = capture(block(B.EV_BLOCK_TYPE_V2, body))
    with pytest.raises(B.CaptureFormatError, match=reason) as ei:
        events_of(data)
    # located at the event header: the block's offset, its 8-byte header, the cpu id
    assert str(ei.value).startswith(f"x.scap:{len(capture()) + 10}: ")


def test_unknown_blocks_events_and_params_are_counted_and_reported_once(tmp_path: Path) -> None:
    odd = block(0x999, b"abcd")
    future = event(4000, 100, [b"x"])
    extra = event("PPME_SYSCALL_CLOSE_X", 100, [struct.pack("<q", 0), struct.pack("<q", 3), b"?"])
    data = capture(odd, odd, *open_events()[:2], future, future, extra)
    types, unknown = events_of(data)
    assert types == ["open", "close"]
    assert unknown == {
        "block type 0x999 (skipped)": 2,
        "event type 4000 (not in the event table)": 2,
        "PPME_SYSCALL_CLOSE_X: 1 parameter(s) past the table's 2 (ignored)": 1,
    }
    p = replay(tmp_path, data)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("skipped 2x: block type 0x999") == 1
    assert p.stderr.count("skipped 2x: event type 4000") == 1
    assert p.stdout.count("shadow opened") == 1


def test_gzip_capture_and_bad_gzip(tmp_path: Path) -> None:
    good = capture(*open_events())
    p = replay(tmp_path, gzip.compress(good), "cap.scap.gz")
    assert p.returncode == 0 and p.stdout.count("shadow opened") == 1, p.stderr
    # a gzip stream cut short: the events inflated before the cut still count
    many = capture(*(open_events() * 50))
    z = gzip.compress(many)
    p = replay(tmp_path, z[: len(z) - 40], "cut.scap.gz")
    assert "unreadable input" in p.stderr and "cut.scap.gz:" in p.stderr
    assert p.stdout.count("shadow opened") >= 1


def test_a_real_capture_cut_in_the_middle(tmp_path: Path) -> None:
    plain = gzip.decompress((DATA / "test_ipv6_client.scap").read_bytes())
    p = replay(tmp_path, plain[:75000])
    assert p.returncode == 0
    assert "cap.scap:74964: truncated block 0x204 trailer" in p.stderr
    assert "Events read: 20 from 1 input(s)" in p.stderr


def test_open_capture_passes_plain_streams_through() -> None:
    raw = io.BufferedReader(io.BytesIO(capture()))  # type: ignore[arg-type]
    assert open_capture(raw) is raw
