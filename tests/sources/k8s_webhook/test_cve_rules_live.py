"""The CVE pack's Kubernetes audit rules, live: ``secengine run --source k8s_audit`` with the
shipped rules (no ``-r``), audit events POSTed to its webhook as kube-apiserver posts them.

The events are the rule tests' own (``rules/tests/cve/events/<CVE>/``, whole audit
``Event`` documents): for each CVE every benign look-alike is posted first, then every
positive (exploit shapes and their evasions). The webhook evaluates requests in the order
it answers them, so once each positive's alert has arrived every look-alike has been
evaluated too, and the alerts seen must be exactly the positives'.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parents[3] / "rules" / "tests" / "cve" / "events"
CVES = ["CVE-2020-8554", "CVE-2021-25741", "CVE-2022-0811", "CVE-2024-10220"]
#: The MITRE ATT&CK technique each CVE's rules are tagged with.
TECHNIQUE = {
    "CVE-2020-8554": "T1557",
    "CVE-2021-25741": "T1611",
    "CVE-2022-0811": "T1611",
    "CVE-2024-10220": "T1611",
}


@dataclass
class LiveAgent:
    """A running ``secengine run --source k8s_audit`` and the alerts it prints."""

    proc: subprocess.Popen[bytes]
    port: int
    alerts: queue.Queue[dict[str, Any]]

    def post(self, body: bytes) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(
                "POST", "/k8s-audit", body=body, headers={"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def wait_for(self, names: set[str], timeout: float = 20.0) -> list[dict[str, Any]]:
        """Alerts until one has arrived for every target name in ``names``."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not names <= {a["output_fields"]["ka.target.name"] for a in seen}:
            left = deadline - time.monotonic()
            if left <= 0:
                got = sorted({a["output_fields"]["ka.target.name"] for a in seen})
                raise AssertionError(f"alerts for {sorted(names)} expected, got {got}")
            try:
                seen.append(self.alerts.get(timeout=left))
            except queue.Empty:
                continue
        return seen


@pytest.fixture(scope="module")
def agent() -> Iterator[LiveAgent]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "secengine.cli",
            "run",
            "--source",
            "k8s_audit",
            "--k8s-audit-addr",
            "127.0.0.1:0",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TZ": "UTC"},
    )
    alerts: queue.Queue[dict[str, Any]] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            alerts.put(json.loads(line))

    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/k8s-audit with (\d+) rules", line)
        assert m, line
        threading.Thread(target=read, daemon=True).start()
        yield LiveAgent(proc, int(m.group(1)), alerts)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _target(path: Path) -> str:
    name: str = json.loads(path.read_bytes())["objectRef"]["name"]
    return name


@pytest.mark.parametrize("cve", CVES)
def test_the_shipped_rules_alert_on_the_exploit_and_not_on_its_look_alikes(
    agent: LiveAgent, cve: str
) -> None:
    files = sorted((EVENTS / cve).glob("*.json"))
    benign = [f for f in files if f.name.startswith("benign-")]
    positive = [f for f in files if not f.name.startswith("benign-")]
    assert benign and positive, f"{cve} needs both positive and benign events"
    for f in [*benign, *positive]:
        assert agent.post(f.read_bytes()) == 200, f.name
    alerts = agent.wait_for({_target(f) for f in positive})
    by_target = {a["output_fields"]["ka.target.name"]: a for a in alerts}
    assert set(by_target) == {_target(f) for f in positive}  # no look-alike alerted
    assert len(alerts) == len(positive)  # one alert per exploit event
    for a in alerts:
        assert a["source"] == "k8s_audit"
        assert cve in a["tags"] and TECHNIQUE[cve] in a["tags"], a["tags"]
        assert a["rule"].endswith(f"({cve})")
