"""``secengine replay`` against hostile input: huge lines, binary junk (issue 12, item 6).

Every reader (field-map JSON Lines, Kubernetes audit logs, gzip, stdin,
directories) reads in time linear in its input and in memory bounded by the
line cap, skips an over-long line with a ``file:line: reason`` error and goes
on, and exits 2 when an input yields no event at all.

The timing and memory tests run the real command in a subprocess and stream a
huge line into its stdin, so that the test itself holds no more than one
megabyte of it; the bounds are generous (seconds, hundreds of megabytes) so
that they tell linear from quadratic, not fast from slow.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import orjson
import pytest

RULES = """
- rule: Shadow read
  desc: test
  condition: evt.type = openat and fd.name = /etc/shadow
  output: shadow read by %proc.name
  priority: WARNING
- rule: Audit secret read
  desc: test
  condition: ka.verb = get and ka.target.resource = secrets
  output: secret read by %ka.user.name
  priority: WARNING
  source: k8s_audit
"""
MiB = 1 << 20
#: The command as installed next to this interpreter (the venv's console script).
SECENGINE = Path(sys.executable).parent / "secengine"
SHADOW = orjson.dumps(
    {"time": 5, "fields": {"evt.type": "openat", "fd.name": "/etc/shadow", "proc.name": "cat"}}
)
AUDIT = orjson.dumps(
    {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "stage": "ResponseComplete",
        "auditID": "1",
        "verb": "get",
        "user": {"username": "mallory"},
        "objectRef": {"resource": "secrets", "namespace": "default", "name": "s"},
        "requestURI": "/api/v1/namespaces/default/secrets/s",
        "stageTimestamp": "2024-05-02T10:00:00.000000Z",
    }
)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def _huge_line(size: int, head: bytes = b'{"time": 1, "fields": {"x": "') -> Iterable[bytes]:
    """A JSON line of ``size`` bytes, one MiB at a time (never held whole)."""
    yield head
    block = b"a" * MiB
    left = size - len(head) - 3
    while left > 0:
        yield block[:left]
        left -= MiB
    yield b'"}}'


#: Runs argv[2:] with RLIMIT_AS set to argv[1] bytes.
_LIMITED = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_AS, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
)


def _replay(
    args: list[str], stdin: Iterable[bytes], *, timeout: float, address_space: int | None = None
) -> tuple[int, str, str]:
    """Run ``secengine replay ARGS -`` with ``stdin`` streamed in; (status, stdout, stderr)."""

    cmd = [str(SECENGINE), "replay", *args]
    if address_space is not None:
        cmd = [sys.executable, "-c", _LIMITED, str(address_space), *cmd]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    pipe, proc.stdin = proc.stdin, None  # fed by the thread below, not by communicate()
    assert pipe is not None

    def feed() -> None:
        try:
            for block in stdin:
                pipe.write(block)
            pipe.close()
        except (BrokenPipeError, ValueError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"secengine replay {' '.join(args)} took more than {timeout}s")
    feeder.join(5)
    return proc.returncode, out.decode(), err.decode("utf-8", "replace")


def _stream(*parts: bytes | Iterable[bytes]) -> Iterable[bytes]:
    for part in parts:
        if isinstance(part, bytes):
            yield part
        else:
            yield from part


# -- time linear in the line's length ---------------------------------------------------


def test_a_100_mib_line_is_skipped_in_linear_time(rules: Path) -> None:
    """Today's reader re-joins the partial line per 64 KiB chunk: over a minute for 100 MiB."""
    rc, out, err = _replay(
        ["-r", str(rules), "-"], _stream(_huge_line(100 * MiB), b"\n", SHADOW, b"\n"), timeout=30
    )
    assert "shadow read by cat" in out  # the line after it is read
    assert (
        "<stdin>:1: line of 104857600 bytes is longer than the limit of 16777216 "
        "(--max-line-size, replay.max_line_size) (line skipped)"
    ) in err
    assert "Lines rejected: 1" in err
    assert rc == 0


def test_a_long_line_under_a_raised_limit_is_read_in_linear_time(rules: Path) -> None:
    line = _huge_line(
        48 * MiB,
        b'{"time": 1, "fields": {"evt.type": "openat", '
        b'"fd.name": "/etc/shadow", "proc.name": "big", "x": "',
    )
    rc, out, err = _replay(
        ["-r", str(rules), "--max-line-size", "64MiB", "-"],
        _stream(line, b"\n", SHADOW),
        timeout=30,
    )
    assert rc == 0, err
    assert "shadow read by big" in out and "shadow read by cat" in out
    assert "Lines rejected: 0" in err


def test_audit_log_long_line_is_skipped_in_linear_time(rules: Path) -> None:
    line = _huge_line(100 * MiB, b'{"kind": "Event", "x": "')
    rc, out, err = _replay(
        ["-r", str(rules), "--source", "k8s_audit", "-"],
        _stream(AUDIT, b"\n", line, b"\n", AUDIT, b"\n"),
        timeout=30,
    )
    assert out.count("secret read by mallory") == 2
    assert (
        "<stdin>:2: line of 104857600 bytes is longer than the limit of 16777216 "
        "(--max-line-size, replay.max_line_size) (line skipped)"
    ) in err
    assert rc == 0


# -- memory bounded by the cap, not by the line ------------------------------------------

ADDRESS_SPACE = 512 * MiB


@pytest.mark.parametrize("source", ["syscall", "k8s_audit"])
def test_memory_stays_bounded_by_the_line_cap(rules: Path, source: str) -> None:
    """A 1 GiB line under a 512 MiB address-space limit: the reader must not hold it."""
    first = SHADOW if source == "syscall" else AUDIT
    rc, out, err = _replay(
        ["-r", str(rules), "--source", source, "-"],
        _stream(first, b"\n", _huge_line(1024 * MiB), b"\n", first, b"\n"),
        timeout=60,
        address_space=ADDRESS_SPACE,
    )
    assert "Traceback" not in err and "MemoryError" not in err
    assert rc == 0, err
    assert len(out.splitlines()) == 2
    assert "line of 1073741824 bytes is longer than the limit" in err


def test_gzip_input_long_line(rules: Path, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as fh:
        for block in _stream(_huge_line(40 * MiB), b"\n", SHADOW, b"\n"):
            fh.write(block)
    rc, out, err = _replay(["-r", str(rules), "--max-line-size", "1MiB", str(path)], [], timeout=30)
    assert rc == 0, err
    assert "shadow read by cat" in out
    assert (
        f"{path}:1: line of 41943040 bytes is longer than the limit of 1048576 "
        "(--max-line-size, replay.max_line_size) (line skipped)"
    ) in err


def test_the_limit_comes_from_the_configuration_file(rules: Path, tmp_path: Path) -> None:
    config = tmp_path / "secengine.yaml"
    config.write_text(f"rules_files: [{rules}]\nreplay: {{max_line_size: 1000}}\n")
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"time": 1, "fields": {"x": "' + b"a" * 2000 + b'"}}\n' + SHADOW + b"\n")
    rc, out, err = _replay(["-c", str(config), str(events)], [], timeout=30)
    assert rc == 0, err
    assert "shadow read by cat" in out
    assert f"{events}:1: line of 2032 bytes is longer than the limit of 1000" in err
    # the flag has the last word
    rc, out, err = _replay(
        ["-c", str(config), "--max-line-size", "4096", str(events)], [], timeout=30
    )
    assert rc == 0 and "Lines rejected: 0" in err


def test_bad_limit_is_a_usage_error(rules: Path, tmp_path: Path) -> None:
    rc, _, err = _replay(["-r", str(rules), "--max-line-size", "lots", "-"], [], timeout=30)
    assert rc == 2
    assert "--max-line-size: invalid size 'lots'" in err
    assert "Traceback" not in err
    config = tmp_path / "secengine.yaml"
    config.write_text("replay: {max_line_size: 0}\n")
    rc, _, err = _replay(["-c", str(config), "-"], [], timeout=30)
    assert rc == 2
    assert "replay.max_line_size" in err and "Traceback" not in err


# -- binary junk -------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["syscall", "k8s_audit"])
def test_random_bytes_exit_2(rules: Path, tmp_path: Path, source: str) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(MiB))
    rc, out, err = _replay(["-r", str(rules), "--source", source, str(junk)], [], timeout=60)
    assert rc == 2
    assert out == ""
    noun = "audit event" if source == "k8s_audit" else "event"
    assert f"secengine replay: no {noun} could be read from {junk}" in err
    assert "Traceback" not in err


def test_an_elf_binary_exits_2(rules: Path) -> None:
    rc, _, err = _replay(["-r", str(rules), sys.executable], [], timeout=60)
    assert rc == 2
    assert f"no event could be read from {sys.executable}" in err


def test_junk_among_good_inputs_still_exits_2(rules: Path, tmp_path: Path) -> None:
    """The good file's alerts are printed, but the run is not reported clean."""
    good = tmp_path / "good.jsonl"
    good.write_bytes(SHADOW + b"\n")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 64)
    rc, out, err = _replay(["-r", str(rules), str(good), str(junk)], [], timeout=60)
    assert "shadow read by cat" in out
    assert f"no event could be read from {junk}" in err
    assert rc == 2


def test_blank_and_empty_inputs_are_still_clean(rules: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n\n")
    rc, _, err = _replay(["-r", str(rules), str(empty)], [], timeout=30)
    assert rc == 0, err


def test_junk_in_an_audit_directory_names_the_file(rules: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_bytes(AUDIT + b"\n")
    (logs / "b.log").write_bytes(os.urandom(64 * 1024))
    rc, out, err = _replay(["-r", str(rules), "--source", "k8s_audit", str(logs)], [], timeout=60)
    assert "secret read by mallory" in out
    assert f"no audit event could be read from {logs / 'b.log'}" in err
    assert rc == 2


# -- corrupt gzip (found by the atheris fieldmap target, docs/fuzzing.md) ----------------

#: A gzip header followed by deflate data zlib refuses ("invalid stored block lengths"):
#: zlib.error, which is not an OSError, escaped every reader as a traceback.
CORRUPT_GZIP = bytes.fromhex("1f8b080a0a0a0a6500000000000000c7f5f5c5")


@pytest.mark.parametrize("source", ["syscall", "k8s_audit"])
def test_corrupt_gzip_is_reported_not_a_traceback(rules: Path, tmp_path: Path, source: str) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(CORRUPT_GZIP)
    rc, _, err = _replay(["-r", str(rules), "--source", source, str(path)], [], timeout=30)
    assert "Traceback" not in err
    assert (
        f"{path}:1: unreadable input: corrupt gzip data (Error -3 while decompressing "
        "data: invalid stored block lengths) (line skipped)"
    ) in err
    assert rc == 2


def test_corrupt_gzip_rule_test_event_file(tmp_path: Path) -> None:
    from secengine.errors import EventFormatError
    from secengine.testing.eventfiles import read_event_file

    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(CORRUPT_GZIP)
    with pytest.raises(EventFormatError, match="unreadable gzip input"):
        read_event_file(path)
