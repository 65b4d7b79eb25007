"""A digest of every field of every event a capture replay yields, under several interests:
the check that a speed change of the capture reader changed nothing.

Run it with each checkout's package and compare the lines::

    PYTHONPATH=/tmp/main-tree/src python bench/capture_digest.py CAPTURE > before.txt
    python bench/capture_digest.py CAPTURE > after.txt && diff before.txt after.txt

Per interest: events yielded, events counted, the last ``evt.num``, events decoded, what
was skipped as unknown, and a SHA-256 of the fields (the sysdig comparisons' fields and
more) of every yielded event in order.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from secengine.capture.replay import CaptureReplay, open_capture

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "capture"))

from sysdig_golden import FIELDS

EXTRA = [
    "evt.arg.data",
    "evt.args",
    "proc.cwd",
    "fd.cloexec",
    "evt.is_open_write",
    "fd.connected",
    "proc.tid",
    "thread.tid",
    "proc.exe",
    "proc.sid",
    "evt.arg.fd",
    "evt.arg.res",
    "evt.rawarg.flags",
    "evt.arg.flags",
    "fd.ino",
    "fd.dev",
    "proc.vpid",
    "evt.time",
]
INTERESTS: list[frozenset[str] | None] = [
    None,
    frozenset({"open", "openat", "openat2"}),
    frozenset({"sendto", "recvfrom", "connect", "read", "write"}),
    frozenset({"execve", "procexit", "close"}),
    frozenset(),
]


def digest(path: str, interest: frozenset[str] | None) -> str:
    fields = list(dict.fromkeys([*FIELDS, *EXTRA]))
    with open(path, "rb") as raw:
        replay = CaptureReplay(open_capture(raw), path)
        replay.set_interest(interest)
        h = hashlib.sha256()
        n = 0
        for batch in replay.batches():
            for ev in batch:
                row = []
                for f in fields:
                    try:
                        row.append(ev.fields.get(f))
                    except Exception as e:  # noqa: BLE001 - the failure is part of the digest
                        row.append(("error", type(e).__name__))
                h.update(repr(row).encode())
                n += 1
    name = sorted(interest) if interest is not None else None
    return (
        f"{name}: yielded={n} events={replay.events} num={replay.num} "
        f"decoded={replay.decoded} unknown={sorted(replay.unknown.items())} "
        f"sha256={h.hexdigest()[:16]}"
    )


def main() -> None:
    for path in sys.argv[1:]:
        for interest in INTERESTS:
            print(digest(path, interest), flush=True)


if __name__ == "__main__":
    main()
