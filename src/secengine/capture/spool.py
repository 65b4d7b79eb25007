"""A capture off the live path: raw records spooled, turned into ``.scap`` by another process.

Turning a probe record into its two capture events costs tens of
microseconds in Python, several times what the live path spends on the
record itself, so ``secengine run --capture`` does not do it there. The live
side (:class:`CaptureSpool`) only appends each batch of raw records, as the
ring buffer gave them, to a spool file next to the capture (one ``write`` per
batch), after a header holding the state tables it seeded (pickled
processes, boot time). A converter process (``python -m
secengine.capture.spool``, started with the spool) follows the file: it
rebuilds the same tables with the same state machine
(:class:`~secengine.state.tracker.StateTracker`), applies the records batch
by batch exactly as the live source did, and writes the capture with a
:class:`~secengine.capture.recorder.CaptureRecorder`. It runs on another core
at its own pace; when the run stops the live side marks the end and waits for
it to finish, then the spool is removed.

Spool format: ``SECSPOOL1`` magic, u32 header length, the pickled header
``(boot_ns, max_processes, processes)``; then per batch a u32 record count,
the records' u32 lengths, and the records; a count of ``0xFFFFFFFF`` ends it.
The converter runs at a lower priority (nice 10): when the cores are short,
the live path comes first and the converter catches up later (the spool
holds what it has not converted yet).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import struct
import subprocess
import sys
import time
from array import array
from collections.abc import Iterable, Sequence
from typing import BinaryIO, Final

from secengine.capture.recorder import CaptureRecorder, CaptureStats
from secengine.state.threads import Process

__all__ = ["CaptureSpool", "convert"]

_MAGIC: Final = b"SECSPOOL1"
_U32: Final = struct.Struct("<I")
_END: Final = 0xFFFFFFFF
_BUFFER: Final = 1 << 20
#: how long the converter sleeps when it has caught up with the live side
_IDLE: Final = 0.02


class CaptureSpool:
    """The live side of a capture: spools raw records and runs the converter."""

    def __init__(self, path: str, *, max_bytes: int = 0, files: int = 1) -> None:
        if max_bytes < 0 or files < 1:
            raise ValueError("max_bytes must be >= 0 and files >= 1")
        self.path = path
        self.spool_path = path + ".spool"
        self.max_bytes = max_bytes
        self.files = files
        self.stats = CaptureStats()
        self.error: str | None = None
        self._out: BinaryIO | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self.records = 0

    def start(self, procs: Iterable[Process], boot_ns: int, max_processes: int) -> None:
        """Write the header (the seeded tables) and start the converter."""
        header = pickle.dumps((boot_ns, max_processes, list(procs)), protocol=5)
        try:
            # a new file only we can read: the converter unpickles what it holds
            wfd = os.open(self.spool_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            rfd = os.open(self.spool_path, os.O_RDONLY)
        except OSError as e:
            self.error = f"{self.spool_path}: cannot write the capture spool: {e.strerror or e}"
            return
        out = os.fdopen(wfd, "wb", buffering=_BUFFER)
        try:
            out.write(_MAGIC + _U32.pack(len(header)) + header)
            out.flush()
            cmd = [
                sys.executable,
                "-m",
                "secengine.capture.spool",
                str(rfd),
                self.path,
                "--max-bytes",
                str(self.max_bytes),
                "--files",
                str(self.files),
            ]
            self._child = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(rfd,)
            )
        except OSError as e:
            out.close()
            self.error = f"{self.path}: cannot start the capture converter: {e.strerror or e}"
            return
        finally:
            os.close(rfd)
        self._out = out

    def append(self, batch: Sequence[bytes]) -> None:
        """Spool one batch of raw records (the live path's whole cost of a capture): its
        count, the records' lengths and the records, in three C-level passes."""
        out = self._out
        if out is None or not batch:
            return
        lengths = array("I", map(len, batch))
        try:
            out.write(_U32.pack(len(batch)))
            out.write(lengths.tobytes())
            out.write(b"".join(batch))
            out.flush()
        except OSError as e:
            self.error = f"{self.spool_path}: cannot write the capture spool: {e.strerror or e}"
            self._out = None
            self.stats.dropped += len(batch)
            return
        self.records += len(batch)

    def close(self, timeout: float | None = None) -> CaptureStats:
        """Mark the end, wait for the converter (``timeout`` seconds, None: as long as it
        takes) and return what it wrote."""
        out, self._out = self._out, None
        if out is not None:
            try:
                out.write(_U32.pack(_END))
                out.close()
            except OSError as e:
                self.error = f"{self.spool_path}: cannot write the capture spool: {e.strerror or e}"
        child, self._child = self._child, None
        if child is None:
            self._unlink()
            return self.stats
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            stdout, stderr = child.communicate()
            self.error = f"{self.path}: the capture converter did not finish in {timeout} s"
        try:
            report = json.loads(stdout.decode() or "{}")
        except ValueError:
            report = {}
        for k, v in report.get("stats", {}).items():
            setattr(self.stats, k, v)
        self._unlink()
        if child.returncode != 0 or report.get("error"):
            self.error = (
                self.error
                or report.get("error")
                or (
                    f"{self.path}: the capture converter failed ({child.returncode}): "
                    + stderr.decode(errors="replace").strip()[-300:]
                )
            )
        return self.stats

    def _unlink(self) -> None:
        try:
            os.unlink(self.spool_path)
        except OSError:
            pass


def _read_exact(f: BinaryIO, n: int, parent: int) -> bytes | None:
    """``n`` bytes of a file still being written: waits for them; None if the live side
    is gone before writing them."""
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if chunk:
            buf += chunk
            continue
        if os.getppid() != parent:
            return None
        time.sleep(_IDLE)
    return buf


def convert(
    f: BinaryIO, out: str, max_bytes: int = 0, files: int = 1, name: str = "spool"
) -> tuple[CaptureStats, str | None]:
    """Turn a spool (``f``, open for reading; ``name`` for messages) into a capture: the
    converter process's work, also callable in process on a finished spool. Returns the
    recorder's counters and its error, if any."""
    # the state machine of the live source, with no runtime APIs to ask
    from secengine.state.containers import ContainerResolver
    from secengine.state.decode import Rec, RecordFormatError
    from secengine.state.tracker import StateTracker

    parent = os.getppid()
    spool = name
    head = _read_exact(f, len(_MAGIC) + 4, parent)
    if head is None or head[: len(_MAGIC)] != _MAGIC:
        return CaptureStats(), f"{spool}: not a capture spool"
    raw = _read_exact(f, _U32.unpack_from(head, len(_MAGIC))[0], parent)
    if raw is None:
        return CaptureStats(), f"{spool}: truncated header"
    # the spool is a file the live side created for this converter alone (O_EXCL, 0600)
    boot_ns, max_processes, procs = pickle.loads(raw)
    tracker = StateTracker(
        max_processes=max_processes,
        containers=ContainerResolver(sockets=(), engines=()),
        boot_ns=boot_ns,
    )
    for p in procs:
        tracker.procs.put(p)
    for p in procs:
        tracker.procs.link(p)
    recorder = CaptureRecorder(out, max_bytes=max_bytes, files=files)
    recorder.start(tracker.procs.values)
    apply, write = tracker.apply, recorder.write
    while True:
        count_b = _read_exact(f, 4, parent)
        if count_b is None:
            break
        count = _U32.unpack(count_b)[0]
        if count == _END:
            break
        tracker.flush_exited()
        lengths_b = _read_exact(f, 4 * count, parent)
        if lengths_b is None:
            break
        lengths = array("I")
        lengths.frombytes(lengths_b)
        body = _read_exact(f, sum(lengths), parent)
        if body is None:
            break
        off = 0
        for n in lengths:
            data = body[off : off + n]
            off += n
            try:
                rec = Rec(data, boot_ns)
                proc = apply(rec)[0]
            except (RecordFormatError, IndexError, struct.error):
                continue  # counted by the live source as malformed
            write(rec, proc)
    recorder.close()
    return recorder.snapshot(), recorder.error or recorder.unencodable_reason


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Turn a secengine capture spool into a .scap file.")
    p.add_argument("fd", type=int, help="the spool, an open file descriptor")
    p.add_argument("out")
    p.add_argument("--max-bytes", type=int, default=0)
    p.add_argument("--files", type=int, default=1)
    args = p.parse_args(argv)
    os.nice(10)  # the live path first: this process catches up when the cores are free
    with os.fdopen(args.fd, "rb") as f:
        stats, error = convert(f, args.out, args.max_bytes, args.files, args.out + ".spool")
    fields = {
        f: getattr(stats, f)
        for f in ("records", "events", "bytes", "files", "dropped", "skipped", "unencodable")
    }
    sys.stdout.write(json.dumps({"stats": fields, "error": error}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
