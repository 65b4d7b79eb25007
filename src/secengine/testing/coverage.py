"""Rule coverage: which rules of the loaded rules files have a positive and a negative case.

A *positive* case expects the rule to fire (``count`` ≥ 1); a *negative*
case names the rule with ``count: 0``. Cases that expect ``no_alerts`` do
not count for any rule: a negative case must say which rule it is about,
otherwise an event nothing could ever match would "cover" every rule.

Coverage counts the cases whatever their outcome (failures are reported
separately). Every rule of every rules file loaded by the test files run is
listed under the file that first defines it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from secengine.testing.loader import display_path
from secengine.testing.runner import FileResult, expand_rules_files

__all__ = ["RuleCoverage", "compute_coverage", "coverage_failures", "render_coverage"]


@dataclass(slots=True)
class RuleCoverage:
    """The cases that cover one rule (``"file::case"`` ids)."""

    name: str
    rules_file: str
    positive: list[str] = field(default_factory=list)
    negative: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.positive) and bool(self.negative)


def compute_coverage(files: list[FileResult]) -> list[RuleCoverage]:
    """Coverage of every rule loaded by ``files``, in rules-file then definition order."""
    table: dict[str, RuleCoverage] = {}
    for fr in files:
        if fr.loaded is None or fr.rules is None:
            continue
        origin = _definitions(fr.loaded.rules_files)
        for rule in fr.rules:
            if rule.name not in table:
                where = origin.get(rule.name)
                table[rule.name] = RuleCoverage(rule.name, display_path(where) if where else "?")
        for case in fr.loaded.cases:
            case_id = f"{fr.label}::{case.name}"
            for exp in case.expect:
                cov = table.get(exp.rule)
                if cov is None:
                    continue
                (cov.positive if exp.count > 0 else cov.negative).append(case_id)
    return sorted(table.values(), key=lambda c: c.rules_file)


def coverage_failures(coverage: list[RuleCoverage]) -> list[str]:
    """One line per missing case: ``file: rule 'X' has no negative case``."""
    out = []
    for cov in coverage:
        missing = [
            kind
            for kind, cases in (("positive", cov.positive), ("negative", cov.negative))
            if not cases
        ]
        if missing:
            out.append(
                f"{cov.rules_file}: rule {cov.name!r} has no {' and no '.join(missing)} case"
            )
    return out


def render_coverage(coverage: list[RuleCoverage]) -> list[str]:
    """The coverage report: per rules file, counts and the rules missing a case."""
    lines: list[str] = []
    by_file: dict[str, list[RuleCoverage]] = {}
    for cov in coverage:
        by_file.setdefault(cov.rules_file, []).append(cov)
    for rules_file, covs in by_file.items():
        complete = sum(1 for c in covs if c.complete)
        lines.append(
            f"{rules_file}: {len(covs)} rules, {complete} with positive and negative cases"
        )
        for cov in covs:
            missing = [
                kind
                for kind, cases in (("positive", cov.positive), ("negative", cov.negative))
                if not cases
            ]
            if missing:
                lines.append(f"  {cov.name}: no {' and no '.join(missing)} case")
    if not lines:
        lines.append("no rules loaded")
    return lines


_definition_cache: dict[tuple[str, int], list[str]] = {}


def _definitions(rules_files: tuple[Path, ...]) -> dict[str, Path]:
    """Rule name → the first of these files that defines it (not as an append or override)."""
    out: dict[str, Path] = {}
    for path in expand_rules_files(rules_files):
        for name in _defined_in(path):
            out.setdefault(name, path)
    return out


def _defined_in(path: Path) -> list[str]:
    try:
        stamp = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        return []
    cached = _definition_cache.get(stamp)
    if cached is not None:
        return cached
    names: list[str] = []
    try:
        docs: Any = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError):
        docs = None
    for item in docs if isinstance(docs, list) else []:
        if (
            isinstance(item, dict)
            and isinstance(item.get("rule"), str)
            and item.get("append") is not True
            and "override" not in item
        ):
            names.append(item["rule"])
    _definition_cache[stamp] = names
    return names
