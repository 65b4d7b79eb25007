"""The events that sources produce and the engine evaluates.

An :class:`Event` is a slotted object, not a dict: it carries its source, its
timestamp in nanoseconds since the epoch, and a :class:`FieldValues` mapping
from a field's full name as rules write it (``"proc.aname[2]"``) to its value.

``FieldValues`` is a ``dict`` subclass whose ``__missing__`` hook is the single
place where absent values are handled: compiled rules read ``fields[key]`` and
get :data:`MISSING` for anything not present, which makes every comparison
false, as Falco does. Sources that compute values lazily (the live syscall
source) subclass it and compute-and-cache in ``__missing__``, so a field is
extracted at most once per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, Self

from secengine.errors import SecengineError

__all__ = ["MISSING", "Event", "FieldExtractionError", "FieldValues", "Missing"]


class Missing:
    """The type of :data:`MISSING`: a value that could not be extracted."""

    __slots__ = ()
    _instance: Self | None = None

    def __new__(cls) -> Self:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    # A missing value makes every comparison false, as in Falco. Giving the
    # sentinel these answers lets compiled rules compare ``fields[key]``
    # directly, with no separate "is it missing?" test on the hot path.
    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return False

    def __lt__(self, other: object) -> bool:
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __hash__(self) -> int:
        return 0x5EC

    def __contains__(self, item: object) -> bool:
        return False

    def startswith(self, *args: object) -> bool:
        return False

    endswith = startswith

    def lower(self) -> Missing:
        return self

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()

class FieldExtractionError(SecengineError):
    """An extractor raised while computing ``key``: the engine counts it per field and rule.

    ``FieldValues.__missing__`` wraps whatever an extractor raises in this one
    type, so that the engine's fallback (see :mod:`secengine.engine`) can tell
    a failed extraction from a comparison that does not apply, and name the
    field; the original exception is ``error`` (and ``__cause__``).
    """

    def __init__(self, key: str, error: BaseException) -> None:
        super().__init__(f"extracting {key} failed: {type(error).__name__}: {error}")
        self.key = key
        self.error = error


#: A function that derives a field's value from the other values of an event
#: (e.g. ``fd.directory`` from ``fd.name``); returns MISSING when it cannot.
Deriver = Callable[["FieldValues", str], Any]


class FieldValues(dict[str, Any]):
    """Field values of one event, keyed by full field name.

    Absent keys read as :data:`MISSING`. When a deriver is registered for the
    key's field (see :mod:`secengine.fields.registry`), it is tried first and
    its result cached, so derived values cost one call per event.

    Compiled rules read fields that have no deriver with ``get(key, MISSING)``
    (a C call that skips ``__missing__``). A subclass that computes every
    value on demand (a live source) must therefore override ``get`` too, e.g.
    ``def get(self, key, default=None): return self[key]``.
    """

    #: The event's timestamp (ns) and number, set by :class:`Event`; fields such
    #: as ``evt.time`` and ``evt.num`` are derived from them.
    __slots__ = ("num", "ts")
    num: int
    ts: int

    #: Set once by the field registry: maps a full key or a base field name to
    #: a deriver. Kept on the class so that constructing an event costs nothing.
    derivers: ClassVar[dict[str, Deriver]] = {}

    @classmethod
    def has_deriver(cls, key: str) -> bool:
        """Whether ``__missing__`` may compute ``key`` (else an absent key is simply missing)."""
        if key in cls.derivers:
            return True
        bracket = key.find("[")
        return bracket > 0 and key[:bracket] + "[]" in cls.derivers

    def __missing__(self, key: str) -> Any:
        derive = self.derivers.get(key)
        if derive is None:
            bracket = key.find("[")
            if bracket > 0:
                derive = self.derivers.get(key[:bracket] + "[]")
        if derive is None:
            value = MISSING
        else:
            try:
                value = derive(self, key)
            except Exception as e:  # counted by the engine, never a silent no-match
                raise FieldExtractionError(key, e) from e
        # Remember the answer, MISSING included: later rules reading the same
        # key in this event then hit the dict instead of this method.
        self[key] = value
        return value


class Event:
    """One normalised event.

    ``source`` is the event source name (``syscall``, ``k8s_audit``, ...),
    ``ts`` nanoseconds since the epoch, ``fields`` the values; ``evt.type`` is
    kept in ``fields`` like any other field and mirrored in ``type`` because
    the engine's index needs it on every event.
    """

    __slots__ = ("fields", "num", "source", "ts", "type")

    def __init__(self, source: str, ts: int, fields: FieldValues | dict[str, Any],
                 num: int = 0) -> None:
        values = fields if isinstance(fields, FieldValues) else FieldValues(fields)
        values.ts = ts
        values.num = num
        self.source = source
        self.ts = ts
        self.fields: FieldValues = values
        t = values.get("evt.type")
        self.type: str | None = t if isinstance(t, str) else None
        self.num = num

    def __repr__(self) -> str:
        return f"Event(source={self.source!r}, ts={self.ts}, type={self.type!r}, fields={dict(self.fields)!r})"
