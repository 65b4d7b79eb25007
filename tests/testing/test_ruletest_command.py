"""``secengine test``: exit status, pytest-like output, coverage, JUnit XML, and the shipped rules."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ruletest_helpers import WriteSuite

from secengine.cli import main

ROOT = Path(__file__).resolve().parents[2]

PASSING = """\
rules_files: [rules.yaml]
cases:
  - name: fires
    events: [{fields: {evt.type: execve, proc.name: bash}}]
    expect: [{rule: Shell}]
  - name: does not fire
    events: [{fields: {evt.type: execve, proc.name: bash, proc.pname: sshd}}]
    expect: [{rule: Shell, count: 0}]
"""


def test_passing_run(
    write_suite: WriteSuite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_suite(PASSING)
    assert main(["test", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("t.ruletest.yaml ..")
    assert "2 passed in " in out[-1]


def test_failing_run_exits_1_and_explains(
    write_suite: WriteSuite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_suite(PASSING.replace("proc.pname: sshd}", "proc.pname: nginx}"))
    assert main(["test", str(tmp_path), "-v"]) == 1
    out = capsys.readouterr().out
    assert "::does not fire FAILED" in out
    assert "rule 'Shell' fired once, expected 0 times" in out
    assert "the condition holds because:" in out
    assert "1 failed, 1 passed in " in out


def test_coverage_and_require_coverage(
    write_suite: WriteSuite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_suite(PASSING)
    assert main(["test", str(tmp_path), "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "  Any exec: no positive and no negative case" in out
    junit = tmp_path / "report.xml"
    assert main(["test", str(tmp_path), "--require-coverage", "--junit-xml", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "UNCOVERED " in out and "rule 'Shadow open' has no positive and no negative case" in out
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "2"  # the two uncovered rules
    assert root.findall("testsuite")[-1].get("name") == "rule coverage"


def test_keyword(
    write_suite: WriteSuite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_suite(PASSING)
    assert main(["test", str(tmp_path), "-k", "NOT FIRE"]) == 0
    assert "1 passed" in capsys.readouterr().out


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main(["test", str(tmp_path)]) == 2
    assert "no *.ruletest.yaml files under" in capsys.readouterr().err


def test_a_file_that_does_not_load_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.ruletest.yaml").write_text("rules_files: [r.yaml]\ncases: nope\n")
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "x.ruletest.yaml E" in out
    assert "x.ruletest.yaml:2: cases: Input should be a list" in out
    assert "= 1 error in " in out


def test_shipped_rules_are_fully_tested(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``secengine test rules/ --require-coverage`` passes: every shipped rule has both cases."""
    monkeypatch.chdir(ROOT)
    assert main(["test", "rules/", "--require-coverage"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "rules/secengine_rules.yaml: 16 rules, 16 with positive and negative cases" in out


# ---------------------------------------------------------------------------
# rules kept outside the repository: ${VAR} and skip_if_rules_missing
# ---------------------------------------------------------------------------


def test_rules_files_read_environment_variables(
    write_suite: WriteSuite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_suite(
        PASSING.replace("rules_files: [rules.yaml]", 'rules_files: ["${SE_TEST_RULES}/rules.yaml"]')
    )
    monkeypatch.setenv("SE_TEST_RULES", str(tmp_path))
    assert main(["test", str(tmp_path)]) == 0
    assert "2 passed" in capsys.readouterr().out
    monkeypatch.delenv("SE_TEST_RULES")
    assert main(["test", str(tmp_path)]) == 1  # unset without skip_if_rules_missing: an error
    out = capsys.readouterr().out
    assert (
        "t.ruletest.yaml:1: rules file ${SE_TEST_RULES}/rules.yaml: the environment "
        "variable SE_TEST_RULES is not set"
    ) in out


def test_absent_rules_skip_a_file_that_says_so(
    write_suite: WriteSuite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SE_TEST_RULES", str(tmp_path / "elsewhere"))
    write_suite(
        PASSING.replace(
            "rules_files: [rules.yaml]",
            'rules_files: ["${SE_TEST_RULES}/rules.yaml"]\n'
            "skip_if_rules_missing: the vendor rules are not installed",
        )
    )
    assert main(["test", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("t.ruletest.yaml s")
    assert any(
        line.startswith("SKIPPED ")
        and "t.ruletest.yaml:1: the vendor rules are not "
        "installed (rules file not found: ${SE_TEST_RULES}/rules.yaml"
        in line
        for line in out
    )
    assert "1 file skipped" in out[-1]
    junit = tmp_path / "junit.xml"
    assert main(["test", str(tmp_path), "--junit-xml", str(junit)]) == 0
    skipped = ET.parse(junit).getroot().find("./testsuite/testcase/skipped")
    assert skipped is not None and "the vendor rules are not installed" in skipped.get(
        "message", ""
    )


def test_a_missing_rules_file_is_still_an_error_without_the_key(
    write_suite: WriteSuite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_suite(PASSING.replace("rules_files: [rules.yaml]", "rules_files: [gone.yaml]"))
    assert main(["test", str(tmp_path)]) == 1
    assert "rules file not found: gone.yaml" in capsys.readouterr().out


def test_pytest_skips_the_file_with_its_reason(write_suite: WriteSuite, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    write_suite(
        PASSING.replace(
            "rules_files: [rules.yaml]",
            'rules_files: ["${SE_TEST_RULES}/rules.yaml"]\n'
            "skip_if_rules_missing: the vendor rules are not installed",
        )
    )
    (tmp_path / "ok.ruletest.yaml").write_text(PASSING)  # the rest of the suite still runs
    env = {k: v for k, v in os.environ.items() if k != "SE_TEST_RULES"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rs",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed, 1 skipped" in done.stdout
    assert "the vendor rules are not installed" in done.stdout
