"""The configured agent (``secengine run -c FILE``) with the live syscall source.

The agent evaluates syscall events inline, each before the next record changes
the process and fd tables, exactly as the single-source ``run`` loop and Falco do:
the alert for a short-lived process still names it and its parent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from upstream_rules import UPSTREAM, needs_upstream

pytestmark = pytest.mark.bpf


@needs_upstream
def test_configured_agent_alerts_on_live_behaviour(tmp_path: Path) -> None:
    from secengine.bpf.build import build
    from secengine.bpf.loader import object_path

    if not object_path().is_file():
        build(object_path())
    out = tmp_path / "alerts.jsonl"
    cfg = tmp_path / "secengine.yaml"
    cfg.write_text(
        f"rules_files: [{UPSTREAM / 'falco_rules.yaml'}]\n"
        "json_output: true\n"
        "stdout_output: {enabled: false}\n"
        f"file_output: {{enabled: true, filename: {out}, keep_alive: true}}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "secengine.cli", "run", "-c", str(cfg), "--duration", "8"],
        stderr=subprocess.PIPE,
    )
    try:
        tmp = tempfile.mkdtemp()
        deadline = time.time() + 6
        alerts: list[dict] = []
        i = 0
        while time.time() < deadline:
            # short-lived processes: each exits right after its symlink
            subprocess.run(["ln", "-s", "/etc/shadow", f"{tmp}/agent-{i}"], check=True)
            i += 1
            time.sleep(0.3)
            if out.exists():
                alerts = [json.loads(line) for line in out.read_text().splitlines() if line]
                mine = [
                    a
                    for a in alerts
                    if a["rule"] == "Create Symlink Over Sensitive Files" and tmp in a["output"]
                ]
                if len(mine) >= 3:
                    break
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
    mine = [
        a
        for a in alerts
        if a["rule"] == "Create Symlink Over Sensitive Files" and tmp in a["output"]
    ]
    assert len(mine) >= 3, alerts[:5]
    fields = mine[0]["output_fields"]
    assert fields["proc.name"] == "ln"
    assert fields["evt.arg.target"] == "/etc/shadow"
