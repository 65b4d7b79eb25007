"""Matching operators take time linear in the event's size, whatever the rule's pattern.

Each case is a pattern and a value that made the old backtracking code run
for minutes (``(a+)+b`` on Python's ``re``, globs translated to ``.*a.*a...``,
an ambiguous field-name regex in output formats); through the real CLI in a
child process with a timeout and a memory cap, the command must finish, with
every other event still evaluated.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from bounded_cli import run_cli

from secengine.lang.regex import compile_regex

RULES = """
- rule: Hostile pattern
  desc: the pattern under test
  condition: evt.type = execve and {condition}
  output: hostile pattern matched %proc.name
  priority: WARNING
- rule: Cat runs
  desc: proves the events after the hostile one are still evaluated
  condition: evt.type = execve and proc.name = cat
  output: cat ran
  priority: INFO
"""


def _event(**fields: object) -> bytes:
    return orjson.dumps(
        {"source": "syscall", "time": 1, "fields": {"evt.type": "execve", **fields}}
    )


def _replay(tmp_path: Path, condition: str, value_field: str, value: str) -> tuple[int, str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(condition=condition))
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        b"\n".join(
            [
                _event(**{"proc.name": "victim", value_field: value}),
                _event(**{"proc.name": "cat", value_field: "x"}),
            ]
        )
        + b"\n"
    )
    proc = run_cli(["replay", "-r", rules, events])
    assert "Traceback" not in proc.stderr
    return proc.returncode, proc.stdout


@pytest.mark.parametrize(
    ("condition", "field", "value"),
    [
        # 2**40 paths for a backtracking engine
        ("proc.args regex '(a+)+b'", "proc.args", "a" * 40),
        ("proc.args regex '(a|aa)*c'", "proc.args", "a" * 60),
        # C(300, 7) placements of the stars' segments when translated to .*a.*a...
        ("fd.name glob '*a*a*a*a*a*a*a*b'", "fd.name", "/" + "a" * 300),
        ("fd.name iglob '*A*A*A*A*A*A*A*B'", "fd.name", "/" + "a" * 300),
        ("fd.name pmatch (/*a*a*a*a*a*a*a*b)", "fd.name", "/" + "a" * 300),
    ],
)
def test_hostile_pattern_finishes_and_later_events_alert(
    tmp_path: Path, condition: str, field: str, value: str
) -> None:
    rc, out = _replay(tmp_path, condition, field, value)
    assert rc == 0
    assert "hostile pattern matched" not in out
    assert "cat ran" in out


def test_regex_still_matches_with_re2(tmp_path: Path) -> None:
    rc, out = _replay(tmp_path, "proc.args regex '(a+)+b'", "proc.args", "a" * 40 + "b")
    assert rc == 0
    assert "hostile pattern matched victim" in out


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a)\\\\1", "invalid escape sequence"),  # a backreference
        ("a(?=b)", "repetition operator"),  # a lookahead
        ("\\\\d+", "invalid escape sequence"),  # Perl classes are not POSIX RE2
        ("((a{100}){100}){100}", "invalid repetition size"),  # RE2 refuses huge repeats
        (".{1000}" * 60, "too large"),  # past the memory budget per pattern
    ],
)
def test_pattern_re2_refuses_is_a_located_rule_error(
    tmp_path: Path, pattern: str, reason: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(condition=f"proc.args regex '{pattern}'"))
    proc = run_cli(["validate", rules])
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "rule 'Hostile pattern'" in proc.stdout
    assert f"{rules}:3:" in proc.stdout  # the condition's line
    assert "LOAD_ERR_COMPILE_CONDITION" in proc.stdout
    assert "invalid regular expression" in proc.stdout and reason in proc.stdout


def test_output_field_name_is_parsed_in_linear_time(tmp_path: Path) -> None:
    # "%ab.ab.ab...": an unknown field, so every shorter prefix is tried; the
    # old field-name regex backtracked exponentially on the ones ending in '.'
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULES.replace("hostile pattern matched %proc.name", "x %" + "ab." * 40 + "ab").format(
            condition="proc.name = x"
        )
    )
    proc = run_cli(["validate", rules])
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "LOAD_ERR_COMPILE_OUTPUT" in proc.stdout


def test_long_invalid_name_is_rejected_in_linear_time(tmp_path: Path) -> None:
    # the old identifier regex was quadratic in a name that fails to match
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"- macro: {'a' * 200_000}!\n  condition: proc.name = x\n")
    proc = run_cli(["validate", rules])
    assert proc.returncode == 0  # a bad macro name only warns, as in Falco
    assert "Traceback" not in proc.stderr
    assert "LOAD_INVALID_MACRO_NAME" in proc.stdout + proc.stderr


def test_regex_semantics_are_re2_posix() -> None:
    rx = compile_regex("a.c")
    assert rx.fullmatch("abc") and not rx.fullmatch("abcd")  # fully anchored
    assert not rx.fullmatch("a\nc")  # '.' does not cross a newline (RE2 default)
    assert compile_regex("a.c").fullmatch("a\udcffc") is False  # a byte that is not UTF-8
    assert compile_regex("[[:digit:]]+").fullmatch("123")
    assert compile_regex("x") == compile_regex("x")
    assert hash(compile_regex("x")) == hash(compile_regex("x"))


def test_list_against_list_field_is_linear(tmp_path: Path) -> None:
    # `a intersects val(b)` between two lists of the event: the reference
    # semantics compared every pair, 4,000**2 comparisons per pod (8 s here) for one pod
    from k8s_audit_cases import create_pod, pod

    # 4,000 short containers fit the audit source's 256 KiB event limit
    containers = [{"name": str(i), "image": f"x{i}"} for i in range(4_000)]
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- rule: Image named like a container\n  desc: d\n  source: k8s_audit\n"
        "  condition: ka.req.pod.containers.image intersects val(ka.req.pod.containers.name)\n"
        "  output: hostile\n  priority: INFO\n"
        "- rule: Any pod\n  desc: d\n  source: k8s_audit\n"
        "  condition: ka.verb = create and ka.target.resource = pods\n"
        "  output: pod created %ka.target.name\n  priority: INFO\n"
    )
    log = tmp_path / "audit.log"
    hostile = orjson.dumps(create_pod(pod("hostile", containers=containers))) + b"\n"
    log.write_bytes(hostile * 5 + orjson.dumps(create_pod(pod("later"))) + b"\n")
    proc = run_cli(["replay", "--source", "k8s_audit", "-r", rules, log], timeout=15)
    assert proc.returncode == 0, proc.stderr
    assert "Lines rejected: 0" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "hostile" not in proc.stdout.replace("pod created hostile", "")
    assert "pod created later" in proc.stdout
