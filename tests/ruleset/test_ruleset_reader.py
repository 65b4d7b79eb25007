"""Stage 1: YAML → items. Item kinds, documents, value decoding and marks."""

from __future__ import annotations

import pytest
from ruleset_helpers import chain, load, only_error, warnings_of

from secengine.priority import Priority
from secengine.ruleset.diagnostics import ItemError, LoadResult
from secengine.ruleset.items import ListInfo, MacroInfo, Op, RuleInfo, RuleUpdateInfo
from secengine.ruleset.reader import parse_priority, read_items
from secengine.ruleset.yamldoc import compose_documents, to_bool, to_uint

RULE = """- rule: r
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
"""


def read(text: str) -> tuple[list[tuple[Op, object]], LoadResult]:
    result = LoadResult("rules.yaml")
    return list(read_items("rules.yaml", text, result)), result


def test_item_kinds_in_order() -> None:
    ops, result = read("""
- required_engine_version: 0.26.0
- required_plugin_versions:
    - name: json
      version: 0.7.0
- list: l
  items: [a, "b c", 1]
- macro: m
  condition: evt.type in (l)
- rule: r
  desc: d
  condition: m
  output: "  out  "
  priority: info
  tags: [b, a, b]
""")
    kinds = [(op, type(item).__name__) for op, item in ops]
    assert kinds == [
        (Op.DEFINE, "EngineVersionInfo"),
        (Op.DEFINE, "PluginVersionInfo"),
        (Op.DEFINE, "ListInfo"),
        (Op.DEFINE, "MacroInfo"),
        (Op.DEFINE, "RuleInfo"),
    ]
    lst = ops[2][1]
    assert isinstance(lst, ListInfo) and lst.items == ["a", "b c", "1"]
    rule = ops[4][1]
    assert isinstance(rule, RuleInfo)
    assert rule.output == "out"  # trimmed
    assert rule.priority is Priority.INFORMATIONAL
    assert rule.source == "syscall" and rule.enabled and rule.warn_evttypes
    assert not rule.skip_if_unknown_filter and not rule.capture and rule.capture_duration == 0
    assert rule.tags == {"a", "b"}
    assert result.warnings == [] and result.errors == []


def test_first_key_decides_the_kind() -> None:
    # 'list' is checked before 'macro'; the macro key is then an unknown key of the list.
    ops, result = read("- macro: m\n  list: l\n  items: []\n")
    assert [type(i) for _, i in ops] == [ListInfo]
    assert [w.message for w in result.warnings] == ["Unknown key 'macro'. The key will be ignored."]


def test_documents_and_null_entries_are_skipped() -> None:
    ops, result = read(
        "---\n---\n- list: a\n  items: []\n-\n- ~\n---\n- macro: m\n  condition: x\n...\n"
    )
    assert [(type(i).__name__, i.name) for _, i in ops] == [  # type: ignore[attr-defined]
        ("ListInfo", "a"),
        ("MacroInfo", "m"),
    ]
    assert result.errors == [] and result.warnings == []


def test_empty_content_is_ok() -> None:
    rs = load("")
    assert rs.successful and rs.results[0].warnings == [] and rs.rules == []
    assert rs.results[0].render_text() == "rules.yaml: Ok"


def test_second_document_error_stops_the_file() -> None:
    rs = load("- list: a\n  items: []\n---\nfoo: bar\n")
    err = only_error(rs.results[0])
    assert err.message == "Rules content is not yaml array of objects"


def test_yaml_parse_error_wins_over_earlier_documents() -> None:
    # yaml-cpp parses every document before reading items: nothing is collected.
    rs = load("- list: a\n  items: []\n---\n- [unclosed\n")
    err = only_error(rs.results[0])
    assert err.code.name == "LOAD_ERR_YAML_PARSE"
    assert err.message.startswith("yaml-cpp: error at line 5, column 1: ")
    assert rs.results[0].warnings == []


def test_macro_mark_and_condition_context() -> None:
    ops, _ = read("# comment\n- macro: m\n  condition: >\n    evt.type = open\n")
    macro = ops[0][1]
    assert isinstance(macro, MacroInfo)
    assert macro.cond == "evt.type = open\n"
    last = macro.cond_ctx.locations[-1]
    assert (
        last.item_type.value,
        last.position.line,
        last.position.column,
        last.position.offset,
    ) == ("macro condition", 2, 13, 34)


def test_marks_count_bytes_like_yaml_cpp() -> None:
    # "é" is two bytes in UTF-8: yaml-cpp's columns and offsets count bytes.
    rs = load("- list: l\n  items: [é]\n- rule: é\n  desc: d\n")
    err = only_error(rs.results[0])
    assert chain(err)[-1] == ("rule", "é", 2, 2)
    assert err.context.locations[-1].position.offset == 26  # 25 in characters
    assert "- rule: é\n  ^\n" in err.context.snippet(rs.contents)


@pytest.mark.parametrize(
    "text,value",
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("yes", True),
        ("Y", True),
        ("on", True),
        ("false", False),
        ("No", False),
        ("OFF", False),
        ("n", False),
        ("tRue", None),
        ("1", None),
        ("", None),
    ],
)
def test_yaml_cpp_bool(text: str, value: bool | None) -> None:
    assert to_bool(text) is value


@pytest.mark.parametrize(
    "text,value",
    [
        ("15", 15),
        ("+15", 15),
        ("0x1F", 31),
        ("017", 15),
        ("0", 0),
        ("15 ", 15),
        ("-1", None),
        (" 15", None),
        ("1.5", None),
        ("4294967296", None),
        ("4294967295", 4294967295),
        ("abc", None),
    ],
)
def test_yaml_cpp_uint(text: str, value: int | None) -> None:
    assert to_uint(text) == value


def test_quoted_yes_is_still_a_bool_for_yaml_cpp() -> None:
    rs = load(RULE + '  capture: "yes"\n  capture_duration: 0x10\n  enabled: Off\n')
    rule = rs.rules[0]
    assert rule.capture is True and rule.capture_duration == 16 and rule.enabled is False


def test_null_versus_empty_string() -> None:
    # A plain empty value is null ("is empty"); a quoted one is an empty scalar.
    assert (
        only_error(load("- macro: m\n  condition:\n").results[0]).message
        == "Mapping for key 'condition' is empty"
    )
    assert (
        only_error(load("- macro: m\n  condition: ''\n").results[0]).message
        == "Value must be non-empty"
    )
    assert (
        only_error(load("- macro: m\n  condition: ~\n").results[0]).message
        == "Mapping for key 'condition' is empty"
    )


def test_optional_keys_may_not_be_null() -> None:
    err = only_error(load(RULE + "  enabled:\n").results[0])
    assert err.message == "Mapping for key 'enabled' is empty"


def test_source_may_be_empty_only_on_appends() -> None:
    rs = load(RULE + "- rule: r\n  condition: and proc.name=cat\n  source:\n  append: true\n")
    assert rs.successful
    assert (
        only_error(load(RULE + "  source:\n").results[0]).message
        == "Mapping for key 'source' is empty"
    )


@pytest.mark.parametrize(
    "text,priority",
    [
        ("emergency", Priority.EMERGENCY),
        ("ALERT", Priority.ALERT),
        ("Critical", Priority.CRITICAL),
        ("error", Priority.ERROR),
        ("WARNING", Priority.WARNING),
        ("notice", Priority.NOTICE),
        ("informational", Priority.INFORMATIONAL),
        ("Info", Priority.INFORMATIONAL),
        ("DEBUG", Priority.DEBUG),
        ("warn", None),
        (" info", None),
        ("infö", None),
    ],
)
def test_priority_names(text: str, priority: Priority | None) -> None:
    assert parse_priority(text) is priority


def test_rule_with_only_enabled_is_an_enable() -> None:
    ops, result = read("- rule: r\n  enabled: false\n")
    assert ops[0][0] is Op.ENABLE and ops[0][1].enabled is False  # type: ignore[attr-defined]
    assert [w.code.name for w in result.warnings] == ["LOAD_DEPRECATED_ITEM"]


def test_rule_append_flag_gives_an_update() -> None:
    ops, _ = read(
        "- rule: r\n  condition: and x\n  exceptions:\n    - name: e\n"
        "      values: [a]\n  append: true\n"
    )
    op, update = ops[0]
    assert op is Op.APPEND and isinstance(update, RuleUpdateInfo)
    assert update.cond == "and x" and update.exceptions is not None
    assert update.exceptions[0].name == "e" and not update.exceptions[0].fields.is_valid()
    # the append condition context points at the appended condition
    assert update.cond_ctx.locations[-1].position.line == 1


def test_override_append_and_replace_in_one_item() -> None:
    ops, _ = read(
        "- rule: r\n  desc: more\n  condition: and x\n  priority: ERROR\n"
        "  override:\n    desc: append\n    condition: append\n    priority: replace\n"
    )
    (op1, app), (op2, rep) = ops
    assert op1 is Op.APPEND and op2 is Op.REPLACE
    assert isinstance(app, RuleUpdateInfo) and isinstance(rep, RuleUpdateInfo)
    assert (app.desc, app.cond, app.priority) == ("more", "and x", None)
    assert (rep.desc, rep.cond, rep.priority) == (None, None, Priority.ERROR)


def test_override_of_a_sequence_is_an_invalid_node() -> None:
    err = only_error(load(RULE + "- rule: r\n  condition: x\n  override: [condition]\n").results[0])
    assert err.code.name == "LOAD_ERR_VALIDATE"
    assert err.message.startswith("invalid node; this may result from using a map iterator")


def test_override_with_a_null_operation() -> None:
    err = only_error(
        load(RULE + "- rule: r\n  condition: x\n  override:\n    condition:\n").results[0]
    )
    assert err.message == (
        "Invalid override operation for key 'condition': 'null'. "
        "Allowed values are: append replace "
    )


def test_unknown_keys_are_reported_per_key_after_the_item() -> None:
    rs = load(
        "- list: l\n  items: [a]\n  priority: INFO\n  foo: 1\n"
        "- rule: r\n  desc: d\n  condition: evt.type=open and proc.name in (l)\n"
        "  output: o\n  priority: INFO\n"
    )
    msgs = [w.message for w in warnings_of(rs.results[0], "LOAD_UNKNOWN_KEY")]
    assert msgs == [
        "Unknown key 'priority'. The key will be ignored.",
        "Unknown key 'foo'. The key will be ignored.",
    ]
    assert rs.successful


def test_plugin_version_unknown_keys_use_the_item_context() -> None:
    rs = load("- required_plugin_versions:\n    - name: json\n      version: 0.7.0\n  extra: 1\n")
    (w,) = warnings_of(rs.results[0], "LOAD_UNKNOWN_KEY")
    assert chain(w)[-1] == ("required plugin versions", "", 0, 2)


def test_compose_keeps_every_document() -> None:
    doc = compose_documents("- a\n---\n- b\n")
    assert len(doc.roots) == 2


def test_decode_errors_stop_reading_before_later_items() -> None:
    result = LoadResult("rules.yaml")
    items = read_items("rules.yaml", "- list: a\n  items: []\n- list:\n", result)
    assert next(items)[1].name == "a"  # type: ignore[attr-defined]
    with pytest.raises(ItemError) as exc:
        next(items)
    assert exc.value.message == "Mapping for key 'list' is empty"


def test_reader_alone_rejects_collection_keys() -> None:
    # (through load_rules the schema check meets such a key first: see the messages table)
    with pytest.raises(ItemError) as exc:
        read(RULE + "- rule: r\n  condition: x\n  override: {[condition]: append}\n")
    assert exc.value.code.name == "LOAD_ERR_VALIDATE"
    assert exc.value.message == "yaml-cpp: error at line 8, column 14: bad conversion"
