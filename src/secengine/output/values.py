"""Extracted values as libsinsp prints them (text) and as Falco's ``output_fields`` types them (JSON)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from secengine.events import MISSING

__all__ = ["NA", "dumps", "escape_line", "json_value", "render_value"]

#: What libsinsp prints for a value that could not be extracted.
NA = "<NA>"


def render_value(value: Any) -> str | None:
    """libsinsp's string form of an extracted value; ``None`` when missing.

    Strings raw, integers decimal, booleans ``true``/``false``, lists
    ``(a,b)``, doubles with one decimal (``%.1lf``), bytes decoded as UTF-8.
    """
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if value is MISSING or value is None:
        return None
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return str(value)
    if t is list or t is tuple or isinstance(value, (list, tuple, set, frozenset)):
        parts = [render_value(v) for v in value]
        return "(" + ",".join(NA if p is None else p for p in parts) + ")"
    if t is float:
        return f"{value:.1f}"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def json_value(value: Any) -> Any:
    """The typed JSON value of an extracted value for ``output_fields``; missing → ``None``."""
    t = type(value)
    if t is str or t is int or t is bool or t is float:
        return value
    if value is MISSING or value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (str, int, float)):  # subclasses (enums, IntFlag...)
        return value
    return str(value)


_SURROGATES = re.compile("[\ud800-\udfff]")


def _sanitize(value: Any) -> Any:
    """Replace lone surrogates (undecodable bytes) by U+FFFD, recursively."""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_sanitize(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    return value


def dumps(obj: Any, option: int = 0) -> bytes:
    """``obj`` as JSON bytes; lone surrogates (undecodable bytes) become U+FFFD."""
    try:
        return orjson.dumps(obj, option=option)
    except TypeError:
        return orjson.dumps(_sanitize(obj), option=option)


def escape_line(line: str) -> str:
    """JSON-escape a text alert line, as Falco does (control characters, quotes, bad UTF-8)."""
    return dumps(line)[1:-1].decode("utf-8")
