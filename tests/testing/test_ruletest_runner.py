"""secengine.testing.runner and .checks: running cases, and failures that explain themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruletest_helpers import WriteSuite

from secengine.testing.runner import BASE_TIME, CaseResult, FileResult, RuleTestRunner

HEAD = """\
rules_files: [rules.yaml]
templates:
  shell:
    fields: {evt.type: execve, proc.name: bash, proc.pname: nginx, user.name: www-data}
cases:
"""


def _run(path: Path, runner: RuleTestRunner | None = None) -> list[CaseResult]:
    runner = runner or RuleTestRunner()
    fr = runner.run_file(path)
    assert fr.error is None, fr.error
    return fr.cases


def _one(write_suite: WriteSuite, cases: str, head: str = HEAD) -> CaseResult:
    [result] = _run(write_suite(head + cases))
    return result


def test_passing_expectations(write_suite: WriteSuite) -> None:
    result = _one(
        write_suite,
        """\
  - name: shell below nginx
    events:
      - extends: shell
      - {extends: shell, fields: {proc.pname: sshd}}
    expect:
      - rule: Shell
        count: 1
        priority: warning
        tags: [test, shell]
        output: shell bash (parent=nginx user=www-data)
        output_fields: {proc.name: bash, proc.pname: nginx, user.name: www-data}
      - rule: Any exec
        count: 2
        output: {regex: "^exec (bash)$"}
""",
    )
    assert result.passed, result.report()
    assert result.report() == "" and result.summary == "passed"


def test_too_few_alerts_show_the_first_failing_leaf(write_suite: WriteSuite) -> None:
    result = _one(
        write_suite,
        """\
  - name: sshd shell
    events:
      - {extends: shell, fields: {proc.pname: sshd}}
    expect:
      - rule: Shell
""",
    )
    assert not result.passed
    assert result.summary == "rule 'Shell' fired 0 times, expected once"
    report = result.report()
    assert "event 1 (" in report and "t.ruletest.yaml:8)" in report
    assert '"proc.pname":"sshd"' in report
    assert (
        "first failing leaf:\n      proc.pname = sshd  ->  true (under 'not')\n"
        '          proc.pname = "sshd"' in report
    )
    assert (
        "expanded condition of 'Shell':\n    (evt.type in (execve, execveat) and "
        "proc.name in (bash, sh) and not proc.pname = sshd)" in report
    )
    assert report.endswith("(case 'sshd shell' at " + result.case.origin + ")")


def test_too_many_alerts_show_why_the_condition_held(write_suite: WriteSuite) -> None:
    result = _one(
        write_suite,
        """\
  - name: must not fire
    events: [{extends: shell}]
    expect:
      - rule: Shell
        count: 0
""",
    )
    assert result.summary == "rule 'Shell' fired once, expected 0 times"
    report = result.report()
    assert "it fired on event 1" in report
    assert "the condition holds because:" in report
    assert "proc.name in (bash, sh)  ->  true" in report
    assert "proc.pname = sshd  ->  false (under 'not')" in report


def test_events_the_rule_does_not_handle_are_summarised(write_suite: WriteSuite) -> None:
    result = _one(
        write_suite,
        """\
  - name: wrong type
    events:
      - {fields: {evt.type: openat, proc.name: bash}}
      - {source: other, fields: {x: 1}}
    expect:
      - rule: Shell
""",
    )
    report = result.report()
    assert "no event has an evt.type the rule handles (execve, execveat)" in report
    assert "evt.type in (execve, execveat)  ->  false" in report
    only_other = _one(
        write_suite,
        """\
  - name: wrong source
    events: [{source: other, fields: {x: 1}}]
    expect: [{rule: Shell}]
""",
    )
    assert "no event has the rule's source 'syscall' (the events are other)" in only_other.report()


def test_detail_mismatches(write_suite: WriteSuite) -> None:
    result = _one(
        write_suite,
        """\
  - name: details
    events: [{extends: shell}]
    expect:
      - rule: Shell
        priority: error
        tags: [shell]
        output: {contains: "parent=sshd"}
        output_fields: {proc.name: sh, user.uid: null, fd.name: /x}
""",
    )
    summaries = [f.summary for f in result.failures]
    where = f"alert of 'Shell' on event 1 ({result.case.events[0].origin})"
    assert summaries == [
        f"{where}: priority is Warning, expected Error",
        f"{where}: tags are ['shell', 'test'], expected ['shell']",
        f"{where}: output does not match",
        f'{where}: output_fields[\'proc.name\'] is "bash", expected "sh"',
        f"{where}: the output has no field 'user.uid'",
        f"{where}: the output has no field 'fd.name'",
    ]
    assert "expected it to contain 'parent=sshd'" in result.report()


def test_no_alerts(write_suite: WriteSuite) -> None:
    ok = _one(
        write_suite,
        """\
  - name: quiet
    events: [{fields: {evt.type: openat, fd.name: /etc/shadow}}]
    no_alerts: true
""",
    )
    assert ok.passed
    noisy = _one(
        write_suite,
        """\
  - name: noisy
    events: [{extends: shell}]
    no_alerts: true
""",
    )
    assert noisy.summary == "expected no alerts, got 2 (from 'Any exec', 'Shell')"
    assert "'Shell' fired on event 1" in noisy.report()
    assert "output: shell bash (parent=nginx user=www-data)" in noisy.report()


def test_unknown_rule_suggests_a_name(write_suite: WriteSuite) -> None:
    result = _one(
        write_suite,
        """\
  - name: typo
    events: [{extends: shell}]
    expect: [{rule: Shel}]
""",
    )
    assert (
        result.summary == "no rule named 'Shel' in the loaded rules files (did you mean 'Shell'?)"
    )


@pytest.mark.parametrize(
    ("options", "rule", "reason"),
    [
        ("", "Shadow open", "disabled by its 'enabled: false'"),
        (
            "options: {priority: info}",
            "Any exec",
            "its priority Debug is below options.priority Informational",
        ),
        (
            "options: {rules: [{disable: {tag: shell}}]}",
            "Shell",
            "disabled by options.rules (disable tag: shell)",
        ),
    ],
)
def test_rules_that_do_not_run_say_why(
    write_suite: WriteSuite, options: str, rule: str, reason: str
) -> None:
    result = _one(
        write_suite,
        f"""\
  - name: inactive
    events:
      - {{extends: shell}}
      - {{fields: {{evt.type: openat, fd.name: /etc/shadow}}}}
    expect: [{{rule: {rule}}}]
""",
        head=HEAD.replace("cases:", options + "\ncases:"),
    )
    assert f"the rule is not running: {reason}" in result.report()


def test_enabling_a_disabled_rule(write_suite: WriteSuite) -> None:
    result = _one(
        write_suite,
        """\
  - name: enabled
    events: [{fields: {evt.type: openat, fd.name: /etc/shadow}}]
    expect: [{rule: Shadow open}]
""",
        head=HEAD.replace("cases:", "options: {rules: [{enable: {rule: 'Shadow*'}}]}\ncases:"),
    )
    assert result.passed, result.report()


def test_first_match_hides_later_rules_and_says_so(write_suite: WriteSuite) -> None:
    head = HEAD.replace("cases:", "options: {rule_matching: first}\ncases:")
    result = _one(
        write_suite,
        """\
  - name: first
    events: [{extends: shell}]
    expect:
      - rule: Shell
      - rule: Any exec
""",
        head=head,
    )
    assert result.summary == "rule 'Any exec' fired 0 times, expected once"
    assert "the condition holds, but 'Shell' matched this event first" in result.report()


def test_event_files(write_suite: WriteSuite, tmp_path: Path) -> None:
    (tmp_path / "ev.jsonl").write_text(
        '{"time": 5, "fields": {"evt.type": "execve", "proc.name": "sh", "proc.pname": "php"}}\n'
        "\n"
        '{"time": 6, "fields": {"evt.type": "execve", "proc.name": "ls"}}\n'
    )
    result = _one(
        write_suite,
        """\
  - name: from a file
    events:
      - file: ev.jsonl
      - {extends: shell, fields: {proc.name: ls}}
    expect:
      - rule: Shell
        output: {contains: "parent=php"}
      - rule: Any exec
        count: 3
""",
    )
    assert result.passed, result.report()
    runner = RuleTestRunner()
    tf = runner.load(tmp_path / "t.ruletest.yaml")
    events = runner.events(tf.cases[0])
    assert [e.origin.rsplit("/", 1)[-1] for e in events[:2]] == ["ev.jsonl:1", "ev.jsonl:3"]
    assert [e.ts for e in events] == [5, 6, BASE_TIME + 2 * 1_000_000]


def test_a_broken_event_file_is_an_error_of_the_case(
    write_suite: WriteSuite, tmp_path: Path
) -> None:
    (tmp_path / "ev.jsonl").write_text('{"time": 5, "fields": {}}\nnot json\n')
    result = _one(
        write_suite,
        """\
  - name: broken
    events: [{file: ev.jsonl}]
    no_alerts: true
""",
    )
    assert result.error is not None and not result.passed
    assert "ev.jsonl:2: invalid JSON: " in result.summary
    unknown = _one(
        write_suite,
        """\
  - name: format
    events: [{file: ev.jsonl, format: pcap}]
    no_alerts: true
""",
    )
    assert "unknown event-file format 'pcap' (known: fieldmap" in (unknown.error or "")


def test_rules_that_do_not_load_fail_every_case(write_suite: WriteSuite) -> None:
    path = write_suite(
        HEAD
        + """\
  - name: a
    events: [{extends: shell}]
    no_alerts: true
""",
        rules="- rule: Bad\n  desc: d\n  condition: proc.nmae = x\n  output: o\n  priority: INFO\n",
    )
    fr = RuleTestRunner().run_file(path)
    assert fr.rules is None
    [case] = fr.cases
    assert case.error is not None and "the rules files do not load" in case.error
    assert "nonexistent field proc.nmae" in case.error


def test_rulesets_and_engines_are_cached(write_suite: WriteSuite, tmp_path: Path) -> None:
    text = HEAD + "  - name: a\n    events: [{extends: shell}]\n    expect: [{rule: Shell}]\n"
    a = write_suite(text, name="a.ruletest.yaml")
    b = write_suite(text, name="b.ruletest.yaml")
    runner = RuleTestRunner()
    ctx_a = runner.context(runner.load(a))
    ctx_b = runner.context(runner.load(b))
    assert ctx_a is ctx_b
    other = tmp_path / "c.ruletest.yaml"
    other.write_text(text.replace("cases:", "options: {rule_matching: first}\ncases:"))
    ctx_c = runner.context(runner.load(other))
    assert ctx_c is not ctx_a and ctx_c.ruleset is ctx_a.ruleset


def test_run_with_keyword_and_callback(write_suite: WriteSuite, tmp_path: Path) -> None:
    write_suite(
        HEAD
        + """\
  - name: Alpha case
    events: [{extends: shell}]
    expect: [{rule: Shell}]
  - name: beta case
    events: [{extends: shell}]
    expect: [{rule: Shell}]
"""
    )
    seen: list[FileResult] = []
    result = RuleTestRunner().run([tmp_path], keyword="ALPHA", on_file=seen.append)
    assert [c.case.name for c in result.cases] == ["Alpha case"]
    assert seen == result.files and result.passed


def test_each_case_gets_fresh_events(write_suite: WriteSuite) -> None:
    """Derived values cached in one run must not leak into the next."""
    path = write_suite(
        HEAD
        + """\
  - name: a
    events: [{fields: {evt.type: execve, proc.name: bash, "proc.aname[1]": nginx}}]
    expect: [{rule: Shell}]
"""
    )
    runner = RuleTestRunner()
    tf = runner.load(path)
    assert runner.run_case(tf, tf.cases[0]).passed
    assert runner.run_case(tf, tf.cases[0]).passed
    assert tf.cases[0].events[0].fields == {
        "evt.type": "execve",
        "proc.name": "bash",  # type: ignore[union-attr]
        "proc.aname[1]": "nginx",
    }
