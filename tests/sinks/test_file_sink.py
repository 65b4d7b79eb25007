"""The file sink: append, JSON Lines or text, keep_alive, rotation by size, reopen."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from secengine.sinks.base import SinkError
from secengine.sinks.file import FileSink
from secengine.sinks.render import AlertRenderer


def _until(cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_appends_text_lines_to_an_existing_file(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "events.txt"
    out.write_text("previous\n")
    with FileSink(out) as sink:
        for i in range(3):
            sink.submit(alert(i))
    lines = out.read_text().splitlines()
    assert lines == ["previous"] + [alert(i).output for i in range(3)]
    assert sink.stats.delivered == 3


def test_json_lines(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "events.jsonl"
    with FileSink(out, keep_alive=True, renderer=AlertRenderer(json_output=True)) as sink:
        sink.submit(alert(7))
    (obj,) = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert obj["rule"] == "open_from_cat" and obj["output_fields"]["n"] == 7


def test_without_keep_alive_a_moved_file_is_recreated(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "events.txt"
    with FileSink(out) as sink:
        sink.submit(alert(0))
        _until(lambda: sink.stats.delivered >= 1)
        os.rename(out, tmp_path / "moved.txt")
        sink.submit(alert(1))
    assert (tmp_path / "moved.txt").read_text().splitlines() == [alert(0).output]
    assert out.read_text().splitlines() == [alert(1).output]


def test_keep_alive_reopen_follows_an_outside_rotation(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "events.txt"
    with FileSink(out, keep_alive=True) as sink:
        sink.submit(alert(0))
        _until(lambda: sink.stats.delivered >= 1)
        os.rename(out, tmp_path / "events.txt.old")
        sink.request_reopen()
        sink.submit(alert(1))
    assert out.read_text().splitlines() == [alert(1).output]


def test_size_rotation_keeps_backups(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "events.txt"
    line = len(alert(0).output) + 1
    with FileSink(out, keep_alive=True, max_size=2 * line, backups=2) as sink:
        for i in range(7):
            sink.submit(alert(i))
    assert out.read_text().splitlines() == [alert(6).output]
    assert (tmp_path / "events.txt.1").read_text().splitlines() == [
        alert(4).output,
        alert(5).output,
    ]
    assert (tmp_path / "events.txt.2").read_text().splitlines() == [
        alert(2).output,
        alert(3).output,
    ]
    assert not (tmp_path / "events.txt.3").exists()
    assert all(p.stat().st_size <= 2 * line for p in tmp_path.iterdir())


def test_rotation_without_backups_truncates(tmp_path: Path, alert: Any) -> None:
    out = tmp_path / "events.txt"
    line = len(alert(0).output) + 1
    with FileSink(out, max_size=line, backups=0) as sink:
        for i in range(3):
            sink.submit(alert(i))
    assert out.read_text().splitlines() == [alert(2).output]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.txt"]


def test_unwritable_file_fails_at_start(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "no-such-dir" / "events.txt")
    with pytest.raises(SinkError, match="failed to open output file"):
        sink.start()
