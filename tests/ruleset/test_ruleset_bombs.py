"""Rules, rule-test and configuration files that expand exponentially end in seconds.

YAML alias bombs ("billion laughs"), macros that double (``m2: m1 or m1``)
and lists that double through names of lists defined later took gigabytes or
never finished. Each bomb goes through the real CLI commands in a child
process with a timeout and an address-space cap (``bounded_cli``): one
located error, the documented exit status, no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bounded_cli import run_cli

from secengine.ruleset import compiler

RULE = """- rule: R{n}
  desc: d
  condition: evt.type = execve and {condition}
  output: o
  priority: INFO
"""
EVENT = '{"source":"syscall","time":1,"fields":{"evt.type":"execve","proc.name":"x"}}\n'


def _laughs(levels: int = 40, indent: str = "    ") -> str:
    """Anchors that double at each level: 2**levels scalars once expanded."""
    lines = [f"{indent}b0: &b0 [lol, lol]"]
    lines += [f"{indent}b{i}: &b{i} [*b{i - 1}, *b{i - 1}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _doubling_macros(levels: int = 40) -> str:
    items = ["- macro: m0\n  condition: proc.name = a\n"]
    items += [f"- macro: m{i}\n  condition: m{i - 1} or m{i - 1}\n" for i in range(1, levels + 1)]
    return "".join(items) + RULE.format(n=0, condition=f"m{levels}")


def _doubling_lists_defined_later(levels: int = 40) -> str:
    items = [f"- list: l{i}\n  items: [l{i - 1}, l{i - 1}]\n" for i in range(levels, 0, -1)]
    return (
        RULE.format(n=0, condition=f"proc.name in (l{levels})")
        + "".join(items)
        + "- list: l0\n  items: [a, b]\n"
    )


def _alias_in_exception_values() -> str:
    return (
        "- list: holder\n  items: [a]\n  anchors:\n"
        + _laughs()
        + RULE.format(n=0, condition="proc.name = x")
        + "  exceptions:\n    - name: e\n      fields: proc.name\n      values: *b39\n"
    )


BOMBS = {
    "doubling_macros": (_doubling_macros(), "macro 'm14'", "nodes, more than the limit of"),
    "lists_defined_later": (
        _doubling_lists_defined_later(),
        "rule 'R0'",
        "makes the condition longer than 1000000 characters",
    ),
    "alias_in_exception_values": (
        _alias_in_exception_values(),
        "b39: &b39",
        "YAML aliases expand this text",
    ),
    "deep_yaml": (
        "- list: l\n  items: " + "[" * 5000 + "]" * 5000 + "\n",
        "[[[[[[[[",
        "YAML collections nest more than 100 levels deep",
    ),
    "deep_yaml_200k": (
        "- list: l\n  items: " + "[" * 200_000 + "]" * 200_000 + "\n",
        "[[[[[[[[",
        "YAML collections nest more than 100 levels deep",
    ),
    "recursive_alias": ("- list: l\n  items: &a [x, *a]\n", "items: &a", "recursive YAML alias"),
    "deep_macro_chain": (
        "- macro: m0\n  condition: proc.name = a\n"
        + "".join(
            f"- macro: m{i}\n  condition: (m{i - 1} and proc.name != b{i})\n" for i in range(1, 400)
        )
        + RULE.format(n=0, condition="m399"),
        "macro 'm200'",
        "deeper than 200 levels",
    ),
}


@pytest.fixture(params=sorted(BOMBS))
def bomb(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, str]:
    text, where, reason = BOMBS[request.param]
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    return path, where, reason


def _assert_located(proc_out: str, path: Path, where: str, reason: str) -> None:
    assert f"{path}: Invalid" in proc_out
    assert where in proc_out
    assert reason in proc_out


def test_validate(bomb: tuple[Path, str, str]) -> None:
    path, where, reason = bomb
    proc = run_cli(["validate", path])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    _assert_located(proc.stdout, path, where, reason)


def test_replay(bomb: tuple[Path, str, str], tmp_path: Path) -> None:
    path, where, reason = bomb
    events = tmp_path / "events.jsonl"
    events.write_text(EVENT)
    proc = run_cli(["replay", "-r", path, events])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    _assert_located(proc.stdout + proc.stderr, path, where, reason)
    assert "rules failed to load" in proc.stderr


def test_rule_test_command_loading_the_bomb(bomb: tuple[Path, str, str], tmp_path: Path) -> None:
    path, _where, reason = bomb
    case = tmp_path / "bomb.ruletest.yaml"
    case.write_text(
        f"rules_files: [{path}]\ncases:\n  - name: c\n    events:\n"
        "      - fields: {evt.type: execve, proc.name: x}\n    no_alerts: true\n"
    )
    proc = run_cli(["test", case])
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert reason in proc.stdout + proc.stderr


def test_many_rules_sharing_a_large_macro_stop_at_the_load_budget(tmp_path: Path) -> None:
    # m13 is 16,383 nodes, under the per-condition limit; 13 rules pass the load's budget
    text = "- macro: m0\n  condition: proc.name = a\n" + "".join(
        f"- macro: m{i}\n  condition: m{i - 1} or m{i - 1}\n" for i in range(1, 14)
    )
    text += "".join(RULE.format(n=n, condition="m13") for n in range(40))
    path = tmp_path / "wide.yaml"
    path.write_text(text)
    proc = run_cli(["validate", path])
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"more than the limit of {compiler.MAX_LOAD_NODES}" in proc.stdout
    assert "rule 'R12'" in proc.stdout


def test_lists_doubling_in_definition_order_expand_one_level(tmp_path: Path) -> None:
    # Falco replaces a list named by a later list by its raw items (one level), so
    # l40 holds four strings 'l38': no blowup, and the rule loads
    text = "- list: l0\n  items: [a, b]\n" + "".join(
        f"- list: l{i}\n  items: [l{i - 1}, l{i - 1}]\n" for i in range(1, 41)
    )
    path = tmp_path / "lists.yaml"
    path.write_text(text + RULE.format(n=0, condition="proc.name in (l40)"))
    proc = run_cli(["validate", path])
    assert proc.returncode == 0, proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["replay", "validate", "test"])
def test_configuration_file_alias_bomb(command: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("anchors:\n" + _laughs(40, "  ") + "rules_files: *b39\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(n=0, condition="proc.name = x"))
    events = tmp_path / "events.jsonl"
    events.write_text(EVENT)
    case = tmp_path / "ok.ruletest.yaml"
    case.write_text(
        f"rules_files: [{rules}]\ncases:\n  - name: c\n    events:\n"
        "      - fields: {evt.type: execve, proc.name: y}\n    no_alerts: true\n"
    )
    args = {
        "replay": ["replay", "-c", config, "-r", rules, events],
        "validate": ["validate", "-c", config],
        "test": ["test", "-c", config, case],
    }[command]
    proc = run_cli(args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{config}:41:8: YAML aliases expand this text" in proc.stderr


def test_configuration_option_alias_bomb(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(n=0, condition="proc.name = x"))
    value = (
        "{"
        + ", ".join(
            ["b0: &b0 [lol, lol]"] + [f"b{i}: &b{i} [*b{i - 1}, *b{i - 1}]" for i in range(1, 40)]
        )
        + "}"
    )
    proc = run_cli(["validate", "-o", f"x={value}"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "YAML aliases expand this text" in proc.stderr


def test_deep_configuration_and_rule_test_files(tmp_path: Path) -> None:
    deep = "x: " + "[" * 5000 + "]" * 5000 + "\n"
    config = tmp_path / "config.yaml"
    config.write_text(deep)
    proc = run_cli(["validate", "-c", config])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{config}:1:" in proc.stderr and "nest more than 100 levels" in proc.stderr
    case = tmp_path / "deep.ruletest.yaml"
    case.write_text(deep)
    proc = run_cli(["test", case])
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{case}:1: YAML collections nest" in proc.stdout + proc.stderr


def test_rule_test_file_alias_bomb(tmp_path: Path) -> None:
    case = tmp_path / "bomb.ruletest.yaml"
    case.write_text("anchors:\n" + _laughs(40, "  ") + "cases: *b39\n")
    proc = run_cli(["test", case])
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert f"{case}:41: YAML aliases expand this text" in proc.stdout + proc.stderr
