"""String unescaping of quoted condition literals, as libsinsp ``unescape_str`` does it."""

from __future__ import annotations

from secengine.errors import ConditionSyntaxError

__all__ = ["unescape_str"]

_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", " ": "\\", "\\": "\\", "/": "/"}


def unescape_str(quoted: str) -> str:
    """Strip the quotes of ``quoted`` and resolve its escapes.

    Accepted: ``\\\\ \\/ \\b \\f \\n \\r \\t``, ``\\xHH``, the escaped quote of the
    string's own kind, and ``\\ `` (backslash-space, kept for old rules) which
    becomes a single backslash. Anything else is an error, with Falco's message.
    """
    delim = quoted[0]
    out: list[str] = []
    body = quoted[1:-1]
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            # A trailing lone backslash cannot happen: the lexer would not have ended the string.
            break
        e = body[i]
        simple = _SIMPLE.get(e)
        if simple is not None:
            out.append(simple)
        elif e == '"':
            if delim != '"':
                raise ConditionSyntaxError("invalid \\\" escape in '-quoted string")
            out.append('"')
        elif e == "'":
            if delim != "'":
                raise ConditionSyntaxError("invalid \\' escape in \"-quoted string")
            out.append("'")
        elif e == "x":
            if i + 2 >= n:
                raise ConditionSyntaxError("truncated hex char escape sequence")
            digits = body[i + 1 : i + 3]
            if not all(ch in "0123456789abcdefABCDEF" for ch in digits):
                raise ConditionSyntaxError(f"invalid hex char escape sequence: {digits}")
            out.append(chr(int(digits, 16)))
            i += 2
        else:
            raise ConditionSyntaxError(f"unsupported string escape sequence: \\{e}")
        i += 1
    result = "".join(out)
    if "\0" in result:
        raise ConditionSyntaxError("filter string contains a NUL byte")
    return result
