"""The one transformer table: the grammar, the parser, the checker and outputs agree with it."""

from __future__ import annotations

import re

from secengine.events import MISSING
from secengine.lang.parser import TRANSFORMERS, grammar_path
from secengine.lang.transformers import BY_NAME, TRANSFORMER_NAMES, TRANSFORMER_TABLE, getopt


def test_the_grammar_token_lists_the_table() -> None:
    text = grammar_path().read_text(encoding="utf-8")
    m = re.search(r"^TRANSF\.\d+: /\(([^)]*)\)", text, re.MULTILINE)
    assert m is not None
    assert ("val", *m.group(1).split("|")) == TRANSFORMER_NAMES


def test_the_parser_names_come_from_the_table() -> None:
    assert TRANSFORMERS == TRANSFORMER_NAMES
    assert TRANSFORMER_NAMES[0] == "val" and len(set(TRANSFORMER_NAMES)) == len(TRANSFORMER_TABLE)


def test_every_transformer_has_one_implementation() -> None:
    for spec in TRANSFORMER_TABLE:
        if spec.name == "val":
            assert spec.per_value is None and spec.combine is None
        else:
            assert (spec.per_value is None) != (spec.combine is None), spec.name


def test_the_implementations() -> None:
    assert BY_NAME["basename"].per_value("/usr/bin/cat") == "cat"  # type: ignore[misc]
    assert BY_NAME["basename"].per_value("/usr/bin/") == ""  # type: ignore[misc]
    assert BY_NAME["b64"].per_value("aGk") == "hi"  # type: ignore[misc]
    assert BY_NAME["b64"].per_value("***") is MISSING  # type: ignore[misc]
    assert BY_NAME["join"].combine([",", ["a", 1]], None) == "a,1"  # type: ignore[misc]
    assert BY_NAME["concat"].combine(["a", "b", 3], None) == "ab3"  # type: ignore[misc]
    assert getopt(["-a", "-b", "x", "file"], "ab:", None) == ["a", "b", "x"]
    assert getopt(["-bx"], "ab:", "b") == "x"
    assert getopt(["-a"], "ab:", "b") is MISSING
