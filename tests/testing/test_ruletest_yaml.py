"""secengine.testing.yamlsource: YAML 1.2 values with the line of every path."""

from __future__ import annotations

import pytest

from secengine.testing.yamlsource import line_of, load_yaml


def test_values_and_lines() -> None:
    doc = load_yaml("a: 1\nb:\n  - x\n  - {c: true, d: null}\ne: yes\n")
    assert doc.data == {"a": 1, "b": ["x", {"c": True, "d": None}], "e": "yes"}
    assert doc.lines[("a",)] == 1
    assert doc.lines[("b", 0)] == 3
    assert doc.lines[("b", 1, "c")] == 4


def test_anchors_aliases_and_merge_keys() -> None:
    doc = load_yaml(
        "base: &b {x: 1, y: 2}\n"
        "other: &o {z: 3}\n"
        "one:\n  <<: *b\n  y: 20\n"
        "two:\n  <<: [*b, *o]\n"
        "three: *b\n"
    )
    assert doc.data["one"] == {"x": 1, "y": 20}
    assert doc.data["two"] == {"x": 1, "y": 2, "z": 3}
    assert doc.data["three"] == {"x": 1, "y": 2}
    # aliased values are separate copies
    assert doc.data["three"] is not doc.data["base"]


def test_folded_scalars_have_no_fold_markers() -> None:
    doc = load_yaml("t: >\n  one\n  two\n")
    assert doc.data["t"] == "one two\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\na: 2\n", "line 2: duplicate key 'a'"),
        ("a: [1, 2\n", "invalid YAML"),
        ("a: 1\n---\nb: 2\n", "exactly one YAML document"),
        ("", "exactly one YAML document"),
        ("a:\n  <<: 3\n", "'<<' needs a mapping"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_yaml(text)


def test_line_of_skips_unknown_parts() -> None:
    lines = {(): 1, ("cases",): 2, ("cases", 0): 3, ("cases", 0, "events"): 4}
    assert line_of(lines, ("cases", 0, "events", 7, "inline", "fields")) == 4
    assert line_of(lines, ("nope",)) == 1
