"""Stage 2: define, redefine, append, override (append/replace) and enable.

Many cases follow Falco's ``unit_tests/engine/test_rule_loader.cpp``.
"""

from __future__ import annotations

import pytest
from ruleset_helpers import load, only_error, warnings_of

from secengine.priority import Priority
from secengine.ruleset.reader import RULE_APPENDABLE, RULE_REPLACEABLE
from secengine.ruleset.response import ActionKind

BASE = """- rule: r
  desc: base description
  condition: evt.type = close
  output: user=%user.name
  priority: INFO
  tags: [filesystem]
"""

WARNING_APPEND = (
    "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') "
    "under 'override' instead."
)


# -- lists ------------------------------------------------------------------------------------

LIST_RULE = """
- rule: test_rule
  desc: simple rule
  condition: evt.type = execve and proc.name in (dev_creation_binaries)
  output: command=%proc.cmdline
  priority: INFO
"""


@pytest.mark.parametrize("how", ["  override:\n    items: append\n", "  append: true\n"])
def test_list_append_after_definition(how: str) -> None:
    rs = load(
        "- list: dev_creation_binaries\n  items: [blkid]\n"
        '- list: dev_creation_binaries\n  items: ["csi-provisioner", "csi-attacher"]\n'
        + how
        + LIST_RULE
    )
    assert rs.successful, rs.render_text()
    assert rs.rule("test_rule").condition_compiled == (
        "(evt.type = execve and proc.name in (blkid, csi-provisioner, csi-attacher))"
    )
    assert bool(warnings_of(rs.results[0], "LOAD_DEPRECATED_ITEM")) == ("append: true" in how)


@pytest.mark.parametrize("how", ["  override:\n    items: append\n", "  append: true\n"])
def test_list_append_before_definition_fails(how: str) -> None:
    rs = load(
        "- list: dev_creation_binaries\n  items: [a]\n"
        + how
        + "- list: dev_creation_binaries\n  items: [blkid]\n"
        + LIST_RULE
    )
    assert only_error(rs.results[0]).message == (
        "List uses 'append' or 'override.items: append' but no list by that name already exists"
    )


def test_list_override_replace_before_definition_just_defines() -> None:
    rs = load(
        "- list: dev_creation_binaries\n  items: [a]\n  override:\n    items: replace\n"
        "- list: dev_creation_binaries\n  items: [blkid]\n" + LIST_RULE
    )
    assert rs.rule("test_rule").condition_compiled == (
        "(evt.type = execve and proc.name in (blkid))"
    )


def test_list_with_misspelled_override_is_a_redefinition() -> None:
    rs = load(
        "- list: dev_creation_binaries\n  items: [a]\n  override_written_wrong:\n"
        "    items: append\n- list: dev_creation_binaries\n  items: [blkid]\n" + LIST_RULE
    )
    assert rs.successful
    assert rs.rule("test_rule").condition_compiled == (
        "(evt.type = execve and proc.name in (blkid))"
    )
    assert not rs.results[0].schema_valid


# -- macros -----------------------------------------------------------------------------------

MACRO_RULE = """
- rule: test_rule
  desc: simple rule
  condition: open_simple
  output: command=%proc.cmdline
  priority: INFO
"""


@pytest.mark.parametrize("how", ["  override:\n    condition: append\n", "  append: true\n"])
def test_macro_append(how: str) -> None:
    rs = load(
        "- macro: open_simple\n  condition: evt.type in (open,openat)\n"
        "- macro: open_simple\n  condition: or evt.type = openat2\n" + how + MACRO_RULE
    )
    assert rs.rule("test_rule").condition_compiled == (
        "(evt.type in (open, openat) or evt.type = openat2)"
    )


def test_macro_append_before_definition_fails() -> None:
    rs = load(
        "- macro: open_simple\n  condition: or evt.type = openat2\n"
        "  override:\n    condition: append\n"
        "- macro: open_simple\n  condition: evt.type in (open,openat)\n" + MACRO_RULE
    )
    assert only_error(rs.results[0]).message == (
        "Macro uses 'append' or 'override.condition: append' but no macro by that name already "
        "exists"
    )


def test_macro_replace_before_definition_is_overwritten() -> None:
    rs = load(
        "- macro: open_simple\n  condition: or evt.type = openat2\n"
        "  override:\n    condition: replace\n"
        "- macro: open_simple\n  condition: evt.type in (open,openat)\n" + MACRO_RULE
    )
    assert rs.successful
    assert rs.rule("test_rule").condition_compiled == "evt.type in (open, openat)"


def test_macro_append_joins_text_with_a_space() -> None:
    rs = load("""
- macro: interactive
  condition: >
    ((proc.aname=sshd and proc.name != sshd) or
    proc.name=systemd-logind or proc.name=login)
- rule: legit_rule
  desc: d
  condition: evt.type=open and interactive
  output: o
  priority: INFO
- macro: interactive
  condition: or proc.name = ssh
  override:
    condition: append
""")
    assert rs.rule("legit_rule").condition_compiled == (
        "(evt.type = open and (((proc.aname = sshd and proc.name != sshd) or proc.name = "
        "systemd-logind or proc.name = login) or proc.name = ssh))"
    )


# -- rules: append ------------------------------------------------------------------------------


def test_rule_override_append_condition_output_desc_tags() -> None:
    rs = load(
        BASE
        + """
- rule: r
  desc: with append
  condition: and proc.name = cat
  output: proc=%proc.name
  tags: [process]
  override:
    desc: append
    condition: append
    output: append
    tags: append
"""
    )
    assert rs.successful, rs.render_text()
    rule = rs.rule("r")
    assert rule.desc == "base description with append"
    assert rule.output == "user=%user.name proc=%proc.name"
    assert rule.tags == ("filesystem", "process")
    assert rule.condition_compiled == "(evt.type = close and proc.name = cat)"
    assert not warnings_of(rs.results[0], "LOAD_DEPRECATED_ITEM")


def test_rule_append_flag() -> None:
    rs = load(BASE + "- rule: r\n  condition: and proc.name = cat\n  append: true\n")
    assert rs.rule("r").condition_compiled == "(evt.type = close and proc.name = cat)"
    assert [w.message for w in warnings_of(rs.results[0], "LOAD_DEPRECATED_ITEM")] == [
        WARNING_APPEND
    ]


def test_rule_append_flag_ignores_enabled() -> None:
    rs = load(
        BASE + "  enabled: false\n- rule: r\n  condition: and proc.name = cat\n"
        "  append: true\n  enabled: true\n"
    )
    assert rs.rule("r").enabled is False


@pytest.mark.parametrize("key", sorted(RULE_REPLACEABLE - RULE_APPENDABLE))
def test_rule_keys_that_cannot_be_appended(key: str) -> None:
    rs = load(BASE + f"- rule: r\n  {key}: x\n  override:\n    {key}: append\n")
    assert only_error(rs.results[0]).message == (
        f"Key '{key}' cannot be appended to, use 'replace' instead"
    )


def test_rule_unknown_override_key() -> None:
    rs = load(BASE + "- rule: r\n  source: x\n  override:\n    source: replace\n")
    assert only_error(rs.results[0]).message == "Key 'source' cannot be replaced"
    rs = load(BASE + "- rule: r\n  source: x\n  override:\n    source: merge\n")
    assert only_error(rs.results[0]).message == (
        "Invalid override operation for key 'source': 'merge'. Allowed values are: "
    )


def test_list_and_macro_allowed_override_operations() -> None:
    rs = load("- list: l\n  items: [a]\n  override:\n    items: merge\n")
    assert only_error(rs.results[0]).message == (
        "Invalid override operation for key 'items': 'merge'. Allowed values are: append replace "
    )
    rs = load("- macro: m\n  condition: x\n  override:\n    condition: merge\n")
    assert only_error(rs.results[0]).message.endswith("Allowed values are: append replace ")


@pytest.mark.parametrize(
    "item,key,op,message",
    [
        (
            "- list: l\n  items: [a]\n",
            "condition",
            "append",
            "Key 'condition' cannot be appended to, use 'replace' instead",
        ),
        ("- list: l\n  items: [a]\n", "condition", "replace", "Key 'condition' cannot be replaced"),
        (
            "- macro: m\n  condition: x\n",
            "items",
            "append",
            "Key 'items' cannot be appended to, use 'replace' instead",
        ),
        ("- macro: m\n  condition: x\n", "output", "replace", "Key 'output' cannot be replaced"),
    ],
)
def test_list_and_macro_forbidden_override_keys(item: str, key: str, op: str, message: str) -> None:
    rs = load(item + f"  override:\n    {key}: {op}\n")
    assert only_error(rs.results[0]).message == message


def test_rule_append_override_and_append_flag_conflict() -> None:
    rs = load(
        BASE + "- rule: r\n  desc: x\n  condition: and proc.name = cat\n  append: true\n"
        "  override:\n    desc: replace\n    condition: append\n"
    )
    err = only_error(rs.results[0])
    assert err.message.startswith("Keys 'override' and 'append: true' cannot be used together.")
    assert [w.message for w in rs.results[0].warnings] == [WARNING_APPEND]


def test_override_without_the_key() -> None:
    rs = load(
        BASE + "- rule: r\n  desc: x\n  override:\n    desc: replace\n    condition: append\n"
    )
    assert only_error(rs.results[0]).message == (
        "An append override for 'condition' was specified but 'condition' is not defined"
    )


def test_key_without_override_entry() -> None:
    rs = load(
        BASE + "- rule: r\n  desc: x\n  condition: and proc.name = cat\n  priority: WARNING\n"
        "  override:\n    desc: replace\n    condition: append\n"
    )
    assert only_error(rs.results[0]).message == (
        "Unexpected key 'priority': no corresponding entry under 'override' is defined."
    )


def test_missing_enabled_key_with_override() -> None:
    rs = load(
        BASE + "- rule: r\n  desc: x\n  condition: and proc.name = cat\n"
        "  override:\n    desc: replace\n    condition: append\n    enabled: replace\n"
    )
    assert only_error(rs.results[0]).message == (
        "An replace override for 'enabled' was specified but 'enabled' is not defined"
    )


@pytest.mark.parametrize("how", ["  override:\n    condition: append\n", "  append: true\n"])
def test_rule_append_before_definition_fails(how: str) -> None:
    rs = load("- rule: r\n  condition: and proc.name = cat\n" + how + BASE)
    assert only_error(rs.results[0]).message == (
        "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists"
    )


def test_rule_replace_before_definition_fails() -> None:
    rs = load(
        "- rule: r\n  condition: proc.name = cat\n  override:\n    condition: replace\n" + BASE
    )
    assert only_error(rs.results[0]).message == (
        "An 'override.<key>: replace' to a rule was requested but no rule by that name already "
        "exists"
    )


def test_appended_rule_needs_condition_or_exceptions() -> None:
    rs = load(BASE + "- rule: r\n  output: more\n  append: true\n")
    assert only_error(rs.results[0]).message == (
        "Appended rule must have exceptions or condition property"
    )


# -- rules: replace ---------------------------------------------------------------------------

REPLACEMENTS = {
    "condition": ("evt.type = open", lambda r: r.condition_compiled == "evt.type = open"),
    "output": ("other=%proc.name", lambda r: r.output == "other=%proc.name"),
    "desc": ("replaced", lambda r: r.desc == "replaced"),
    "priority": ("ERROR", lambda r: r.priority is Priority.ERROR),
    "tags": ("[network]", lambda r: r.tags == ("network",)),
    "exceptions": (
        ("\n    - name: e\n      fields: proc.name\n      comps: in\n      values: [cat]"),
        lambda r: r.condition_compiled == "(evt.type = close and not proc.name in (cat))",
    ),
    "enabled": ("false", lambda r: r.enabled is False),
    "warn_evttypes": ("false", lambda r: r.warn_evttypes is False),
    "skip-if-unknown-filter": ("true", lambda r: r.skip_if_unknown_filter is True),
    "capture": ("true", lambda r: r.capture is True),
    "capture_duration": ("15000", lambda r: r.capture_duration == 15000),
    # ours: a response attached to a rule defined in another (e.g. Falco's) file
    "secengine_response": (
        "{actions: [kill_process]}",
        lambda r: r.response is not None and r.response.kinds == {ActionKind.KILL_PROCESS},
    ),
}


def test_replacement_table_covers_every_replaceable_key() -> None:
    assert set(REPLACEMENTS) == RULE_REPLACEABLE


@pytest.mark.parametrize("key", sorted(REPLACEMENTS))
def test_rule_override_replace(key: str) -> None:
    value, check = REPLACEMENTS[key]
    rs = load(BASE + f"- rule: r\n  {key}: {value}\n  override:\n    {key}: replace\n")
    assert rs.successful, rs.render_text()
    assert check(rs.rule("r"))
    assert rs.results[0].warnings == []


def test_replaced_exceptions_are_not_completed() -> None:
    # Falco validates (and defaults the comps of) defined and appended exceptions,
    # but a selective replace stores them as written: with no comps the text breaks.
    rs = load(
        BASE + "- rule: r\n  exceptions:\n    - name: e\n      fields: proc.name\n"
        "      values: [cat]\n  override:\n    exceptions: replace\n"
    )
    err = only_error(rs.results[0])
    assert err.code.name == "LOAD_ERR_COMPILE_CONDITION"
    assert err.context.alt_content == b"(evt.type = close) and not (proc.name  (cat))"


def test_rule_override_append_and_replace_together() -> None:
    rs = load(
        BASE + "- rule: r\n  desc: a replaced legit description\n"
        "  condition: and proc.name = cat\n  priority: WARNING\n"
        "  override:\n    desc: replace\n    condition: append\n    priority: replace\n"
    )
    rule = rs.rule("r")
    assert rule.desc == "a replaced legit description"
    assert rule.condition_compiled == "(evt.type = close and proc.name = cat)"
    assert rule.priority is Priority.WARNING
    assert rule.output == "user=%user.name"


def test_replace_with_enabled_enables() -> None:
    rs = load(
        BASE + "  enabled: false\n- rule: r\n  desc: correct override\n"
        "  condition: and proc.name = cat\n  enabled: true\n"
        "  override:\n    desc: replace\n    condition: append\n    enabled: replace\n"
    )
    assert rs.successful and rs.results[0].warnings == []
    assert rs.rule("r").enabled is True


# -- redefinition, enable, sources --------------------------------------------------------------


def test_redefinition_replaces_but_keeps_the_index() -> None:
    rs = load(
        BASE + "- rule: second\n  desc: d\n  condition: evt.type = open\n  output: o\n"
        "  priority: INFO\n"
        "- rule: r\n  desc: redefined\n  condition: proc.name = cat and evt.type=openat\n"
        "  output: o\n  priority: WARNING\n"
    )
    assert [r.name for r in rs.rules] == ["r", "second"]
    first, second = rs.rules
    assert first.index < second.index
    assert first.desc == "redefined" and first.priority is Priority.WARNING
    assert first.tags == ()  # a redefinition replaces everything
    assert first.condition_compiled == "(proc.name = cat and evt.type = openat)"


def test_redefined_macro_gets_a_new_visibility() -> None:
    # 'b' is first defined before 'a' is redefined: the redefinition of 'a' can use it.
    rs = load(
        "- macro: a\n  condition: evt.type = open\n- macro: b\n  condition: proc.name=cat\n"
        "- macro: a\n  condition: evt.type = open and b\n"
        "- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n"
    )
    assert rs.successful, rs.render_text()
    assert rs.rule("r").condition_compiled == "(evt.type = open and proc.name = cat)"


def test_enabled_only_item_toggles_a_rule() -> None:
    rs = load(BASE + "  enabled: false\n- rule: r\n  enabled: true\n")
    assert rs.successful and rs.rule("r").enabled is True
    assert [w.message for w in rs.results[0].warnings] == [
        (
            "The standalone 'enabled' key usage is deprecated. The correct approach requires also "
            "a 'replace' entry under the 'override' key (i.e. 'enabled: replace')."
        )
    ]


def test_enabled_only_item_without_rule() -> None:
    err = only_error(load("- rule: r\n  enabled: false\n").results[0])
    assert err.message == "Rule has 'enabled' key but no rule by that name already exists"


def test_disabled_rules_are_compiled() -> None:
    rs = load(
        BASE.replace("evt.type = close", "evt.type = close and proc.nobody = x")
        + "  enabled: false\n"
    )
    assert only_error(rs.results[0]).message == (
        "filter_check called with nonexistent field proc.nobody"
    )


@pytest.mark.parametrize(
    "second",
    [
        (
            "- rule: r\n  desc: d\n  condition: and 1 = 2\n  output: o\n  priority: INFO\n"
            "  source: syscall\n"
        ),
        (
            "- rule: r\n  desc: d\n  condition: and 1 = 2\n  output: o\n  priority: INFO\n"
            "  source: syscall\n  append: true\n"
        ),
        "- rule: r\n  condition: 1 = 2\n  override:\n    condition: replace\n  source: syscall\n",
    ],
)
def test_redefinition_with_a_different_source(second: str) -> None:
    first = (
        "- rule: r\n  desc: d\n  condition: ka.verb = GET\n  output: o\n  priority: INFO\n"
        "  source: k8s_audit\n"
    )
    rs = load(first + second)
    assert only_error(rs.results[0]).message == "Rule has been re-defined with a different source"


@pytest.mark.parametrize("source", ["", '""'])
def test_append_with_empty_source(source: str) -> None:
    rs = load(
        BASE.replace("  tags", "  source: syscall\n  tags")
        + f"- rule: r\n  condition: and proc.name=apache\n  source: {source}\n"
        "  append: true\n"
    )
    assert rs.successful, rs.render_text()


def test_rule_of_unknown_source_can_still_be_appended() -> None:
    rs = load(
        "- rule: r\n  desc: d\n  condition: x.y = 1\n  output: o\n  priority: INFO\n"
        "  source: plugin_src\n  exceptions:\n    - name: e\n      fields: x.z\n"
        "- rule: r\n  exceptions:\n    - name: e2\n      fields: [x.w]\n      values: [[1]]\n"
        "  append: true\n"
    )
    assert rs.successful and rs.rules == []
    assert [w.code.name for w in rs.results[0].warnings] == [
        "LOAD_UNKNOWN_SOURCE",
        "LOAD_DEPRECATED_ITEM",
    ]
