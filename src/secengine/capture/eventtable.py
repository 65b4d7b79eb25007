"""The libscap event table: what an event type number means in a capture.

A typed view over the generated copy of falcosecurity/libs'
``driver/event_table.c`` (:mod:`secengine.fields._ppm_events`, written by
``tools/gen_ppm_tables.py``; :data:`LIBS_VERSION` names the libs it came
from). The newest table keeps every older layout under its own number
(``PPME_SYSCALL_EXECVE_8_X`` ... ``EXECVE_19_X``), and an event's layout only
ever grows by appending parameters, so one table decodes captures of every
libs version: a capture event with fewer parameters than its entry simply
lacks the later ones.

This module's names are the stable API the capture reader and writer share:
:class:`EventInfo`, :class:`ParamInfo`, :data:`EVENTS` (indexed by type
number), :func:`event_info`, :func:`codes_named` and the ``PT_*`` sizes.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

from secengine.fields import _ppm_events as _gen

__all__ = [
    "EF_LARGE_PAYLOAD",
    "EF_OLD_VERSION",
    "EF_USES_FD",
    "EVENTS",
    "FIXED_SIZES",
    "LIBS_VERSION",
    "EventInfo",
    "ParamInfo",
    "codes_named",
    "event_info",
]

#: Which falcosecurity/libs the table was generated from.
LIBS_VERSION: Final[str] = _gen.LIBS_VERSION
EF_OLD_VERSION: Final[int] = _gen.EF_OLD_VERSION
#: The event's parameter lengths are 32-bit (not 16-bit) in a capture.
EF_LARGE_PAYLOAD: Final[int] = _gen.EF_LARGE_PAYLOAD
#: The event acts on the fd in its ``fd`` parameter.
EF_USES_FD: Final[int] = _gen.EF_USES_FD

#: Byte size of each fixed-width parameter type (``PT_*`` without the prefix); the
#: others (strings, buffers, socket addresses and tuples, fd lists, ``DYN``) are
#: variable and their length is the one the event records.
FIXED_SIZES: Final[dict[str, int]] = {
    "INT8": 1,
    "UINT8": 1,
    "FLAGS8": 1,
    "ENUMFLAGS8": 1,
    "SIGTYPE": 1,
    "L4PROTO": 1,
    "SOCKFAMILY": 1,
    "INT16": 2,
    "UINT16": 2,
    "FLAGS16": 2,
    "ENUMFLAGS16": 2,
    "PORT": 2,
    "SYSCALLID": 2,
    "INT32": 4,
    "UINT32": 4,
    "FLAGS32": 4,
    "ENUMFLAGS32": 4,
    "UID": 4,
    "GID": 4,
    "MODE": 4,
    "BOOL": 4,
    "SIGSET": 4,
    "IPV4ADDR": 4,
    "FD32": 4,
    "PID32": 4,
    "INT64": 8,
    "UINT64": 8,
    "ERRNO": 8,
    "FD": 8,
    "PID": 8,
    "RELTIME": 8,
    "ABSTIME": 8,
    "DOUBLE": 8,
    "IPV6ADDR": 16,
}


class ParamInfo(NamedTuple):
    """One parameter of an event: name, ``PT_*`` type and ``PF_*`` print format (no
    prefixes), and its flag table name / dirfd parameter index / ``None``."""

    name: str
    type: str
    fmt: str
    info: str | int | None


class EventInfo(NamedTuple):
    """One entry of the event table."""

    code: int
    #: the ``PPME_*`` enum name, e.g. ``PPME_SYSCALL_EXECVE_19_X``
    enum: str
    #: ``evt.type``, e.g. ``execve``
    name: str
    #: ``>`` for an enter event, ``<`` for an exit event (``evt.dir``)
    direction: Literal[">", "<"]
    category: int
    flags: int
    params: tuple[ParamInfo, ...]

    @property
    def large_payload(self) -> bool:
        """Whether the event's parameter lengths are 32-bit in a capture."""
        return bool(self.flags & EF_LARGE_PAYLOAD)

    @property
    def old_version(self) -> bool:
        """Whether a newer layout of the same event supersedes this one."""
        return bool(self.flags & EF_OLD_VERSION)


def _build() -> tuple[EventInfo, ...]:
    out = []
    for i, (code, enum, name, category, flags, params) in enumerate(_gen.EVENTS):
        if code != i:
            raise AssertionError(f"event table out of order at {code}")
        out.append(
            EventInfo(
                code,
                enum,
                name,
                ">" if enum.endswith("_E") else "<",
                category,
                flags,
                tuple(ParamInfo(*p) for p in params),
            )
        )
    return tuple(out)


#: Every event type, indexed by its number (``PPM_EVENT_MAX`` entries).
EVENTS: Final[tuple[EventInfo, ...]] = _build()
_BY_ENUM: Final[dict[str, EventInfo]] = {e.enum: e for e in EVENTS}


def event_info(code: int) -> EventInfo | None:
    """The table entry of type number ``code``; ``None`` for a number this table does not
    know (a capture from a newer libs)."""
    return EVENTS[code] if 0 <= code < len(EVENTS) else None


def codes_named(enum: str) -> EventInfo:
    """The entry whose ``PPME_*`` name is ``enum`` (``KeyError`` if none is)."""
    return _BY_ENUM[enum]
