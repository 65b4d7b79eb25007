"""The message table is the test table: every loader message has a case that triggers it.

Each case loads rules text and expects one diagnostic: its kind, its code,
its exact message (rendered from :data:`MESSAGES`) and the last location of
its context chain (item type, item name, 0-based line and column). A golden
file per case pins the whole ``falco -V`` text (every location and the caret
snippet); they were generated once and reviewed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from ruleset_helpers import GOLDEN, load

from secengine.ruleset.messages import MESSAGES, ErrorCode, WarningCode, msg

RULE = """- rule: r
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
"""


@dataclass(frozen=True)
class Case:
    texts: tuple[str, ...]
    code: str
    where: tuple[str, str, int, int]
    kwargs: dict[str, str] = field(default_factory=dict)
    error: bool = True


CASES: dict[str, Case] = {
    # -- document shape ---------------------------------------------------------------------
    "not_yaml": Case(("just a string\n",), "LOAD_ERR_YAML_VALIDATE", ("rules content", "", 0, 0)),
    "not_array": Case(("a: b\n",), "LOAD_ERR_YAML_VALIDATE", ("rules content", "", 0, 0)),
    "item_not_map": Case(("- foo\n",), "LOAD_ERR_YAML_VALIDATE", ("rules content item", "", 0, 2)),
    "unknown_item": Case(
        ("- foo: bar\n",), "LOAD_UNKNOWN_ITEM", ("rules content item", "", 0, 2), error=False
    ),
    "unknown_key": Case(
        (RULE + "  typo_field: x\n",),
        "LOAD_UNKNOWN_KEY",
        ("rule", "r", 0, 2),
        {"key": "typo_field"},
        error=False,
    ),
    # -- value decoding -----------------------------------------------------------------------
    "no_mapping": Case(
        ("- rule: r\n  desc: d\n  condition: evt.type=open\n  priority: INFO\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("rule", "r", 0, 2),
        {"key": "output"},
    ),
    "mapping_empty": Case(
        ("- rule:\n  desc: d\n",), "LOAD_ERR_YAML_VALIDATE", ("rule", "", 0, 2), {"key": "rule"}
    ),
    "not_scalar": Case(
        ("- macro: [a, b]\n  condition: x\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("value for", "macro", 0, 9),
    ),
    "must_be_non_empty": Case(
        ("- list: ''\n  items: []\n",), "LOAD_ERR_YAML_VALIDATE", ("value for", "list", 0, 8)
    ),
    "cant_decode": Case(
        (RULE + "  enabled: maybe\n",), "LOAD_ERR_YAML_VALIDATE", ("value for", "enabled", 5, 11)
    ),
    "not_sequence": Case(
        ("- list: l\n  items: a\n",), "LOAD_ERR_YAML_VALIDATE", ("value for", "items", 1, 9)
    ),
    "seq_value_not_scalar": Case(
        ("- list: l\n  items: [a, [b]]\n",), "LOAD_ERR_YAML_VALIDATE", ("list item", "", 1, 13)
    ),
    # -- versions -------------------------------------------------------------------------------
    "engine_version_semver": Case(
        ("- required_engine_version: seven\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("required_engine_version", "", 0, 2),
        {"version": "seven"},
    ),
    "plugin_versions_not_seq": Case(
        ("- required_plugin_versions: foo\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("required plugin versions", "", 0, 28),
    ),
    "plugin_version_not_map": Case(
        ("- required_plugin_versions: [foo]\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("required plugin versions entry", "", 0, 29),
    ),
    "plugin_alternatives_not_seq": Case(
        (
            (
                "- required_plugin_versions:\n    - name: json\n      version: 0.7.0\n"
                "      alternatives: x\n"
            ),
        ),
        "LOAD_ERR_YAML_VALIDATE",
        ("required plugin versions entry", "json", 1, 6),
    ),
    "plugin_alternative_not_map": Case(
        (
            (
                "- required_plugin_versions:\n    - name: json\n      version: 0.7.0\n"
                "      alternatives: [x]\n"
            ),
        ),
        "LOAD_ERR_YAML_VALIDATE",
        ("required plugin versions alternative", "", 3, 21),
    ),
    # -- names ----------------------------------------------------------------------------------
    "invalid_list_name": Case(
        ("- list: my list\n  items: []\n",),
        "LOAD_INVALID_LIST_NAME",
        ("list", "my list", 0, 2),
        error=False,
    ),
    "invalid_macro_name": Case(
        ("- macro: my-macro\n  condition: evt.type=open\n",),
        "LOAD_INVALID_MACRO_NAME",
        ("macro", "my-macro", 0, 2),
        error=False,
    ),
    # -- deprecations and overrides -------------------------------------------------------------
    "warning_append": Case(
        ("- list: l\n  items: [a]\n- list: l\n  items: [b]\n  append: true\n",),
        "LOAD_DEPRECATED_ITEM",
        ("list", "l", 2, 2),
        error=False,
    ),
    "warning_enabled": Case(
        (RULE + "- rule: r\n  enabled: false\n",),
        "LOAD_DEPRECATED_ITEM",
        ("rule", "r", 5, 2),
        error=False,
    ),
    "override_append": Case(
        (
            RULE + "- rule: r\n  condition: and proc.name=x\n  append: true\n"
            "  override:\n    condition: append\n",
        ),
        "LOAD_ERR_YAML_VALIDATE",
        ("rule", "r", 5, 2),
    ),
    "cannot_append_key": Case(
        (RULE + "- rule: r\n  priority: INFO\n  override:\n    priority: append\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("overrides", "priority", 8, 4),
        {"key": "priority"},
    ),
    "cannot_replace_key": Case(
        (("- macro: m\n  condition: evt.type=open\n  override:\n    items: replace\n"),),
        "LOAD_ERR_YAML_VALIDATE",
        ("overrides", "items", 3, 4),
        {"key": "items"},
    ),
    "invalid_override_op": Case(
        (RULE + "- rule: r\n  condition: x\n  override:\n    condition: prepend\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("value for", "condition", 8, 15),
        {"key": "condition", "op": "prepend", "allowed": "append replace "},
    ),
    "override_key_undefined": Case(
        (RULE + "- rule: r\n  desc: x\n  override:\n    desc: replace\n    condition: append\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("rule", "r", 5, 2),
        {"op": "append", "key": "condition"},
    ),
    "unexpected_key": Case(
        (RULE + "- rule: r\n  desc: x\n  priority: INFO\n  override:\n    desc: replace\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("overrides", "priority", 7, 12),
        {"key": "priority"},
    ),
    "invalid_priority": Case(
        (RULE.replace("INFO", "LOUD"),), "LOAD_ERR_YAML_VALIDATE", ("rule priority", "", 4, 12)
    ),
    # -- exceptions -------------------------------------------------------------------------------
    "exceptions_not_seq": Case(
        (RULE + "  exceptions: x\n",), "LOAD_ERR_YAML_VALIDATE", ("exceptions", "", 5, 14)
    ),
    "exception_not_map": Case(
        (RULE + "  exceptions: [x]\n",), "LOAD_ERR_YAML_VALIDATE", ("exception", "", 5, 15)
    ),
    "exception_values_not_seq": Case(
        (RULE + "  exceptions:\n    - name: e\n      fields: proc.name\n      values: x\n",),
        "LOAD_ERR_YAML_VALIDATE",
        ("exception values", "", 8, 14),
    ),
    "exception_name_not_unique": Case(
        (
            RULE + "  exceptions:\n    - name: e\n      fields: "
            "proc.name\n    - name: e\n      fields: "
            "proc.name\n",
        ),
        "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
        ("exception", "e", 8, 6),
        {"name": "e"},
        error=False,
    ),
    "append_no_values": Case(
        (
            RULE + "  exceptions:\n    - name: e\n      fields: proc.name\n"
            "- rule: r\n  exceptions:\n    - name: e\n"
            "  override:\n    exceptions: append\n",
        ),
        "LOAD_APPEND_NO_VALUES",
        ("exception", "e", 10, 6),
        error=False,
    ),
    # -- collector --------------------------------------------------------------------------------
    "engine_version_mismatch": Case(
        ("- required_engine_version: 9999999\n",),
        "LOAD_ERR_VALIDATE",
        ("required_engine_version", "", 0, 2),
        {"required": "0.9999999.0", "engine": "0.63.0"},
    ),
    "invalid_plugin_version": Case(
        (("- required_plugin_versions:\n    - name: json\n      version: latest\n"),),
        "LOAD_ERR_VALIDATE",
        ("required plugin versions entry", "json", 1, 6),
        {"version": "latest", "name": "json"},
    ),
    "duplicate_plugin_alternative": Case(
        (
            (
                "- required_plugin_versions:\n    - name: json\n      version: 0.7.0\n"
                "      alternatives:\n        - name: json\n          version: 0.7.0\n"
            ),
        ),
        "LOAD_ERR_VALIDATE",
        ("required plugin versions entry", "json", 1, 6),
        {"name": "json"},
    ),
    "no_previous_list": Case(
        ("- list: l\n  items: [a]\n  override:\n    items: append\n",),
        "LOAD_ERR_VALIDATE",
        ("list", "l", 0, 2),
    ),
    "no_previous_macro": Case(
        ("- macro: m\n  condition: or x\n  append: true\n",),
        "LOAD_ERR_VALIDATE",
        ("macro", "m", 0, 2),
    ),
    "no_previous_rule_append": Case(
        (("- rule: r\n  condition: and x\n  override:\n    condition: append\n"),),
        "LOAD_ERR_VALIDATE",
        ("rule", "r", 0, 2),
    ),
    "no_previous_rule_replace": Case(
        (("- rule: r\n  condition: x\n  override:\n    condition: replace\n"),),
        "LOAD_ERR_VALIDATE",
        ("rule", "r", 0, 2),
    ),
    "append_needs_value": Case(
        (RULE + "- rule: r\n  output: more\n  append: true\n",),
        "LOAD_ERR_VALIDATE",
        ("rule", "r", 5, 2),
    ),
    "unknown_source": Case(
        (RULE + "  source: nowhere\n",),
        "LOAD_UNKNOWN_SOURCE",
        ("rule", "r", 0, 2),
        {"source": "nowhere"},
        error=False,
    ),
    "redefined_source": Case(
        (RULE + "  source: syscall\n" + RULE + "  source: other\n",),
        "LOAD_ERR_VALIDATE",
        ("rule", "r", 6, 2),
    ),
    "enabled_no_rule": Case(
        ("- rule: r\n  enabled: true\n",), "LOAD_ERR_VALIDATE", ("rule", "r", 0, 2)
    ),
    "exception_no_fields": Case(
        (RULE + "  exceptions:\n    - name: e\n      fields: []\n",),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 6, 6),
    ),
    "exception_new_no_fields": Case(
        (
            RULE + "- rule: r\n  exceptions:\n    - name: e\n"
            "      values: [a]\n  override:\n"
            "    exceptions: append\n",
        ),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 7, 6),
    ),
    "exception_new_no_values": Case(
        (
            RULE + "- rule: r\n  exceptions:\n    - name: e\n"
            "      fields: proc.name\n      values: []\n"
            "  append: true\n",
        ),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 7, 6),
    ),
    "exception_append_fields": Case(
        (
            RULE + "  exceptions:\n    - name: e\n      fields: "
            "proc.name\n- rule: r\n  exceptions:\n"
            "    - name: e\n      fields: proc.pname\n"
            "  append: true\n",
        ),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 10, 6),
    ),
    "exception_append_comps": Case(
        (
            RULE + "  exceptions:\n    - name: e\n      fields: "
            "proc.name\n- rule: r\n  exceptions:\n"
            "    - name: e\n      comps: pmatch\n"
            "  append: true\n",
        ),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 10, 6),
    ),
    "fields_comps_len": Case(
        (
            RULE + "  exceptions:\n    - name: e\n      fields: [proc.name, "
            "fd.name]\n      comps: [=]\n",
        ),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 6, 6),
    ),
    "unsupported_comp": Case(
        (
            RULE + "  exceptions:\n    - name: e\n      fields: [proc.name]\n"
            "      comps: [no-comp]\n",
        ),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 6, 6),
        {"comp": "no-comp"},
    ),
    "unsupported_field": Case(
        (RULE + "  exceptions:\n    - name: e\n      fields: [not.exist]\n",),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 6, 6),
        {"field": "not.exist"},
    ),
    "fields_comps_strings": Case(
        (RULE + "  exceptions:\n    - name: e\n      fields: proc.name\n      comps: [in]\n",),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 6, 6),
    ),
    "single_field_comp": Case(
        (RULE + "  exceptions:\n    - name: e\n      fields: proc.name\n      comps: =\n",),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 6, 6),
    ),
    # -- compiler ---------------------------------------------------------------------------------
    "values_not_strings": Case(
        (RULE + "  exceptions:\n    - name: e\n      fields: proc.name\n      values: [[a, b]]\n",),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 6, 6),
    ),
    "fields_values_len": Case(
        (
            RULE + "  exceptions:\n    - name: e\n      fields: [proc.name, "
            "fd.name]\n      values: [[a]]\n",
        ),
        "LOAD_ERR_VALIDATE",
        ("exception", "e", 6, 6),
    ),
    "undefined_macro": Case(
        (RULE.replace("evt.type = open", "evt.type = open and foo"),),
        "LOAD_ERR_VALIDATE",
        ("condition expression", "", 1, 23),
        {"name": "foo"},
    ),
    "container_info": Case(
        (RULE.replace("output: o", "output: o %container.info"),),
        "LOAD_DEPRECATED_ITEM",
        ("rule", "r", 0, 2),
        error=False,
    ),
    "deprecated_output_field": Case(
        (RULE.replace("output: o", "output: o %evt.dir"),),
        "LOAD_DEPRECATED_ITEM",
        ("rule output", "", 3, 10),
        {"field": "evt.dir"},
        error=False,
    ),
    "no_evttype": Case(
        (RULE.replace("evt.type = open", "proc.name = cat"),),
        "LOAD_NO_EVTTYPE",
        ("rule", "r", 0, 2),
        error=False,
    ),
    "unused_macro": Case(
        ("- macro: m\n  condition: evt.type=open\n",),
        "LOAD_UNUSED_MACRO",
        ("macro", "m", 0, 2),
        error=False,
    ),
    "unused_list": Case(
        ("- list: l\n  items: [a]\n",), "LOAD_UNUSED_LIST", ("list", "l", 0, 2), error=False
    ),
    # -- secengine_response (ours: docs/response.md) ---------------------------------------------
    "response_not_map": Case(
        (RULE + "  secengine_response: kill_process\n",),
        "LOAD_ERR_EXTENSION",
        ("extension item", "secengine_response", 5, 22),
    ),
    "response_no_actions": Case(
        (RULE + "  secengine_response: {in_kernel: auto}\n",),
        "LOAD_ERR_EXTENSION",
        ("extension item", "secengine_response", 5, 22),
    ),
    "response_unknown_key": Case(
        (RULE + "  secengine_response: {actions: [tag: {name: t}], dryrun: true}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "dryrun", 5, 50),
        {
            "key": "dryrun",
            "hint": " (did you mean 'dry_run'?)",
            "allowed": "actions, in_kernel, dry_run",
        },
    ),
    "response_repeated_key": Case(
        (RULE + "  secengine_response:\n    actions: [kill_process]\n    actions: [tag]\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "actions", 7, 4),
        {"key": "actions"},
    ),
    "response_not_scalar": Case(
        (RULE + "  secengine_response: {actions: [kill_process], in_kernel: [auto]}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "in_kernel", 5, 59),
    ),
    "response_not_bool": Case(
        (RULE + "  secengine_response: {actions: [kill_process], dry_run: maybe}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "dry_run", 5, 57),
        {"key": "dry_run"},
    ),
    "response_bad_choice": Case(
        (RULE + "  secengine_response: {actions: [kill_process], in_kernel: always}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "in_kernel", 5, 59),
        {"key": "in_kernel", "value": "always", "hint": "", "choices": "auto, never"},
    ),
    "response_actions_not_seq": Case(
        (RULE + "  secengine_response: {actions: []}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "actions", 5, 32),
    ),
    "response_bad_action": Case(
        (RULE + "  secengine_response: {actions: [[kill_process]]}\n",),
        "LOAD_ERR_EXTENSION",
        ("list item", "", 5, 33),
    ),
    "response_unknown_action": Case(
        (RULE + "  secengine_response: {actions: [kill_proc]}\n",),
        "LOAD_ERR_EXTENSION",
        ("list item", "", 5, 33),
        {
            "action": "kill_proc",
            "hint": " (did you mean 'kill_process'?)",
            "choices": "kill_process, kill_process_group, stop_container, kill_container, "
            "program, tag",
        },
    ),
    "response_params_not_map": Case(
        (RULE + "  secengine_response: {actions: [stop_container: 5]}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "stop_container", 5, 49),
        {"action": "stop_container"},
    ),
    "response_unknown_param": Case(
        (RULE + "  secengine_response: {actions: [program: {cmd: x}]}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "cmd", 5, 43),
        {"key": "cmd", "hint": " (did you mean 'command'?)", "allowed": "command, timeout"},
    ),
    "response_missing_param": Case(
        (RULE + "  secengine_response: {actions: [tag]}\n",),
        "LOAD_ERR_EXTENSION",
        ("list item", "", 5, 33),
        {"action": "tag", "param": "name"},
    ),
    "response_repeated_action": Case(
        (RULE + "  secengine_response: {actions: [kill_process, kill_process]}\n",),
        "LOAD_ERR_EXTENSION",
        ("list item", "", 5, 47),
        {"action": "kill_process"},
    ),
    "response_stop_and_kill": Case(
        (RULE + "  secengine_response: {actions: [stop_container, kill_container]}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "actions", 5, 32),
    ),
    "response_bad_timeout": Case(
        (RULE + "  secengine_response: {actions: [program: {command: x, timeout: 0}]}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "timeout", 5, 64),
        {"limit": "300"},
    ),
    "response_bad_tag": Case(
        (RULE + "  secengine_response: {actions: [tag: {name: 'a b'}]}\n",),
        "LOAD_ERR_EXTENSION",
        ("value for", "name", 5, 45),
        {"name": "a b"},
    ),
    "response_source_lacks": Case(
        (
            (
                "- rule: r\n  desc: d\n  condition: ka.verb = create\n  output: o\n"
                "  priority: INFO\n  source: k8s_audit\n"
                "  secengine_response: {actions: [kill_process]}\n"
            ),
        ),
        "LOAD_ERR_EXTENSION",
        ("rule", "r", 0, 2),
        {"action": "kill_process", "field": "proc.pid", "source": "k8s_audit"},
    ),
    # -- files and YAML ---------------------------------------------------------------------------
    "yaml_cpp_error": Case(
        ("this : is : not : yaml",),
        "LOAD_ERR_YAML_PARSE",
        ("value for", "", 0, 10),
        {"line": "1", "column": "11", "problem": "illegal map value"},
    ),
    # a collection as a map key: yaml-cpp's conversion throws while the schema is
    # checked, before any item is read
    "bad_conversion": Case(
        (RULE + "- rule: r\n  condition: x\n  override: {[condition]: append}\n",),
        "LOAD_ERR_YAML_PARSE",
        ("rules content", "", 0, 0),
    ),
}

#: Messages that are not a whole diagnostic on their own, or are tested elsewhere.
COVERED_ELSEWHERE = {
    # the message of a rules file that cannot be read (test_ruleset_loader.py)
    "file_read",
    # plugin requirement failures are the RuleSet's fatal error (test_ruleset_versions.py)
    "plugin_requirement",
    "plugin_incompatible",
    # limits on expansion and YAML aliases, each through the CLI (test_ruleset_bombs.py)
    "list_expansion_too_long",
    "expansion_too_large",
    "expansion_too_deep",
    "yaml_limits",
}


def test_every_message_has_a_case() -> None:
    assert set(MESSAGES) == set(CASES) | COVERED_ELSEWHERE


@pytest.mark.parametrize("message_id", sorted(CASES))
def test_message(message_id: str) -> None:
    case = CASES[message_id]
    result = load(*case.texts).results[-1]
    diags = result.errors if case.error else result.warnings
    expected = msg(message_id, **case.kwargs)
    if message_id == "bad_conversion":
        expected = msg("yaml_cpp_error", line=8, column=14, problem=expected)
    found = [d for d in diags if d.code.name == case.code and d.message == expected]
    assert found, result.render_text()
    if case.error:
        assert not result.successful and len(result.errors) == 1
    last = found[0].context.locations[-1]
    assert (
        last.item_type.value,
        last.item_name,
        last.position.line,
        last.position.column,
    ) == case.where, found[0].context.as_string()


#: Codes only Falco's extension items produce; the open-source loader has none.
#: secengine's one extension item (``secengine_response``) has errors, no warnings.
EXTENSION_CODES = {"LOAD_WARNING_EXTENSION"}


#: Codes whose messages come from the condition language or the output
#: compiler, not from this table: test_ruleset_compiler.py triggers each.
FOREIGN_MESSAGE_CODES = {
    "LOAD_ERR_COMPILE_CONDITION",
    "LOAD_ERR_COMPILE_OUTPUT",
    "LOAD_UNKNOWN_FILTER",
    "LOAD_UNSAFE_NA_CHECK",
    "LOAD_COMPILE_CONDITION",
}


def test_every_code_has_a_case() -> None:
    codes = {case.code for case in CASES.values()} | {"LOAD_ERR_FILE_READ"}
    all_codes = {c.name for c in ErrorCode} | {c.name for c in WarningCode}
    assert all_codes - codes == EXTENSION_CODES | FOREIGN_MESSAGE_CODES


@pytest.mark.parametrize("message_id", sorted(CASES))
def test_message_rendering(message_id: str) -> None:
    """The whole ``falco -V`` text of each case: chain, positions, caret snippet."""
    rs = load(*CASES[message_id].texts)
    text = "\n".join(r.render_text() for r in rs.results)
    path = GOLDEN / "messages" / f"{message_id}.txt"
    if os.environ.get("SECENGINE_REGEN_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()
