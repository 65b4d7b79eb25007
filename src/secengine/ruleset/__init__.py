"""Falco rules files: read, merge across files, compile, and report like ``falco -V``.

Loading has three replaceable stages, as in Falco's engine:

- :mod:`~secengine.ruleset.reader`: YAML (with byte-exact marks) → decoded items;
- :mod:`~secengine.ruleset.collector`: define / append / override / enable, in one place;
- :mod:`~secengine.ruleset.compiler`: exceptions, textual list expansion, parsing,
  macro expansion, warnings, type checking, outputs.

:func:`load_rules` runs them over several files with Falco's semantics and
returns a :class:`RuleSet` holding the compiled :class:`Rule` objects and one
:class:`LoadResult` (errors and warnings with locations and snippets) per file.
"""

from __future__ import annotations

from secengine.ruleset.diagnostics import Context, Diagnostic, LoadResult, Location, Position
from secengine.ruleset.loader import load_rules
from secengine.ruleset.messages import ErrorCode, ItemType, WarningCode
from secengine.ruleset.model import CompiledList, CompiledMacro, Rule, RuleSet
from secengine.ruleset.paths import default_rules_files, expand_rules_paths
from secengine.ruleset.version import ENGINE_VERSION, PROVIDED_PLUGINS

__all__ = [
    "ENGINE_VERSION",
    "PROVIDED_PLUGINS",
    "CompiledList",
    "CompiledMacro",
    "Context",
    "Diagnostic",
    "ErrorCode",
    "ItemType",
    "LoadResult",
    "Location",
    "Position",
    "Rule",
    "RuleSet",
    "WarningCode",
    "default_rules_files",
    "expand_rules_paths",
    "load_rules",
]
