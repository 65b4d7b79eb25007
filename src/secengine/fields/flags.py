"""The driver's flag and enum tables, rendered and parsed as libsinsp does.

Syscall parameters such as ``open``'s ``flags`` carry PPM bit values (not
Linux's) and rules compare their *rendered* form: ``evt.arg.flags contains
O_TRUNC``. :func:`render_flags` reproduces libsinsp's rendering
(``sinsp_evt::get_param_as_str``) exactly, because the order of a table and
the way matched bits are consumed decide the text: ``4097`` renders as
``O_RDONLY|O_CLOEXEC`` and ``3`` as ``O_RDWR``. :func:`parse_flags` goes the
other way for field-map events that carry the text (``O_RDONLY|O_CLOEXEC``,
``4097(O_RDONLY|O_CLOEXEC)`` as sysdig prints it, or a bare number).

The tables themselves are generated into :mod:`._ppm_flags` by
``tools/gen_ppm_tables.py``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal, cast

__all__ = ["FlagTable", "flag_table", "flag_table_names", "parse_flags", "render_flags"]

FlagKind = Literal["flags", "enum", "mode"]


@dataclass(frozen=True, slots=True)
class FlagTable:
    """One ``ppm_name_value`` table.

    ``kind`` is how parameters use it: ``flags`` (PT_FLAGS*: a bit set),
    ``enum`` (PT_ENUMFLAGS*: the value must match exactly) or ``mode``
    (PT_MODE: permission bits). ``entries`` keep the driver's order.
    """

    name: str
    kind: FlagKind
    entries: tuple[tuple[str, int], ...]

    def value_of(self, name: str) -> int | None:
        """The value of a flag name, or ``None`` when the table has no such name."""
        for entry_name, value in self.entries:
            if entry_name == name:
                return value
        return None


@functools.cache
def flag_table(name: str) -> FlagTable:
    """The table called ``name`` in ``driver/flags_table.c`` (``file_flags``, ``chmod_mode``...).

    Raises ``KeyError`` for an unknown table.
    """
    # start-up: the generated driver table (_ppm_flags) loads on first use, not with the field classes
    from secengine.fields import _ppm_flags

    entries = _ppm_flags.FLAG_TABLES[name]
    kind = cast(FlagKind, _ppm_flags.FLAG_TABLE_KINDS[name])
    return FlagTable(name=name, kind=kind, entries=entries)


def flag_table_names() -> tuple[str, ...]:
    """Every table name, in the driver's order."""
    # start-up: the generated driver table (_ppm_flags) loads on first use, not with the field classes
    from secengine.fields import _ppm_flags

    return tuple(_ppm_flags.FLAG_TABLES)


def _table(table: FlagTable | str) -> FlagTable:
    return flag_table(table) if isinstance(table, str) else table


def render_flags(table: FlagTable | str, value: int) -> str:
    """Render ``value`` through ``table`` exactly as libsinsp resolves a flags parameter.

    Returns ``""`` when no name matches (libsinsp then prints the bare number).

    - ``flags``: walk the table in order; an entry matches when all its bits
      are still set in the remaining value (an entry of 0 only when the whole
      value is 0); matched bits are consumed, names joined by ``|``, and the
      walk stops at an entry equal to the whole value.
    - ``enum``: every entry equal to the whole value, joined by ``|``
      (``AF_LOCAL|AF_UNIX`` for 1).
    - ``mode``: as ``flags``, but the walk stops *before* an entry equal to
      the whole value, which is then appended.
    """
    tbl = _table(table)
    value &= 0xFFFFFFFF
    if tbl.kind == "enum":
        return "|".join(name for name, v in tbl.entries if v == value)
    names: list[str] = []
    remaining = value
    if tbl.kind == "mode":
        stop: str | None = None
        for name, v in tbl.entries:
            if v == value:
                stop = name
                break
            if (v == 0 and value == 0) or (v != 0 and remaining & v == v and remaining != 0):
                names.append(name)
                remaining &= ~v
        if stop is not None:
            names.append(stop)
        return "|".join(names)
    for name, v in tbl.entries:
        if (v == 0 and value == 0) or (v != 0 and remaining & v == v and remaining != 0):
            names.append(name)
            remaining &= ~v
            if v == value:
                break
    return "|".join(names)


_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|\d+)")
_SYSDIG = re.compile(r"([+-]?(?:0[xX][0-9a-fA-F]+|\d+))\((.*)\)")


def parse_flags(table: FlagTable | str, text: str | int) -> int | None:
    """The numeric value of a flags parameter given as a number or as its rendered text.

    Accepts ``4097``, ``"4097"``, ``"0x1001"``, ``"4097(O_RDONLY|O_CLOEXEC)"``
    (the number wins) and ``"O_RDONLY|O_CLOEXEC"`` (names OR-ed together).
    Returns ``None`` if a name is not in the table or the text is empty.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    s = text.strip()
    if not s:
        return None
    m = _SYSDIG.fullmatch(s)
    if m is not None:
        s = m.group(1)
    if _NUMBER.fullmatch(s):
        return int(s, 0) if not re.fullmatch(r"[+-]?0\d+", s) else int(s, 10)
    tbl = _table(table)
    total = 0
    for part in s.split("|"):
        v = tbl.value_of(part.strip())
        if v is None:
            return None
        total |= v
    return total
