"""Rule output templates (``%proc.name``) and Falco's alert line and alert JSON.

Two jobs, both ported from Falco:

- :class:`OutputFormat` compiles a rule's ``output:`` text once, when the rule
  loads, following libsinsp's ``sinsp_evt_formatter::set_format``: ``%`` with
  an optional width, then the *longest prefix* of the rest that parses as a
  known field (optionally ``[arg]``) or a transformer such as
  ``tolower(proc.name)``. Fields are resolved through the
  :class:`~secengine.fields.registry.FieldRegistry` at that point, so
  rendering never looks a name up or parses anything.
- :class:`AlertFormatter` turns a matching rule and its event into an
  :class:`~secengine.alert.Alert` and renders it as Falco's text line or as
  Falco's alert JSON (falco ``formats.cpp``), so Falcosidekick and other Falco
  consumers accept it as is.

Falco always renders outputs as if they began with ``*``: a missing value
prints as ``<NA>`` (and is ``null`` in ``output_fields``) instead of
suppressing the line, so a leading ``*`` is accepted and dropped here.
"""

from __future__ import annotations

import datetime as _dt
import re
import socket
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from secengine.alert import Alert
from secengine.errors import ConditionError, OutputFormatError
from secengine.events import MISSING, Event
from secengine.fields.base import FieldType, ResolvedField
from secengine.fields.gen_event import TIME_FIELDS, render_time, time_value
from secengine.fields.registry import FieldRegistry
from secengine.lang.transformers import TRANSFORMER_TABLE, TransformerSpec
from secengine.priority import Priority

__all__ = [
    "AlertFormatter",
    "OutputFormat",
    "escape_line",
    "json_value",
    "render_value",
]

#: What libsinsp prints for a value that could not be extracted.
NA = "<NA>"

_NS = 1_000_000_000


# ---------------------------------------------------------------------------
# value rendering
# ---------------------------------------------------------------------------

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


def _dumps(obj: Any, option: int = 0) -> bytes:
    try:
        return orjson.dumps(obj, option=option)
    except TypeError:
        return orjson.dumps(_sanitize(obj), option=option)


def escape_line(line: str) -> str:
    """JSON-escape a text alert line, as Falco does (control characters, quotes, bad UTF-8)."""
    return _dumps(line)[1:-1].decode("utf-8")


# ---------------------------------------------------------------------------
# tokens of a compiled template
# ---------------------------------------------------------------------------

class _FieldToken:
    """``%proc.name``: one resolved field."""

    __slots__ = ("_join_any", "key", "resolved", "text")

    def __init__(self, text: str, resolved: ResolvedField) -> None:
        self.text = text
        self.resolved = resolved
        self.key = resolved.key
        # proc.aname without an index: a list of ancestors in conditions, but
        # libsinsp prints the names joined by spaces.
        self._join_any = resolved.field.any_without_index and resolved.arg is None

    def extract(self, event: Event) -> Any:
        return event.fields[self.key]

    def render(self, event: Event) -> str | None:
        value = event.fields[self.key]
        if self._join_any and isinstance(value, (list, tuple)):
            return " ".join(str(v) for v in value) if value else None
        return render_value(value)

    def json(self, event: Event) -> Any:
        value = event.fields[self.key]
        if self._join_any and isinstance(value, (list, tuple)):
            return " ".join(str(v) for v in value) if value else None
        return json_value(value)


class _TimeToken(_FieldToken):
    """``%evt.time`` and friends: computed from the event timestamp."""

    __slots__ = ()

    def extract(self, event: Event) -> Any:
        return time_value(self.key, event.ts)

    def render(self, event: Event) -> str | None:
        value = time_value(self.key, event.ts)
        return None if value is MISSING else render_time(self.key, event.ts)

    def json(self, event: Event) -> Any:
        return json_value(time_value(self.key, event.ts))


class _TransformerToken:
    """``%tolower(proc.name)``: a transformer applied to one field or transformer."""

    __slots__ = ("child", "fn", "text")

    def __init__(self, text: str, fn: Callable[[Any], Any],
                 child: _FieldToken | _TransformerToken) -> None:
        self.text = text
        self.fn = fn
        self.child = child

    def extract(self, event: Event) -> Any:
        value = self.child.extract(event)
        if value is MISSING or value is None:
            return MISSING
        return self.fn(value)

    def render(self, event: Event) -> str | None:
        return render_value(self.extract(event))


# ---------------------------------------------------------------------------
# transformers: the condition language's implementations, with output typing
# ---------------------------------------------------------------------------

def _as_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def _per_value(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A transformer's per-value function over an output value (text, bytes or a list)."""
    def apply(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            out = [fn(_as_text(v)) for v in value]
            return MISSING if any(o is MISSING for o in out) else out
        return fn(_as_text(value))
    return apply


def _len(value: Any) -> int:
    if isinstance(value, (list, tuple, set, frozenset, bytes, bytearray)):
        return len(value)
    return len(_as_text(value))


def _output_function(spec: TransformerSpec) -> Callable[[Any], Any]:
    """How an output applies ``spec``: ``len`` counts a list or the bytes of a buffer."""
    assert spec.per_value is not None
    return _len if spec.counts_list else _per_value(spec.per_value)


#: The transformers outputs support: the single-operand ones (join/concat/getopt
#: take several arguments and are not supported in outputs yet).
_OUTPUT_TRANSFORMERS: dict[str, tuple[TransformerSpec, Callable[[Any], Any]]] = {
    t.name: (t, _output_function(t)) for t in TRANSFORMER_TABLE if t.unary}
#: Every transformer name an output may start with (``val`` is a condition's only).
_TRANSFORMER_NAMES = tuple(t.name for t in TRANSFORMER_TABLE if t.name != "val")


# ---------------------------------------------------------------------------
# the token parser (libsinsp parser::parse_field_or_transformer + set_format)
# ---------------------------------------------------------------------------

_FIELD_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)+")
_FIELD_NAME_FULL = re.compile(_FIELD_NAME.pattern + r"\Z")
_BARE_ARG = re.compile(r"[^\]\[\"'\s]+")
_BLANKS = re.compile(r"[ \t\b\r\n]*")
_ARG_QUOTE_TRIGGERS = frozenset("\b\f\n\r\t \\=\"'\0")
_ARG_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                "\\": "\\\\", '"': '\\"'}
_UNESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", " ": "\\", "\\": "\\",
              "/": "/", '"': '"', "'": "'"}

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

    def __init__(self, source: str, registry: FieldRegistry) -> None:
        self.source = source
        self.registry = registry

    # -- fields ---------------------------------------------------------------
    def field(self, name: str, arg: str | None) -> _FieldToken:
        try:
            resolved = self.registry.resolve(self.source, name, arg)
        except ConditionError as e:
            raise _NoParse(str(e)) from None
        if resolved.field.filter_only:
            raise _NoParse(f"field {name} cannot be used in outputs")
        text = name + _arg_text(arg)
        cls = _TimeToken if resolved.key in TIME_FIELDS else _FieldToken
        return cls(text, resolved)

    def longest_field(self, text: str) -> tuple[_FieldToken, int]:
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
        for name in _TRANSFORMER_NAMES:
            if text.startswith(name + "(", i):
                return name
        return None

    def transformer(self, text: str, i: int, name: str
                    ) -> tuple[_TransformerToken, int, FieldType, bool]:
        """``name(`` at ``text[i]``: the token, the end index, its type and list-ness."""
        found = _OUTPUT_TRANSFORMERS.get(name)
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
            raise _NoParse(f"field type '{ctype.falco_name}' is not supported by '{name}' "
                           "transformer")
        rtype = ctype if tdef.result is None else tdef.result
        rlist = clist and not tdef.counts_list
        token_text = f"{name}({child.text})"
        return _TransformerToken(token_text, fn, child), j, rtype, rlist

    def transformer_arg(self, text: str, i: int
                        ) -> tuple[_FieldToken | _TransformerToken, int, FieldType, bool]:
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
    def token(self, text: str) -> tuple[_FieldToken | _TransformerToken, int]:
        """The token at the start of ``text`` and its length, or :class:`_NoParse`."""
        name = self.transformer_name(text, 0)
        if name is not None:
            tok, end, _, _ = self.transformer(text, 0, name)
            return tok, end
        return self.longest_field(text)


def _field_tokens(tok: _FieldToken | _TransformerToken) -> list[_FieldToken]:
    """The field tokens inside a token (a transformer's inner fields)."""
    while isinstance(tok, _TransformerToken):
        tok = tok.child
    return [tok]


class OutputFormat:
    """A compiled output template; render it against events any number of times.

    ``fields`` are the resolved fields of every ``%field`` (including those
    inside transformers), in order of first appearance; ``text`` is the
    template as given.
    """

    __slots__ = ("_json_tokens", "_parts", "_widths", "fields", "source", "text")

    def __init__(self, text: str, source: str,
                 parts: list[str | _FieldToken | _TransformerToken],
                 widths: list[int]) -> None:
        self.text = text
        self.source = source
        self._parts = tuple(parts)
        self._widths = tuple(widths)
        seen: dict[str, _FieldToken] = {}
        for p in parts:
            if not isinstance(p, str):
                for ft in _field_tokens(p):
                    seen.setdefault(ft.text, ft)
        self._json_tokens = tuple(seen.items())
        self.fields: tuple[ResolvedField, ...] = tuple(t.resolved for t in seen.values())

    @classmethod
    def compile(cls, fmt: str, source: str, registry: FieldRegistry) -> OutputFormat:
        """Parse ``fmt`` and resolve its fields for ``source``.

        Raises :class:`~secengine.errors.OutputFormatError` with libsinsp's
        messages: ``empty formatting token``, ``invalid formatting syntax:
        formatting cannot end with a %`` (or ``with a number``), ``unknown
        filter: …``.
        """
        if not fmt:
            raise OutputFormatError("empty formatting token")
        body = fmt[1:] if fmt[0] == "*" else fmt
        compiler = _TokenCompiler(source, registry)
        parts: list[str | _FieldToken | _TransformerToken] = []
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
                raise OutputFormatError(
                    "invalid formatting syntax: formatting cannot end with a %")
            width = 0
            k = j + 1
            while k < n and body[k].isdigit() and body[k].isascii():
                k += 1
            if k > j + 1:
                if k == n:
                    raise OutputFormatError(
                        "invalid formatting syntax: formatting cannot end with a number")
                width = int(body[j + 1:k])
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
        return cls(fmt, source, parts, widths)

    def render(self, event: Event) -> str:
        """The template with every token replaced by its value (missing → ``<NA>``)."""
        out: list[str] = []
        append = out.append
        for part, width in zip(self._parts, self._widths):
            if type(part) is str:
                append(part)  # type: ignore[arg-type]
                continue
            s = part.render(event)  # type: ignore[union-attr]
            if s is None:
                s = NA
            if width:
                s = s[:width].ljust(width)
            append(s)
        return "".join(out)

    def values(self, event: Event) -> dict[str, Any]:
        """Every field of the template with its typed JSON value (missing → ``None``).

        Keys are the fields as written (``proc.aname[2]``, ``evt.arg.flags``);
        transformer results are left out and their inner fields included, as
        Falco does.
        """
        return {name: tok.json(event) for name, tok in self._json_tokens}

    def __repr__(self) -> str:
        return f"OutputFormat({self.text!r}, source={self.source!r})"


# ---------------------------------------------------------------------------
# alerts
# ---------------------------------------------------------------------------

class RuleLike(Protocol):
    """What :meth:`AlertFormatter.make_alert` needs of a compiled rule."""

    name: str
    priority: Priority
    source: str
    tags: Any  # an iterable of str
    output_format: OutputFormat


def _utc_z(ts: int) -> str:
    sec, nsec = divmod(ts, _NS)
    d = _dt.datetime.fromtimestamp(sec, _dt.UTC)
    return f"{d:%Y-%m-%dT%H:%M:%S}.{nsec:09d}Z"


class AlertFormatter:
    """Builds alerts from matches and renders them as Falco does.

    Options mirror Falco's configuration keys of the same names. ``hostname``
    defaults to this machine's name (``socket.gethostname()``), read when the
    formatter is created.
    """

    __slots__ = (
        "_time_key",
        "hostname",
        "json_include_message_property",
        "json_include_output_fields_property",
        "json_include_output_property",
        "json_include_tags_property",
        "time_format_iso_8601",
    )

    def __init__(self, *, time_format_iso_8601: bool = False,
                 json_include_output_property: bool = True,
                 json_include_tags_property: bool = True,
                 json_include_message_property: bool = False,
                 json_include_output_fields_property: bool = True,
                 hostname: str | None = None) -> None:
        self.time_format_iso_8601 = time_format_iso_8601
        self.json_include_output_property = json_include_output_property
        self.json_include_tags_property = json_include_tags_property
        self.json_include_message_property = json_include_message_property
        self.json_include_output_fields_property = json_include_output_fields_property
        self.hostname = socket.gethostname() if hostname is None else hostname
        self._time_key = "evt.time.iso8601" if time_format_iso_8601 else "evt.time"

    def make_alert(self, rule: RuleLike, event: Event) -> Alert:
        """The alert for ``rule`` matching ``event`` (renders the output once)."""
        fmt = rule.output_format
        ts = event.ts
        message = fmt.render(event)
        output_fields = fmt.values(event)
        output_fields[self._time_key] = ts
        priority = rule.priority
        return Alert(
            rule=rule.name,
            priority=priority,
            source=rule.source,
            time=ts,
            output=f"{render_time(self._time_key, ts)}: {priority.title} {message}",
            output_fields=output_fields,
            tags=tuple(sorted(rule.tags)),
            hostname=self.hostname,
            message=message,
        )

    def text(self, alert: Alert) -> str:
        """The text line ``<time>: <Priority> <message>``, JSON-escaped as Falco prints it."""
        return escape_line(alert.output)

    def to_dict(self, alert: Alert) -> dict[str, Any]:
        """Falco's alert JSON object as a dict (the keys this formatter includes)."""
        obj: dict[str, Any] = {
            "hostname": alert.hostname,
            "priority": alert.priority.title,
            "rule": alert.rule,
            "source": alert.source,
            "time": _utc_z(alert.time),
        }
        if self.json_include_output_property:
            obj["output"] = alert.output
        if self.json_include_output_fields_property:
            obj["output_fields"] = alert.output_fields
        if self.json_include_tags_property:
            obj["tags"] = list(alert.tags)
        if self.json_include_message_property:
            obj["message"] = alert.message
        return obj

    def json(self, alert: Alert) -> bytes:
        """Falco's alert JSON: one compact line (no newline), keys sorted."""
        return _dumps(self.to_dict(alert), orjson.OPT_SORT_KEYS)

