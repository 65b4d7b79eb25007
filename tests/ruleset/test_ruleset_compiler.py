"""Stage 3: macros with visibility, rules, warnings, skip-if-unknown-filter, outputs."""

from __future__ import annotations

import pytest
from ruleset_helpers import chain, load, only_error, warnings_of


def rule(condition: str, output: str = "o", extra: str = "", name: str = "r") -> str:
    return (
        f"- rule: {name}\n  desc: d\n  condition: {condition}\n  output: {output}\n"
        f"  priority: INFO\n{extra}"
    )


# -- macros -----------------------------------------------------------------------------------


def test_macros_expand_recursively_keeping_precedence() -> None:
    rs = load(
        "- macro: a\n  condition: evt.type = open or evt.type = openat\n"
        "- macro: b\n  condition: a and proc.name = cat\n" + rule("b and not a")
    )
    # macro bodies are inlined as subtrees: the nested 'and' of b is not flattened
    assert rs.rule("r").condition_compiled == (
        "(((evt.type = open or evt.type = openat) and proc.name = cat) and not "
        "(evt.type = open or evt.type = openat))"
    )
    assert rs.rule("r").evttypes is not None and rs.rule("r").evttypes == frozenset()
    assert all(m.used for m in rs.macros.values())


def test_a_macro_sees_only_earlier_macros() -> None:
    rs = load("- macro: a\n  condition: b\n- macro: b\n  condition: evt.type = open\n" + rule("a"))
    err = only_error(rs.results[0])
    assert (err.code.name, err.message) == (
        "LOAD_ERR_VALIDATE",
        "Undefined macro 'b' used in filter.",
    )
    assert chain(err) == [
        ("rules content", "", 0, 0),
        ("macro", "a", 0, 2),
        ("condition expression", "", 1, 3),
    ]


def test_rules_see_every_macro() -> None:
    rs = load(rule("later") + "- macro: later\n  condition: evt.type = open\n")
    assert rs.successful and rs.rule("r").condition_compiled == "evt.type = open"


def test_macro_reference_loop() -> None:
    rs = load(
        "- macro: a\n  condition: evt.type = open\n- macro: b\n  condition: a\n"
        "- macro: a\n  condition: b\n" + rule("a")
    )
    err = only_error(rs.results[0])
    # resolving a's body: b → a → b, and b is the first name met twice
    assert (err.code.name, err.message) == ("LOAD_ERR_VALIDATE", "reference loop in macro 'b'")
    # a redefinition replaces the whole item, context included
    assert chain(err)[1] == ("macro", "a", 4, 2)


def test_macro_parse_error_is_reported_on_the_macro() -> None:
    rs = load(
        "- macro: some_macro\n  condition: evt.type=execve\n"
        "- macro: some_macro\n  condition: foo\n  append: true\n" + rule("some_macro")
    )
    err = only_error(rs.results[0])
    assert err.code.name == "LOAD_ERR_COMPILE_CONDITION"
    assert err.message == "unexpected token after 'execve', expecting 'or', 'and'"
    # the context is the first definition of the macro and its (joined) condition
    assert chain(err)[1:3] == [("macro", "some_macro", 0, 2), ("macro condition", "", 1, 13)]
    assert err.context.alt_content == b"evt.type=execve foo"


def test_unused_macros_and_lists_are_reported_last() -> None:
    rs = load(
        "- list: l\n  items: [a]\n- macro: m\n  condition: evt.type = open\n"
        "- macro: used\n  condition: evt.type = close\n" + rule("used")
    )
    assert [(w.code.name, w.message, chain(w)[-1][:2]) for w in rs.results[0].warnings] == [
        ("LOAD_UNUSED_MACRO", "Macro not referred to by any other rule/macro", ("macro", "m")),
        ("LOAD_UNUSED_LIST", "List not referred to by any other rule/macro", ("list", "l")),
    ]


# -- condition errors -------------------------------------------------------------------------


def test_condition_parse_error_position() -> None:
    from secengine.errors import ConditionSyntaxError
    from secengine.lang import parse_condition

    with pytest.raises(ConditionSyntaxError) as exc:
        parse_condition("evt.type = open and")
    rs = load(rule("evt.type = open and"))
    err = only_error(rs.results[0])
    assert (err.code.name, err.message) == ("LOAD_ERR_COMPILE_CONDITION", exc.value.message)
    # the parser position (1-based) is added to the YAML mark of the condition (0-based)
    assert exc.value.line is not None and exc.value.column is not None
    assert chain(err)[2:] == [
        ("rule condition", "", 2, 13),
        ("condition expression", "", 2 + exc.value.line, 13 + exc.value.column),
    ]
    assert err.context.locations[-1].name == '"evt.type = open and"'


def test_unknown_field_and_event_type_and_numeric_contains() -> None:
    for cond, message in [
        (
            "evt.type = open and proc.nobody = cat",
            "filter_check called with nonexistent field proc.nobody",
        ),
        ("evt.type in (open, list_a)", "unknown event type list_a"),
        (
            "evt.type = open and proc.pid contains 1",
            "filter error: 'contains' operator not supported for numeric filters",
        ),
    ]:
        err = only_error(load(rule(cond)).results[0])
        assert (err.code.name, err.message) == ("LOAD_ERR_COMPILE_CONDITION", message)


def test_append_that_breaks_the_syntax_reports_the_base_rule() -> None:
    rs = load(rule("evt.type=open") + "- rule: r\n  condition: proc.name=cat\n  append: true\n")
    err = only_error(rs.results[0])
    assert err.message == "unexpected token after 'open', expecting 'or', 'and'"
    assert chain(err)[1] == ("rule", "r", 0, 2)


# -- skip-if-unknown-filter ---------------------------------------------------------------------

UNKNOWN_FILTER_CASES = [
    (
        "Contains Unknown Event And Skipping (field)",
        "evt.type=open and proc.nobody=cat",
        "o",
        "filter_check called with nonexistent field proc.nobody",
        "condition expression",
    ),
    (
        "Contains Unknown Event And Skipping (evt type)",
        "evt.type=some_invalid_event",
        "o",
        "unknown event type some_invalid_event",
        "condition expression",
    ),
    (
        "Contains Unknown Event And Skipping (output)",
        "evt.type=open",
        "o %proc.nobody",
        None,
        "rule output",
    ),
]


@pytest.mark.parametrize("name,cond,output,message,where", UNKNOWN_FILTER_CASES)
def test_skip_if_unknown_filter(
    name: str, cond: str, output: str, message: str | None, where: str
) -> None:
    rs = load(
        rule(cond, output, "  skip-if-unknown-filter: true\n", name=name)
        + rule("evt.type = close", name="kept")
    )
    assert rs.successful
    assert [r.name for r in rs.rules] == ["kept"]
    (w,) = rs.results[0].warnings
    assert w.code.name == "LOAD_UNKNOWN_FILTER"
    assert chain(w)[1][:2] == ("rule", name)
    assert chain(w)[-1][0] == where
    if message is not None:
        assert w.message == message


def test_without_skip_unknown_filters_are_errors() -> None:
    err = only_error(
        load(
            rule("evt.type=open and proc.nobody=cat", name="Contains Unknown Event And Unspecified")
        ).results[0]
    )
    assert err.message == "filter_check called with nonexistent field proc.nobody"
    err = only_error(load(rule("evt.type=open", "o %proc.nobody")).results[0])
    assert err.code.name == "LOAD_ERR_COMPILE_OUTPUT"
    assert chain(err)[-1] == ("rule output", "", 3, 10)


def test_skip_does_not_hide_other_errors() -> None:
    err = only_error(
        load(rule("evt.type = open and", extra="  skip-if-unknown-filter: true\n")).results[0]
    )
    assert err.code.name == "LOAD_ERR_COMPILE_CONDITION"


# -- warnings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cond,warns",
    [
        ("evt.type = close", False),
        ("proc.name = cat", True),
        ("not evt.type = open", True),
        ("evt.num = 0", False),
        ("evt.type = open and evt.type = close", False),
    ],
)
def test_no_evttype_warning(cond: str, warns: bool) -> None:
    rs = load(rule(cond))
    assert rs.successful
    assert bool(warnings_of(rs.results[0], "LOAD_NO_EVTTYPE")) is warns
    rs = load(rule(cond, extra="  warn_evttypes: false\n"))
    assert not warnings_of(rs.results[0], "LOAD_NO_EVTTYPE")


def test_no_evttype_counts_event_codes_not_names() -> None:
    from secengine.fields import event_names
    from secengine.fields.event_names import event_code_count

    # each syscall name covers at least its enter and exit events
    with_codes = sorted(
        n
        for n in event_names.syscall_event_names()
        if len(event_names.event_codes(n)) >= 2 and n not in ("syscall", "NA")
    )
    names = with_codes[:60]
    assert event_code_count(frozenset(names)) > 100
    rs = load(rule(f"evt.type in ({', '.join(names)})"))
    assert rs.successful and warnings_of(rs.results[0], "LOAD_NO_EVTTYPE")
    # generic syscalls all map to the two generic events
    assert event_code_count(frozenset({"madvise", "acct", "alarm"})) == 2
    assert event_code_count(frozenset({"open", "openat"})) == 6
    assert event_code_count(frozenset({"syscall"})) == 0


def test_never_true_placeholders_do_not_warn() -> None:
    rs = load(
        "- macro: never_true\n  condition: (evt.num=0)\n"
        "- macro: user_known_activity\n  condition: (never_true)\n"
        + rule("evt.type = open and not user_known_activity", name="anchored")
        + rule("never_true", name="placeholder_only")
    )
    assert rs.successful and rs.results[0].warnings == []
    assert len(rs.rules) == 2


def test_no_evttype_only_for_syscall_rules() -> None:
    rs = load(rule("proc.name = cat", extra="  source: other\n"), extra_sources=["other"])
    assert not warnings_of(rs.results[0], "LOAD_NO_EVTTYPE")


def test_unsafe_na_check_once_with_empty_message() -> None:
    rs = load(rule('evt.type = open and container.image.repository = "<NA>"'))
    assert rs.successful
    assert not warnings_of(rs.results[0], "LOAD_UNSAFE_NA_CHECK")  # only ka.* / jevt.*
    rs = load(
        rule('evt.type = open and (jevt.value[/a] = "<NA>" or jevt.value[/b] in (x, <NA>))'),
        extra_sources=(),
    )
    (w,) = warnings_of(rs.results[0], "LOAD_UNSAFE_NA_CHECK")
    assert w.message == ""
    assert chain(w)[-1] == ("condition expression", "", 2, 13)


def test_deprecated_field_in_condition_points_at_the_condition_text() -> None:
    rs = load(
        "- rule: test_rule\n  desc: test rule\n  condition: >\n"
        "    evt.type = close and evt.dir = <\n  output: user=%user.name\n"
        "  priority: INFO\n"
    )
    assert rs.successful
    (w,) = warnings_of(rs.results[0], "LOAD_DEPRECATED_ITEM")
    assert w.deprecated_field is not None and w.deprecated_field.field_name == "evt.dir"
    assert w.message.startswith("due to the drop of enter events, 'evt.dir = <'")
    snippet = w.context.snippet(rs.contents)
    assert "condition: >" not in snippet and "evt.dir" in snippet


def test_deprecated_field_via_macro() -> None:
    rs = load(
        "- macro: spawned_process\n  condition: evt.type in (execve, execveat) and "
        "evt.dir = <\n- rule: test_rule\n  desc: test rule\n  condition: >\n"
        "    spawned_process and proc.name = bash\n  output: command=%proc.cmdline\n"
        "  priority: INFO\n"
    )
    (w,) = warnings_of(rs.results[0], "LOAD_DEPRECATED_ITEM")
    snippet = w.context.snippet(rs.contents)
    assert "spawned_process" in snippet and "condition: >" not in snippet


def test_deprecated_fields_in_output() -> None:
    rs = load(rule("evt.type = close", "lat=%evt.latency.human dir=%evt.dir"))
    found = [
        (w.deprecated_field.field_name, w.message)  # type: ignore[union-attr]
        for w in warnings_of(rs.results[0], "LOAD_DEPRECATED_ITEM")
    ]
    # a plain substring search, as Falco does: evt.latency also matches evt.latency.human
    assert found == [
        ("evt.dir", "usage of deprecated field 'evt.dir' has been detected in the rule output"),
        (
            "evt.latency",
            ("usage of deprecated field 'evt.latency' has been detected in the rule output"),
        ),
        (
            "evt.latency.human",
            ("usage of deprecated field 'evt.latency.human' has been detected in the rule output"),
        ),
    ]


def test_container_info_is_removed_with_a_warning() -> None:
    rs = load(rule("evt.type = close", "o %container.info x"))
    assert rs.rule("r").output == "o  x"
    (w,) = warnings_of(rs.results[0], "LOAD_DEPRECATED_ITEM")
    assert w.message.startswith("%container.info is deprecated")


def test_compile_warnings_have_their_position() -> None:
    rs = load(rule("evt.type = open and proc.name regex bash"))
    (w,) = warnings_of(rs.results[0], "LOAD_COMPILE_CONDITION")
    assert w.message.startswith("regex check with 'bash' may be optimized")
    assert chain(w)[-1][0] == "condition expression"


# -- the compiled rule ------------------------------------------------------------------------


def test_rule_fields() -> None:
    rs = load(
        rule(
            "evt.type in (open, openat) and proc.name = cat",
            "file=%fd.name",
            "  tags: [z, a]\n  capture: true\n  capture_duration: 5000\n  enabled: false\n",
        )
    )
    r = rs.rule("r")
    assert (r.source, r.desc, r.output, r.tags, r.enabled) == (
        "syscall",
        "d",
        "file=%fd.name",
        ("a", "z"),
        False,
    )
    assert (r.capture, r.capture_duration, r.warn_evttypes) == (True, 5000, True)
    assert r.evttypes == frozenset({"open", "openat"})
    assert r.condition_text == "evt.type in (open, openat) and proc.name = cat"
    assert r.output_format.text == "file=%fd.name"
    assert r.checked is not None
