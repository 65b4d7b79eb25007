"""Coverage, JUnit XML and the terminal report of rule-test runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ruletest_helpers import WriteSuite

from secengine.testing.coverage import compute_coverage, coverage_failures, render_coverage
from secengine.testing.junit import junit_xml
from secengine.testing.report import file_line, render_report
from secengine.testing.runner import RuleTestRunner, RunResult

SUITE = """\
rules_files: [rules.yaml]
cases:
  - name: shell fires
    events: [{fields: {evt.type: execve, proc.name: bash}}]
    expect: [{rule: Shell}]
  - name: sshd shell does not
    events: [{fields: {evt.type: execve, proc.name: bash, proc.pname: sshd}}]
    expect: [{rule: Shell, count: 0}, {rule: Any exec}]
  - name: broken on purpose
    events: [{fields: {evt.type: openat}}]
    expect: [{rule: Any exec}]
"""


def _run(tmp_path: Path) -> RunResult:
    return RuleTestRunner().run([tmp_path])


def test_coverage(write_suite: WriteSuite, tmp_path: Path) -> None:
    write_suite(SUITE)
    result = _run(tmp_path)
    cov = {c.name: c for c in compute_coverage(result.files)}
    assert list(cov) == ["Shell", "Any exec", "Shadow open"]
    assert cov["Shell"].complete and cov["Shell"].rules_file.endswith("rules.yaml")
    assert [len(cov["Any exec"].positive), len(cov["Any exec"].negative)] == [2, 0]
    assert not cov["Shadow open"].positive
    problems = coverage_failures(list(cov.values()))
    assert [p.split(": ", 1)[1] for p in problems] == [
        "rule 'Any exec' has no negative case",
        "rule 'Shadow open' has no positive and no negative case",
    ]
    lines = render_coverage(list(cov.values()))
    assert lines[0].endswith("rules.yaml: 3 rules, 1 with positive and negative cases")
    assert lines[1:] == [
        "  Any exec: no negative case",
        "  Shadow open: no positive and no negative case",
    ]


def test_coverage_attributes_rules_to_the_file_that_defines_them(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "- rule: A\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n"
    )
    (tmp_path / "local.yaml").write_text(
        "- rule: A\n  condition: and proc.name = x\n  append: true\n"
        "- rule: B\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: INFO\n"
    )
    (tmp_path / "t.ruletest.yaml").write_text(
        "rules_files: [base.yaml, local.yaml]\n"
        "cases:\n  - name: c\n    events: [{fields: {evt.type: execve}}]\n"
        "    expect: [{rule: A, count: 0}, {rule: B, count: 0}]\n"
    )
    cov = compute_coverage(_run(tmp_path).files)
    assert [(c.name, Path(c.rules_file).name) for c in cov] == [
        ("A", "base.yaml"),
        ("B", "local.yaml"),
    ]


def test_junit_xml(write_suite: WriteSuite, tmp_path: Path) -> None:
    write_suite(SUITE)
    (tmp_path / "bad.ruletest.yaml").write_text("rules_files: [nope.yaml]\ncases: []\n")
    result = _run(tmp_path)
    root = ET.fromstring(junit_xml(result, ["rules.yaml: rule 'X' has no negative case"]))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "1")
    suites = root.findall("testsuite")
    assert [s.get("name", "").rsplit("/", 1)[-1] for s in suites] == [
        "bad.ruletest.yaml",
        "t.ruletest.yaml",
        "rule coverage",
    ]
    [load] = suites[0].findall("testcase")
    assert load.get("name") == "(load)" and load.find("error") is not None
    cases = suites[1].findall("testcase")
    assert [c.get("name") for c in cases] == [
        "shell fires",
        "sshd shell does not",
        "broken on purpose",
    ]
    assert cases[0].find("failure") is None and cases[0].get("line") == "3"
    failure = cases[2].find("failure")
    assert failure is not None
    assert failure.get("message") == "rule 'Any exec' fired 0 times, expected once"
    assert "first failing leaf:" in (failure.text or "")
    assert cases[2].get("classname", "").endswith(".t")


def test_terminal_report(write_suite: WriteSuite, tmp_path: Path) -> None:
    write_suite(SUITE)
    result = _run(tmp_path)
    [fr] = result.files
    assert file_line(fr)[0].endswith("t.ruletest.yaml ..F")
    verbose = file_line(fr, verbose=True)
    assert verbose[0].endswith("t.ruletest.yaml::shell fires PASSED")
    assert verbose[2].endswith("::broken on purpose FAILED")
    lines = render_report(
        result, coverage=["cov line"], coverage_problems=["p"], require_coverage=True
    )
    text = "\n".join(lines)
    assert " FAILURES " in lines[0]
    assert "rule 'Any exec' fired 0 times, expected once" in text
    assert " rule coverage " in text and "cov line" in text
    assert "t.ruletest.yaml::broken on purpose - rule 'Any exec' fired 0 times" in text
    assert "UNCOVERED p" in text
    assert " 1 failed, 2 passed, 1 uncovered in " in lines[-1]
