"""Type checking: field resolution, operator legality per type, literal parsing, warnings."""

from __future__ import annotations

import ipaddress

import pytest

from secengine.errors import ConditionCompileError
from secengine.lang import check_condition, parse_condition
from secengine.lang.ir import ICheck, IField


def check(text: str, registry):  # type: ignore[no-untyped-def]
    return check_condition(parse_condition(text), "test", registry)


def test_unknown_field(registry) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        ConditionCompileError, match="filter_check called with nonexistent field t.nobody"
    ):
        check("t.nobody = 1", registry)


@pytest.mark.parametrize(
    "text,message",
    [
        ("t.num contains 1", "'contains' operator not supported for numeric filters"),
        ("t.num glob 1", "'glob' operator not supported for numeric filters"),
        ("t.bool < 1", "'<' operator not supported for numeric filters"),
        ("t.ip contains 1", "'contains' operator not supported for ip address and network filters"),
        ("t.buf glob x", "'glob' operator not supported for buffer filters"),
        ("t.str bcontains 00", "'bcontains' operator not supported for string filters"),
        ("t.list = x", "'=' operator not supported list filters"),
        ("t.list contains x", "'contains' operator not supported list filters"),
    ],
)
def test_operator_type_legality(registry, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConditionCompileError, match=message):
        check(text, registry)


@pytest.mark.parametrize(
    "text,message",
    [
        ("t.num = 0x10", "0x10 is not a valid number"),
        ("t.num = 1.5", "1.5 is not a valid number"),
        ("t.num = abc", "abc is not a valid number"),
        ("t.bool = yes", "unrecognized boolean value yes"),
        ("t.net = 10.0.0.1", "unrecognized IP network 10.0.0.1"),
        ("t.ip = 10.0.0.300", "unrecognized IPv4 address 10.0.0.300"),
        ("t.buf bcontains 5g", "bcontains and bstartswith operator support hex strings only"),
        ("t.port = nosuchservice", "unrecognized protocol nosuchservice"),
        ("t.str = val(t.net)", "can't be used as a right-hand side field"),
        ("t.str pmatch val(t.str2)", "does not support right-hand side fields"),
        ("t.str = val(t.num)", "must have the same type"),
    ],
)
def test_literal_errors(registry, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConditionCompileError, match=message):
        check(text, registry)


def test_literals_are_typed(registry) -> None:  # type: ignore[no-untyped-def]
    c = check("t.unum = -1", registry).ir
    assert isinstance(c, ICheck) and c.values == (2**32 - 1,)
    c = check("t.num in (1, -2)", registry).ir
    assert isinstance(c, ICheck) and c.values == (1, -2)
    c = check("t.bool = true", registry).ir
    assert isinstance(c, ICheck) and c.values == (True,)
    c = check("t.net = 10.0.0.0/8", registry).ir
    assert isinstance(c, ICheck) and c.values == (ipaddress.ip_network("10.0.0.0/8"),)
    c = check("t.buf bcontains 504b", registry).ir
    assert isinstance(c, ICheck) and c.values == (b"PK",)
    c = check("t.port = ssh", registry).ir
    assert isinstance(c, ICheck) and c.values == (22,)


def test_dotted_argument_field(registry) -> None:  # type: ignore[no-untyped-def]
    c = check("t.arg.flags contains O_TRUNC", registry)
    assert isinstance(c.ir, ICheck) and isinstance(c.ir.left, IField)
    assert c.ir.left.key == "t.arg.flags"
    assert c.ir.left.rf.arg == "flags"


def test_any_ancestor_form(registry) -> None:  # type: ignore[no-untyped-def]
    c = check("t.anc = bash", registry).ir
    assert isinstance(c, ICheck) and isinstance(c.left, IField) and c.left.any_of
    c = check("t.anc[2] = bash", registry).ir
    assert isinstance(c, ICheck) and isinstance(c.left, IField) and not c.left.any_of
    assert c.left.key == "t.anc[2]"


def test_value_warnings(registry) -> None:  # type: ignore[no-untyped-def]
    w = check("t.str = t.str2", registry).warnings
    assert [x.message for x in w] == [
        "'t.str2' may be a valid field misused as a const string value"
    ]
    w = check("t.str = 'tolower(t.str2)'", registry).warnings
    assert any("may be a valid field transformer misused" in x.message for x in w)
    w = check("t.str regex 'abc.*'", registry).warnings
    assert w and w[0].message.startswith("regex check with 'abc.*' may be optimized")
    assert not check("t.str regex 'a[bc]+'", registry).warnings


def test_unexpected_identifier(registry) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConditionCompileError, match="unexpected identifier 'foo'"):
        check("foo", registry)
