"""The storm's consumer in instructions per record, counted by valgrind: load-independent.

Run: ``python bench/storm_instructions.py [--tree A --tree B] [--records FILE]``
(needs ``valgrind``; recording needs root; about 30 s per tree).

The live storm (``bench/syscall_overhead.py``) measures the consumer's CPU
time per record while a generator shares the machine's two vCPUs with it
and with whatever else runs: on a shared machine that figure moves by 20 %
from one step to the next. This benchmark replays the ring records of a
real storm instead, through the same code, and counts instructions:

1. ``--record FILE`` (root): the storm generator (``bench/storm.c``, dup +
   close) at 100,000 records/s for 2 s with the probe loaded as the storm
   loads it; the generator's own records are written to ``FILE`` (each as a
   4-byte length and the record's bytes). Without ``--record`` the file is
   recorded first when it does not exist.
2. Per tree, this script as a worker under ``valgrind --tool=cachegrind
   --cache-sim=no`` with ``PYTHONHASHSEED=0`` and ``PYTHONPATH`` the tree's
   ``src``: the records are laid out in an anonymous mapping exactly as the
   kernel's ring buffer holds them (header, padding), the tree's
   :class:`~secengine.bpf.ringbuf.RingReader` reads them from it and its
   ``SyscallSource.read_batch`` decodes them, applies them to a
   ``StateTracker`` and hands each ``dup`` event to an ``Engine`` with
   Falco's stable rules, one at a time, as the live storm does. The
   records' process is the worker itself (pid and tid rewritten), whose
   state is read from /proc once; nothing else is seeded, so two runs count
   the same to a few parts in a million. A first pass builds the rule
   buckets; the count is (3 passes - 1 pass) / (2 x records).

What it does not count: the kernel (the probe, wake-ups) and the cache
misses of reading a ring another CPU writes, which the live storm's CPU
time includes (about 0.4 us a record more than this replay, at equal code).
Results go to ``bench/results/storm_instructions.json``.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from trees import instructions

RULES = REPO.parent / "shared" / "rules-upstream" / "falco_rules.yaml"
DEFAULT_RECORDS = Path("/tmp/secengine-storm-records.bin")
#: records replayed per pass (the file holds more)
N = 40_000
_LEN = struct.Struct("<I")


def record(path: Path, rate: int = 100_000, seconds: float = 2.0) -> int:
    """Run the storm with the probe loaded; write the generator's records to ``path``."""
    import tempfile

    from syscall_overhead import _Storm

    with tempfile.TemporaryDirectory() as tmp:
        storm = _Storm(Path(tmp))
        try:
            src = storm.src
            reader = src.reader
            assert reader is not None
            src.drain(0.3)
            gen = subprocess.Popen(
                [storm.exe, str(rate / 2), str(seconds)], stdout=subprocess.DEVNULL
            )
            mine: list[bytes] = []
            pid = struct.Struct("<12xI")
            while True:
                done = gen.poll() is not None
                got = reader.read(4096)
                mine.extend(r for r in got if pid.unpack_from(r)[0] == gen.pid)
                if done and not got:
                    break
                if not got:
                    reader.wait(0.002)
        finally:
            storm.close()
    with path.open("wb") as fh:
        for r in mine:
            fh.write(_LEN.pack(len(r)) + r)
    return len(mine)


def load(path: Path, n: int) -> list[bytes]:
    data = path.read_bytes()
    out: list[bytes] = []
    off = 0
    while off < len(data) and len(out) < n:
        (length,) = _LEN.unpack_from(data, off)
        out.append(data[off + 4 : off + 4 + length])
        off += 4 + length
    return out


def worker(path: Path, passes: int, n: int) -> None:
    """Replay ``n`` records ``1 + passes`` times through the tree's reader, source and engine."""
    from secengine import load_rules
    from secengine.bpf.ringbuf import Position, RingReader
    from secengine.commands.agent_run import tune_gc
    from secengine.engine import Engine
    from secengine.output import AlertFormatter
    from secengine.sources.base import rule_event_types
    from secengine.sources.syscall import SyscallSource
    from secengine.state import procfs
    from secengine.state.tracker import StateTracker

    me, tid = os.getpid(), threading.get_native_id()
    records = []
    for r in load(path, n):  # the worker is the records' process
        b = bytearray(r)
        struct.pack_into("<II", b, 8, tid, me)
        records.append(bytes(b))
    # the ring's layout (bpf_ringbuf_hdr: length, page offset; records 8-aligned) in memory
    page = mmap.PAGESIZE
    size = 1 << 24
    producer = mmap.mmap(-1, page + 2 * size)
    consumer = mmap.mmap(-1, page)
    end = 0
    for r in records:
        struct.pack_into("<II", producer, page + end, len(r), 0)
        producer[page + end + 8 : page + end + 8 + len(r)] = r
        end += (len(r) + 15) & ~7
    struct.pack_into("Q", producer, 0, end)
    # a RingReader on these mappings (the constructor maps a ring map's fd: there is none)
    reader = RingReader.__new__(RingReader)
    for name, value in {
        "size": size,
        "mask": size - 1,
        "_producer": producer,
        "_consumer": consumer,
        "_consumer_pos": Position(consumer),
        "_data_off": page,
        # the data area as 32-bit words: what trees with the word view read headers through
        "_words": memoryview(producer)[page:].cast("I"),
        "records": 0,
        "_last_records": 0.0,
        "_held": False,
    }.items():
        setattr(reader, name, value)

    engine = Engine(load_rules([str(RULES)]), formatter=AlertFormatter(hostname="bench"))
    src = SyscallSource(producer_rate=0)
    src.set_interest(rule_event_types(engine.rules, src.name))
    tracker = src.tracker = StateTracker()
    own = procfs.read_process(me, tracker.boot_ns)
    assert own is not None
    tracker.procs.put(own)
    src.reader = reader
    tune_gc()
    process = engine.process

    def one_pass() -> None:
        reader._cursor = 0
        while reader._cursor < end:
            src.read_batch(process)

    for _ in range(1 + passes):
        one_pass()


def count(tree: Path, path: Path, passes: int, n: int) -> int:
    """Instructions of a worker replaying the records ``1 + passes`` times on ``tree``."""
    return instructions(__file__, [str(passes), "--records", str(path), "--n", str(n)], tree)


def measure(tree: Path, path: Path, n: int) -> int:
    with ThreadPoolExecutor(2) as pool:
        one, three = pool.map(lambda p: count(tree, path, p, n), (1, 3))
    return round((three - one) / (2 * n))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", action="append", type=Path, default=[])
    p.add_argument("--records", type=Path, default=DEFAULT_RECORDS)
    p.add_argument("--record", action="store_true", help="record the storm's records again")
    p.add_argument("--n", type=int, default=N, help="records replayed per pass")
    p.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results" / "storm_instructions.json"
    )
    p.add_argument("--worker", type=int, metavar="PASSES", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker is not None:
        worker(args.records, args.worker, args.n)
        return 0
    if args.record or not args.records.exists():
        print(f"recording the storm's records to {args.records} (root)", flush=True)
        print(f"  {record(args.records):,} records", flush=True)
    n = min(args.n, len(load(args.records, args.n)))
    trees = args.tree or [REPO]
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "records_per_pass": n,
        "load_average": os.getloadavg(),
        "instructions_per_record": {},
    }
    for tree in trees:  # valgrind is load-independent: one tree after the other
        from trees import label

        per = measure(tree, args.records, n)
        result["instructions_per_record"][label(tree)] = per
        print(f"{label(tree)}: {per:,} instructions per record", flush=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
