"""The harness catches broken rules: a mutated shipped rule must fail one of its own cases.

For each rule of ``rules/secengine_rules.yaml`` and of the CVE pack
(``rules/cve/*.yaml``), and each mutation (the
condition negated, or replaced by Falco's ``never_true``, ``evt.num = 0``),
a temporary copy of ``rules/`` (and of ``samples/``, which a case reads) is
made with that one rule changed, its test files are run, and at least one
case that names the rule must fail. So a rule that never fires, or fires
on everything but what it should, cannot pass its tests.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from secengine.testing.runner import RuleTestRunner, RunResult

ROOT = Path(__file__).resolve().parents[2]
RULES_FILES = [
    ROOT / "rules" / "secengine_rules.yaml",
    *sorted((ROOT / "rules" / "cve").glob("*.yaml")),
]

MUTATIONS = {
    "negated": lambda condition: f"not ({condition.strip()})",
    "never_true": lambda condition: "evt.num = 0",
}


def _rules() -> list[tuple[str, str]]:
    """(rules file relative to rules/, rule name) of every shipped rule."""
    out = []
    for path in RULES_FILES:
        items = YAML(typ="safe").load(path.read_text())
        rel = str(path.relative_to(ROOT / "rules"))
        out += [(rel, item["rule"]) for item in items if isinstance(item, dict) and "rule" in item]
    return out


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    return tmp_path / "rules"


def _mutate(rules_file: Path, rule: str, mutation: str) -> None:
    """Rewrite one rule's condition in place, leaving the rest of the file as it was."""
    yaml = YAML()  # round trip
    yaml.width = 4096
    items = yaml.load(rules_file.read_text())
    [item] = [i for i in items if isinstance(i, dict) and i.get("rule") == rule]
    item["condition"] = MUTATIONS[mutation](str(item["condition"]))
    out = io.StringIO()
    yaml.dump(items, out)
    rules_file.write_text(out.getvalue())


def _run(rules_dir: Path) -> RunResult:
    result = RuleTestRunner().run([rules_dir])
    assert result.files, "no test files found next to the rules"
    for fr in result.files:
        assert fr.error is None, fr.error
    return result


def test_the_unmutated_copy_passes(tmp_path: Path) -> None:
    result = _run(_copy(tmp_path))
    assert result.passed, "\n".join(c.report() for c in result.cases if not c.passed)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize(("rules_file", "rule"), _rules())
def test_a_mutated_rule_fails_its_own_cases(
    tmp_path: Path, rules_file: str, rule: str, mutation: str
) -> None:
    rules_dir = _copy(tmp_path)
    _mutate(rules_dir / rules_file, rule, mutation)
    result = _run(rules_dir)
    for case in result.cases:
        assert case.error is None, case.error  # the mutated rules still load
    failed_own = [c for c in result.cases if any(f"'{rule}'" in f.summary for f in c.failures)]
    assert failed_own, f"no case of {rule!r} failed with its condition {mutation}"
