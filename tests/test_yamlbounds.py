"""Nesting depth is refused while the text is read, not after it has all been scanned.

ruamel's scanner keeps one possible simple key per open flow collection and
re-checks all of them at every token, so ``[[[[...`` costs about 2 ms per
bracket: 5,000 brackets took 10-30 s of CPU and 100,000 would take many
minutes, all before the depth was ever measured. The composer now stops at
the 101st level, having read a bounded prefix of the text.
"""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from secengine.yamlbounds import YamlLimitError, compose_all


def _nested(levels: int) -> str:
    return "- list: l\n  items: " + "[" * levels + "]" * levels + "\n"


def test_a_hundred_collections_are_read() -> None:
    # 98 brackets inside the document's list and mapping: 100 levels
    roots = compose_all(YAML(typ="safe", pure=True), _nested(98))
    assert roots[0] is not None


def test_deeper_nesting_is_a_located_error() -> None:
    with pytest.raises(YamlLimitError, match="nest more than 100 levels deep") as caught:
        compose_all(YAML(typ="safe", pure=True), _nested(99))
    assert caught.value.where("f.yaml") == "f.yaml:2:108"


def test_the_reader_stops_at_the_limit_without_reading_the_rest() -> None:
    # Text past the limit is never parsed: a syntax error there is not reached, where
    # reading the whole text first would report it (or take minutes to get there).
    text = "- list: l\n  items: " + "[" * 200_000 + " : : {]\n"
    with pytest.raises(YamlLimitError, match="nest more than 100 levels deep"):
        compose_all(YAML(typ="safe", pure=True), text)
