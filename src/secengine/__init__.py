"""secengine: Falco-compatible runtime security detection as a Python library.

Importing this package has no side effects: it configures no logging, prints
nothing and reads no environment. The public API is re-exported lazily from
the private modules below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Event",
    "MISSING",
    "Priority",
    "SecengineError",
]

_LAZY = {
    "Event": ("secengine.events", "Event"),
    "MISSING": ("secengine.events", "MISSING"),
    "Priority": ("secengine.priority", "Priority"),
    "SecengineError": ("secengine.errors", "SecengineError"),
}

if TYPE_CHECKING:  # pragma: no cover
    from secengine.errors import SecengineError
    from secengine.events import MISSING, Event
    from secengine.priority import Priority


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'secengine' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
