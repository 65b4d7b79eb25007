"""The upstream conformance pack: every rule of Falco's stable set has a case that fires and one that does not.

The cases themselves run as pytest items (the plugin collects
``tests/upstream/*.ruletest.yaml``); this module checks the pack as a whole:
its coverage of ``../shared/rules-upstream/falco_rules.yaml``, and that
``secengine test`` runs all of it in under five seconds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from secengine.ruleset import load_rules
from secengine.testing.coverage import compute_coverage
from secengine.testing.runner import RuleTestRunner

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "tests" / "upstream"
UPSTREAM = ROOT.parent / "shared" / "rules-upstream" / "falco_rules.yaml"


def test_every_stable_rule_has_a_positive_and_a_negative_case() -> None:
    upstream = load_rules([str(UPSTREAM)])
    assert upstream.successful
    names = [r.name for r in upstream.rules]
    assert len(names) == 25
    result = RuleTestRunner().run([PACK])
    assert result.passed, "\n\n".join(c.report() for c in result.cases if not c.passed)
    coverage = {c.name: c for c in compute_coverage(result.files)}
    assert sorted(coverage) == sorted(names)
    missing = [n for n in names if not coverage[n].complete]
    assert not missing, missing


def test_the_whole_pack_runs_in_under_five_seconds() -> None:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "secengine.cli", "test", str(PACK)],
                          check=False, capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert seconds < 5.0, f"secengine test {PACK} took {seconds:.2f}s"
