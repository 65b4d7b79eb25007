"""The capture recorder: state first, then records; the size bound, rotation, gzip, and a
write error that stops the capture with one sentence instead of failing the live source."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from secengine.bpf import layout as L
from secengine.capture import blocks as B
from secengine.capture.recorder import CaptureRecorder
from secengine.state.decode import Rec
from secengine.state.threads import Process
from secengine.syscall_table import NUMBERS


def _kill_record(ts: int, pid: int = 4242) -> Rec:
    data = L.HDR.pack(
        ts, pid, pid, NUMBERS["kill"], L.EVT_SYSCALL, L.HDR_SIZE, 0, 0, 1, 9, 0, 0, 0, 0
    )
    return Rec(data, 0)


def _proc() -> Process:
    p = Process(4242)
    p.comm, p.exe, p.exepath, p.args = "sleep", "sleep", "/usr/bin/sleep", ["10"]
    return p


def _kinds(data: bytes) -> list[int]:
    return [b.type for b in B.BlockReader(io.BytesIO(data), "t.scap")]


def test_state_first_then_two_events_per_record(tmp_path: Path) -> None:
    path = tmp_path / "c.scap"
    rec = CaptureRecorder(str(path))
    rec.start(lambda: [_proc()])
    for i in range(3):
        rec.write(_kill_record(1000 + i), _proc())
    rec.close()
    kinds = _kinds(path.read_bytes())
    assert kinds[0] == B.SHB_BLOCK_TYPE and B.PL_BLOCK_TYPE_V9 in kinds
    assert kinds.count(B.EV_BLOCK_TYPE_V2) == 6
    assert kinds.index(B.PL_BLOCK_TYPE_V9) < kinds.index(B.EV_BLOCK_TYPE_V2)
    s = rec.snapshot()
    assert (s.records, s.events, s.dropped, s.files) == (3, 6, 0, 1)
    assert s.bytes == path.stat().st_size


def test_the_bound_stops_writing_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "c.scap"
    rec = CaptureRecorder(str(path), max_bytes=4096)
    rec.start(list)
    for i in range(500):
        rec.write(_kill_record(i), None)
    rec.close()
    s = rec.snapshot()
    assert rec.full and s.dropped > 0 and s.records == 500
    assert s.events == 2 * (500 - s.dropped)
    assert path.stat().st_size < 4096 + 256  # the bound, past by at most one record's events
    assert _kinds(path.read_bytes()).count(B.EV_BLOCK_TYPE_V2) == s.events


def test_rotation_keeps_n_files_each_starting_with_the_state(tmp_path: Path) -> None:
    path = tmp_path / "c.scap"
    rec = CaptureRecorder(str(path), max_bytes=2048, files=3)
    rec.start(lambda: [_proc()])
    for i in range(300):
        rec.write(_kill_record(i), None)
    rec.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["c.scap", "c.scap.1", "c.scap.2"]
    for name in files:
        kinds = _kinds((tmp_path / name).read_bytes())
        assert kinds[0] == B.SHB_BLOCK_TYPE and B.PL_BLOCK_TYPE_V9 in kinds
    s = rec.snapshot()
    assert s.dropped == 0 and s.files > 3 and s.records == 300


def test_a_gz_name_writes_gzip(tmp_path: Path) -> None:
    path = tmp_path / "c.scap.gz"
    rec = CaptureRecorder(str(path))
    rec.start(list)
    rec.write(_kill_record(1), None)
    rec.close()
    assert _kinds(gzip.decompress(path.read_bytes())).count(B.EV_BLOCK_TYPE_V2) == 2


def test_a_write_error_is_one_sentence_and_the_records_are_counted() -> None:
    rec = CaptureRecorder("/dev/full")
    rec.start(lambda: [_proc()])
    for i in range(20_000):  # past the buffer: the write fails
        rec.write(_kill_record(i), None)
    rec.close()
    assert rec.error is not None and rec.error.startswith("/dev/full: cannot write the capture")
    assert "\n" not in rec.error
    assert rec.snapshot().dropped > 0


def test_replay_numbers_events_as_the_live_source_does(tmp_path: Path) -> None:
    """The live source numbers each record's event (evt.num) by the capture events written
    before and for it (``probe_events.EVENTS_PER_RECORD``): replaying the capture gives every
    event the same number, whatever kind of record (syscall, exec, clone, exit, flood)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from probe_records import exec_rec, exit_rec, hdr, proc

    from secengine.capture.probe_events import EVENTS_PER_RECORD
    from secengine.capture.replay import CaptureReplay, open_capture
    from secengine.state.tracker import StateTracker

    records = [
        exec_rec(4242, 1, ["sleep", "10"]),
        _kill_record(2000).data,
        hdr(L.EVT_CLONE, 56, 4243, 4243, args=(0, 4242, 0, 0, 0, 0)) + proc(4242) + b"\x00\x00",
        hdr(L.EVT_FLOOD, 0, 4242, 4242, args=(5, 0, 0, 0, 0, 0)),
        _kill_record(3000).data,
        exit_rec(4243),
    ]
    path = tmp_path / "n.scap"
    tracker = StateTracker(boot_ns=0)
    rec = CaptureRecorder(str(path))
    rec.start(list)
    live_nums = []
    num = 0
    for data in records:
        r = Rec(data, 0)
        p = tracker.apply(r)[0]
        rec.write(r, p)
        num += EVENTS_PER_RECORD[r.evt]
        if r.evt != L.EVT_FLOOD:
            live_nums.append((r.name, num))
    rec.close()
    with open(path, "rb") as raw:
        got = [
            (ev.type, ev.num)
            for batch in CaptureReplay(open_capture(raw), str(path)).batches()
            for ev in batch
        ]
    assert got == live_nums
