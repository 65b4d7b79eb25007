"""Helpers for the rule loader tests: load in-memory rules and find diagnostics.

A module of its own (not conftest.py), so that ``from ruleset_helpers import ...``
names one file whichever other test directories pytest collects first.
"""

from __future__ import annotations

from pathlib import Path

from secengine.ruleset import Diagnostic, LoadResult, RuleSet
from secengine.sources.specs import load_rules

GOLDEN = Path(__file__).resolve().parent / "golden"


def load(*texts: str, names: tuple[str, ...] | None = None, **kwargs: object) -> RuleSet:
    """Load rules contents in order, named ``rules.yaml``, ``rules1.yaml``... unless given."""
    if names is None:
        names = tuple("rules.yaml" if i == 0 else f"rules{i}.yaml" for i in range(len(texts)))
    return load_rules(list(zip(names, texts)), **kwargs)  # type: ignore[arg-type]


def only_error(result: LoadResult) -> Diagnostic:
    assert not result.successful, result.render_text()
    assert len(result.errors) == 1, result.render_text()
    return result.errors[0]


def warnings_of(result: LoadResult, code: str) -> list[Diagnostic]:
    return [w for w in result.warnings if w.code.name == code]


def chain(diag: Diagnostic) -> list[tuple[str, str, int, int]]:
    """The context chain as (item_type, item_name, line, column) tuples."""
    return [
        (loc.item_type.value, loc.item_name, loc.position.line, loc.position.column)
        for loc in diag.context.locations
    ]
