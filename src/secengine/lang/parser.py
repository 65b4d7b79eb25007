"""Parse condition text into the AST with Lark (``grammars/condition.lark``).

The Lark parser is built lazily on first use and memoised; nothing is written
to disk. Lark's exceptions are translated at this boundary into
:class:`~secengine.errors.ConditionSyntaxError` carrying Falco's parser
messages and the position where parsing stopped.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from secengine.errors import ConditionSyntaxError
from secengine.lang import ast
from secengine.lang.escaping import unescape_str
from secengine.lang.transformers import TRANSFORMER_NAMES
from secengine.resources import resource_path

__all__ = ["OPERATORS", "TRANSFORMERS", "grammar_path", "parse_condition"]

#: Operators in the order Falco lists them in its error message: libsinsp's
#: ``parser::supported_operators()``, which rule exceptions check against too.
OPERATORS: tuple[str, ...] = (
    "exists",
    "<=",
    "<",
    ">=",
    ">",
    "==",
    "=",
    "!=",
    "glob",
    "iglob",
    "contains",
    "icontains",
    "bcontains",
    "startswith",
    "bstartswith",
    "endswith",
    "regex",
    "intersects",
    "in",
    "pmatch",
)
#: Field transformers, with ``val`` first as in Falco's messages (see :mod:`.transformers`).
TRANSFORMERS: tuple[str, ...] = TRANSFORMER_NAMES

_OPS_TEXT = ", ".join(f"'{o}'" for o in OPERATORS)
_TRANSF_TEXT = ", ".join(f"'{t}'" for t in TRANSFORMERS)
DEFAULT_MAX_DEPTH = 1000


def grammar_path() -> Path:
    """Where ``condition.lark`` is: inside the installed package, or at the top of a checkout."""
    return resource_path("grammars") / "condition.lark"


@functools.cache
def _lark() -> Lark:
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=False,
        maybe_placeholders=False,
        cache=False,
    )


def _pos(tok: Token) -> ast.Pos:
    return ast.Pos(tok.start_pos or 0, tok.line or 1, tok.column or 1)


def _split_field(text: str) -> tuple[str, str | None]:
    """``proc.aname[2]`` → (``proc.aname``, ``2``); quoted arguments are unescaped."""
    b = text.find("[")
    if b < 0:
        return text, None
    return text[:b], _arg_text(text[b:])


def _arg_text(bracketed: str) -> str:
    inner = bracketed[1:-1]
    if inner[:1] in ("'", '"'):
        return unescape_str(inner)
    return inner


def _literal_text(tok: Token) -> str:
    if tok.type != "QUOTED":
        return str(tok)
    try:
        return unescape_str(tok)
    except ConditionSyntaxError as e:
        raise ConditionSyntaxError(e.message, tok.start_pos, tok.line, tok.column) from None


class _ToAst(Transformer[Token, "ast.Expr | Token"]):
    """One method per grammar rule, each building one AST node (a lone literal stays a Token)."""

    def or_expr(self, children: Sequence[Any]) -> ast.Or:
        return ast.Or(tuple(children), children[0].pos)

    def and_expr(self, children: Sequence[Any]) -> ast.And:
        return ast.And(tuple(children), children[0].pos)

    def negation(self, children: Sequence[Any]) -> ast.Expr:
        nots = children[:-1]
        child: ast.Expr = children[-1]
        if len(nots) % 2 == 0:
            return child
        return ast.Not(child, _pos(nots[0]))

    def group(self, children: Sequence[Any]) -> ast.Expr:
        inner: ast.Expr = children[1]
        return inner

    def macro_ref(self, children: Sequence[Any]) -> ast.MacroRef:
        tok = children[0]
        return ast.MacroRef(str(tok), _pos(tok))

    def field(self, children: Sequence[Any]) -> ast.FieldRef:
        tok = children[0]
        name, arg = _split_field(str(tok))
        return ast.FieldRef(name, arg, _pos(tok))

    def transformer(self, children: Sequence[Any]) -> ast.Transformer:
        tok = children[0]
        args = children[1]
        farg = _arg_text(str(children[2])) if len(children) > 2 else None
        return ast.Transformer(str(tok)[:-1], tuple(args), farg, _pos(tok))

    def val_transformer(self, children: Sequence[Any]) -> ast.Transformer:
        tok, ftok = children[0], children[1]
        name, arg = _split_field(str(ftok))
        farg = _arg_text(str(children[2])) if len(children) > 2 else None
        return ast.Transformer("val", (ast.FieldRef(name, arg, _pos(ftok)),), farg, _pos(tok))

    def transformer_args(self, children: Sequence[Any]) -> Sequence[Any]:
        return children

    def transformer_list(self, children: Sequence[Any]) -> ast.TransformerList:
        return ast.TransformerList(tuple(children[1:]), _pos(children[0]))

    def literal(self, children: Sequence[Any]) -> ast.Value:
        tok = children[0]
        return ast.Value(_literal_text(tok), _pos(tok))

    def list(self, children: Sequence[Any]) -> ast.ListValue:
        lpar = children[0]
        return ast.ListValue(tuple(_literal_text(t) for t in children[1:]), _pos(lpar))

    def unary_check(self, children: Sequence[Any]) -> ast.UnaryCheck:
        left, op = children
        return ast.UnaryCheck(left, str(op), left.pos)

    def binary_check(self, children: Sequence[Any]) -> ast.BinaryCheck:
        left, op, right = children
        if isinstance(right, Token):
            right = ast.Value(_literal_text(right), _pos(right))
        return ast.BinaryCheck(left, str(op), right, left.pos)

    def modifier_check(self, children: Sequence[Any]) -> ast.BinaryCheck:
        left, op, modifier, right = children
        if isinstance(right, Token):
            right = ast.Value(_literal_text(right), _pos(right))
        return ast.BinaryCheck(left, f"{op} {modifier}", right, left.pos)


_TO_AST = _ToAst()


def parse_condition(text: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> ast.Expr:
    """Parse a Falco condition; raise ConditionSyntaxError with Falco's message and position."""
    if not text:
        raise ConditionSyntaxError("filter input string is empty", 0, 1, 1)
    _check_depth(text, max_depth)
    try:
        tree = _lark().parse(text)
        result = _TO_AST.transform(tree)
    except VisitError as e:
        orig = e.orig_exc
        if isinstance(orig, ConditionSyntaxError):
            raise orig from None
        raise
    except UnexpectedInput as e:
        raise _translate(text, e) from None
    if isinstance(result, Token):  # a lone literal can't be a whole condition
        raise ConditionSyntaxError("expected a '(' token, a field check, or an identifier", 0, 1, 1)
    return result


def _paren_depths(text: str) -> Iterator[int]:
    """The parenthesis depth after each character of ``text`` (quoted strings skipped)."""
    depth = 0
    quote = ""
    prev = ""
    for ch in text:
        if quote:
            if ch == quote and prev != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        prev = ch
        yield depth


def _open_parens(text: str, end: int) -> int:
    """How many parentheses are open at ``end``."""
    depth = 0
    for depth in _paren_depths(text[:end]):
        pass
    return depth


def _check_depth(text: str, max_depth: int) -> None:
    """Falco counts one level per recursive-descent call; a parenthesis costs about five.

    We cap nesting the same way so that deep inputs fail with Falco's message
    instead of exhausting Python's stack in the AST transformer.
    """
    deepest = max(_paren_depths(text), default=0)
    if 5 * deepest + 4 >= max_depth:
        raise ConditionSyntaxError(f"exceeded max depth limit of {max_depth}", 0, 1, 1)


# ---- error translation ---------------------------------------------------------------------


def _position(text: str, idx: int) -> tuple[int, int, int]:
    idx = max(0, min(idx, len(text)))
    line = text.count("\n", 0, idx) + 1
    col = idx - (text.rfind("\n", 0, idx) + 1) + 1
    return idx, line, col


def _last_token_before(text: str, idx: int) -> str:
    """The last token Falco's lexer would have read before ``idx`` (for its messages)."""
    j = idx
    while j > 0 and text[j - 1] in " \t\b\r\n":
        j -= 1
    k = j
    if k > 0 and text[k - 1] in "()":
        return text[k - 1]
    if k > 0 and text[k - 1] in "\"'":
        q = text[k - 1]
        start = text.rfind(q, 0, k - 1)
        return text[start + 1 : k - 1] if start >= 0 else text[:k]
    while k > 0 and text[k - 1] not in " \t\b\r\n()=,<>!":
        k -= 1
    return text[k:j]


def _message(text: str, idx: int, expected: set[str]) -> str:
    rest = text[idx:]
    if "FIELD" in expected and "IDENT" in expected:
        return "expected a '(' token, a field check, or an identifier"
    if "EXISTS" in expected or "NUM_OP" in expected:
        return "expected a valid check operator: one of " + _OPS_TEXT
    if "MODIFIER" in expected and ("BARE" in expected or "QUOTED" in expected):
        return "expected a string value or a field with a valid transformer: " + _TRANSF_TEXT
    if "BARE" in expected and "VAL" in expected:
        return "expected a string value or a field with a valid transformer: " + _TRANSF_TEXT
    if "NUM" in expected and "VAL" in expected:
        return "expected a number value or a field with a valid transformer: " + _TRANSF_TEXT
    if "IDENT" in expected and "VAL" in expected:
        return (
            "expected a list, an identifier, or a field with a valid transformer: " + _TRANSF_TEXT
        )
    if "IDENT" in expected and "LPAR" in expected:
        return "expected a list or an identifier"
    if "FIELD" in expected and ("VAL" in expected or "NUM" in expected):
        return (
            "expected field transformer argument: "
            "field, transformer, quoted string, number, or transformer list"
        )
    if "FIELD" in expected:
        return "expected a field within 'val' transformer"
    if "_AND" in expected or "_OR" in expected or "$END" in expected:
        for kw in ("and", "or"):
            if rest.startswith(kw):
                return f"expected blank or '(' after '{kw}'"
        if _open_parens(text, idx) > 0:
            return "expected a ')' token"
        return f"unexpected token after '{_last_token_before(text, idx)}', expecting 'or', 'and'"
    if "_RPAR" in expected or "_COMMA" in expected:
        return "expected a ')' token"
    if "BARE" in expected or "QUOTED" in expected:
        return "expected a string value"
    return f"unexpected token after '{_last_token_before(text, idx)}'"


def _translate(text: str, e: UnexpectedInput) -> ConditionSyntaxError:
    idx: int
    if isinstance(e, UnexpectedCharacters):
        idx = e.pos_in_stream or 0
        expected = set(e.allowed or ())
    elif isinstance(e, UnexpectedEOF):
        idx = len(text)
        expected = set(e.expected or ())
    elif isinstance(e, UnexpectedToken):
        tok = e.token
        idx = len(text) if tok.type == "$END" else (tok.start_pos or 0)
        expected = set(e.expected or ())
    else:  # pragma: no cover - every Lark input error is one of the above
        idx = getattr(e, "pos_in_stream", 0) or 0
        expected = set()
    # Falco stops after the blanks that precede the offending text.
    while idx < len(text) and text[idx] in " \t\b\r\n":
        idx += 1
    message = _message(text, idx, expected)
    i, line, col = _position(text, idx)
    return ConditionSyntaxError(message, i, line, col)
