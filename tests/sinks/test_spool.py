"""The on-disk spool: order, acknowledgement, bounds, eviction counted, recovery after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from secengine.sinks.spool import Spool, SpoolError


def _drain(spool: Spool, batch: int = 7) -> list[bytes]:
    out: list[bytes] = []
    while True:
        records = spool.peek(batch)
        if not records:
            return out
        out += [r.body for r in records]
        spool.commit(records[-1])


def test_records_leave_in_order_and_only_when_committed(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    for i in range(100):
        spool.append(f"k.{i}", b"body-%d" % i)
    records = spool.peek(10)
    assert [r.body for r in records] == [b"body-%d" % i for i in range(10)]
    assert records[3].key == "k.3"
    # not committed: the same records again
    again = spool.peek(10)
    assert [r.seq for r in again] == [r.seq for r in records]
    assert spool.commit(records[-1]) == 10
    assert spool.stats.records == 90
    assert _drain(spool) == [b"body-%d" % i for i in range(10, 100)]
    assert spool.stats.records == 0 and spool.stats.bytes == 0


def test_a_reopened_spool_keeps_what_was_not_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    seqs = [spool.append("k", b"r%d" % i) for i in range(50)]
    spool.commit(spool.peek(20)[-1])
    spool.close()
    again = Spool(tmp_path, 1 << 20)
    assert again.stats.recovered == 30 and again.epoch == spool.epoch
    assert _drain(again) == [b"r%d" % i for i in range(20, 50)]
    # sequence numbers go on: ids made from them stay unique
    assert again.append("k", b"next") > seqs[-1]


def test_a_full_spool_evicts_the_oldest_and_counts_them(tmp_path: Path) -> None:
    evicted: list[int] = []
    spool = Spool(tmp_path, 8192, on_evict=evicted.append)
    body = b"x" * 100
    for i in range(500):
        spool.append("k", body + b"%05d" % i)
    assert spool.stats.bytes <= 8192
    assert sum(evicted) == spool.stats.evicted > 0
    kept = _drain(spool, 50)
    assert spool.stats.evicted + len(kept) == 500
    # what is left is the newest, in order
    assert kept == [body + b"%05d" % i for i in range(500 - len(kept), 500)]


def test_a_torn_record_at_the_tail_is_cut_off(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    for i in range(5):
        spool.append("k", b"r%d" % i)
    spool.close()
    seg = max(tmp_path.glob("*.seg"))
    with open(seg, "ab") as f:
        f.write(b"\x40\x00\x00\x00garbage")  # the agent died writing a record
    again = Spool(tmp_path, 1 << 20)
    assert again.stats.recovered == 5
    again.append("k", b"after")
    assert _drain(again) == [b"r0", b"r1", b"r2", b"r3", b"r4", b"after"]


def test_a_record_larger_than_a_segment_is_refused(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 8192)
    with pytest.raises(SpoolError, match="larger than a spool segment"):
        spool.append("k", b"x" * 2000)


def test_an_unusable_directory_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SpoolError, match="cannot open the spool"):
        Spool(blocker / "spool", 1 << 20)


def test_a_writer_and_a_reader_on_two_threads_keep_every_record_in_order(
    tmp_path: Path,
) -> None:
    import random
    import threading

    spool = Spool(tmp_path, 1 << 18)  # segments of 32 KiB: rotations, and evictions if behind
    n = 3000

    def write() -> None:
        for i in range(n):
            spool.append(f"k.{i % 3}", b"x" * random.randint(20, 300) + b"%d" % i)

    writer = threading.Thread(target=write)
    writer.start()
    got: list[int] = []
    removed = 0
    while writer.is_alive() or spool.stats.records:
        records = spool.peek(random.randint(1, 200))
        if not records:
            continue
        k = random.randint(1, len(records))  # the broker took only a prefix
        removed += spool.commit(records[k - 1])
        got += [r.seq for r in records[:k]]
    writer.join()
    assert got == sorted(set(got))  # in order, none twice
    # every record either left acknowledged or was evicted (counted), none lost silently
    assert removed + spool.stats.evicted == n
    assert spool.stats.bytes == 0 and spool.stats.records == 0
