"""The upstream conformance pack: every rule of Falco's stable set has a case that fires and one that does not.

The cases themselves run as pytest items (the plugin collects
``tests/upstream/*.ruletest.yaml``); this module checks the pack as a whole:
that it passes and covers every rule of
``../shared/rules-upstream/falco_rules.yaml``. How long it takes is measured
by ``bench/ruletest_bench.py`` (tests do not assert timings).
"""

from __future__ import annotations

from pathlib import Path

from upstream_rules import UPSTREAM as UPSTREAM_DIR
from upstream_rules import needs_upstream

from secengine.sources.specs import load_rules
from secengine.testing.coverage import compute_coverage
from secengine.testing.runner import RuleTestRunner

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "tests" / "upstream"
UPSTREAM = UPSTREAM_DIR / "falco_rules.yaml"


@needs_upstream
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
