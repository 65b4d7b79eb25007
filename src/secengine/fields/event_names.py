"""Which ``evt.type`` values exist, and the syscall events' parameter names.

Falco rejects a rule whose condition compares ``evt.type`` with a name it does
not know ("unknown event type X", libsinsp
``sinsp_filter_check_event::validate_filter_value``). For the ``syscall``
source the known names are:

- every event name of the driver's event table (``driver/event_table.c``,
  including the placeholder ``NA`` and the generic ``syscall``),
- every ``ppm_sc`` syscall name (``driver/ppm_events_public.h``, lowercased as
  libscap's ``scap_get_ppm_sc_name`` does; generic syscalls such as
  ``madvise`` have no event of their own but match the generic event),
- the async event names of the plugins Falco loads for it: the container
  plugin's ``container`` and ``container_removed``,
- secengine's own ``flood`` (a producer over its budget, :mod:`.flood`).

Other sources have no such check: in Falco an ``evt.type`` field (and so its
validation) exists only in the syscall source's field classes; a plugin
source's rules are indexed under the plugin event whatever they say. So
:func:`is_known_event_type` accepts every name for them.

The data comes from the committed, generated :mod:`._ppm_events`
(``tools/gen_ppm_tables.py``); this module only indexes it, lazily.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PLUGIN_ASYNC_EVENT_NAMES",
    "SECENGINE_EVENT_NAMES",
    "SYSCALL_EVENT_TYPES",
    "SYSCALL_SOURCE",
    "EventParam",
    "SyscallEventTypes",
    "event_code_count",
    "event_codes",
    "event_param",
    "is_known_event_type",
    "longest_param_prefix",
    "param_defs",
    "param_names",
    "syscall_event_names",
]

SYSCALL_SOURCE = "syscall"

#: Async event names that plugins loaded for the syscall source add to ``evt.type``
#: (container plugin: ``ASYNC_EVENT_NAME_ADDED`` / ``ASYNC_EVENT_NAME_REMOVED``).
PLUGIN_ASYNC_EVENT_NAMES: frozenset[str] = frozenset({"container", "container_removed"})
#: Event names of the syscall source that only secengine produces (``flood``).
SECENGINE_EVENT_NAMES: frozenset[str] = frozenset({"flood"})


@dataclass(frozen=True, slots=True)
class EventParam:
    """One parameter of a driver event: its name, ``PT_*`` type (without ``PT_``),
    ``PF_*`` print format (without ``PF_``) and flag table name (or ``None``)."""

    name: str
    type: str
    fmt: str
    table: str | None


@functools.cache
def syscall_event_names() -> frozenset[str]:
    """Every valid ``evt.type`` value of the syscall source."""
    # start-up: the generated driver table (_ppm_events) loads on first use, not with the field classes
    from secengine.fields import _ppm_events

    names = {entry[2] for entry in _ppm_events.EVENTS}
    names.update(n for n in _ppm_events.PPM_SC_NAMES if n)
    names.update(PLUGIN_ASYNC_EVENT_NAMES)
    names.update(SECENGINE_EVENT_NAMES)
    return frozenset(names)


def is_known_event_type(source: str, name: str) -> bool:
    """True if Falco accepts ``evt.type = name`` in a rule of ``source``.

    Only the syscall source checks names (see the module docstring); for any
    other source every name is accepted.
    """
    if source != SYSCALL_SOURCE:
        return True
    return name in syscall_event_names()


_GENERIC_CODES = frozenset({0, 1})  # PPME_GENERIC_E/X


def event_code_count(names: frozenset[str]) -> int:
    """How many driver event codes ``names`` cover, as libsinsp's ``names_to_event_set``.

    Falco's ``LOAD_NO_EVTTYPE`` compares this count (not the number of names)
    with 100: each name covers its enter and exit events of every version; a
    plugin async event name covers the async event; any other (generic)
    syscall name covers the two generic events.
    """
    codes: set[int] = set()
    remaining = set()
    for name in names:
        own = [c for c in event_codes(name) if c not in _GENERIC_CODES]
        codes.update(own)
        if name in PLUGIN_ASYNC_EVENT_NAMES:
            codes.update(event_codes("asyncevent"))
        elif not own and not event_codes(name):
            remaining.add(name)
    if any(n in syscall_event_names() for n in remaining):
        codes |= _GENERIC_CODES
    return len(codes)


class SyscallEventTypes:
    """The syscall source's event-type index (a :class:`~secengine.lang.resolver.EventTypeIndex`):
    the names Falco accepts in ``evt.type`` checks and the driver codes they cover."""

    def is_known(self, name: str) -> bool:
        return name in syscall_event_names()

    def code_count(self, names: frozenset[str]) -> int:
        return event_code_count(names)


SYSCALL_EVENT_TYPES = SyscallEventTypes()


@functools.cache
def _codes_by_name() -> dict[str, tuple[int, ...]]:
    # start-up: the generated driver table (_ppm_events) loads on first use, not with the field classes
    from secengine.fields import _ppm_events

    out: dict[str, list[int]] = {}
    for code, _enum, name, *_ in _ppm_events.EVENTS:
        out.setdefault(name, []).append(code)
    return {k: tuple(v) for k, v in out.items()}


def event_codes(name: str) -> tuple[int, ...]:
    """The driver event codes named ``name`` (every version, enter and exit); ``()`` if none."""
    return _codes_by_name().get(name, ())


@functools.cache
def _params() -> dict[str, EventParam]:
    """Parameter name → the first parameter of that name in event-code order (libsinsp's choice)."""
    # start-up: the generated driver table (_ppm_events) loads on first use, not with the field classes
    from secengine.fields import _ppm_events
    from secengine.fields._se_params import EXTRA_PARAMS

    out: dict[str, EventParam] = {}
    tables = [params for *_, params in _ppm_events.EVENTS]
    for params in (*tables, *EXTRA_PARAMS.values()):
        for pname, ptype, pfmt, info in params:
            if pname not in out:
                table = info if isinstance(info, str) else None
                out[pname] = EventParam(pname, ptype, pfmt, table)
    return out


def param_names() -> frozenset[str]:
    """Every parameter name of any driver event (what ``evt.arg.NAME`` may name)."""
    return frozenset(_params())


def event_param(name: str) -> EventParam | None:
    """The parameter called exactly ``name`` (first event that has it), or ``None``."""
    return _params().get(name)


def longest_param_prefix(text: str) -> str | None:
    """The longest parameter name that ``text`` starts with, as libsinsp's
    ``find_longest_matching_evt_param`` picks it for ``evt.arg.TEXT``; ``None`` if none does."""
    best: str | None = None
    for pname in _params():
        if text.startswith(pname) and (best is None or len(pname) > len(best)):
            best = pname
    return best


@functools.cache
def param_defs(name: str) -> tuple[tuple[str, str, str, Any], ...]:
    """The driver's exit parameters of event type ``name``: (name, PT type, PF format, info).

    The newest exit event of that name (``procexit`` has only one direction);
    what ``evt.arg``/``evt.args`` list, in the driver's order, followed by secengine's own
    parameters of that event (:mod:`._se_params`: generic syscalls, arguments the driver drops).
    """
    # start-up: the generated driver table (_ppm_events) loads on first use, not with the field classes
    from secengine.fields import _ppm_events
    from secengine.fields._se_params import EXTRA_PARAMS

    best = None
    for code, _enum, ename, _cat, flags, params in _ppm_events.EVENTS:
        if (
            ename == name
            and not flags & 512
            and (code % 2 == 1 or name == "procexit")
            and (best is None or code > best[0])
        ):
            best = (code, params)
    return (tuple(best[1]) if best is not None else ()) + EXTRA_PARAMS.get(name, ())
