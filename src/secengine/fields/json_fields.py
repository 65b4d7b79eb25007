"""The json plugin's fields: ``json.*`` and their ``jevt.*`` aliases, over JSON events.

Falco's Kubernetes audit rules read parts of the raw audit event through the
``json`` plugin (falcosecurity/plugins ``plugins/json``, version 0.7):
``jevt.value[/stage]``, ``jevt.value[/requestObject/spec/tls]``, the whole
event with ``jevt.obj`` and the event time with ``jevt.rawtime``. The field
table is the plugin's ``Fields()``; extraction follows its ``Extract``:

- ``json.value[<pointer>]``: an RFC 6901 JSON pointer (``~1`` is ``/``, ``~0``
  is ``~``, decimal array indexes; a leading ``/`` is optional; an empty
  pointer means the whole event). A string is returned raw, any other value
  marshalled compactly; a path that does not exist makes the field missing.
- ``json.obj``: the event as JSON indented with two spaces.
- ``json.rawtime``: the event time in nanoseconds, as a decimal *string*.

The plugin applies to every plugin event source; here that is ``k8s_audit``.
This module also holds the JSON access helpers with the semantics of the
fastjson library both plugins use (:func:`json_get`, :func:`json_string`),
which the ``ka.*`` extractors share.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final, Protocol

import orjson

from secengine.events import MISSING
from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldType

__all__ = [
    "ABSENT",
    "FIELD_CLASS",
    "Extractor",
    "JsonEvent",
    "extractor",
    "json_get",
    "json_string",
    "parse_pointer",
]


class JsonEvent(Protocol):
    """The field values of a JSON event: its parsed document and its time in ns
    (``secengine.sources.k8s_audit.AuditFieldValues``)."""

    @property
    def doc(self) -> Any: ...
    @property
    def ts(self) -> int: ...


#: Reads one field of a JSON event, ``(values, arg) -> value | MISSING``: the shape of
#: every extractor :meth:`FieldValues.__missing__ <secengine.events.FieldValues>` calls
#: (``arg`` is unused: each extractor is made for one key).
Extractor = Callable[[JsonEvent, Any], Any]

#: What :func:`json_get` returns for a path that is not there (None is a JSON null).
ABSENT: Final = object()
_INT_KEY = re.compile(r"[+-]?[0-9]+\Z")

FIELD_CLASS = FieldClass(
    name="json (plugin)",
    desc="Values of JSON events, as Falco's json plugin extracts them.",
    sources=("k8s_audit",),
    fields=(
        FieldDef(
            "json.value",
            FieldType.CHARBUF,
            "Extracts a value from a JSON-encoded input. Syntax is json.value[<json "
            "pointer>], where <json pointer> is a json pointer (see "
            "https://datatracker.ietf.org/doc/html/rfc6901)",
            arg=ArgMode.REQUIRED,
            arg_key=True,
        ),
        FieldDef("json.obj", FieldType.CHARBUF, "The full json message as a text string."),
        FieldDef(
            "json.rawtime", FieldType.CHARBUF, "The time of the event, identical to evt.rawtime."
        ),
        FieldDef(
            "jevt.value",
            FieldType.CHARBUF,
            "Alias for json.value, provided for backwards compatibility.",
            arg=ArgMode.REQUIRED,
            arg_key=True,
        ),
        FieldDef(
            "jevt.obj",
            FieldType.CHARBUF,
            "Alias for json.obj, provided for backwards compatibility.",
        ),
        FieldDef(
            "jevt.rawtime",
            FieldType.CHARBUF,
            "Alias for json.rawtime, provided for backwards compatibility.",
        ),
    ),
)


# ---------------------------------------------------------------------------
# fastjson semantics
# ---------------------------------------------------------------------------


def json_get(value: Any, keys: tuple[str, ...] | list[str]) -> Any:
    """fastjson ``Value.Get(keys...)``: object members by name, array items by decimal index.

    Returns :data:`ABSENT` when a key is not there (a JSON null is ``None``,
    and is *there*).
    """
    for k in keys:
        t = type(value)
        if t is dict:
            value = value.get(k, ABSENT)
            if value is ABSENT:
                return ABSENT
        elif t is list:
            if _INT_KEY.match(k) is None:
                return ABSENT
            n = int(k)
            if n < 0 or n >= len(value):
                return ABSENT
            value = value[n]
        else:
            return ABSENT
    return value


def json_string(value: Any) -> str:
    """The plugins' string form of a JSON value: strings raw, anything else marshalled compactly.

    ``true``, ``200``, ``null``, ``{"a":1}``, ``["x","y"]``: fastjson's
    ``MarshalTo``, which keeps member order and writes no spaces.
    """
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if t is int:
        return str(value)
    return orjson.dumps(value).decode("utf-8")


# ---------------------------------------------------------------------------
# extraction
# ---------------------------------------------------------------------------


def parse_pointer(pointer: str) -> tuple[str, ...] | None:
    """The keys of a JSON pointer as the plugin splits it; None for the empty pointer.

    The plugin drops one leading ``/``, splits on ``/`` and unescapes ``~1``
    then ``~0`` in each part (so ``/a~1b/0`` is ``("a/b", "0")``).
    """
    if not pointer:
        return None
    if pointer[0] == "/":
        pointer = pointer[1:]
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/"))


def _value(pointer: str) -> Extractor:
    keys = parse_pointer(pointer)
    if keys is None:
        return lambda values, arg: json_string(values.doc)
    if len(keys) == 1:
        key = keys[0]

        def one(values: JsonEvent, arg: Any) -> Any:
            # jevt.value[/stage] runs on every audit event: one dict lookup
            doc = values.doc
            v = doc.get(key, ABSENT) if type(doc) is dict else json_get(doc, keys)
            if type(v) is str:
                return v
            return MISSING if v is ABSENT else json_string(v)

        return one

    def many(values: JsonEvent, arg: Any) -> Any:
        v = json_get(values.doc, keys)
        if type(v) is str:
            return v
        return MISSING if v is ABSENT else json_string(v)

    return many


def _obj(values: JsonEvent, arg: Any) -> Any:
    """Go's ``json.Indent(data, "", "  ")`` of the event."""
    return orjson.dumps(values.doc, option=orjson.OPT_INDENT_2).decode("utf-8")


def _rawtime(values: JsonEvent, arg: Any) -> Any:
    return str(values.ts)


_PLAIN: Final[dict[str, Extractor]] = {
    "json.obj": _obj,
    "jevt.obj": _obj,
    "json.rawtime": _rawtime,
    "jevt.rawtime": _rawtime,
}


def extractor(key: str) -> Extractor | None:
    """The extractor of a ``json.*``/``jevt.*`` key as rules write it, or None if not one."""
    plain = _PLAIN.get(key)
    if plain is not None:
        return plain
    for name in ("jevt.value[", "json.value["):
        if key.startswith(name) and key.endswith("]"):
            return _value(key[len(name) : -1])
    return None
