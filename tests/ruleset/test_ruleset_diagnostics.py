"""Diagnostics: context chains, caret snippets, and Falco's text and JSON renderings."""

from __future__ import annotations

import json

from ruleset_helpers import load

from secengine.ruleset.diagnostics import Context, Diagnostic, LoadResult, Position, dump_json
from secengine.ruleset.messages import DeprecatedField, ErrorCode, ItemType, WarningCode

RULES = """- macro: m
  condition: evt.type = open
- rule: some rule
  desc: d
  condition: evt.type = open and bar
  output: o
  priority: INFO
"""


def test_verbose_text_of_an_invalid_file() -> None:
    rs = load(RULES)
    assert rs.results[0].render_text() == (
        "rules.yaml: Invalid\n"
        "1 Errors:\n"
        "In rules content: (rules.yaml:0:0)\n"
        "    rule 'some rule': (rules.yaml:2:2)\n"
        '    condition expression: ("evt.type = open a...":3:23)\n'
        "------\n"
        "evt.type = open and bar\n"
        "                      ^\n"
        "------\n"
        "LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception objects): "
        "Undefined macro 'bar' used in filter.\n"
    )


def test_json_of_an_invalid_file() -> None:
    rs = load(RULES)
    assert rs.render_json() == (
        '{"falco_load_results":[{"errors":[{"code":"LOAD_ERR_VALIDATE","codedesc":'
        '"Error validating rule/macro/list/exception objects","context":{"locations":['
        '{"item_name":"","item_type":"rules content","position":{"column":0,"line":0,'
        '"name":"rules.yaml","offset":0}},{"item_name":"some rule","item_type":"rule",'
        '"position":{"column":2,"line":2,"name":"rules.yaml","offset":42}},{"item_name":"",'
        '"item_type":"condition expression","position":{"column":23,"line":3,'
        '"name":"\\"evt.type = open a...\\"","offset":62}}],"snippet":'
        '"evt.type = open and bar\\n                      ^\\n"},'
        '"message":"Undefined macro \'bar\' used in filter."}],"name":"rules.yaml",'
        '"schema_valid":true,"schema_warnings":[],"successful":false,"warnings":[]}]}'
    )


def test_warnings_text_and_json() -> None:
    rs = load("- macro: m\n  condition: evt.type = open\n")
    result = rs.results[0]
    assert result.render_text() == (
        "rules.yaml: Ok, with warnings\n"
        "1 Warnings:\n"
        "In rules content: (rules.yaml:0:0)\n"
        "    macro 'm': (rules.yaml:0:2)\n"
        "------\n"
        "- macro: m\n"
        "  ^\n"
        "------\n"
        "LOAD_UNUSED_MACRO (Unused macro): Macro not referred to by any other rule/macro\n"
    )
    (w,) = result.as_json()["warnings"]  # type: ignore[misc]
    # warnings carry the long description (errors carry the short one, as in Falco)
    assert w["codedesc"] == WarningCode.LOAD_UNUSED_MACRO.desc
    assert w["context"]["snippet"] == "- macro: m\n  ^\n"


def test_summary_string() -> None:
    rs = load(RULES)
    assert rs.results[0].summary() == (
        "rules.yaml: Invalid\n 1 errors: [LOAD_ERR_VALIDATE (Error validating "
        "rule/macro/list/exception objects)]"
    )
    ok = load("- list: l\n  items: []\n").results[0]
    assert ok.summary() == (
        "rules.yaml: Ok, with warnings\n 1 warnings: [LOAD_UNUSED_LIST (Unused list)]"
    )


def test_deprecated_field_warning_rendering() -> None:
    ctx = Context.root("f.yaml")
    d = Diagnostic(WarningCode.LOAD_DEPRECATED_ITEM, "m", ctx, DeprecatedField.EVT_DIR)
    assert d.short == "Used deprecated item: field 'evt.dir'"
    assert d.codedesc == (
        WarningCode.LOAD_DEPRECATED_ITEM.desc + ": " + DeprecatedField.EVT_DIR.desc
    )
    assert d.as_json({"f.yaml": b"x"})["deprecated_field"] == "evt.dir"


def test_error_codedesc_is_the_short_text() -> None:
    d = Diagnostic(ErrorCode.LOAD_ERR_YAML_VALIDATE, "m", Context.root("f.yaml"))
    assert d.codedesc == "Error validating internal structure of YAML file"
    assert ErrorCode.LOAD_ERR_YAML_VALIDATE.desc.startswith("This occurs when the internal")


# -- snippets -----------------------------------------------------------------------------------


def snippet(content: bytes, offset: int) -> str:
    ctx = Context.root("f").child(Position(offset, 0, 0), ItemType.VALUE_FOR)
    return ctx.snippet({"f": content})


def test_snippet_marks_the_column() -> None:
    assert snippet(b"abc\ndef\nghi\n", 5) == "def\n ^\n"


def test_snippet_past_the_end_or_on_a_newline_walks_back() -> None:
    assert snippet(b"abc\ntags:\n", 100) == "tags:\n    ^\n"
    assert snippet(b"abc\ndef\n", 3) == "abc\n  ^\n"


def test_snippet_of_a_long_line_is_cut_to_the_width() -> None:
    line = bytes(range(ord("a"), ord("z") + 1)) * 10  # 260 characters
    out = snippet(line + b"\n", 130)
    text, caret, _ = out.split("\n")
    assert text.startswith("...") and text.endswith("...")
    assert len(text) == 161
    assert caret == " " * 80 + "^"


def test_snippet_without_content() -> None:
    ctx = Context.root("missing.yaml")
    assert ctx.snippet({}) == "<No context for file + missing.yaml>\n"
    assert ctx.snippet({"missing.yaml": b""}) == "<No context available>\n"


def test_condition_location_arithmetic() -> None:
    parent = Context.root("f").child(Position(100, 5, 13), ItemType.RULE_CONDITION)
    ctx = parent.condition(4, 1, 5, "a and b and c and d and e")
    loc = ctx.locations[-1]
    assert (loc.name, loc.position) == ('"a and b and c and..."', Position(104, 6, 18))
    assert loc.item_type is ItemType.CONDITION_EXPRESSION
    # snippets of conditions are cut from the condition text with the summed offset
    assert ctx.snippet({}) == "a and b and c and d and e\n                        ^\n"
    multiline = parent.condition(0, 0, 0, "x\ny")
    assert multiline.locations[-1].name == '"x y"'


def test_load_result_status() -> None:
    res = LoadResult("f.yaml")
    assert res.successful and not res.has_warnings and res.render_text() == "f.yaml: Ok"
    assert "schema_valid" not in res.as_json()
    res.schema_warnings = ["failed for <root>: x", "ok"]
    assert not res.schema_valid
    assert res.render_text() == (
        "f.yaml: Ok\n2 Schema warnings:\n------\nfailed for <root>: x\n------\nok\n------\n"
    )
    assert res.as_json()["schema_warnings"] == ["failed for <root>: x", "ok"]


def test_dump_json_keeps_utf8_and_escapes_controls() -> None:
    assert dump_json({"b": "é\t\x01", "a": 1}) == '{"a":1,"b":"é\\t\\u0001"}'
    assert json.loads(dump_json({"x": '"/'})) == {"x": '"/'}
