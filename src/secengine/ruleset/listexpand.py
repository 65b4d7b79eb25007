"""Textual list expansion: Falco replaces list names in condition text before parsing.

A port of ``resolve_list`` in Falco's rule compiler. For each list, every
occurrence of its name bounded by the start or end of the text or by one of
`` \\t\\n\\r(),=`` is replaced by the list's items, each quoted by
:func:`~secengine.ruleset.exceptions.quote_item` and joined with ``", "``.
Blanks around the name are absorbed; an empty list also removes one adjacent
comma. So ``(ls, my_list, ps)``, ``proc.name=my_list`` and
``proc.name in (my_list)`` all expand. This is string surgery, not parsing,
exactly as in Falco (a list name inside a quoted string bounded by blanks is
replaced too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from secengine.ruleset.exceptions import quote_item

__all__ = ["expand_lists", "resolve_list"]

_BLANKS = " \t\n\r"
_DELIMS = _BLANKS + "(),="


def resolve_list(cnd: str, name: str, items: Sequence[str]) -> tuple[str, bool]:
    """Replace the list ``name`` in ``cnd`` by ``items``; return the text and whether it was
    used."""
    used = False
    if not name:
        return cnd, used
    start = cnd.find(name)
    while start != -1:
        end = start + len(name)
        if ((start == 0 or cnd[start - 1] in _DELIMS)
                and (end >= len(cnd) or cnd[end] in _DELIMS)):
            # consume the blanks around the name
            while start > 0 and cnd[start - 1] in _BLANKS:
                start -= 1
            while end < len(cnd) and cnd[end] in _BLANKS:
                end += 1
            sub = ", ".join(quote_item(v) for v in items)
            # an empty list also removes a comma on its left, or else on its right
            if not sub:
                if start > 0 and cnd[start - 1] == ",":
                    start -= 1
                elif end < len(cnd) and cnd[end] == ",":
                    end += 1
            new_cnd = ""
            if start > 0:
                new_cnd += cnd[:start] + " "
            new_cnd += sub + " "
            new_cnd += cnd[end:]
            cnd = new_cnd
            start += len(sub) + 1
            used = True
        start = cnd.find(name, start + 1)
    return cnd, used


def expand_lists(condition: str,
                 lists: Iterable[tuple[str, Sequence[str]]]) -> tuple[str, list[str]]:
    """Expand every list of ``lists`` (in order) in ``condition``; also return the names used."""
    used_names = []
    for name, items in lists:
        condition, used = resolve_list(condition, name, items)
        if used:
            used_names.append(name)
    return condition, used_names
