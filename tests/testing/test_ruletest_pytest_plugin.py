"""The pytest plugin: *.ruletest.yaml files run under plain pytest, failures carry the explanation.

pytest runs in a subprocess on a scratch directory, so the plugin is found
through its ``pytest11`` entry point exactly as in a user's project.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ruletest_helpers import RULES

SUITE = """\
rules_files: [rules.yaml]
cases:
  - name: a shell fires
    events: [{fields: {evt.type: execve, proc.name: bash}}]
    expect: [{rule: Shell}]
  - name: an sshd shell should fire (wrong on purpose)
    events: [{fields: {evt.type: execve, proc.name: bash, proc.pname: sshd}}]
    expect: [{rule: Shell}]
"""


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}  # keep pytest's short summary lines whole
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _project(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "rules.yaml").write_text(RULES)
    (tmp_path / "rules" / "shell.ruletest.yaml").write_text(SUITE)
    (tmp_path / "rules" / "broken.ruletest.yaml").write_text(
        "rules_files: [rules.yaml]\ncases:\n  - name: x\n    events: []\n    no_alerts: true\n"
    )
    return tmp_path


def test_cases_are_collected_as_items(tmp_path: Path) -> None:
    proc = _pytest(_project(tmp_path), "--collect-only", "-q", "rules/shell.ruletest.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rules/shell.ruletest.yaml::a shell fires" in proc.stdout
    assert "rules/shell.ruletest.yaml::an sshd shell should fire (wrong on purpose)" in proc.stdout


def test_failures_carry_the_explanation(tmp_path: Path) -> None:
    proc = _pytest(_project(tmp_path), "-rfE", "--continue-on-collection-errors", "rules")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "1 failed, 1 passed, 1 error" in out
    # the failure section is the harness's explanation, not a traceback
    assert "rule 'Shell' fired 0 times, expected once" in out
    assert "first failing leaf:" in out
    assert "proc.pname = sshd  ->  true (under 'not')" in out
    assert "expanded condition of 'Shell':" in out
    assert "Traceback" not in out
    # a file that does not load is a collection error naming file:line
    assert "broken.ruletest.yaml:4: cases.0.events: List should have at least 1 item" in out
    # the short summary shows the one-line reason
    assert (
        "FAILED rules/shell.ruletest.yaml::an sshd shell should fire (wrong on purpose) - "
        "rule 'Shell' fired 0 times"
    ) in out


def test_the_plugin_can_be_disabled(tmp_path: Path) -> None:
    proc = _pytest(_project(tmp_path), "-p", "no:secengine", "rules")
    assert "no tests ran" in proc.stdout, proc.stdout
