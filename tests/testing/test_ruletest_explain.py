"""secengine.testing.explain: the deciding leaves of a condition, with the fields' actual values."""

from __future__ import annotations

from typing import Any

import pytest

from secengine.events import MISSING, FieldValues
from secengine.lang import ast
from secengine.ruleset import Rule
from secengine.sources.specs import load_rules
from secengine.testing.explain import Leaf, explain, format_value, ir_text, leaf_lines


def _rule(condition: str, macros: str = "") -> Rule:
    text = f"""{macros}
- rule: R
  desc: d
  condition: {condition}
  output: o
  priority: WARNING
"""
    rs = load_rules([("r.yaml", text)])
    assert rs.successful, rs.render_text()
    return rs.rule("R")


def _why(rule: Rule, fields: dict[str, Any], want: bool) -> list[Leaf]:
    return explain(rule.condition, rule.checked.ir, FieldValues(fields), want)


def test_first_failing_leaf_of_a_conjunction() -> None:
    r = _rule("evt.type = execve and proc.name = bash and proc.tty != 0")
    [leaf] = _why(r, {"evt.type": "execve", "proc.name": "bash", "proc.tty": 0}, False)
    assert leaf == Leaf("proc.tty != 0", False, (("proc.tty", 0),), False)
    assert leaf_lines(leaf) == ["proc.tty != 0  ->  false", "    proc.tty = 0"]


def test_every_alternative_of_a_false_disjunction() -> None:
    r = _rule("evt.type = execve and (proc.name = bash or proc.pname = bash)")
    leaves = _why(r, {"evt.type": "execve", "proc.name": "ls", "proc.pname": "sshd"}, False)
    assert [(lf.text, lf.values) for lf in leaves] == [
        ("proc.name = bash", (("proc.name", "ls"),)),
        ("proc.pname = bash", (("proc.pname", "sshd"),)),
    ]


def test_a_not_that_excludes_the_event_is_explained_by_what_held_inside() -> None:
    r = _rule("evt.type = execve and not (proc.name in (gdb, strace) and user.uid = 0)")
    leaves = _why(r, {"evt.type": "execve", "proc.name": "gdb", "user.uid": 0}, False)
    assert [(lf.text, lf.result, lf.negated) for lf in leaves] == [
        ("proc.name in (gdb, strace)", True, True),
        ("user.uid = 0", True, True),
    ]
    assert leaf_lines(leaves[0])[0] == "proc.name in (gdb, strace)  ->  true (under 'not')"


def test_macros_are_expanded_in_leaf_texts() -> None:
    r = _rule(
        "spawned and proc.name = bash",
        "- macro: spawned\n  condition: evt.type in (execve, execveat)\n",
    )
    [leaf] = _why(r, {"evt.type": "openat", "proc.name": "bash"}, False)
    assert leaf.text == "evt.type in (execve, execveat)"
    assert leaf.values == (("evt.type", "openat"),)


def test_a_missing_value_is_shown_as_missing() -> None:
    r = _rule("evt.type = execve and proc.pname exists")
    [leaf] = _why(r, {"evt.type": "execve"}, False)
    assert leaf.text == "proc.pname exists"
    assert leaf.values == (("proc.pname", MISSING),)
    assert leaf_lines(leaf)[1] == "    proc.pname = <missing>"


def test_why_true_lists_every_conjunct_and_the_first_true_alternative() -> None:
    r = _rule("evt.type = execve and (proc.name = sh or proc.name = bash or proc.name = zsh)")
    leaves = _why(r, {"evt.type": "execve", "proc.name": "bash"}, True)
    assert [lf.text for lf in leaves] == ["evt.type = execve", "proc.name = bash"]
    assert all(lf.result for lf in leaves)


def test_derived_fields_and_transformers_show_their_values() -> None:
    r = _rule("evt.type = openat and fd.directory = /etc and tolower(proc.name) = bash")
    leaves = _why(r, {"evt.type": "openat", "fd.name": "/etc/shadow", "proc.name": "BASH"}, True)
    assert leaves[1].values == (("fd.directory", "/etc"),)
    assert leaves[2].values == (("tolower(proc.name)", "bash"), ("proc.name", "BASH"))


def test_never_true_is_explained() -> None:
    r = _rule("evt.type = execve and not proc.name = x and evt.num = 0")
    [leaf] = _why(r, {"evt.type": "execve", "proc.name": "y"}, False)
    assert leaf.text == "evt.num = 0"
    assert leaf_lines(leaf) == ["evt.num = 0  ->  false", "    never true: evt.num counts from 1"]


def test_nothing_when_the_truth_is_not_the_one_asked_about() -> None:
    r = _rule("evt.type = execve")
    assert _why(r, {"evt.type": "execve"}, False) == []


def test_ir_text_is_used_when_the_ast_does_not_match() -> None:
    r = _rule("evt.type = execve and proc.name in (a, b) and not proc.args contains x")
    leaves = explain(
        ast.MacroRef("m"),
        r.checked.ir,
        FieldValues({"evt.type": "execve", "proc.name": "a", "proc.args": "-x"}),
        False,
    )
    assert [lf.text for lf in leaves] == ["proc.args contains x"]
    assert (
        ir_text(r.checked.ir)
        == "(evt.type = execve and proc.name in (a, b) and not proc.args contains x)"
    )


def test_long_leaves_are_shortened() -> None:
    names = ", ".join(f"name{i}" for i in range(100))
    r = _rule(f"evt.type = execve and proc.name in ({names})")
    [leaf] = _why(r, {"evt.type": "execve", "proc.name": "other"}, False)
    assert len(leaf.text) <= 240 and leaf.text.endswith(" ...)")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (MISSING, "<missing>"),
        (None, "<missing>"),
        ("a b", '"a b"'),
        (5, "5"),
        (True, "true"),
        (["a", 1], '["a",1]'),
    ],
)
def test_format_value(value: Any, text: str) -> None:
    assert format_value(value) == text
