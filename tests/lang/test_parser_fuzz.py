"""Fuzz the grammar: no input crashes the parser, and every failure is a located error."""

from __future__ import annotations

import pytest
from fuzzing import bounded_memory, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from secengine.engine import Engine
from secengine.errors import ConditionSyntaxError
from secengine.events import Event, FieldValues
from secengine.lang import parse_condition
from secengine.sources.specs import load_rules

pytestmark = pytest.mark.fuzz

TOKENS = [
    "evt.type",
    "proc.name",
    "proc.aname[2]",
    "=",
    "!=",
    "<",
    ">=",
    "in",
    "contains ",
    "startswith",
    "oneof",
    "exists",
    "(",
    ")",
    ",",
    "and",
    "or",
    "not",
    " ",
    "\t",
    "\n",
    '"',
    "'",
    "\\",
    "x",
    "bash",
    "0x1f",
    "-1",
    "val(",
    "tolower(",
    "join(",
    "[",
    "]",
    "intersects",
    "pmatch",
    "<NA>",
    "/usr/bin/*",
    "glob",
    "regex",
]


def _assert_parses_or_located(text: str) -> None:
    try:
        parse_condition(text)
    except ConditionSyntaxError as e:
        assert e.message
        assert e.offset is not None and 0 <= e.offset <= len(text)
        assert e.line is not None and e.line >= 1
        assert e.column is not None and e.column >= 1


@fuzz_settings(short=600)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_token_soup(text: str) -> None:
    _assert_parses_or_located(text)


@fuzz_settings(short=300)
@given(st.text(max_size=60))
def test_arbitrary_text(text: str) -> None:
    _assert_parses_or_located(text)


# -- issue 12, item 13: the whole condition pipeline, deep and long inputs, memory -----------

FIELDS = [
    "evt.type",
    "proc.name",
    "proc.aname[2]",
    "proc.env[HOME]",
    "fd.name",
    "fd.num",
    "evt.arg.flags",
    "evt.arg[fd]",
    "user.uid",
    "fd.sip",
    "fd.net",
    "proc.args",
    "evt.rawres",
    "container.id",
    "nosuch.field",
    "proc.aname[x]",
    "fd.sport",
]
OPS = [
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "intersects",
    "contains",
    "icontains",
    "startswith",
    "endswith",
    "glob",
    "iglob",
    "pmatch",
    "exists",
    "bcontains",
    "bstartswith",
    "regex",
]
VALUES = [
    "0",
    "-1",
    "18446744073709551616",
    "0x1f",
    "1.5",
    "bash",
    '"a b"',
    "'x'",
    "/etc/*",
    "(a, b, c)",
    "(1, 2)",
    "()",
    "10.0.0.0/8",
    "::1",
    "6869",
    "val(proc.name)",
    "tolower(proc.name)",
    "<NA>",
    "\\x00",
    "\u00e9\u00e9",
    "[",
    "'",
]


@st.composite
def checks(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(FIELDS))
    if draw(st.integers(0, 5)) == 0:
        field = (
            f"{draw(st.sampled_from(['tolower', 'toupper', 'b64', 'len', 'basename']))}({field})"
        )
    op = draw(st.sampled_from(OPS))
    return (
        field
        if op == "exists" and draw(st.booleans())
        else f"{field} {op} {draw(st.sampled_from(VALUES))}"
    )


conditions = st.recursive(
    checks(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map("".join),
        inner.map(lambda c: f"not {c}"),
        inner.map(lambda c: f"({c})"),
    ),
    max_leaves=8,
)


def _rules_yaml(condition: str) -> str:
    quoted = condition.replace("'", "''")
    return (
        f"- rule: fuzzed\n  desc: fuzz\n  condition: '{quoted}'\n"
        "  output: 'x %proc.name %fd.name'\n  priority: INFO\n"
    )


@fuzz_settings(short=200)
@given(conditions)
def test_any_condition_loads_or_is_a_located_error_and_evaluates(condition: str) -> None:
    """parse -> macros -> check -> compile -> evaluate: only documented errors, as diagnostics."""
    _assert_parses_or_located(condition)
    rs = load_rules([("fuzz.yaml", _rules_yaml(condition))])
    rs.render_text()
    if rs.successful and rs.rules:
        engine = Engine(rs, rule_matching="all")
        event = Event(
            "syscall",
            1,
            FieldValues(
                {
                    "evt.type": "openat",
                    "proc.name": "bash",
                    "fd.name": "/etc/shadow",
                    "fd.num": 3,
                    "proc.aname[2]": "sshd",
                    "proc.env[HOME]": "/root",
                    "proc.args": "-c id",
                    "user.uid": 0,
                    "fd.sip": "10.0.0.1",
                    "fd.sport": 22,
                    "evt.rawres": -1,
                }
            ),
        )
        engine.process_batch([event])


@pytest.mark.parametrize(
    "opener, closer",
    [("(", ")"), ("not (", ")"), ("not ", ""), ("proc.name = a and (", ")"), ("((", "))")],
)
@pytest.mark.parametrize("depth", [10, 1000, 20_000])
def test_deep_nesting_is_a_located_error_not_a_crash(opener: str, closer: str, depth: int) -> None:
    text = opener * depth + "proc.name = bash" + closer * depth
    with bounded_memory(2000 * len(text) + (16 << 20)):
        _assert_parses_or_located(text)


@fuzz_settings(short=100)
@given(st.lists(st.sampled_from(TOKENS), min_size=200, max_size=2000).map(" ".join))
def test_long_token_soup_in_bounded_memory(text: str) -> None:
    with bounded_memory(4000 * len(text) + (16 << 20)):
        _assert_parses_or_located(text)
