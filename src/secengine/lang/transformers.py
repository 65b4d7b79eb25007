"""The field transformers (``tolower(proc.name)``, ``join(",", ...)``...): one table for every user.

libsinsp's ``sinsp_filter_transformer`` is the model. Each :class:`TransformerSpec`
says what a transformer accepts and returns and how it computes; the
condition parser (its error messages), the condition checker (argument
rules and result kind), both condition evaluators and the output compiler
(``%tolower(proc.name)``) read it from here, so adding a transformer is one
row (plus its grammar token in ``grammars/condition.lark``, which a test
keeps equal to this table).

Single-operand transformers (``tolower``, ``toupper``, ``b64``, ``basename``,
``len``) take one field or transformer: ``types`` are the field types
libsinsp accepts (conditions compare kinds, so they accept every type of
those kinds); ``per_value`` is applied to each value of a list, except for
``len`` (``counts_list``), which counts a list. ``join``, ``concat`` and
``getopt`` take several operands, whose shape the checker validates; they
are not supported in outputs. ``val`` only marks a field used as a value.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from secengine.events import MISSING
from secengine.lang.fielddefs import FieldKind, FieldType

__all__ = [
    "BY_NAME",
    "TRANSFORMER_NAMES",
    "TRANSFORMER_TABLE",
    "UNARY_TRANSFORMS",
    "TransformerSpec",
    "b64_decode",
    "getopt",
]


@dataclass(frozen=True, slots=True)
class TransformerSpec:
    """One transformer: its name, what it accepts and returns, and its implementation."""

    name: str
    #: Field types a single operand may have (libsinsp's check); empty for the others.
    types: frozenset[FieldType] = frozenset()
    #: The result's type in outputs; None keeps the operand's type (in conditions: a string).
    result: FieldType | None = None
    #: The function applied to each value (single-operand transformers).
    per_value: Callable[[Any], Any] | None = None
    #: True when a list operand is taken whole (``len`` counts it) instead of per value.
    counts_list: bool = False
    #: The implementation over evaluated operands and the field argument (several operands).
    combine: Callable[[Sequence[Any], str | None], Any] | None = None

    @property
    def unary(self) -> bool:
        """True for the single-operand transformers."""
        return self.per_value is not None

    @property
    def kinds(self) -> frozenset[FieldKind]:
        """The field kinds a condition operand may have (the kinds of :attr:`types`)."""
        return frozenset(t.kind for t in self.types)

    @property
    def result_kind(self) -> FieldKind:
        """The kind a condition sees: the result type's, else a string."""
        return self.result.kind if self.result is not None else FieldKind.STRING


def b64_decode(v: str) -> Any:
    """Base64 text decoded (padding optional), or MISSING when it is not base64."""
    try:
        data = base64.b64decode(v + "=" * (-len(v) % 4), validate=True)
    except (ValueError, TypeError):
        return MISSING
    return data.decode("utf-8", "surrogateescape")


def _basename(v: str) -> str:
    return v.rsplit("/", 1)[-1] if not v.endswith("/") else ""


def _join(args: Sequence[Any], arg: str | None) -> str:
    sep, items = args
    return str(sep).join(str(x) for x in items)


def _concat(args: Sequence[Any], arg: str | None) -> str:
    return "".join(str(a) for a in args)


def _getopt(args: Sequence[Any], arg: str | None) -> Any:
    return getopt(args[0], str(args[1]), arg)


def getopt(argv: list[Any], optstring: str, selector: str | None) -> Any:
    """libsinsp's getopt() transformer: short options only, stops at the first non-option.

    Without ``selector``: the options found, each followed by its value when
    it takes one (``?`` for an unknown option). With one: the value of that
    option ("" when it takes none), or MISSING when it is absent.
    """
    start = 1 if optstring.startswith(":") else 0
    valid: set[str] = set()
    with_arg: set[str] = set()
    i = start
    while i < len(optstring):
        c = optstring[i]
        if c != ":":
            valid.add(c)
            if i + 1 < len(optstring) and optstring[i + 1] == ":":
                with_arg.add(c)
                i += 1
        i += 1
    results: list[str] = []
    selected: str | None = None
    idx = 0
    values = [str(v) for v in argv]
    while idx < len(values):
        arg = values[idx]
        if arg == "--":
            break
        if len(arg) > 2 and arg.startswith("--"):
            idx += 1
            continue
        if not arg or arg[0] != "-" or len(arg) == 1:
            break
        for j in range(1, len(arg)):
            c = arg[j]
            if c == ":" or c not in valid:
                if selector is None:
                    results.append("?")
                continue
            match = selector is None or c == selector
            if c not in with_arg:
                if match:
                    if selector is None:
                        results.append(c)
                    else:
                        selected = c
                continue
            if j + 1 < len(arg):
                value: str | None = arg[j + 1 :]
            elif idx + 1 < len(values):
                idx += 1
                value = values[idx]
            else:
                value = None
            if match:
                if selector is None:
                    results.append(c)
                    if value is not None:
                        results.append(value)
                else:
                    selected = value if value is not None else ""
            break
        idx += 1
    if selector is not None:
        return MISSING if selected is None else selected
    return results


_STRINGS = frozenset({FieldType.CHARBUF, FieldType.FSPATH})

#: Every transformer, ``val`` first, in the order Falco's messages list them.
TRANSFORMER_TABLE: tuple[TransformerSpec, ...] = (
    TransformerSpec("val"),
    TransformerSpec("tolower", _STRINGS, per_value=lambda v: v.lower()),
    TransformerSpec("toupper", _STRINGS, per_value=lambda v: v.upper()),
    TransformerSpec("b64", frozenset({FieldType.CHARBUF, FieldType.BYTEBUF}), per_value=b64_decode),
    TransformerSpec("basename", _STRINGS, per_value=_basename),
    TransformerSpec(
        "len", _STRINGS | {FieldType.BYTEBUF}, FieldType.UINT64, per_value=len, counts_list=True
    ),
    TransformerSpec("join", combine=_join),
    TransformerSpec("concat", combine=_concat),
    TransformerSpec("getopt", combine=_getopt),
)

#: The transformers by name.
BY_NAME: dict[str, TransformerSpec] = {t.name: t for t in TRANSFORMER_TABLE}
#: The names, ``val`` first (the parser's messages list them so).
TRANSFORMER_NAMES: tuple[str, ...] = tuple(t.name for t in TRANSFORMER_TABLE)
#: The per-value functions of the single-operand transformers.
UNARY_TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    t.name: t.per_value for t in TRANSFORMER_TABLE if t.per_value is not None
}
