"""The events that sources produce and the engine evaluates.

An :class:`Event` is a slotted object, not a dict: it carries its source, its
timestamp in nanoseconds since the epoch, and a :class:`FieldValues` mapping
from a field's full name as rules write it (``"proc.aname[2]"``) to its value.

``FieldValues`` is a ``dict`` subclass whose ``__missing__`` hook is the single
place where absent values are handled: compiled rules read ``fields[key]`` and
get :data:`MISSING` for anything not present, which makes every comparison
false, as Falco does. Values that can be computed are computed there, once
per event: the key's extractor is found once per key (for field-map events a
field's derivation; sources that compute values lazily, such as the live
syscall source, subclass it and say how in ``find_extraction``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, Self

from secengine.errors import SecengineError

__all__ = [
    "MISSING",
    "NO_EXTRACTION",
    "Event",
    "Extraction",
    "FieldExtractionError",
    "FieldValues",
    "Missing",
]


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

#: How one key is computed, found once per key: ``(extractor, argument)``, called as
#: ``extractor(values, argument)`` (a deriver gets the key itself as its argument).
Extraction = tuple[Callable[[Any, Any], Any], Any]

#: Bound on the keys remembered per class: keys come from compiled rules and
#: outputs (a few hundred); the bound only guards against callers inventing keys.
_MAX_EXTRACTIONS: Final = 8192


def _missing(values: FieldValues, arg: Any) -> Any:
    return MISSING


#: The extraction of a key nothing computes: it is simply missing.
NO_EXTRACTION: Final[Extraction] = (_missing, None)


class FieldValues(dict[str, Any]):
    """Field values of one event, keyed by full field name.

    Absent keys read as :data:`MISSING` unless the key's field can be
    computed: ``__missing__`` finds, once per key and per class
    (:meth:`find_extraction`), the field's extractor and argument, calls it
    and caches the answer for the rest of the event, so a field costs one
    call per event at most. Field-map events (this class) derive fields from
    the others (see :mod:`secengine.fields.registry`); a source that computes
    values from its own data subclasses it and overrides
    :meth:`find_extraction` (the live syscall source:
    :class:`secengine.fields.live.LiveFieldValues`). An extractor that raises
    is reported as :class:`FieldExtractionError`, naming the key.

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

    #: Set by the field registry: maps a full key or a base field name to
    #: a deriver. Kept on the class so that constructing an event costs nothing.
    derivers: ClassVar[dict[str, Deriver]] = {}
    #: key → how to compute it; one table per class, filled on a key's first read.
    extractions: ClassVar[dict[str, Extraction]] = {}
    #: Whether a MISSING answer is cached for the rest of the event.
    cache_missing: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.extractions = {}

    @classmethod
    def has_deriver(cls, key: str) -> bool:
        """Whether ``__missing__`` may compute ``key`` (else an absent key is simply missing)."""
        if key in cls.derivers:
            return True
        bracket = key.find("[")
        return bracket > 0 and key[:bracket] + "[]" in cls.derivers

    @classmethod
    def find_extraction(cls, key: str) -> Extraction:
        """How to compute ``key`` for an event of this class: here, its field's deriver."""
        derive = cls.derivers.get(key)
        if derive is None:
            bracket = key.find("[")
            if bracket > 0:
                derive = cls.derivers.get(key[:bracket] + "[]")
        return NO_EXTRACTION if derive is None else (derive, key)

    @classmethod
    def forget_extractions(cls) -> None:
        """Find every key's extraction again (new fields were registered)."""
        cls.extractions.clear()
        for sub in cls.__subclasses__():
            sub.forget_extractions()

    def __missing__(self, key: str) -> Any:
        found = self.extractions.get(key)
        if found is None:
            found = self.find_extraction(key)
            table = type(self).extractions
            if len(table) < _MAX_EXTRACTIONS:
                table[key] = found
        fn, arg = found
        try:
            value = fn(self, arg)
        except Exception as e:  # counted by the engine, never a silent no-match
            raise FieldExtractionError(key, e) from e
        # Remember the answer (MISSING too, unless the class says otherwise): later
        # rules reading the same key in this event then hit the dict instead of this method.
        if value is not MISSING or self.cache_missing:
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

    def __init__(
        self, source: str, ts: int, fields: FieldValues | dict[str, Any], num: int = 0
    ) -> None:
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
