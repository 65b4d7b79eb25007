"""Several files: one shared collector, recompilation after each file, Falco's failure semantics.

The two-file cases follow falcosecurity/testing's ``legacy_test.go``.
"""

from __future__ import annotations

from pathlib import Path

from ruleset_helpers import chain, load, only_error, warnings_of

from secengine.sources.specs import load_rules

BASE_MACRO = "- macro: some_macro\n  condition: evt.type=execve\n"
BASE_RULE = (
    "- rule: some rule\n  desc: some desc\n  condition: evt.type=open\n"
    "  output: some output\n  priority: INFO"
)


def test_overwrite_macro_in_a_second_file() -> None:
    rs = load(
        BASE_MACRO,
        "- macro: some_macro\n  condition: foo\n  append: false\n",
        names=("invalid_base_macro.yaml", "invalid_overwrite_macro.yaml"),
    )
    first, second = rs.results
    assert first.successful
    assert [(w.code.name, chain(w)[-1][:2]) for w in first.warnings] == [
        ("LOAD_UNUSED_MACRO", ("macro", "some_macro"))
    ]
    err = only_error(second)
    assert (err.code.name, err.message) == (
        "LOAD_ERR_VALIDATE",
        "Undefined macro 'foo' used in filter.",
    )
    assert chain(err)[1] == ("macro", "some_macro", 0, 2)
    assert err.context.name == "invalid_overwrite_macro.yaml"


def test_append_macro_in_a_second_file_breaks_the_base() -> None:
    rs = load(
        BASE_MACRO,
        "- macro: some_macro\n  condition: foo\n  append: true\n",
        names=("invalid_base_macro.yaml", "invalid_append_macro.yaml"),
    )
    err = only_error(rs.results[1])
    assert (err.code.name, err.message) == (
        "LOAD_ERR_COMPILE_CONDITION",
        "unexpected token after 'execve', expecting 'or', 'and'",
    )
    # the error points into the first file, where the macro was defined
    assert chain(err)[1] == ("macro", "some_macro", 0, 2)
    assert err.context.locations[1].name == "invalid_base_macro.yaml"
    assert err.context.snippet(rs.contents) == "evt.type=execve foo\n                  ^\n"


def test_append_rule_in_a_second_file_breaks_the_base() -> None:
    rs = load(
        BASE_RULE,
        "- rule: some rule\n  desc: some desc\n  condition: bar\n"
        "  output: some output\n  priority: INFO\n  append: true",
    )
    assert rs.results[0].successful
    err = only_error(rs.results[1])
    assert err.message == "unexpected token after 'open', expecting 'or', 'and'"


def test_overwrite_rule_in_multiple_documents() -> None:
    rs = load(
        "---\n" + BASE_RULE + "\n---\n- rule: some rule\n  desc: some desc\n"
        "  condition: bar\n  output: some output\n  priority: INFO\n  append: false"
    )
    err = only_error(rs.results[0])
    assert err.message == "Undefined macro 'bar' used in filter."
    assert chain(err)[1] == ("rule", "some rule", 7, 2)


def test_later_files_redefine_and_the_order_is_kept() -> None:
    rs = load(
        BASE_MACRO + "- rule: a\n  desc: d\n  condition: some_macro\n  output: o\n"
        "  priority: INFO\n"
        "- rule: b\n  desc: d\n  condition: evt.type=close\n  output: o\n"
        "  priority: INFO\n",
        "- macro: some_macro\n  condition: evt.type=open\n"
        "- rule: c\n  desc: d\n  condition: evt.type=openat\n  output: o\n"
        "  priority: INFO\n"
        "- rule: a\n  desc: redefined\n  condition: some_macro and proc.name=cat\n"
        "  output: o\n  priority: INFO\n",
    )
    assert rs.successful
    assert [r.name for r in rs.rules] == ["a", "b", "c"]
    assert rs.rule("a").desc == "redefined"
    assert rs.rule("a").condition_compiled == "(evt.type = open and proc.name = cat)"


def test_a_failing_file_keeps_the_previous_rules() -> None:
    ok = "- rule: a\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n"
    bad = (
        "- rule: b\n  desc: d\n  condition: evt.type=close\n  output: o\n  priority: INFO\n"
        "- rule: c\n  desc: d\n"
    )
    rs = load(ok, bad)
    assert [r.successful for r in rs.results] == [True, False]
    assert [r.name for r in rs.rules] == ["a"]
    assert not rs.successful
    # what the failing file collected before its error stays collected, as in Falco
    rs = load(ok, bad, "- list: l\n  items: []\n")
    assert [r.successful for r in rs.results] == [True, False, True]
    assert [r.name for r in rs.rules] == ["a", "b"]


def test_warnings_about_earlier_files_are_repeated() -> None:
    rs = load("- list: unused\n  items: []\n", "- macro: m2\n  condition: evt.type=open\n")
    second = rs.results[1]
    assert [(w.code.name, w.context.name) for w in second.warnings] == [
        ("LOAD_UNUSED_MACRO", "rules1.yaml"),
        ("LOAD_UNUSED_LIST", "rules.yaml"),
    ]
    # snippets come from the file each location names
    assert "- list: unused\n  ^\n" in second.render_text()


def test_unknown_file() -> None:
    rs = load_rules(["/nonexistent/rules.yaml"])
    err = only_error(rs.results[0])
    assert (err.code.name, err.message) == (
        "LOAD_ERR_FILE_READ",
        ("Could not open file /nonexistent/rules.yaml for reading"),
    )
    assert rs.results[0].render_text() == (
        "/nonexistent/rules.yaml: Invalid\n1 Errors:\n"
        "In rules content: (/nonexistent/rules.yaml:0:0)\n------\n"
        "<No context for file + /nonexistent/rules.yaml>\n------\n"
        "LOAD_ERR_FILE_READ (File read error): Could not open file /nonexistent/rules.yaml for "
        "reading\n"
    )


def test_paths_and_in_memory_content(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("- macro: m\n  condition: evt.type=open\n")
    rs = load_rules([path, str(path), ("mem.yaml", "- list: l\n  items: []\n")])
    assert [r.name for r in rs.results] == [str(path), str(path), "mem.yaml"]
    assert rs.contents["mem.yaml"] == b"- list: l\n  items: []\n"
    assert all(r.successful for r in rs.results)


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf- list: l\n  items: []\n")
    rs = load_rules([path])
    assert rs.successful and warnings_of(rs.results[0], "LOAD_UNUSED_LIST")


def test_extra_sources() -> None:
    text = (
        "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n"
        "  source: aws_cloudtrail\n"
    )
    assert warnings_of(load(text).results[0], "LOAD_UNKNOWN_SOURCE")
    # an extra source is known, so its rules are compiled against the registry's
    # fields for it (none here)
    rs = load(text, extra_sources=["aws_cloudtrail"])
    assert not warnings_of(rs.results[0], "LOAD_UNKNOWN_SOURCE")
    assert only_error(rs.results[0]).message == (
        "filter_check called with nonexistent field evt.type"
    )
