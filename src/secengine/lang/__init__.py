"""The Falco condition language: parse, resolve macros, check types, compile.

Public entry points (each in its own module, one pass each):

- :func:`parse_condition` (``parser``): text → AST, raising
  :class:`~secengine.errors.ConditionSyntaxError` with Falco's message and a position.
- :class:`MacroResolver` (``macros``): replaces macro references with clones of macro ASTs.
- :func:`event_types` (``evttypes``): the set of ``evt.type`` values a condition can match.
- :func:`condition_warnings` (``warnings``): Falco's non-fatal condition diagnostics.
- :func:`check_condition` (``checker``): resolves fields, checks operators against
  types and parses literals, giving the typed IR that the interpreter and the
  code generator share; raises :class:`~secengine.errors.ConditionCompileError`.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Checked",
    "LangWarning",
    "MacroResolver",
    "check_condition",
    "condition_warnings",
    "event_types",
    "parse_condition",
    "to_string",
]

_HOME = {
    "parse_condition": "parser",
    "MacroResolver": "macros",
    "event_types": "evttypes",
    "condition_warnings": "warnings",
    "LangWarning": "warnings",
    "check_condition": "checker",
    "Checked": "checker",
    "to_string": "ast",
}


def __getattr__(name: str) -> Any:
    """Import each pass on first use, so that loading one does not load them all."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'secengine.lang' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"secengine.lang.{module}"), name)
    globals()[name] = value
    return value
