"""The json plugin fields (json.* and the jevt.* aliases) over audit events."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from secengine.events import MISSING
from secengine.fields import default_registry
from secengine.fields.json_fields import FIELD_CLASS, extractor, json_get, parse_pointer
from secengine.sources.k8s_audit import AuditFieldValues, make_event

DOC: dict[str, Any] = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "auditID": "a-1",
    "stage": "ResponseComplete",
    "verb": "create",
    "requestObject": {
        "spec": {
            "tls": [{"hosts": ["x.example.com"]}],
            "replicas": 3,
            "paused": False,
            "none": None,
            "a/b": "slash",
            "m~n": "tilde",
            "empty": {},
            "list": [],
        }
    },
    "stageTimestamp": "2024-05-02T10:15:30.000000042Z",
}


def value(field: str, arg: str | None = None, doc: dict[str, Any] = DOC) -> Any:
    key = default_registry().resolve("k8s_audit", field, arg).key
    return make_event(doc).fields.get(key, MISSING)


def test_table() -> None:
    assert [f.name for f in FIELD_CLASS.fields] == [
        "json.value",
        "json.obj",
        "json.rawtime",
        "jevt.value",
        "jevt.obj",
        "jevt.rawtime",
    ]
    assert FIELD_CLASS.name == "json (plugin)"


@pytest.mark.parametrize("prefix", ["jevt", "json"])
@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("/stage", "ResponseComplete"),
        ("stage", "ResponseComplete"),  # the leading slash is optional
        ("/requestObject/spec/replicas", "3"),
        ("/requestObject/spec/paused", "false"),
        ("/requestObject/spec/none", "null"),
        ("/requestObject/spec/tls", '[{"hosts":["x.example.com"]}]'),
        ("/requestObject/spec/tls/0/hosts/0", "x.example.com"),
        ("/requestObject/spec/tls/1", MISSING),
        ("/requestObject/spec/tls/-1", MISSING),
        ("/requestObject/spec/a~1b", "slash"),
        ("/requestObject/spec/m~0n", "tilde"),
        ("/requestObject/spec/empty", "{}"),
        ("/requestObject/spec/list", "[]"),
        ("/requestObject/spec/tls/0/hosts/0/deeper", MISSING),
        ("/nope", MISSING),
    ],
)
def test_value_pointer(prefix: str, pointer: str, expected: Any) -> None:
    got = value(f"{prefix}.value", pointer)
    assert got == expected if expected is not MISSING else got is MISSING


def test_empty_pointer_is_the_whole_event() -> None:
    fn = extractor("jevt.value[]")
    assert fn is not None
    assert orjson.loads(fn(AuditFieldValues(DOC, 0), None)) == DOC


def test_obj_is_indented_json() -> None:
    text = value("jevt.obj")
    assert text.startswith('{\n  "kind": "Event",\n  "apiVersion": "audit.k8s.io/v1",')
    assert '"empty": {}' in text and '"list": []' in text
    assert orjson.loads(text) == DOC
    assert value("json.obj") == text


def test_rawtime_is_a_string_of_ns() -> None:
    assert value("jevt.rawtime") == "1714644930000000042"
    assert value("json.rawtime") == "1714644930000000042"


def test_json_fields_do_not_need_an_audit_id() -> None:
    doc = {k: v for k, v in DOC.items() if k != "auditID"}
    assert value("jevt.value", "/stage", doc) == "ResponseComplete"
    assert value("ka.stage", None, doc) is MISSING


def test_pointer_parsing() -> None:
    assert parse_pointer("") is None
    assert parse_pointer("/") == ("",)
    assert parse_pointer("/a~01/b~1c") == ("a~1", "b/c")
    assert json_get({"": 1}, ("",)) == 1
    assert extractor("jevt.value[/a") is None
    assert extractor("proc.name") is None
