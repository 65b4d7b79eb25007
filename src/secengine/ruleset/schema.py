"""Falco's JSON-schema check of rules files (the ``schema_valid``/``schema_warnings`` output).

Falco (≥0.38) validates every YAML document of a rules file against a JSON
schema (``rule_json_schema.h``) with valijson 1.0.2 in weak-typing mode, and
reports the outcome next to the loader's own diagnostics: ``["ok"]``, or one
``failed for <context>: <description>`` line per valijson error. The schema
never makes a file invalid; it only adds those lines.

This module embeds the same schema and interprets the few keywords it uses
(``$ref type anyOf enum items minProperties properties additionalProperties
required``) in valijson's constraint order, with valijson's messages and
error order, over ruamel nodes read the way valijson's yaml-cpp adapter reads
them (every scalar is a string; ``true``/``false`` may be booleans and
integer-looking strings integers).
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.nodes import Node

from secengine.errors import SecengineError
from secengine.ruleset.messages import msg
from secengine.ruleset.yamldoc import (
    YamlSyntaxError,
    compose_documents,
    is_mapping,
    is_null,
    is_scalar,
    is_sequence,
    scalar_text,
)

__all__ = ["RULES_SCHEMA", "SchemaConversionError", "validate_node", "validate_schema"]

_OVERRIDDEN_ITEM = {"$ref": "#/definitions/OverriddenItem"}

#: Falco's rules schema (``userspace/engine/rule_json_schema.h``).
RULES_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-06/schema#",
    "type": "array",
    "items": {"$ref": "#/definitions/FalcoRule"},
    "definitions": {
        "FalcoRule": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "required_engine_version": {"type": "string"},
                "required_plugin_versions": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/RequiredPluginVersion"},
                },
                "macro": {"type": "string"},
                "condition": {"type": "string"},
                "list": {"type": "string"},
                "items": {"type": "array", "items": {"$ref": "#/definitions/Item"}},
                "rule": {"type": "string"},
                "desc": {"type": "string"},
                "enabled": {"type": "boolean"},
                "output": {"type": "string"},
                "append": {"type": "boolean"},
                "priority": {"$ref": "#/definitions/Priority"},
                "capture": {"type": "boolean"},
                "capture_duration": {"type": "integer"},
                "source": {"type": "string"},
                "exceptions": {"type": "array", "items": {"$ref": "#/definitions/Exception"}},
                "override": {"$ref": "#/definitions/Override"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "warn_evttypes": {"type": "boolean"},
                "skip-if-unknown-filter": {"type": "boolean"},
                # ours, not Falco's (docs/response.md); the reader checks its shape
                "secengine_response": {"type": "object"},
            },
            "required": [],
            "title": "FalcoRule",
        },
        "Item": {"anyOf": [{"type": "integer"}, {"type": "string"}], "title": "Item"},
        "Exception": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "fields": {}, "comps": {}, "values": {}},
            "required": ["name"],
            "title": "Exception",
        },
        "Priority": {
            "type": "string",
            "enum": [
                "EMERGENCY",
                "ALERT",
                "CRITICAL",
                "ERROR",
                "WARNING",
                "NOTICE",
                "INFO",
                "INFORMATIONAL",
                "DEBUG",
            ],
            "title": "Priority",
        },
        "OverriddenItem": {
            "type": "string",
            "enum": ["append", "replace"],
            "title": "OverriddenItem",
        },
        "Override": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                k: _OVERRIDDEN_ITEM
                for k in (
                    "items",
                    "desc",
                    "condition",
                    "output",
                    "priority",
                    "enabled",
                    "exceptions",
                    "capture",
                    "capture_duration",
                    "tags",
                    "warn_evttypes",
                    "skip-if-unknown-filter",
                    "secengine_response",
                )
            },
            "minProperties": 1,
            "title": "Override",
        },
        "RequiredPluginVersion": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "alternatives": {"type": "array", "items": {"$ref": "#/definitions/Alternative"}},
            },
            "required": ["name", "version"],
            "title": "RequiredPluginVersion",
        },
        "Alternative": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
            "required": ["name", "version"],
            "title": "Alternative",
        },
    },
}

_INT64 = re.compile(r"[ \t\n\v\f\r]*[+-]?\d+")


class SchemaConversionError(SecengineError):
    """A map key that is not a scalar: yaml-cpp's ``as<std::string>()`` throws inside valijson.

    Falco's reader reports it as ``LOAD_ERR_YAML_PARSE`` (it escapes ``LoadAll``).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _BadKey(Exception):
    def __init__(self, node: Node) -> None:
        super().__init__("bad conversion")
        self.node = node


class _Value:
    """valijson's view of a yaml-cpp node (``YamlCppAdapter`` + ``BasicAdapter``)."""

    __slots__ = ("node",)

    def __init__(self, node: Node | None) -> None:
        self.node = node

    def is_array(self) -> bool:
        return is_sequence(self.node)

    def is_object(self) -> bool:
        return is_mapping(self.node)

    def is_string(self) -> bool:
        return is_scalar(self.node)

    def is_null(self) -> bool:
        return self.node is None or is_null(self.node)

    def size(self) -> int:
        node = self.node
        return len(node.value) if is_sequence(node) or is_mapping(node) else 0

    def maybe_string(self) -> bool:
        if self.is_string():
            return True
        return (self.is_object() or self.is_array()) and self.size() == 0

    def text(self) -> str | None:
        node = self.node
        return scalar_text(node) if is_scalar(node) else None

    def maybe_bool(self) -> bool:
        return self.maybe_string() and self.text() in ("true", "false")

    def maybe_integer(self) -> bool:
        text = self.text()
        if not self.maybe_string() or text is None:
            return False
        m = _INT64.match(text)
        return m is not None and m.end() == len(text) and -(1 << 63) <= int(text) < (1 << 63)

    def maybe_null(self) -> bool:
        return self.is_null() or (self.maybe_string() and self.text() == "")

    def maybe_object(self) -> bool:
        return self.is_object() or (self.is_array() and self.size() == 0)

    def members(self) -> list[tuple[str, _Value]]:
        assert self.node is not None
        out = []
        for k, v in self.node.value:
            if not is_null(k) and not is_scalar(k):
                raise _BadKey(k)
            out.append(("null" if is_null(k) else scalar_text(k), _Value(v)))
        return out

    def find(self, key: str) -> _Value | None:
        for name, value in self.members():
            if name == key:
                return value
        return None


class _Validator:
    """One valijson ``ValidationVisitor``: validates a value, collecting (context, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = RULES_SCHEMA["definitions"][name]
        return schema

    def validate(self, value: _Value, schema: dict[str, Any], ctx: str) -> bool:
        schema = self.resolve(schema)
        ok = True
        # valijson's constraint order: type, anyOf, enum, items, minProperties,
        # properties/additionalProperties, required.
        if "type" in schema:
            ok &= self.check_type(value, schema["type"], ctx)
        if "anyOf" in schema:
            ok &= self.check_any_of(value, schema["anyOf"], ctx)
        if "enum" in schema:
            ok &= self.check_enum(value, schema["enum"], ctx)
        if "items" in schema:
            ok &= self.check_items(value, schema["items"], ctx)
        if (
            "minProperties" in schema
            and value.maybe_object()
            and value.size() < schema["minProperties"]
        ):
            self.errors.append(
                (ctx, (f"Object should have no fewer than {schema['minProperties']} properties."))
            )
            ok = False
        if "properties" in schema or "additionalProperties" in schema:
            ok &= self.check_properties(value, schema, ctx)
        if "required" in schema and value.maybe_object():
            for name in schema["required"]:
                if value.find(name) is None:
                    self.errors.append((ctx, f"Missing required property '{name}'."))
                    ok = False
        return bool(ok)

    def check_type(self, value: _Value, jtype: str, ctx: str) -> bool:
        valid = {
            "array": value.is_array,
            "boolean": value.maybe_bool,
            "integer": value.maybe_integer,
            "null": value.maybe_null,
            "object": value.is_object,
            "string": value.is_string,
        }[jtype]()
        if not valid:
            self.errors.append((ctx, "Value type not permitted by 'type' constraint."))
        return valid

    def check_any_of(self, value: _Value, options: list[dict[str, Any]], ctx: str) -> bool:
        child: list[tuple[str, str]] = []
        sub = _Validator(child)
        # valijson stops at the first option that validates
        if any(sub.validate(value, option, ctx) for option in options):
            return True
        self.errors.extend(child)
        self.errors.append(
            (ctx, ("Failed to validate against any schemas allowed by anyOf constraint."))
        )
        return False

    def check_enum(self, value: _Value, allowed: list[str], ctx: str) -> bool:
        text = value.text()
        if value.maybe_string() and not value.maybe_null() and text in allowed:
            return True
        self.errors.append((ctx, "Failed to match against any enum values."))
        return False

    def check_items(self, value: _Value, items: dict[str, Any], ctx: str) -> bool:
        if not value.is_array():
            return True
        ok = True
        assert value.node is not None
        for index, node in enumerate(value.node.value):
            if not self.validate(_Value(node), items, f"{ctx}[{index}]"):
                self.errors.append((ctx, f"Failed to validate item #{index} in array."))
                ok = False
        return ok

    def check_properties(self, value: _Value, schema: dict[str, Any], ctx: str) -> bool:
        if not value.maybe_object():
            return True
        ok = True
        matched: set[str] = set()
        for name in sorted(schema.get("properties", {})):
            found = value.find(name)
            if found is None:
                continue
            matched.add(name)
            if not self.validate(found, schema["properties"][name], f"{ctx}[{name}]"):
                self.errors.append(
                    (
                        ctx,
                        (
                            "Failed to validate against schema associated with "
                            f"property name '{name}'."
                        ),
                    )
                )
                ok = False
        if schema.get("additionalProperties", True) is False and len(matched) != value.size():
            unwanted = next((n for n, _ in value.members() if n not in matched), "")
            self.errors.append(
                (
                    ctx,
                    (
                        "Object contains a property that could not be "
                        "validated using 'properties' or "
                        f"'additionalProperties' constraints: '{unwanted}'."
                    ),
                )
            )
            return False
        return ok


def validate_node(node: Node | None) -> list[str]:
    """Falco's ``validate_node``: ``["ok"]`` or one ``failed for …`` line per error."""
    errors: list[tuple[str, str]] = []
    if _Validator(errors).validate(_Value(node), RULES_SCHEMA, "<root>"):
        return ["ok"]
    return [f"failed for {ctx}: {desc}" for ctx, desc in errors]


def validate_schema(text: str) -> list[str]:
    """Schema status of every document of ``text``; ``[]`` if the text is not YAML.

    Raises :class:`SchemaConversionError` for a non-scalar key in a map the
    schema inspects.
    """
    try:
        doc = compose_documents(text)
    except YamlSyntaxError:
        return []
    status: list[str] = []
    for root in doc.roots:
        try:
            status.extend(validate_node(root))
        except _BadKey as exc:
            pos = doc.mark(exc.node)
            raise SchemaConversionError(
                msg(
                    "yaml_cpp_error",
                    line=pos.line + 1,
                    column=pos.column + 1,
                    problem=msg("bad_conversion"),
                )
            ) from None
    return status
