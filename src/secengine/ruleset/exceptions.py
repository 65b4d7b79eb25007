"""Rule exceptions: validating their shape and rewriting them into condition text.

Falco compiles ``exceptions:`` by string manipulation *before* lists and
macros are expanded: the rule condition becomes ``(<cond>)`` followed by
``and not <exception>`` for every exception that has values. This module
ports that rewrite (``build_rule_exception_infos`` in Falco's compiler), its
value quoting (``quote_item``/``paren_item``), and the shape checks Falco's
collector makes (``validate_exception_info``), including the operator tables
they rely on.
"""

from __future__ import annotations

from collections.abc import Callable

from secengine.lang.parser import OPERATORS
from secengine.ruleset.diagnostics import ItemError
from secengine.ruleset.items import ExceptionEntry, ExceptionInfo
from secengine.ruleset.messages import ErrorCode, msg

__all__ = [
    "LIST_OPERATORS",
    "OPERATORS",
    "FieldValidator",
    "build_exception_condition",
    "is_operator_defined",
    "is_operator_for_list",
    "is_str_operator_with_modifier",
    "paren_item",
    "quote_item",
    "validate_exception",
]

#: ``supported_operators(true)``: operators whose right-hand side is a list.
LIST_OPERATORS: tuple[str, ...] = ("intersects", "in", "pmatch")
#: String operators that accept a ``oneof``/``anyof``/``allof`` modifier.
_MODIFIABLE = frozenset(
    {
        "=",
        "==",
        "!=",
        "contains",
        "icontains",
        "bcontains",
        "startswith",
        "bstartswith",
        "endswith",
        "glob",
        "iglob",
        "regex",
    }
)
_MODIFIERS = frozenset({"oneof", "anyof", "allof"})
_SINGLE_FIELD_COMPS = frozenset({"in", "pmatch", "intersects"})
_WS = " \t\r\n"

#: Answers whether ``field`` (possibly a transformer expression) is a valid
#: left-hand side for ``source``; the loader builds it from the field registry.
FieldValidator = Callable[[str, str], bool]


def is_operator_defined(op: str) -> bool:
    return op in OPERATORS


def is_str_operator_with_modifier(op: str) -> bool:
    """``startswith oneof`` and friends: one space, a string operator, a modifier."""
    base, sep, mod = op.partition(" ")
    return bool(sep) and base in _MODIFIABLE and mod in _MODIFIERS


def is_operator_for_list(op: str) -> bool:
    return op in LIST_OPERATORS or is_str_operator_with_modifier(op)


def quote_item(item: str) -> str:
    """Falco's ``quote_item``: double-quote a value with a space unless it starts with a quote."""
    if " " in item and item[0] not in "\"'":
        return '"' + item + '"'
    return item


def paren_item(item: str) -> str:
    """Falco's ``paren_item``: wrap in ``()`` unless it already starts with ``(``."""
    if not item.startswith("("):
        return "(" + item + ")"
    return item


def _validate_error(message: str, ex: ExceptionInfo) -> ItemError:
    return ItemError(ErrorCode.LOAD_ERR_VALIDATE, message, ex.ctx)


def validate_exception(
    source: str | None, ex: ExceptionInfo, field_ok: FieldValidator | None
) -> None:
    """Check (and complete) an exception's fields and comps, as Falco's collector does.

    Missing comps default to ``=`` per field (tuple form) or ``in`` (single
    form); comps are trimmed. ``source`` is ``None`` for a rule of an unknown
    source, whose fields cannot be checked.
    """
    if ex.fields.is_list:
        if not ex.comps.is_valid():
            ex.comps.is_list = True
            ex.comps.items.extend(ExceptionEntry(item="=") for _ in ex.fields.items)
        if len(ex.fields.items) != len(ex.comps.items):
            raise _validate_error(msg("fields_comps_len"), ex)
        for comp in ex.comps.items:
            comp.item = comp.item.strip(_WS)
            if not is_operator_defined(comp.item) and not is_str_operator_with_modifier(comp.item):
                raise _validate_error(msg("unsupported_comp", comp=comp.item), ex)
        if source is not None and field_ok is not None:
            for f in ex.fields.items:
                if not field_ok(source, f.item):
                    raise _validate_error(msg("unsupported_field", field=f.item), ex)
    else:
        if not ex.comps.is_valid():
            ex.comps.is_list = False
            ex.comps.item = "in"
        if ex.comps.is_list:
            raise _validate_error(msg("fields_comps_strings"), ex)
        ex.comps.item = ex.comps.item.strip(_WS)
        op = ex.comps.item
        if op not in _SINGLE_FIELD_COMPS and not is_str_operator_with_modifier(op):
            raise _validate_error(msg("single_field_comp"), ex)
        if source is not None and field_ok is not None and not field_ok(source, ex.fields.item):
            raise _validate_error(msg("unsupported_field", field=ex.fields.item), ex)


def build_exception_condition(
    condition: str, exceptions: list[ExceptionInfo], exception_fields: set[str]
) -> str:
    """Rewrite ``condition`` with its exceptions (Falco's ``build_rule_exception_infos``).

    Adds every field used by an exception to ``exception_fields``. Raises
    :class:`ItemError` for values that do not fit the exception's fields.
    """
    out = "(" + condition + ")"
    for ex in exceptions:
        if not ex.fields.is_list:
            icond = _single_form(ex, exception_fields)
        else:
            icond = _tuple_form(ex, exception_fields)
        if icond:
            out += " and not " + icond
    return out


def _single_form(ex: ExceptionInfo, exception_fields: set[str]) -> str:
    icond = ""
    for val in ex.values:
        if val.is_list:
            raise _validate_error(msg("values_not_strings"), ex)
        icond += ("(" + ex.fields.item + " " + ex.comps.item + " (") if not icond else ", "
        exception_fields.add(ex.fields.item)
        icond += quote_item(val.item)
    return icond + "))" if icond else ""


def _tuple_form(ex: ExceptionInfo, exception_fields: set[str]) -> str:
    icond = "("
    for values in ex.values:
        if len(ex.fields.items) != len(values.items):
            raise _validate_error(msg("fields_values_len"), ex)
        icond += "" if icond == "(" else " or "
        icond += "("
        for k, fld in enumerate(ex.fields.items):
            icond += "" if k == 0 else " and "
            value = values.items[k]
            comp = ex.comps.items[k].item
            if value.is_list:
                istr = "(" + ", ".join(quote_item(v.item) for v in value.items) + ")"
            elif is_operator_for_list(comp):
                istr = paren_item(value.item)
            else:
                istr = quote_item(value.item)
            icond += " " + fld.item + " " + comp + " " + istr
            exception_fields.add(fld.item)
        icond += ")"
    icond += ")"
    return "" if icond == "()" else icond
