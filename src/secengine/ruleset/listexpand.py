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

from secengine.errors import SecengineError
from secengine.ruleset.exceptions import quote_item

__all__ = ["ListExpansionTooLong", "expand_lists", "resolve_list"]

_BLANKS = " \t\n\r"
_DELIMS = _BLANKS + "(),="


class ListExpansionTooLong(SecengineError):
    """Expanding the list ``name`` made the condition text longer than ``limit`` characters.

    Lists that name lists defined later expand one level per list, so ``l2: [l1, l1]``
    over forty levels doubles the text forty times; the loader stops at a limit.
    """

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(name)
        self.name = name
        self.limit = limit


def resolve_list(
    cnd: str, name: str, items: Sequence[str], limit: int | None = None
) -> tuple[str, bool]:
    """Replace the list ``name`` in ``cnd`` by ``items``; return the text and whether it was
    used. Raise :class:`ListExpansionTooLong` as soon as the text passes ``limit``.

    Same result as Falco's in-place string surgery, built in one pass: the text
    before the cursor is a list of characters (blanks and a comma left of a
    name are taken back from its end), so the work is linear in the result.
    """
    if not name:
        return cnd, False
    done: list[str] = []  # the new text before cnd[r:]
    r = 0
    used = False
    sub: str | None = None
    start = cnd.find(name)
    while start != -1:
        end = start + len(name)
        before = cnd[start - 1] if start > r else (done[-1] if done else None)
        if (before is None or before in _DELIMS) and (end >= len(cnd) or cnd[end] in _DELIMS):
            done.extend(cnd[r:start])
            # consume the blanks around the name
            while done and done[-1] in _BLANKS:
                done.pop()
            while end < len(cnd) and cnd[end] in _BLANKS:
                end += 1
            if sub is None:
                sub = ", ".join(quote_item(v) for v in items)
            # an empty list also removes a comma on its left, or else on its right
            if not sub:
                if done and done[-1] == ",":
                    done.pop()
                elif end < len(cnd) and cnd[end] == ",":
                    end += 1
            at_start = not done
            if done:
                done.append(" ")
            done.extend(sub)
            done.append(" ")
            r = end
            used = True
            if limit is not None and len(done) + len(cnd) - r > limit:
                raise ListExpansionTooLong(name, limit)
            # Falco resumes one character past the replacement's trailing blank,
            # which skips a character when the name began the text
            start = cnd.find(name, r + 1 if at_start else r)
        else:
            start = cnd.find(name, start + 1)
    return "".join(done) + cnd[r:], used


def expand_lists(
    condition: str, lists: Iterable[tuple[str, Sequence[str]]], limit: int | None = None
) -> tuple[str, list[str]]:
    """Expand every list of ``lists`` (in order) in ``condition``; also return the names used.

    ``limit`` bounds the text's length (:class:`ListExpansionTooLong`).
    """
    used_names = []
    for name, items in lists:
        condition, used = resolve_list(condition, name, items, limit)
        if used:
            used_names.append(name)
    return condition, used_names
