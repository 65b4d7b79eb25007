"""A capture secengine writes of real activity, read by sysdig 0.29.3: the same field values.

The probe records scripted activity (exec, files, a TCP connection, directories)
while ``SyscallSource.record_to`` writes the capture; each event's fields are read
live, as the engine reads them, then sysdig reads the capture
(:mod:`tests.capture.sysdig_oracle`) and every field of issue 16's list must be
equal on the same event (joined by time, thread and type), except the documented
disagreements (docs/capture-format.md, "Where sysdig 0.29.3 differs").
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "capture"))
from sysdig_oracle import FIELDS, SYSDIG, read_events

from secengine.events import MISSING
from tests.bpf.conftest import ensure_object

pytestmark = [
    pytest.mark.bpf,
    pytest.mark.skipif(SYSDIG is None, reason="sysdig is not installed (apt-get install sysdig)"),
]

TOKEN = "I16W_CAPTURE_TEST"
#: fields compared (the join keys and evt.num, which counts enter events too, excluded)
COMPARED = [f for f in FIELDS if f not in ("evt.num", "evt.rawtime", "thread.tid", "evt.dir")]

ACTIVITY = textwrap.dedent(
    """
    import os, socket, subprocess, tempfile
    d = tempfile.mkdtemp(prefix="i16w-")
    subprocess.run(["/bin/cat", "/etc/hostname"], stdout=subprocess.DEVNULL, check=True)
    subprocess.run(["ls", d], stdout=subprocess.DEVNULL, check=True)
    with open(os.path.join(d, "f.txt"), "w") as f:
        f.write("x")
    fd = os.open("/etc/passwd", os.O_RDONLY); os.close(fd)
    fd = os.open(os.path.join(d, "f.txt"), os.O_RDWR | os.O_APPEND); os.close(fd)
    os.rename(os.path.join(d, "f.txt"), os.path.join(d, "g.txt"))
    os.unlink(os.path.join(d, "g.txt"))
    os.mkdir(os.path.join(d, "sub")); os.rmdir(os.path.join(d, "sub"))
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
    cli = socket.socket(); cli.connect(srv.getsockname())
    conn, _ = srv.accept(); cli.sendall(b"hi"); conn.recv(2)
    conn.close(); cli.close(); srv.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("127.0.0.1", 9)); u.close()
    os.rmdir(d)
    """
)


#: what the activity does (the probe adds what the state needs)
INTEREST = {
    "execve",
    "open",
    "openat",
    "close",
    "socket",
    "bind",
    "listen",
    "connect",
    "accept",
    "accept4",
    "sendto",
    "recvfrom",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
    "rmdir",
    "dup2",
    "dup3",
    "pipe2",
}


def _norm(v: Any) -> str | None:
    if v is None or v is MISSING:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return " ".join(str(x) for x in v)
    s = str(v)
    return None if s in ("", "<NA>") else s


#: evt.type: the syscalls sysdig 0.29.3's libs had no event of their own for, written as the
#: event its driver sent for them (docs/capture-format.md)
_SHARED_EVENTS = {
    ("accept4", "accept"),
    ("dup2", "dup"),
    ("dup3", "dup"),
    ("pipe2", "pipe"),
    ("umount2", "umount"),
}
_SOCKET_FIELDS = {"fd.name", "fd.cip", "fd.cport", "fd.sip", "fd.sport", "fd.l4proto"}


def explained(field: str, snap: dict[str, Any], ours: str | None, theirs: str | None) -> bool:
    """Whether a difference is one docs/capture-format.md lists (sysdig 0.29.3 is wrong, or the
    0.29.3 layout cannot carry the value)."""
    etype = snap["evt.type"]
    if field == "evt.type":
        return (ours, theirs) in _SHARED_EVENTS
    if field == "proc.exepath":
        # 0.29.3 joins the cwd and the path the exec was given; secengine reports the file the
        # kernel ran (symlinks resolved), as current libsinsp does (trusted_exepath)
        return theirs is not None and os.path.realpath(theirs) == ours
    if field in ("fd.type", "fd.directory"):
        if _norm(snap["fd.type"]) == "directory":  # 0.29.3 types an fd by O_DIRECTORY only
            return True
        if field == "fd.directory" and ours is None and theirs == "/":
            return (
                True  # 0.29.3 answers "/" for an fd it has no name for (a close of an unknown fd)
            )
        if etype == "pipe2" and ours is None:  # secengine gives a pipe event no fd
            return True
        return field == "fd.type" and ours == "file" and snap["evt.rawres"] < 0
    if field in _SOCKET_FIELDS and etype in ("socket", "bind", "listen", "close"):
        # a socket before it connects: 0.29.3 names it by the address bind was asked for
        # (port 0) and leaves its protocol unknown; secengine reads the kernel's socket
        return theirs is None or "->" not in (theirs or "")
    return False


def test_capture_of_live_activity_equals_sysdig(tmp_path: Path) -> None:
    from secengine.sources.syscall import SyscallSource

    ensure_object()
    cap = tmp_path / "live.scap"
    src = SyscallSource(ring_bytes=64 * 1024 * 1024, producer_rate=0)
    src.set_interest(INTEREST)  # the activity's types: other load on the host stays out
    recorder = src.record_to(str(cap))
    src.open()
    env = {**os.environ, TOKEN: "1"}

    def action() -> None:
        import subprocess

        subprocess.run([sys.executable, "-c", ACTIVITY], env=env, check=True, timeout=60)

    def ours(f: Any) -> bool:
        return any(e.startswith(TOKEN + "=") for e in (f.get("proc.env") or "").split(" ")) or (
            TOKEN in str(f.get("proc.env"))
        )

    snaps: list[dict[str, Any]] = []

    def on_event(ev: Any) -> None:
        if ours(ev.fields):
            snap = {f: ev.fields[f] for f in [*COMPARED, "thread.tid"]}
            snap["evt.rawtime"] = ev.ts
            snaps.append(snap)

    import threading
    import time

    try:
        worker = threading.Thread(target=action)
        worker.start()
        while worker.is_alive():
            src.read_batch(on_event)
            src.wait_if_idle(0.01)
        worker.join()
        end = time.monotonic() + 60  # catch up with the ring (the host may be busy)
        while time.monotonic() < end and src.reader.pending_bytes() > 0:
            src.read_batch(on_event)
        src.read_batch(on_event)
    finally:
        src.close()
    assert recorder.error is None, recorder.error
    assert recorder.stats.unencodable == 0 and recorder.stats.records == recorder.records
    assert snaps, "no live event of the activity"

    theirs = read_events(cap, "evt.dir='<' or evt.type=procexit")
    by_key = {(e["evt.rawtime"], e["thread.tid"]): e for e in theirs}
    joined = 0
    mismatches: dict[str, list[str]] = {}
    for s in snaps:
        e = by_key.get((str(s["evt.rawtime"]), str(s["thread.tid"])))
        if e is None:
            continue
        joined += 1
        for f in COMPARED:
            a, b = _norm(s[f]), e[f]
            if a != b and not explained(f, s, a, b):
                mismatches.setdefault(f, []).append(
                    f"{s['evt.type']}: secengine {a!r} sysdig {b!r} (fd.name {s['fd.name']!r}/{e['fd.name']!r})"
                )
    assert joined >= len(snaps) * 0.95, f"only {joined} of {len(snaps)} live events found in sysdig"
    report = {f: (len(v), sorted(set(v))[:6]) for f, v in mismatches.items()}
    if os.environ.get("I16W_REPORT"):
        import pprint

        Path(os.environ["I16W_REPORT"]).write_text(pprint.pformat(report, width=150))
    assert not mismatches, report
