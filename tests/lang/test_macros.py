"""Macro resolution: recursive expansion keeps precedence; unknown names and loops are reported."""

from __future__ import annotations

from secengine.lang import MacroResolver, parse_condition, to_string


def resolver(**macros: str) -> MacroResolver:
    r = MacroResolver()
    for name, text in macros.items():
        r.set_macro(name, parse_condition(text))
    return r


def test_expansion_keeps_precedence() -> None:
    r = resolver(m="a.b = 1 or a.b = 2")
    out = r.run(parse_condition("m and c.d = 3"))
    assert to_string(out) == "((a.b = 1 or a.b = 2) and c.d = 3)"
    assert list(r.resolved_macros) == ["m"]


def test_nested_macros() -> None:
    r = resolver(inner="x.y exists", outer="inner and not z.w = 1")
    out = r.run(parse_condition("outer or q.q = 2"))
    assert to_string(out) == "((x.y exists and not z.w = 1) or q.q = 2)"
    assert set(r.resolved_macros) == {"inner", "outer"}


def test_unknown_macro_is_collected_with_position() -> None:
    r = resolver()
    r.run(parse_condition("a.b = 1 and foo"))
    assert list(r.unknown_macros) == ["foo"]
    assert r.unknown_macros["foo"].col == 13


def test_reference_loop() -> None:
    r = resolver(a="b", b="a")
    r.run(parse_condition("a"))
    assert r.errors and r.errors[0][0] == "reference loop in macro 'a'"
