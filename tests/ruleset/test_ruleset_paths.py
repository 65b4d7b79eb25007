"""The shipped rules: ``rules/*.yaml`` then the CVE pack ``rules/cve/*.yaml``, whenever no
``-r`` is given (``secengine replay`` here; ``validate`` and ``run`` have their own tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from secengine.resources import resource_path
from secengine.ruleset.paths import SHIPPED_RULE_PACKS, default_rules_files, expand_rules_paths

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_rules_are_the_top_directory_then_each_pack() -> None:
    rules = resource_path("rules")
    files = default_rules_files()
    assert files[0] == rules / "secengine_rules.yaml"
    assert SHIPPED_RULE_PACKS == ("cve",)
    cve = sorted((rules / "cve").glob("*.yaml"))
    assert cve and files == [*expand_rules_paths([rules]), *cve]
    assert all(not f.name.endswith(".ruletest.yaml") for f in files)
    # `-r rules/` alone is Falco's -r: the directory's own files, not its subdirectories
    assert expand_rules_paths([rules]) == [rules / "secengine_rules.yaml"]


def test_replay_without_rules_runs_the_cve_pack() -> None:
    events = ROOT / "rules" / "tests" / "cve" / "events" / "CVE-2024-10220"
    proc = subprocess.run(
        [sys.executable, "-m", "secengine.cli", "replay", "--source", "k8s_audit", str(events)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Pod With gitRepo Volume (CVE-2024-10220): 4" in proc.stderr
