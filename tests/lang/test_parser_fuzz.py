"""Fuzz the grammar: no input crashes the parser, and every failure is a located error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from secengine.errors import ConditionSyntaxError
from secengine.lang import parse_condition

TOKENS = ["evt.type", "proc.name", "proc.aname[2]", "=", "!=", "<", ">=", "in", "contains ",
          "startswith", "oneof", "exists", "(", ")", ",", "and", "or", "not", " ", "\t", "\n",
          '"', "'", "\\", "x", "bash", "0x1f", "-1", "val(", "tolower(", "join(", "[", "]",
          "intersects", "pmatch", "<NA>", "/usr/bin/*", "glob", "regex"]


def _assert_parses_or_located(text: str) -> None:
    try:
        parse_condition(text)
    except ConditionSyntaxError as e:
        assert e.message
        assert e.offset is not None and 0 <= e.offset <= len(text)
        assert e.line is not None and e.line >= 1
        assert e.column is not None and e.column >= 1


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_token_soup(text: str) -> None:
    _assert_parses_or_located(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text(text: str) -> None:
    _assert_parses_or_located(text)
