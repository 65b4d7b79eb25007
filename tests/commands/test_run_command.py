"""``secengine run -c``, ``replay -c`` and ``validate -c`` as a user runs them (subprocesses)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
from cli_child import SECENGINE, run_secengine, write_events


def test_run_with_a_config_file_starts_its_sources_and_outputs(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    inp = write_events(tmp_path / "events.jsonl", map(events.open, range(5)))
    out = tmp_path / "alerts.jsonl"
    conf = tmp_path / "secengine.yaml"
    conf.write_text(
        f"rules_files: [{rules_file}]\njson_output: true\nhostname: h\n"
        f"file_output: {{enabled: true, filename: {out}}}\n"
        f"sources: {{replay: {{inputs: [{inp}]}}}}\n"
    )
    done = run_secengine("run", "-c", str(conf))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 5 and done.stdout.startswith('{"hostname":"h"')
    assert done.stdout.encode() == out.read_bytes()
    assert "5 events, 5 alerts" in done.stderr
    # the command line wins over the file
    done = run_secengine(
        "run", "-c", str(conf), "--min-priority", "error", "-o", "json_output=false"
    )
    assert done.returncode == 0 and done.stdout == ""


def test_a_bad_key_is_a_clear_error_with_status_2(tmp_path: Path) -> None:
    conf = tmp_path / "secengine.yaml"
    conf.write_text("priority: warning\nhttp_output:\n  enabled: true\n  urll: http://x/\n")
    done = run_secengine("run", "-c", str(conf))
    assert done.returncode == 2
    assert f"{conf}:4:3: http_output.urll: unknown key 'urll' (did you mean 'url'?)" in done.stderr


def test_rules_that_do_not_load_give_status_1(tmp_path: Path, events: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(events.broken_rules)
    done = run_secengine(
        "run", "-o", f"rules_files=[{bad}]", "-o", "sources={replay: {inputs: []}}"
    )
    assert done.returncode == 1 and "no.such.field" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
        return str(resp.read().decode())


def _wait(cond: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except (OSError, urllib.error.URLError):
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sighup_reloads_and_sigterm_drains(tmp_path: Path, rules_file: Path, events: Any) -> None:
    port = _free_port()
    conf = tmp_path / "secengine.yaml"
    conf.write_text(
        f"rules_files: [{rules_file}]\nstdout_output: {{enabled: false}}\n"
        f"webserver: {{enabled: true, listen_address: 127.0.0.1, "
        f"listen_port: {port}}}\n"
        "sources: {k8s_audit: {listen: '127.0.0.1:0'}}\n"
    )
    proc = subprocess.Popen(
        [*SECENGINE, "run", "-c", str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(lambda: "secengine_rules_loaded 2" in _metrics(port))
        rules_file.write_text(events.broken_rules)
        os.kill(proc.pid, signal.SIGHUP)
        _wait(lambda: 'secengine_rules_reloads_total{result="failed"} 1' in _metrics(port))
        assert "secengine_rules_loaded 2" in _metrics(port)  # the old rules stay
        rules_file.write_text(events.other_rules)
        os.kill(proc.pid, signal.SIGHUP)
        _wait(lambda: 'secengine_rules_reloads_total{result="ok"} 1' in _metrics(port))
        assert "secengine_rules_loaded 1" in _metrics(port)
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "previous rules stay active" in err and "exit status 0 (ok)" in err


def test_replay_with_a_config_sends_alerts_to_the_configured_outputs(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    inp = write_events(tmp_path / "events.jsonl", map(events.open, range(300)))
    out = tmp_path / "alerts.txt"
    conf = tmp_path / "secengine.yaml"
    conf.write_text(
        f"rules_files: [{rules_file}]\nstdout_output: {{enabled: false}}\n"
        f"file_output: {{enabled: true, filename: {out}, queue_capacity: 2}}\n"
    )
    done = run_secengine("replay", "-c", str(conf), str(inp))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "Events detected: 300" in done.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 300 and "cat opened /etc/file299 (proc=cat)" in lines[-1]


def test_validate_checks_the_configured_rules(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    conf = tmp_path / "secengine.yaml"
    conf.write_text(f"rules_files: [{rules_file}]\n")
    done = run_secengine("validate", "-c", str(conf))
    assert done.returncode == 0 and done.stdout.strip() == f"{rules_file}: Ok"
    rules_file.write_text(events.broken_rules)
    assert run_secengine("validate", "-c", str(conf)).returncode == 1
    conf.write_text("rules_filez: []\n")
    done = run_secengine("validate", "-c", str(conf))
    assert done.returncode == 2 and "unknown key 'rules_filez'" in done.stderr


def test_rule_tests_take_the_configuration_too(tmp_path: Path) -> None:
    rules_dir = Path(__file__).resolve().parents[2] / "rules"
    conf = tmp_path / "secengine.yaml"
    conf.write_text("time_format_iso_8601: true\njson_include_tags_property: false\n")
    done = run_secengine("test", str(rules_dir), "-c", str(conf))
    assert done.returncode == 0, done.stdout + done.stderr
    conf.write_text("time_format: true\n")
    done = run_secengine("test", str(rules_dir), "-c", str(conf))
    assert done.returncode == 2 and "unknown key 'time_format'" in done.stderr


def test_run_reports_field_extraction_errors_in_its_summary(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- rule: Cat-like\n  desc: d\n  output: o\n  priority: INFO\n"
        "  condition: evt.type = open and proc.name startswith ca\n"
    )
    inp = tmp_path / "events.jsonl"
    inp.write_bytes(
        orjson.dumps({"time": 1, "fields": {"evt.type": "open", "proc.name": 5}}) + b"\n"
    )
    conf = tmp_path / "secengine.yaml"
    conf.write_text(f"rules_files: [{rules}]\nsources: {{replay: {{inputs: [{inp}]}}}}\n")
    done = run_secengine("run", "-c", str(conf))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    at = lines.index("secengine run: Field extraction errors: 1")
    assert lines[at + 1] == "secengine run: proc.name (rule Cat-like): 1"
    assert "1 events, 0 alerts" in done.stderr
