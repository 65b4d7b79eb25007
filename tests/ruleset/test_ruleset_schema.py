"""The JSON-schema status Falco reports next to the loader's diagnostics (valijson 1.0.2)."""

from __future__ import annotations

import pytest
from ruleset_helpers import load

from secengine.ruleset.schema import validate_schema

RULE = """- rule: r
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
"""


@pytest.mark.parametrize(
    "text",
    [
        RULE,
        RULE + "  enabled: false\n  capture_duration: 10\n  tags: [a]\n",
        '- list: l\n  items: [a, 1, "b"]\n- macro: m\n  condition: x\n',
        (
            "- required_engine_version: 15\n- required_plugin_versions:\n    - name: a\n"
            "      version: 1.0.0\n"
            "      alternatives:\n        - name: b\n          version: 1.0.0\n"
        ),
        RULE + "  exceptions:\n    - name: e\n      fields: [a]\n      comps: [=]\n"
        "      values: [[1]]\n",
        RULE + "- rule: r\n  warn_evttypes: false\n  override:\n    warn_evttypes: replace\n",
    ],
)
def test_valid(text: str) -> None:
    assert validate_schema(text) == ["ok"]


def test_unknown_key() -> None:
    assert validate_schema(RULE + "  typo_field: x\n") == [
        (
            "failed for <root>[0]: Object contains a property that could not be validated using "
            "'properties' or 'additionalProperties' constraints: 'typo_field'."
        ),
        "failed for <root>: Failed to validate item #0 in array.",
    ]


def test_weak_types() -> None:
    # "yes" is a bool for the loader (yaml-cpp) but not for the schema (valijson)
    assert validate_schema(RULE + '  capture: "yes"\n') == [
        "failed for <root>[0][capture]: Value type not permitted by 'type' constraint.",
        (
            "failed for <root>[0]: Failed to validate against schema associated with property name "
            "'capture'."
        ),
        "failed for <root>: Failed to validate item #0 in array.",
    ]
    assert validate_schema(RULE + "  capture: true\n  capture_duration: '12'\n") == ["ok"]


def test_enum_and_nested_items() -> None:
    assert validate_schema(RULE.replace("INFO", "Info") + "  tags: [a, ~]\n") == [
        "failed for <root>[0][priority]: Failed to match against any enum values.",
        (
            "failed for <root>[0]: Failed to validate against schema associated with property name "
            "'priority'."
        ),
        "failed for <root>[0][tags][1]: Value type not permitted by 'type' constraint.",
        "failed for <root>[0][tags]: Failed to validate item #1 in array.",
        (
            "failed for <root>[0]: Failed to validate against schema associated with property name "
            "'tags'."
        ),
        "failed for <root>: Failed to validate item #0 in array.",
    ]


def test_any_of_and_required_and_min_properties() -> None:
    assert validate_schema(
        "- list: l\n  items: [[a]]\n- rule: x\n  override: {}\n  exceptions:\n    - fields: a\n"
    ) == [
        "failed for <root>[0][items][0]: Value type not permitted by 'type' constraint.",
        "failed for <root>[0][items][0]: Value type not permitted by 'type' constraint.",
        (
            "failed for <root>[0][items][0]: Failed to validate against any schemas allowed by anyOf "
            "constraint."
        ),
        "failed for <root>[0][items]: Failed to validate item #0 in array.",
        (
            "failed for <root>[0]: Failed to validate against schema associated with property name "
            "'items'."
        ),
        "failed for <root>: Failed to validate item #0 in array.",
        "failed for <root>[1][exceptions][0]: Missing required property 'name'.",
        "failed for <root>[1][exceptions]: Failed to validate item #0 in array.",
        (
            "failed for <root>[1]: Failed to validate against schema associated with property name "
            "'exceptions'."
        ),
        "failed for <root>[1][override]: Object should have no fewer than 1 properties.",
        (
            "failed for <root>[1]: Failed to validate against schema associated with property name "
            "'override'."
        ),
        "failed for <root>: Failed to validate item #1 in array.",
    ]


def test_one_status_per_document_and_the_first_decides() -> None:
    status = validate_schema(RULE + "---\n- foo: bar\n")
    assert status[0] == "ok" and status[1].startswith("failed for <root>[0]: Object contains")
    rs = load(RULE + "---\n- foo: bar\n")
    assert rs.results[0].schema_valid
    assert rs.results[0].as_json()["schema_warnings"] == []


def test_not_yaml_has_no_status() -> None:
    assert validate_schema("a: : b") == []
    rs = load("a: : b")
    assert "schema_valid" not in rs.results[0].as_json()


def test_invalid_schema_shows_in_the_text_but_not_the_status() -> None:
    rs = load(RULE + "  typo_field: x\n")
    result = rs.results[0]
    assert result.successful and not result.schema_valid
    assert result.render_text().startswith(
        "rules.yaml: Ok, with warnings\n2 Schema warnings:\n------\nfailed for <root>[0]: "
    )
    assert result.as_json()["schema_valid"] is False
