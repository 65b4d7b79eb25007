"""secengine.testing.loader and .model: the file format, its errors (with file:line), templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruletest_helpers import WriteSuite

from secengine.priority import Priority
from secengine.testing.loader import CaseEvent, FileEvents, discover, load_test_file
from secengine.testing.model import RuleTestError

MINIMAL = """\
rules_files: [rules.yaml]
cases:
  - name: one
    events:
      - fields: {evt.type: execve, proc.name: bash}
    expect:
      - rule: Shell
"""


def _error(path: Path) -> RuleTestError:
    with pytest.raises(RuleTestError) as info:
        load_test_file(path)
    return info.value


def test_minimal_file(write_suite: WriteSuite) -> None:
    tf = load_test_file(write_suite(MINIMAL))
    assert tf.rules_files == (tf.path.parent / "rules.yaml",)
    assert tf.options.rule_matching == "all"
    assert tf.options.priority is Priority.DEBUG
    [case] = tf.cases
    assert (case.name, case.line) == ("one", 3)
    [ev] = case.events
    assert isinstance(ev, CaseEvent)
    assert ev.source == "syscall" and ev.time is None
    assert ev.fields == {"evt.type": "execve", "proc.name": "bash"}
    assert ev.origin.endswith("t.ruletest.yaml:5")
    [exp] = case.expect
    assert (exp.rule, exp.count) == ("Shell", 1)


def test_templates_extend_and_null_removes_a_field(write_suite: WriteSuite) -> None:
    tf = load_test_file(
        write_suite("""\
        rules_files: [rules.yaml]
        x-anchors:
          user: &user {user.name: alice, user.uid: 1000}
        templates:
          base:
            fields: {evt.type: execve, proc.name: ls, proc.pname: sshd}
          shell:
            extends: base
            source: syscall
            fields: {<<: *user, proc.name: bash}
        cases:
          - name: c
            events:
              - extends: shell
                time: 2024-05-14T09:00:00.5Z
                fields: {proc.pname: null, proc.tty: 34816}
            expect:
              - rule: Shell
        """)
    )
    ev = tf.cases[0].events[0]
    assert isinstance(ev, CaseEvent)
    assert ev.fields == {
        "evt.type": "execve",
        "proc.name": "bash",
        "user.name": "alice",
        "user.uid": 1000,
        "proc.tty": 34816,
    }
    assert ev.time == 1_715_677_200_500_000_000


def test_options(write_suite: WriteSuite) -> None:
    tf = load_test_file(
        write_suite(
            MINIMAL.replace(
                "cases:",
                """\
options:
  rule_matching: first
  priority: Notice
  rules:
    - enable: {rule: "Shadow*"}
    - disable: {tag: noisy}
cases:""",
            )
        )
    )
    opts = tf.options
    assert opts.rule_matching == "first" and opts.priority is Priority.NOTICE
    sels = opts.selections()
    assert [(s.action, s.rule, s.tag) for s in sels] == [
        ("enable", "Shadow*", None),
        ("disable", None, "noisy"),
    ]


def test_event_files_are_resolved_relative_to_the_test_file(write_suite: WriteSuite) -> None:
    path = write_suite(
        MINIMAL.replace(
            "- fields: {evt.type: execve, proc.name: bash}", "- {file: ev/x.jsonl, source: syscall}"
        ),
        name="sub/t.ruletest.yaml",
    )
    (path.parent / "ev").mkdir()
    (path.parent / "ev" / "x.jsonl").write_text("")
    (path.parent / "rules.yaml").write_text("[]\n")
    ev = load_test_file(path).cases[0].events[0]
    assert isinstance(ev, FileEvents)
    assert ev.path == path.parent / "ev" / "x.jsonl" and ev.format is None


@pytest.mark.parametrize(
    ("replace", "with_", "line", "message"),
    [
        (
            "rules_files: [rules.yaml]",
            "rules_files: [nope.yaml]",
            1,
            "rules file not found: nope.yaml",
        ),
        ("rules_files: [rules.yaml]\n", "", 1, "rules_files: Field required"),
        ("    expect:\n      - rule: Shell\n", "", 3, "cases.0: a case needs 'expect'"),
        (
            "      - rule: Shell",
            "      - rule: Shell\n        cuont: 2",
            8,
            "cases.0.expect.0.cuont: unknown key",
        ),
        (
            "      - rule: Shell",
            "      - rule: Shell\n        count: -1",
            8,
            "cases.0.expect.0.count: Input should be greater than or equal to 0",
        ),
        (
            "      - rule: Shell",
            "      - rule: Shell\n        count: 0\n        priority: warning",
            7,
            "count: 0 (the rule must not fire) cannot check priority",
        ),
        (
            "      - rule: Shell",
            "      - rule: Shell\n        priority: loud",
            8,
            "invalid priority 'loud'",
        ),
        (
            "      - rule: Shell",
            "      - rule: Shell\n        output: {regex: '('}",
            8,
            "invalid regex",
        ),
        (
            "      - rule: Shell",
            "      - rule: Shell\n        output: {contains: a, regex: b}",
            8,
            "give exactly one of 'exact', 'contains' or 'regex'",
        ),
        (
            "      - rule: Shell",
            "      - rule: Shell\n      - rule: Shell",
            3,
            "rule 'Shell' is expected twice",
        ),
        (
            "      - fields: {evt.type: execve, proc.name: bash}",
            "      - extends: nope",
            5,
            "no template named 'nope' (templates: none are defined)",
        ),
        (
            "      - fields: {evt.type: execve, proc.name: bash}",
            "      - {}",
            5,
            "an event needs 'fields'",
        ),
        (
            "      - fields: {evt.type: execve, proc.name: bash}",
            "      - {file: missing.jsonl}",
            5,
            "event file not found: missing.jsonl",
        ),
        (
            "      - fields: {evt.type: execve, proc.name: bash}",
            "      - {fields: {evt.type: execve}, time: yesterday}",
            5,
            "RFC 3339",
        ),
        (
            "proc.name: bash}",
            "proc.nmae: bash}",
            5,
            "unknown field 'proc.nmae' for source 'syscall'",
        ),
        (
            "proc.name: bash}",
            "proc.tty: '34816'}",
            5,
            "field 'proc.tty' holds numbers; got the string '34816'",
        ),
        (
            "proc.name: bash}",
            "proc.name: 7}",
            5,
            "field 'proc.name' holds strings; got the number 7 (quote it)",
        ),
        (
            "proc.name: bash}",
            "evt.is_open_read: 1}",
            5,
            "field 'evt.is_open_read' holds booleans (true/false); got the number 1",
        ),
        ("proc.name: bash}", "fd.sip: not-an-ip}", 5, "field 'fd.sip' holds IP addresses"),
        (
            "proc.name: bash}",
            "proc.name: [a, b]}",
            5,
            "field 'proc.name' holds one value, not a list",
        ),
        ("proc.name: bash}", "evt.time: 5}", 5, "'evt.time' is computed from the event's 'time'"),
    ],
)
def test_errors_name_file_and_line(
    write_suite: WriteSuite, replace: str, with_: str, line: int | None, message: str
) -> None:
    text = MINIMAL.replace(replace, with_)
    assert text != MINIMAL
    err = _error(write_suite(text))
    assert message in err.reason
    assert err.path is not None and err.path.endswith("t.ruletest.yaml")
    assert err.line == line
    assert str(err).startswith(f"{err.path}:{line}: " if line else f"{err.path}: ")


def test_template_errors(write_suite: WriteSuite) -> None:
    loop = MINIMAL.replace("cases:", "templates:\n  a: {extends: b}\n  b: {extends: a}\ncases:")
    err = _error(write_suite(loop))
    assert "templates extend each other in a loop: a -> b -> a" in err.reason and err.line == 3
    unknown = MINIMAL.replace("cases:", "templates:\n  a: {extends: zz}\ncases:")
    err = _error(write_suite(unknown))
    assert err.reason == "no template named 'zz' (templates: a)" and err.line == 3


def test_duplicate_case_names(write_suite: WriteSuite) -> None:
    text = MINIMAL + MINIMAL[MINIMAL.index("  - name: one") :]
    err = _error(write_suite(text))
    assert err.reason == "case name 'one' is used twice (first at line 3)" and err.line == 8


def test_yaml_errors_have_lines(write_suite: WriteSuite) -> None:
    err = _error(
        write_suite(MINIMAL.replace("{evt.type: execve, proc.name: bash}", "{proc.aname[2]: bash}"))
    )
    assert err.line == 5 and "invalid YAML" in err.reason


def test_fields_of_unknown_sources_are_not_checked(write_suite: WriteSuite) -> None:
    tf = load_test_file(
        write_suite(
            MINIMAL.replace(
                "- fields: {evt.type: execve, proc.name: bash}",
                "- {source: mysource, fields: {my.field: 1}}",
            )
        )
    )
    ev = tf.cases[0].events[0]
    assert isinstance(ev, CaseEvent) and ev.source == "mysource"


def test_bracketed_and_dotted_field_spellings(write_suite: WriteSuite) -> None:
    tf = load_test_file(
        write_suite(
            MINIMAL.replace(
                "{evt.type: execve, proc.name: bash}",
                '{"proc.aname[2]": bash, "evt.arg[flags]": O_RDONLY, evt.arg.flags: O_RDONLY, '
                '"proc.env[HOME]": /root, proc.aname: [a, b]}',
            )
        )
    )
    ev = tf.cases[0].events[0]
    assert isinstance(ev, CaseEvent)
    assert ev.fields == {
        "proc.aname[2]": "bash",
        "evt.arg[flags]": "O_RDONLY",
        "evt.arg.flags": "O_RDONLY",
        "proc.env[HOME]": "/root",
        "proc.aname": ["a", "b"],
    }


def test_discover(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/x.ruletest.yaml", "a/b/y.ruletest.yaml", "a/rules.yaml", "z.yaml"):
        (tmp_path / name).write_text("")
    found = discover([tmp_path / "a", tmp_path / "z.yaml", tmp_path / "a" / "x.ruletest.yaml"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/b/y.ruletest.yaml",
        "a/x.ruletest.yaml",
        "z.yaml",
    ]
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        discover([tmp_path / "nothing-here"])
