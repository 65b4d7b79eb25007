"""Nothing lost silently, as a user sees it: ``secengine run -c`` and ``replay`` with outputs
that fail or hang end within their drain time, report each output's delivered / failed /
dropped counts, and exit with status 5 when an alert was not delivered."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cli_child import SECENGINE, run_secengine, write_events

from secengine.agent import Agent, ExitStatus
from secengine.config import load_config
from secengine.sinks.program import ProgramSink

UNDELIVERED = 5


def _counts(stderr: str, output: str) -> tuple[int, int, int]:
    m = re.search(rf"{re.escape(output)}: (\d+) delivered, (\d+) failed, (\d+) dropped", stderr)
    assert m is not None, stderr
    return int(m[1]), int(m[2]), int(m[3])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path, rules_file: Path, body: str) -> Path:
    conf = tmp_path / "secengine.yaml"
    conf.write_text(f"rules_files: [{rules_file}]\nstdout_output: {{enabled: false}}\n{body}")
    return conf


def test_replay_with_an_http_output_that_is_down_ends_and_exits_5(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    inp = write_events(tmp_path / "events.jsonl", map(events.open, range(5)))
    out = tmp_path / "alerts.txt"
    conf = _config(
        tmp_path,
        rules_file,
        f"file_output: {{enabled: true, filename: {out}}}\n"
        f"http_output: {{enabled: true, url: 'http://127.0.0.1:{_free_port()}/', "
        "max_retries: null}\n",
    )
    started = time.monotonic()
    done = run_secengine("replay", "-c", str(conf), str(inp))
    assert time.monotonic() - started < 20
    assert done.returncode == UNDELIVERED, done.stderr
    assert len(out.read_text().splitlines()) == 5
    assert _counts(done.stderr, "file_output") == (5, 0, 0)
    delivered, failed, dropped = _counts(done.stderr, "http_output")
    assert delivered == 0 and failed + dropped == 5
    assert "5 alerts not delivered" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["replay", "run"])
def test_a_hanging_output_beside_a_file_gives_the_file_every_alert_within_the_drain_time(
    command: str, tmp_path: Path, rules_file: Path, events: Any, silent_http: str
) -> None:
    n = 3000  # more than the program's pipe holds
    inp = write_events(tmp_path / "events.jsonl", map(events.open, range(n)))
    out = tmp_path / "alerts.txt"
    conf = _config(
        tmp_path,
        rules_file,
        f"file_output: {{enabled: true, filename: {out}, keep_alive: true}}\n"
        f"http_output: {{enabled: true, url: '{silent_http}', timeout: 30, "
        "queue_capacity: 2}\n"
        "program_output: {enabled: true, keep_alive: true, program: 'sleep 60'}\n",
    )
    args = (
        ["replay", "-c", str(conf), str(inp)]
        if command == "replay"
        else ["run", "-c", str(conf), "-o", f"sources={{replay: {{inputs: [{inp}]}}}}"]
    )
    started = time.monotonic()
    done = run_secengine(*args, "--output-timeout", "1000")
    elapsed = time.monotonic() - started
    assert done.returncode == UNDELIVERED, done.stderr
    assert len(out.read_text().splitlines()) == n
    assert _counts(done.stderr, "file_output") == (n, 0, 0)
    for output in ("http_output", "program_output"):
        delivered, failed, dropped = _counts(done.stderr, output)
        assert delivered + failed + dropped == n and failed + dropped > 0
    assert elapsed < 15, elapsed  # interpreter start-up and n events, plus 1 s of drain


def test_a_program_that_exits_1_fails_its_alerts(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    inp = write_events(tmp_path / "events.jsonl", map(events.open, range(5)))
    conf = _config(
        tmp_path,
        rules_file,
        "program_output: {enabled: true, program: 'cat > /dev/null; exit 1'}\n",
    )
    done = run_secengine("replay", "-c", str(conf), str(inp))
    assert done.returncode == UNDELIVERED, done.stderr
    assert _counts(done.stderr, "program_output") == (0, 5, 0)


def test_run_with_a_full_disk_reports_the_failed_alerts(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    inp = write_events(tmp_path / "events.jsonl", map(events.open, range(5)))
    conf = _config(
        tmp_path,
        rules_file,
        "file_output: {enabled: true, filename: /dev/full}\n"
        f"sources: {{replay: {{inputs: [{inp}]}}}}\n",
    )
    done = run_secengine("run", "-c", str(conf))
    assert done.returncode == UNDELIVERED, done.stderr
    assert _counts(done.stderr, "file_output") == (0, 5, 0)
    assert "exit status 5 (undelivered)" in done.stderr


@pytest.mark.parametrize("command", ["replay", "run"])
def test_stdout_closed_early_is_counted_without_a_traceback(
    command: str, tmp_path: Path, rules_file: Path, events: Any
) -> None:
    n = 5000  # far more than a pipe holds
    inp = write_events(tmp_path / "events.jsonl", map(events.open, range(n)))
    args = (
        ["replay", "-r", str(rules_file), str(inp)]
        if command == "replay"
        else [
            "run",
            "-o",
            f"rules_files=[{rules_file}]",
            "-o",
            f"sources={{replay: {{inputs: [{inp}]}}}}",
        ]
    )
    proc = subprocess.Popen([*SECENGINE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # as `| head -1` does
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == UNDELIVERED, err
    assert "Traceback" not in err and "Exception ignored" not in err
    delivered, failed, dropped = _counts(err, "stdout" if command == "replay" else "stdout_output")
    assert delivered >= 1 and failed > 0 and delivered + failed + dropped == n


def test_internal_drop_alerts_are_counted_per_output(tmp_path: Path, rules_file: Path) -> None:
    conf = tmp_path / "secengine.yaml"
    conf.write_text(
        f"rules_files: [{rules_file}]\n"
        "syscall_event_drops: {simulate_drops: true, actions: [alert], rate: 10, "
        "max_burst: 10}\n"
        "sources: {k8s_audit: {listen: '127.0.0.1:0'}}\n"
    )
    done = run_secengine("run", "-c", str(conf), "--duration", "2.5")
    assert done.returncode == 0, done.stderr
    internal = len(done.stdout.splitlines())
    assert internal >= 1 and "event drop" in done.stdout
    assert f"0 alerts and {internal} internal alerts" in done.stderr
    assert _counts(done.stderr, "stdout_output") == (internal, 0, 0)


def test_failed_deliveries_are_in_the_metrics(rules_file: Path, events: Any, until: Any) -> None:
    cfg = load_config(
        options=[
            f"rules_files=[{rules_file}]",
            "stdout_output.enabled=false",
            ("webserver={enabled: true, listen_address: 127.0.0.1, listen_port: 0}"),
            "syscall_event_drops.actions=[ignore]",
        ]
    )
    source = events.live()
    agent = Agent(cfg, sources=[source], sinks=[ProgramSink("exit 1", label="prog")])
    agent.start()
    try:
        host, port = agent.metrics_address  # type: ignore[misc]

        def scrape() -> str:
            with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:
                return str(resp.read().decode())

        source.push([events.open(i) for i in range(3)])
        until(lambda: 'secengine_sink_failed_total{sink="prog"} 3' in scrape())
        text = scrape()
        assert 'secengine_sink_delivered_total{sink="prog"} 0' in text
        assert 'secengine_sink_dropped_total{sink="prog"} 0' in text
    finally:
        status = agent.stop()
    assert status == UNDELIVERED and status == ExitStatus.UNDELIVERED
