"""Textual list expansion (Falco's ``resolve_list``) and list compilation."""

from __future__ import annotations

import pytest
from ruleset_helpers import load, warnings_of

from secengine.ruleset.listexpand import expand_lists, resolve_list


@pytest.mark.parametrize(
    "cond,items,expected",
    [
        # inside a list, blanks around the name are absorbed and re-added
        ("proc.name in (ls, my_list, ps)", ["a", "b"], "proc.name in (ls, a, b , ps)"),
        ("proc.name in (my_list)", ["a", "b"], "proc.name in ( a, b )"),
        # after '=', with or without a blank
        ("proc.name=my_list", ["x"], "proc.name= x "),
        ("proc.name= my_list", ["x"], "proc.name= x "),
        # at the start and the end of the text
        ("my_list", ["x"], "x "),
        # not bounded by a delimiter: left alone
        ("proc.name in (my_list2)", ["x"], "proc.name in (my_list2)"),
        ("proc.name in (xmy_list)", ["x"], "proc.name in (xmy_list)"),
        ('proc.name = "my_list"', ["x"], 'proc.name = "my_list"'),
        # items are quoted when they contain a space, unless already quoted
        ("x in (my_list)", ["a b", '"c d"', "'e f'"], 'x in ( "a b", "c d", \'e f\' )'),
        # an empty list eats one comma: the one on its left first, else the one on its right
        ("x in (a, my_list)", [], "x in (a  )"),
        ("x in (my_list, a)", [], "x in (   a)"),
        ("x in (my_list)", [], "x in (  )"),
        # every occurrence is replaced
        ("a in (my_list) or b in (my_list)", ["x"], "a in ( x ) or b in ( x )"),
    ],
)
def test_resolve_list(cond: str, items: list[str], expected: str) -> None:
    out, used = resolve_list(cond, "my_list", items)
    assert out == expected
    assert used is (out != cond)


def test_expand_lists_in_order_and_reports_use() -> None:
    out, used = expand_lists(
        "x in (b_list) and y in (unused)", [("a_list", ["1"]), ("b_list", ["a_list"])]
    )
    assert used == ["b_list"]
    assert out == "x in ( a_list ) and y in (unused)"


def test_lists_in_lists_expand_one_level_and_only_backwards() -> None:
    rs = load("""
- list: inner
  items: [a, b]
- list: outer
  items: [inner, c]
- list: outermost
  items: [outer, later]
- list: later
  items: [z]
- rule: r
  desc: d
  condition: evt.type = open and proc.name in (outermost)
  output: o
  priority: INFO
""")
    assert rs.successful
    # 'outer' expands to its raw items (not re-expanded); 'later' is defined afterwards
    assert rs.lists["outermost"].items == ("inner", "c", "later")
    assert rs.lists["outer"].items == ("a", "b", "c")
    # The textual expansion applies each list once, in definition order: 'inner' has
    # already been applied when 'outermost' brings its name in, 'later' has not.
    assert rs.rule("r").condition_compiled == ("(evt.type = open and proc.name in (inner, c, z))")
    assert not warnings_of(rs.results[0], "LOAD_UNUSED_LIST")


def test_undefined_name_in_a_list_is_a_literal() -> None:
    rs = load(
        "- rule: r\n  desc: d\n  condition: evt.type = open and proc.name in (not_a_list)\n"
        "  output: o\n  priority: INFO\n"
    )
    assert rs.rule("r").condition_compiled == "(evt.type = open and proc.name in (not_a_list))"


def test_items_with_their_own_quotes() -> None:
    rs = load(
        "- list: cmds\n"
        "  items: ['\"sh -c uname -p 2> /dev/null\"', '\"10.0.0.0/8\"', plain]\n"
        "- rule: r\n  desc: d\n  condition: evt.type = execve and proc.cmdline in (cmds)\n"
        "  output: o\n  priority: INFO\n"
    )
    assert rs.rule("r").condition_text == (
        'evt.type = execve and proc.cmdline in ( "sh -c uname -p 2> /dev/null", '
        '"10.0.0.0/8", plain )'
    )
    assert rs.rule("r").condition_compiled == (
        '(evt.type = execve and proc.cmdline in ("sh -c uname -p 2> /dev/null", 10.0.0.0/8, plain))'
    )


def test_list_items_escaping_is_kept() -> None:
    rs = load('- list: my_list\n  items: [non_escaped_val, "escaped val"]\n')
    assert rs.successful
    assert rs.lists["my_list"].items == ("non_escaped_val", "escaped val")
    assert [w.code.name for w in rs.results[0].warnings] == ["LOAD_UNUSED_LIST"]


def test_list_used_only_by_an_unused_macro_is_used() -> None:
    rs = load("- list: l\n  items: [a]\n- macro: m\n  condition: proc.name in (l)\n")
    assert [w.code.name for w in rs.results[0].warnings] == ["LOAD_UNUSED_MACRO"]
