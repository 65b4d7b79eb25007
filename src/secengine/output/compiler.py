"""Compiling an output template, libsinsp's way (``sinsp_evt_formatter::set_format``).

``%`` with an optional width, then the *longest prefix* of the rest that
parses as a known field (optionally ``[arg]``) or a transformer such as
``tolower(proc.name)``. Fields are resolved through the field registry
here, so rendering never looks a name up or parses anything.
"""

from __future__ import annotations

import re

from secengine.errors import ConditionError, OutputFormatError
from secengine.eventtime import TIME_FIELDS
from secengine.lang.fielddefs import FieldType
from secengine.lang.resolver import FieldResolver
from secengine.output.tokens import FieldToken, TimeToken, Token, TransformerToken
from secengine.output.transformers import OUTPUT_TRANSFORMERS, TRANSFORMER_NAMES

__all__ = ["compile_template"]

_FIELD_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)+")
_FIELD_NAME_FULL = re.compile(_FIELD_NAME.pattern + r"\Z")
_BARE_ARG = re.compile(r"[^\]\[\"'\s]+")
_BLANKS = re.compile(r"[ \t\b\r\n]*")
_ARG_QUOTE_TRIGGERS = frozenset("\b\f\n\r\t \\=\"'\0")
_ARG_ESCAPES = {
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\\": "\\\\",
    '"': '\\"',
}
_UNESCAPES = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    " ": "\\",
    "\\": "\\",
    "/": "/",
    '"': '"',
    "'": "'",
}

#: libsinsp's message when no prefix of a token parses (the parser's error
#: for a one-character input, reported after every shorter prefix failed).
_UNKNOWN_TOKEN = "unknown filter: unexpected token after '"


class _NoParse(Exception):
    """This prefix does not parse or compile; try a shorter one."""


def _arg_text(arg: str | None) -> str:
    """How libsinsp prints a field argument (``ast::as_string``): quoted when needed."""
    if arg is None:
        return ""
    if arg == "":
        return '[""]'
    if any(c in _ARG_QUOTE_TRIGGERS for c in arg):
        return '["' + "".join(_ARG_ESCAPES.get(c, c) for c in arg) + '"]'
    return "[" + arg + "]"


def _lex_quoted(text: str, i: int) -> tuple[str, int] | None:
    """A quoted string at ``text[i]``: its unescaped value and the index after it."""
    delim = text[i]
    j = i + 1
    prev = ""
    while j < len(text):
        c = text[j]
        if c == delim and prev != "\\":
            out: list[str] = []
            k = i + 1
            while k < j:
                ch = text[k]
                if ch == "\\" and k + 1 < j:
                    nxt = text[k + 1]
                    if nxt not in _UNESCAPES or (nxt in "\"'" and nxt != delim):
                        return None
                    out.append(_UNESCAPES[nxt])
                    k += 2
                    continue
                out.append(ch)
                k += 1
            return "".join(out), j + 1
        prev = c
        j += 1
    return None


def _lex_arg(text: str, i: int) -> tuple[str, int] | None:
    """``[arg]`` at ``text[i]`` (which is ``[``): the argument and the index after ``]``."""
    j = i + 1
    if j < len(text) and text[j] in "\"'":
        quoted = _lex_quoted(text, j)
        if quoted is None:
            return None
        arg, j = quoted
    else:
        m = _BARE_ARG.match(text, j)
        if m is None:
            return None
        arg, j = m.group(), m.end()
    if j >= len(text) or text[j] != "]":
        return None
    return arg, j + 1


class _TokenCompiler:
    """Compiles the field or transformer at the start of a string, libsinsp style."""

    def __init__(self, source: str, registry: FieldResolver) -> None:
        self.source = source
        self.registry = registry

    # -- fields ---------------------------------------------------------------
    def field(self, name: str, arg: str | None) -> FieldToken:
        try:
            resolved = self.registry.resolve(self.source, name, arg)
        except ConditionError as e:
            raise _NoParse(str(e)) from None
        if resolved.field.filter_only:
            raise _NoParse(f"field {name} cannot be used in outputs")
        text = name + _arg_text(arg)
        cls = TimeToken if resolved.key in TIME_FIELDS else FieldToken
        return cls(text, resolved)

    def longest_field(self, text: str) -> tuple[FieldToken, int]:
        """The longest prefix of ``text`` that is a known field, with its length.

        Equivalent to libsinsp's loop that re-parses ever-shorter prefixes
        until one compiles, without trying every length.
        """
        m = _FIELD_NAME.match(text)
        if m is None:
            raise _NoParse("no field name")
        name = m.group()
        end = m.end()
        if end < len(text) and text[end] == "[":
            lexed = _lex_arg(text, end)
            if lexed is not None:
                try:
                    return self.field(name, lexed[0]), lexed[1]
                except _NoParse:
                    pass
        for k in range(len(name), 2, -1):
            prefix = name[:k]
            if _FIELD_NAME_FULL.match(prefix) is None:
                continue
            try:
                return self.field(prefix, None), k
            except _NoParse:
                continue
        raise _NoParse("no known field")

    # -- transformers ---------------------------------------------------------
    def transformer_name(self, text: str, i: int) -> str | None:
        for name in TRANSFORMER_NAMES:
            if text.startswith(name + "(", i):
                return name
        return None

    def transformer(
        self, text: str, i: int, name: str
    ) -> tuple[TransformerToken, int, FieldType, bool]:
        """``name(`` at ``text[i]``: the token, the end index, its type and list-ness."""
        found = OUTPUT_TRANSFORMERS.get(name)
        if found is None:
            raise _NoParse(f"transformer '{name}' is not supported in outputs")
        tdef, fn = found
        j = _BLANKS.match(text, i + len(name) + 1).end()  # type: ignore[union-attr]
        child, j, ctype, clist = self.transformer_arg(text, j)
        j = _BLANKS.match(text, j).end()  # type: ignore[union-attr]
        if j >= len(text) or text[j] != ")":
            raise _NoParse("expected a ')' token closing the transformer")
        j += 1
        if ctype not in tdef.types and not (clist and tdef.counts_list):
            raise _NoParse(
                f"field type '{ctype.falco_name}' is not supported by '{name}' transformer"
            )
        rtype = ctype if tdef.result is None else tdef.result
        rlist = clist and not tdef.counts_list
        token_text = f"{name}({child.text})"
        return TransformerToken(token_text, fn, child), j, rtype, rlist

    def transformer_arg(self, text: str, i: int) -> tuple[Token, int, FieldType, bool]:
        name = self.transformer_name(text, i)
        if name is not None:
            return self.transformer(text, i, name)
        m = _FIELD_NAME.match(text, i)
        if m is None:
            raise _NoParse("expected field transformer argument")
        fname, j = m.group(), m.end()
        arg = None
        if j < len(text) and text[j] == "[":
            lexed = _lex_arg(text, j)
            if lexed is None:
                raise _NoParse("expected a valid field argument")
            arg, j = lexed
        tok = self.field(fname, arg)
        return tok, j, tok.resolved.field.type, tok.resolved.is_list

    # -- entry point ----------------------------------------------------------
    def token(self, text: str) -> tuple[Token, int]:
        """The token at the start of ``text`` and its length, or :class:`_NoParse`."""
        name = self.transformer_name(text, 0)
        if name is not None:
            tok, end, _, _ = self.transformer(text, 0, name)
            return tok, end
        return self.longest_field(text)


def compile_template(
    fmt: str, source: str, registry: FieldResolver
) -> tuple[list[str | Token], list[int]]:
    """The literal texts and tokens of ``fmt``, each with its width (0: none).

    Raises :class:`~secengine.errors.OutputFormatError` with libsinsp's
    messages: ``empty formatting token``, ``invalid formatting syntax:
    formatting cannot end with a %`` (or ``with a number``), ``unknown
    filter: …``.
    """
    if not fmt:
        raise OutputFormatError("empty formatting token")
    body = fmt[1:] if fmt[0] == "*" else fmt
    compiler = _TokenCompiler(source, registry)
    parts: list[str | Token] = []
    widths: list[int] = []
    n = len(body)
    start = 0  # start of the pending literal text
    j = 0
    while j < n:
        if body[j] != "%":
            j += 1
            continue
        if start != j:
            parts.append(body[start:j])
            widths.append(0)
        if j == n - 1:
            raise OutputFormatError("invalid formatting syntax: formatting cannot end with a %")
        width = 0
        k = j + 1
        while k < n and body[k].isdigit() and body[k].isascii():
            k += 1
        if k > j + 1:
            if k == n:
                raise OutputFormatError(
                    "invalid formatting syntax: formatting cannot end with a number"
                )
            width = int(body[j + 1 : k])
        try:
            tok, size = compiler.token(body[k:])
        except _NoParse:
            raise OutputFormatError(_UNKNOWN_TOKEN) from None
        parts.append(tok)
        widths.append(width)
        j = start = k + size
    if start != n:
        parts.append(body[start:])
        widths.append(0)
    return parts, widths
