"""Rule exceptions: both forms, their rewrite into condition text, and their validation.

Golden strings are Falco's: ``build_rule_exception_infos`` output for the
text, and ``condition_compiled`` (from Falco's unit tests) after parsing.
"""

from __future__ import annotations

import pytest
from ruleset_helpers import load, only_error

from secengine.ruleset.diagnostics import Context, ItemError
from secengine.ruleset.exceptions import (
    build_exception_condition,
    is_operator_for_list,
    is_str_operator_with_modifier,
    paren_item,
    quote_item,
    validate_exception,
)
from secengine.ruleset.items import ExceptionEntry, ExceptionInfo

CTX = Context.root("rules.yaml")


def entry(value: object) -> ExceptionEntry:
    if isinstance(value, list):
        return ExceptionEntry(is_list=True, items=[entry(v) for v in value])
    return ExceptionEntry(item=str(value))


def exc(
    fields: object, comps: object = None, values: list[object] | None = None, name: str = "e"
) -> ExceptionInfo:
    info = ExceptionInfo(
        CTX,
        name,
        entry(fields),
        entry(comps) if comps is not None else ExceptionEntry(),
        [entry(v) for v in values or []],
    )
    validate_exception("syscall", info, None)
    return info


@pytest.mark.parametrize(
    "item,quoted",
    [
        ("cat", "cat"),
        ("curl 127.0.0.1", '"curl 127.0.0.1"'),
        ('"a b"', '"a b"'),
        ("'a b'", "'a b'"),
        ("", ""),
        ("(x y)", '"(x y)"'),
    ],
)
def test_quote_item(item: str, quoted: str) -> None:
    assert quote_item(item) == quoted


@pytest.mark.parametrize("item,wrapped", [("a", "(a)"), ("(a, b)", "(a, b)"), ("", "()")])
def test_paren_item(item: str, wrapped: str) -> None:
    assert paren_item(item) == wrapped


@pytest.mark.parametrize(
    "op,modifier,for_list",
    [
        ("in", False, True),
        ("pmatch", False, True),
        ("intersects", False, True),
        ("startswith oneof", True, True),
        ("= anyof", True, True),
        ("contains allof", True, True),
        ("regex oneof", True, True),
        ("in oneof", False, False),
        (">= oneof", False, False),
        ("oneof", False, False),
        ("startswith  oneof", False, False),
        ("=", False, False),
        ("frobulate oneof", False, False),
    ],
)
def test_operator_tables(op: str, modifier: bool, for_list: bool) -> None:
    assert is_str_operator_with_modifier(op) is modifier
    assert is_operator_for_list(op) is for_list


# -- text rewriting ------------------------------------------------------------------------------

REWRITES = [
    # single form: default comp "in", values quoted when they hold a space
    (
        [exc("proc.name", None, ["cat", "my tool"])],
        '(evt.type = open) and not (proc.name in (cat, "my tool"))',
    ),
    (
        [exc("proc.exepath", "pmatch", ["/usr/bin/", "/usr/local/bin/"])],
        "(evt.type = open) and not (proc.exepath pmatch (/usr/bin/, /usr/local/bin/))",
    ),
    # tuple form: default comps "=", one parenthesised conjunction per value tuple
    (
        [exc(["proc.name", "fd.name"], None, [["cat", "/etc/passwd"], ["vi", "/etc/x y"]])],
        (
            "(evt.type = open) and not (( proc.name = cat and  fd.name = /etc/passwd) or "
            '( proc.name = vi and  fd.name = "/etc/x y"))'
        ),
    ),
    # list operators wrap scalars in parentheses (so a list name expands); lists stay lists
    (
        [exc(["proc.name", "fd.name"], ["in", "startswith"], [["shells", "/etc/"]])],
        "(evt.type = open) and not (( proc.name in (shells) and  fd.name startswith /etc/))",
    ),
    (
        [exc(["proc.name"], ["startswith oneof"], [[["sshd", "sudo"]]])],
        "(evt.type = open) and not (( proc.name startswith oneof (sshd, sudo)))",
    ),
    (
        [exc(["proc.name"], ["in"], [["(already)"]])],
        "(evt.type = open) and not (( proc.name in (already)))",
    ),
    # exceptions without values add nothing
    ([exc("proc.name"), exc(["proc.name"], name="f")], "(evt.type = open)"),
    # several exceptions each add " and not ..."
    (
        [exc("proc.name", None, ["a"]), exc(["fd.name"], ["contains"], [["x"]], name="f")],
        "(evt.type = open) and not (proc.name in (a)) and not (( fd.name contains x))",
    ),
]


@pytest.mark.parametrize("exceptions,text", REWRITES)
def test_exception_condition_text(exceptions: list[ExceptionInfo], text: str) -> None:
    fields: set[str] = set()
    assert build_exception_condition("evt.type = open", exceptions, fields) == text
    assert fields == {
        f
        for e in exceptions
        if e.values
        for f in ([i.item for i in e.fields.items] if e.fields.is_list else [e.fields.item])
    }


def test_exception_value_shape_errors() -> None:
    with pytest.raises(ItemError) as err:
        build_exception_condition("x", [exc("proc.name", None, [["a"]])], set())
    assert err.value.message == "Expected values array to contain a list of strings"
    with pytest.raises(ItemError) as err:
        build_exception_condition("x", [exc(["proc.name", "fd.name"], None, [["a"]])], set())
    assert err.value.message == "Fields and values lists must have equal length"


def test_validation_defaults_and_trims_comps() -> None:
    tuple_form = exc(["proc.name", "fd.name"])
    assert [c.item for c in tuple_form.comps.items] == ["=", "="]
    assert exc("proc.name").comps.item == "in"
    assert exc(["proc.name"], ["  startswith oneof  "]).comps.items[0].item == "startswith oneof"
    assert exc("proc.name", " pmatch ").comps.item == "pmatch"


# -- through the loader (Falco's unit tests) ----------------------------------------------------

BASE = """- rule: test_rule
  desc: test rule
  condition: {cond}
  output: command=%proc.cmdline
  priority: INFO
  exceptions:
"""


def compiled(exceptions: str, cond: str = "evt.type = open") -> str:
    rs = load(BASE.format(cond=cond) + exceptions)
    assert rs.successful, rs.render_text()
    return rs.rule("test_rule").condition_compiled


@pytest.mark.parametrize(
    "exceptions,cond,expected",
    [
        (
            (
                "    - name: test_exception\n      fields: [proc.cmdline]\n      comps: [contains]\n"
                "      values:\n        - [curl 127.0.0.1]\n"
            ),
            "proc.cmdline contains curl or proc.cmdline contains wget",
            (
                "((proc.cmdline contains curl or proc.cmdline contains wget) and not proc.cmdline "
                'contains "curl 127.0.0.1")'
            ),
        ),
        (
            (
                "    - name: ex\n      fields: [proc.name]\n      comps: [startswith oneof]\n"
                "      values:\n        - [[sshd, sudo, systemd]]\n"
            ),
            "evt.type = open",
            "(evt.type = open and not proc.name startswith oneof (sshd, sudo, systemd))",
        ),
        (
            (
                "    - name: ex\n      fields: [proc.name, fd.name]\n      comps: [startswith oneof, "
                "startswith]\n      values:\n        - [[sshd, sudo], /etc/]\n"
            ),
            "evt.type = open",
            (
                "(evt.type = open and not (proc.name startswith oneof (sshd, sudo) and "
                "fd.name startswith /etc/))"
            ),
        ),
        (
            (
                "    - name: ex\n      fields: [proc.name]\n      comps: [= oneof]\n      values:\n"
                "        - [[nmap, masscan, nikto]]\n"
            ),
            "evt.type = execve",
            "(evt.type = execve and not proc.name = oneof (nmap, masscan, nikto))",
        ),
        (
            (
                "    - name: ex\n      fields: [proc.name]\n      comps: [startswith oneof]\n"
                "      values:\n        - [sshd]\n"
            ),
            "evt.type = open",
            "(evt.type = open and not proc.name startswith oneof (sshd))",
        ),
        (
            (
                '    - name: ex_single\n      fields: [proc.name]\n      comps: ["  startswith oneof  "]\n'
                "      values:\n        - [[sshd, sudo]]\n    - name: ex_multi\n"
                '      fields: [proc.name, fd.name]\n      comps: ["  contains  ", '
                '"  startswith anyof  "]\n      values:\n        - [agent, [/etc/, /var/]]\n'
            ),
            "evt.type = open",
            (
                "(evt.type = open and not proc.name startswith oneof (sshd, sudo) and not "
                "(proc.name contains agent and fd.name startswith anyof (/etc/, /var/)))"
            ),
        ),
        (
            (
                "    - name: ex\n      fields: [proc.name, fd.name, proc.exepath]\n"
                "      comps: [contains, startswith, =]\n      values:\n"
                "        - [agent, /var/log/, /usr/bin/prometheus]\n"
            ),
            "evt.type = open",
            (
                "(evt.type = open and not (proc.name contains agent and fd.name startswith /var/log/ and "
                "proc.exepath = /usr/bin/prometheus))"
            ),
        ),
        (
            (
                "    - name: test_exception\n      fields: [tolower(proc.name)]\n      comps: [=]\n"
                "      values:\n        - [test]\n"
            ),
            "evt.type = open",
            "(evt.type = open and not tolower(proc.name) = test)",
        ),
        (
            (
                "    - name: test_exception\n      fields: [proc.name]\n      comps: [=]\n"
                "      values:\n        - [toupper( proc.pname)]\n"
            ),
            "evt.type = open",
            '(evt.type = open and not proc.name = "toupper( proc.pname)")',
        ),
    ],
)
def test_compiled_conditions(exceptions: str, cond: str, expected: str) -> None:
    assert compiled(exceptions, cond) == expected


def test_exception_values_may_name_lists() -> None:
    rs = load(
        "- list: shells\n  items: [bash, sh]\n"
        + BASE.format(cond="evt.type = execve")
        + "    - name: e\n      fields: [proc.name, proc.pname]\n      comps: [in, =]\n"
        "      values:\n        - [shells, sshd]\n"
    )
    assert rs.rule("test_rule").condition_compiled == (
        "(evt.type = execve and not (proc.name in (bash, sh) and proc.pname = sshd))"
    )
    assert rs.rule("test_rule").exception_fields == frozenset({"proc.name", "proc.pname"})
    assert rs.lists["shells"].used


def test_exception_values_append_by_name() -> None:
    rs = load(
        BASE.format(cond="evt.type = open")
        + "    - name: e\n      fields: proc.name\n      values: [cat]\n"
        "- rule: test_rule\n  exceptions:\n    - name: e\n      values: [grep]\n"
        "    - name: f\n      fields: fd.name\n      comps: pmatch\n      values: [/tmp]\n"
        "  override:\n    exceptions: append\n"
    )
    assert rs.rule("test_rule").condition_compiled == (
        "(evt.type = open and not proc.name in (cat, grep) and not fd.name pmatch (/tmp))"
    )


def test_exception_append_requires_fields_when_replacing() -> None:
    # Falco's rule_override_exceptions_required_fields: partial exceptions only when appending.
    rs = load(
        BASE.format(cond="evt.type = close")
        + "    - name: test_exception\n      fields: proc.name\n      comps: in\n"
        '      values: ["cat"]\n'
        "- rule: test_rule\n  exceptions:\n    - name: test_exception\n"
        "      values: [echo]\n  override:\n    exceptions: append\n"
        "- rule: test_rule\n  exceptions:\n    - name: test_exception\n"
        "      values: [id]\n  override:\n    exceptions: replace\n"
    )
    err = only_error(rs.results[0])
    assert err.message == "Item has no mapping for key 'fields'"
    assert rs.results[0].warnings == []


@pytest.mark.parametrize(
    "comps,message",
    [
        ("[frobulate oneof]", "'frobulate oneof' is not a supported comparison operator"),
        ("[in oneof]", "'in oneof' is not a supported comparison operator"),
        ('[">= oneof"]', "'>= oneof' is not a supported comparison operator"),
        ("[oneof]", "'oneof' is not a supported comparison operator"),
    ],
)
def test_invalid_modifier_comps(comps: str, message: str) -> None:
    rs = load(
        BASE.format(cond="evt.type = open")
        + f"    - name: ex\n      fields: [proc.name]\n      comps: {comps}\n"
        "      values:\n        - [[bash]]\n"
    )
    assert only_error(rs.results[0]).message == message


def test_single_field_comp_must_be_a_list_operator() -> None:
    rs = load(
        BASE.format(cond="evt.type = open")
        + "    - name: ex\n      fields: proc.name\n      comps: frobulate oneof\n"
        "      values: [bash]\n"
    )
    assert only_error(rs.results[0]).message.startswith(
        "When fields is a single value, comps must be one of (in, pmatch, intersects)"
    )


def test_exception_field_with_transformer_is_checked() -> None:
    rs = load(
        BASE.format(cond="evt.type = open")
        + "    - name: ex\n      fields: [tolower(proc.nobody)]\n      values: [[a]]\n"
    )
    assert only_error(rs.results[0]).message == (
        "'tolower(proc.nobody)' is not a supported filter field"
    )


def test_exception_value_that_looks_like_a_field_warns() -> None:
    rs = load(
        BASE.format(cond="evt.type = open")
        + "    - name: test_exception\n      fields: [proc.name]\n      comps: [=]\n"
        "      values:\n        - [proc.pname]\n"
    )
    assert rs.rule("test_rule").condition_compiled == (
        "(evt.type = open and not proc.name = proc.pname)"
    )
    (w,) = rs.results[0].warnings
    assert w.code.name == "LOAD_COMPILE_CONDITION"
    assert w.message == "'proc.pname' may be a valid field misused as a const string value"
