"""``secengine replay`` (secengine.commands.replay): arguments, outputs, summary, exit status."""

from __future__ import annotations

import argparse
import gzip
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from secengine.commands import replay

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "events.jsonl"
GOLDEN = ROOT / "tests" / "golden" / "samples.expected.jsonl"

RULES = """
- rule: Shadow read
  desc: test
  condition: evt.type = openat and fd.name = /etc/shadow
  output: shadow read by %proc.name (file=%fd.name)
  priority: WARNING
  tags: [files]
- rule: Cat runs
  desc: test
  condition: evt.type in (openat, execve) and proc.name = cat
  output: cat ran %evt.type
  priority: INFO
"""


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="secengine")
    replay.add_parser(parser.add_subparsers())
    return parser.parse_args(["replay", *argv])


def _run(argv: list[str], capfdbinary: pytest.CaptureFixture[bytes]) -> tuple[int, str, str]:
    args = _parse(argv)
    rc = args.run(args)
    out, err = capfdbinary.readouterr()
    return rc, out.decode(), err.decode()


def _event(ts: int, **fields: object) -> bytes:
    return orjson.dumps({"time": ts, "fields": fields})


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        b"\n".join(
            [
                _event(
                    1_000_000_000,
                    **{"evt.type": "openat", "proc.name": "cat", "fd.name": "/etc/shadow"},
                ),
                b"{broken",
                _event(2_000_000_000, **{"evt.type": "execve", "proc.name": "cat"}),
                _event(
                    3_000_000_000, **{"evt.type": "openat", "proc.name": "ls", "fd.name": "/etc"}
                ),
            ]
        )
        + b"\n"
    )
    return {"rules": rules, "events": events}


def test_samples_with_default_rules_match_golden(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    rc, out, err = _run([str(SAMPLES), "--json", "--hostname", "golden"], capfdbinary)
    assert rc == 0
    assert out == GOLDEN.read_text()
    assert "Events detected: 17\n" in err
    assert "Lines rejected: 0\n" in err


def test_text_alerts_and_summary(
    files: dict[str, Path], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    rc, out, err = _run([str(files["events"]), "-r", str(files["rules"])], capfdbinary)
    assert rc == 0
    assert out.splitlines() == [
        "00:00:01.000000000: Warning shadow read by cat (file=/etc/shadow)",
        "00:00:02.000000000: Informational cat ran execve",
    ]
    lines = err.splitlines()
    assert (
        lines[0] == f"{files['events']}:2: invalid JSON: " + lines[0].split("invalid JSON: ", 1)[1]
    )
    assert lines[0].endswith("(line skipped)")
    assert lines[1].startswith("Events read: 3 from 1 input(s) in ")
    assert lines[2:] == [
        "Lines rejected: 1",
        "Events detected: 2",
        "Rule counts by severity:",
        "   WARNING: 1",
        "   INFO: 1",
        "Triggered rules by rule name:",
        "   Shadow read: 1",
        "   Cat runs: 1",
        "Alerts by output:",
        "   stdout: 2 delivered, 0 failed, 0 dropped",
    ]


def test_rule_matching_all_and_min_priority(
    files: dict[str, Path], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    base = [str(files["events"]), "-r", str(files["rules"]), "--json"]
    _, out, _ = _run([*base, "--rule-matching", "all"], capfdbinary)
    assert [orjson.loads(line)["rule"] for line in out.splitlines()] == [
        "Shadow read",
        "Cat runs",
        "Cat runs",
    ]
    _, out, err = _run([*base, "--rule-matching", "all", "--min-priority", "warning"], capfdbinary)
    assert [orjson.loads(line)["rule"] for line in out.splitlines()] == ["Shadow read"]
    assert "Cat runs" not in err


def test_json_alert_shape(
    files: dict[str, Path], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    _, out, _ = _run(
        [str(files["events"]), "-r", str(files["rules"]), "--json", "--hostname", "h"], capfdbinary
    )
    first = out.splitlines()[0]
    assert first == (
        '{"hostname":"h","output":"00:00:01.000000000: Warning shadow read by cat '
        '(file=/etc/shadow)","output_fields":{"evt.time":1000000000,"fd.name":"/etc/shadow",'
        '"proc.name":"cat"},"priority":"Warning","rule":"Shadow read","source":"syscall",'
        '"tags":["files"],"time":"1970-01-01T00:00:01.000000000Z"}'
    )


def test_rules_directory_and_repeated_rules(
    files: dict[str, Path], tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "b.yaml").write_text(
        "- rule: Any ls\n  desc: d\n  condition: proc.name = ls\n  output: ls\n  priority: DEBUG\n"
    )
    (extra / "notes.txt").write_text("not rules")
    rc, out, _ = _run(
        [str(files["events"]), "-r", str(files["rules"]), "-r", str(extra)], capfdbinary
    )
    assert rc == 0
    assert out.splitlines()[-1] == "00:00:03.000000000: Debug ls"


def test_rules_that_fail_to_load_exit_1(
    tmp_path: Path, files: dict[str, Path], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- rule: Broken\n  desc: d\n  condition: evt.type = open and\n"
        "  output: x\n  priority: WARNING\n"
    )
    rc, out, err = _run([str(files["events"]), "-r", str(bad)], capfdbinary)
    assert rc == 1
    assert out == ""
    assert "bad.yaml" in err and "Error" in err
    assert err.rstrip().endswith("rules failed to load")


def test_missing_input_exits_2(tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    rc, out, err = _run([str(tmp_path / "nope.jsonl")], capfdbinary)
    assert rc == 2 and out == ""
    assert "nope.jsonl" in err


def test_missing_rules_file_exits_1(
    files: dict[str, Path], tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    rc, _, err = _run([str(files["events"]), "-r", str(tmp_path / "none.yaml")], capfdbinary)
    assert rc == 1
    assert "none.yaml" in err


def test_bad_priority_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _parse(["x.jsonl", "--min-priority", "loud"])
    assert info.value.code == 2
    assert "argument --min-priority: invalid priority 'loud'" in capsys.readouterr().err


def test_rejected_lines_are_shown_up_to_a_limit(
    tmp_path: Path, files: dict[str, Path], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    events = tmp_path / "junk.jsonl"
    # one good line: rejected lines are not fatal (an input with no good line at all
    # exits 2, tests/sources/test_replay_line_limits.py)
    events.write_bytes(b"junk\n" * (replay.MAX_REPORTED_ERRORS + 5) + _event(1, x=1) + b"\n")
    rc, _, err = _run([str(events), "-r", str(files["rules"])], capfdbinary)
    assert rc == 0
    assert err.count("(line skipped)") == replay.MAX_REPORTED_ERRORS
    assert "further rejected lines are counted but not shown" in err
    assert f"Lines rejected: {replay.MAX_REPORTED_ERRORS + 5}" in err


def test_stdin_gzip(files: dict[str, Path]) -> None:
    """A real process reading gzip from stdin."""
    data = gzip.compress(files["events"].read_bytes())
    code = "import sys; from secengine.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, "replay", "-", "-r", str(files["rules"])],
        input=data,
        capture_output=True,
        check=False,
        env={**os.environ, "TZ": "UTC"},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().splitlines() == [
        "00:00:01.000000000: Warning shadow read by cat (file=/etc/shadow)",
        "00:00:02.000000000: Informational cat ran execve",
    ]
    assert b"<stdin>:2: invalid JSON" in proc.stderr
    assert b"Events read: 3 from 1 input(s)" in proc.stderr


def test_source_option_names_the_source_of_unlabelled_lines(
    files: dict[str, Path], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    # The events become k8s_audit events, so the syscall rules no longer see them.
    rc, out, err = _run(
        [str(files["events"]), "-r", str(files["rules"]), "--source", "k8s_audit"], capfdbinary
    )
    assert rc == 0 and out == ""
    assert "Events read: 3" in err and "Events detected: 0" in err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setenv("TERM", "xterm")
    args = _parse([str(files["events"]), "-r", str(files["rules"])])
    assert args.run(args) == 0
    out, _ = capfdbinary.readouterr()
    assert len(out.decode().splitlines()) == 2  # alerts still on stdout
    text = fake.getvalue()
    assert "\x1b[" in text and "3 events" in text and "2 alerts" in text  # the bar was drawn
    assert "Events detected: 2" in text and "(line skipped)" in text


def test_progress_of_a_capture_shows_bytes_rate_and_time_left(
    monkeypatch: pytest.MonkeyPatch, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    capture = Path(__file__).parent.parent / "capture" / "data" / "curl_google.scap"
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setenv("TERM", "xterm")
    args = _parse([str(capture), "-r", str(Path(__file__).parent / "no_such_dir")])
    args.rules = None
    assert args.run(args) == 0
    text = fake.getvalue()
    assert "\x1b[" in text  # the bar was drawn
    assert "events/s" in text and "ETA" in text and "kB" in text  # rate, time left, bytes
    assert "Events read: 624 from 1 input(s)" in text and "100%" in text


def test_no_terminal_codes_when_piped(
    files: dict[str, Path], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    _, out, err = _run([str(files["events"]), "-r", str(files["rules"])], capfdbinary)
    assert "\x1b" not in out and "\x1b" not in err


def test_alerts_go_above_the_bar_when_stdout_is_the_same_terminal(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    term = _Tty()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setattr(sys, "stdout", term)
    monkeypatch.setenv("TERM", "xterm")
    args = _parse([str(files["events"]), "-r", str(files["rules"])])
    assert args.run(args) == 0
    text = term.getvalue()
    assert "00:00:01.000000000: Warning shadow read by cat (file=/etc/shadow)\n" in text
    assert "00:00:02.000000000: Informational cat ran execve\n" in text


def test_the_summary_counts_extraction_errors_per_field_and_rule(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("""
- rule: Etc write
  desc: test
  condition: evt.type = openat and fd.name startswith /etc/
  output: etc written (file=%fd.name)
  priority: WARNING
""")
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        b"\n".join(
            [
                _event(1_000_000_000, **{"evt.type": "openat", "fd.name": 17}),
                _event(2_000_000_000, **{"evt.type": "openat", "fd.name": ["/etc/passwd"]}),
                _event(3_000_000_000, **{"evt.type": "openat", "fd.name": "/etc/passwd"}),
            ]
        )
        + b"\n"
    )
    rc, out, err = _run([str(events), "-r", str(rules)], capfdbinary)
    assert rc == 0
    assert out.splitlines() == ["00:00:03.000000000: Warning etc written (file=/etc/passwd)"]
    lines = err.splitlines()
    at = lines.index("Field extraction errors: 2")
    assert lines[at + 1] == "   fd.name (rule Etc write): 2"
