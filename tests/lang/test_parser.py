"""The parser: every operator, transformer, argument form, escape and precedence rule,
and Falco's error messages with positions."""

from __future__ import annotations

import pytest

from secengine.errors import ConditionSyntaxError
from secengine.lang import ast
from secengine.lang.ast import to_string
from secengine.lang.parser import OPERATORS, parse_condition

# (condition, Falco's canonical string)
CANONICAL = [
    ("evt.type=open", "evt.type = open"),
    ("evt.type = open", "evt.type = open"),
    ("a.b == c", "a.b == c"),
    ("a.b != c", "a.b != c"),
    ("a.b < 1", "a.b < 1"),
    ("a.b <= -1", "a.b <= -1"),
    ("a.b > 0x10", "a.b > 0x10"),
    ("a.b >= 1.5e+3", "a.b >= 1.5e+3"),
    ("a.b contains x", "a.b contains x"),
    ("a.b icontains x", "a.b icontains x"),
    ("a.b bcontains 504b0304", "a.b bcontains 504b0304"),
    ("a.b startswith /usr", "a.b startswith /usr"),
    ("a.b bstartswith 7f45", "a.b bstartswith 7f45"),
    ("a.b endswith .so", "a.b endswith .so"),
    ("a.b glob /etc/*", "a.b glob /etc/*"),
    ("a.b iglob /ETC/*", "a.b iglob /ETC/*"),
    ("a.b regex 'ab+c'", "a.b regex ab+c"),
    ("a.b in (x, y)", "a.b in (x, y)"),
    ("a.b in(x,y)", "a.b in (x, y)"),
    ("a.b in ()", "a.b in ()"),
    ("a.b intersects (x)", "a.b intersects (x)"),
    ("a.b pmatch (/usr/bin, /tmp)", "a.b pmatch (/usr/bin, /tmp)"),
    ("a.b exists", "a.b exists"),
    ("a.b in my_list", "a.b in my_list"),
    ("a.b startswith oneof (x, y)", "a.b startswith oneof (x, y)"),
    ("a.b contains anyof (x, y)", "a.b contains anyof (x, y)"),
    ("a.b endswith allof (x)", "a.b endswith allof (x)"),
    ("a.b = oneof (x)", "a.b = oneof (x)"),
    ("a.b startswith oneof my_list", "a.b startswith oneof my_list"),
    # a modifier word with no list after it is a plain value
    ("a.b = oneof", "a.b = oneof"),
    ("a.b = oneof and c", "(a.b = oneof and c)"),
    # field arguments
    ("proc.aname[2] = bash", "proc.aname[2] = bash"),
    ("evt.arg.flags contains O_TRUNC", "evt.arg.flags contains O_TRUNC"),
    ("jevt.value[/a~1b] = 1", "jevt.value[/a~1b] = 1"),
    ('proc.env["HOME x"] = 1', 'proc.env["HOME x"] = 1'),
    ("container.mount.dest[/proc*] exists", "container.mount.dest[/proc*] exists"),
    # transformers
    ("tolower(a.b) = x", "tolower(a.b) = x"),
    ("toupper( a.b ) = X", "toupper(a.b) = X"),
    ("b64(a.b) = x", "b64(a.b) = x"),
    ("basename(a.b) = x", "basename(a.b) = x"),
    ("len(a.b) > 3", "len(a.b) > 3"),
    ("a.b = val(c.d)", "a.b = val(c.d)"),
    ("a.b = tolower(c.d)", "a.b = tolower(c.d)"),
    ("a.b < len(c.d)", "a.b < len(c.d)"),
    ("a.b in val(c.d)", "a.b in val(c.d)"),
    ('join(",", a.b) = x', "join(,,a.b) = x"),
    ('concat(a.b, "-", c.d) = x', "concat(a.b,-,c.d) = x"),
    ('getopt(a.b, "n:t")[n] = x', "getopt(a.b,n:t)[n] = x"),
    ('join(" ", (a.b, c.d)) = x', 'join(" ",(a.b,c.d)) = x'),
    # precedence: not > and > or, n-ary runs
    ("a and b or c", "((a and b) or c)"),
    ("a or b and c", "(a or (b and c))"),
    ("not a and b", "(not a and b)"),
    ("not (a and b)", "not (a and b)"),
    ("a and b and c", "(a and b and c)"),
    ("a or b or c", "(a or b or c)"),
    ("(a or b) and c", "((a or b) and c)"),
    ("not not a", "a"),
    ("not not not a", "not a"),
    ("not(a)", "not a"),
    ("a and(b)", "(a and b)"),
    ("a or(b)", "(a or b)"),
    ("nota", "nota"),
    ("notable and android", "(notable and android)"),
    # quoting and escapes
    ("a.b = 'x y'", 'a.b = "x y"'),
    ('a.b = "x\\"y"', 'a.b = "x\\"y"'),
    ("a.b = 'it\\'s'", 'a.b = "it\'s"'),
    ('a.b = "a\\tb"', 'a.b = "a\\tb"'),
    ('a.b = "\\x41"', "a.b = A"),
    ('a.b = "c:\\\\x"', 'a.b = "c:\\\\x"'),
    ('a.b = "a\\ b"', 'a.b = "a\\\\b"'),
    ("a.b = runc:[0:PARENT]", "a.b = runc:[0:PARENT]"),
    ("a.b = <NA>", "a.b = <NA>"),
    ("a.b in ('\"sh -c x\"', y)", 'a.b in ("\\"sh -c x\\"", y)'),
    ("a.b = x\nand\tc.d = y", "(a.b = x and c.d = y)"),
]


@pytest.mark.parametrize("text,expected", CANONICAL)
def test_canonical_string(text: str, expected: str) -> None:
    assert to_string(parse_condition(text)) == expected


def test_every_operator_parses() -> None:
    for op in OPERATORS:
        if op == "exists":
            text = "a.b exists"
        elif op in ("in", "intersects", "pmatch"):
            text = f"a.b {op} (x)"
        elif op in ("<", "<=", ">", ">="):
            text = f"a.b {op} 1"
        else:
            text = f"a.b {op} x"
        node = parse_condition(text)
        assert isinstance(node, (ast.BinaryCheck, ast.UnaryCheck))
        assert node.op == op


def test_positions_are_recorded() -> None:
    node = parse_condition("a.b = x and\n  not c.d exists")
    assert isinstance(node, ast.And)
    second = node.children[1]
    assert isinstance(second, ast.Not)
    assert (second.pos.idx, second.pos.line, second.pos.col) == (14, 2, 3)
    assert second.child.pos.line == 2


def test_field_argument_split() -> None:
    node = parse_condition("proc.aname[2] = bash")
    assert isinstance(node, ast.BinaryCheck)
    assert node.left == ast.FieldRef("proc.aname", "2")


# (condition, Falco's message, 1-based column where parsing stopped)
ERRORS = [
    ("", "filter input string is empty", 1),
    ("evt.type=open execve", "unexpected token after 'open', expecting 'or', 'and'", 15),
    ("a andb", "expected blank or '(' after 'and'", 3),
    ("a order", "expected blank or '(' after 'or'", 3),
    ("a or", "expected blank or '(' after 'or'", 3),
    ("(a and b", "expected a ')' token", 9),
    ("(a and b c)", "expected a ')' token", 10),
    ("=", "expected a '(' token, a field check, or an identifier", 1),
    (")", "expected a '(' token, a field check, or an identifier", 1),
    ("a and", "expected blank or '(' after 'and'", 3),
    (
        "proc.name",
        "expected a valid check operator: one of " + ", ".join(f"'{o}'" for o in OPERATORS),
        10,
    ),
    (
        'proc.name contains"x"',
        "expected a valid check operator: one of " + ", ".join(f"'{o}'" for o in OPERATORS),
        11,
    ),
    (
        "proc.name = ",
        "expected a string value or a field with a valid transformer: 'val', 'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'",
        13,
    ),
    (
        "proc.name < abc",
        "expected a number value or a field with a valid transformer: 'val', 'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'",
        13,
    ),
    (
        "proc.name in",
        "expected a list, an identifier, or a field with a valid transformer: 'val', 'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'",
        13,
    ),
    ("proc.name in (a b)", "expected a ')' token", 17),
    ('a.b = "\\q"', "unsupported string escape sequence: \\q", 7),
    ("a.b = '\\\"'", "invalid \\\" escape in '-quoted string", 7),
    ('a.b = "\\\'"', "invalid \\' escape in \"-quoted string", 7),
    ('a.b = "\\x4"', "truncated hex char escape sequence", 7),
    ('a.b = "\\xzz"', "invalid hex char escape sequence: zz", 7),
    ("a.b = x\n  y", "unexpected token after 'x', expecting 'or', 'and'", 3),
]


@pytest.mark.parametrize("text,message,column", ERRORS)
def test_errors_use_falco_messages(text: str, message: str, column: int) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    assert info.value.message == message
    assert info.value.column == column
    assert info.value.offset is not None


def test_depth_limit() -> None:
    deep = "(" * 300 + "a" + ")" * 300
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit of 1000"):
        parse_condition(deep)
    ok = "(" * 100 + "a" + ")" * 100
    assert to_string(parse_condition(ok)) == "a"
