"""The terminal report of ``secengine test``, shaped like pytest's.

One progress line per test file (``.`` passed, ``F`` failed, ``E`` could not
run), then a ``FAILURES`` section with each failure's explanation, a short
summary of the failed cases, the coverage report when asked for, and a
final ``N failed, M passed in S s`` line.
"""

from __future__ import annotations

import shutil

from secengine.testing.results import CaseResult, FileResult, RunResult

__all__ = ["file_line", "render_report", "rule"]


def _width() -> int:
    return max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))


def rule(title: str = "", char: str = "=") -> str:
    """A full-width separator with an optional centred title (``==== FAILURES ====``)."""
    width = _width()
    if not title:
        return char * width
    side = max(3, (width - len(title) - 2) // 2)
    line = f"{char * side} {title} {char * side}"
    return line + char * (width - len(line)) if len(line) < width else line


def _mark(cr: CaseResult) -> str:
    if cr.error is not None:
        return "E"
    return "." if cr.passed else "F"


def file_line(fr: FileResult, verbose: bool = False) -> list[str]:
    """The progress output of one file: marks, or one line per case with ``verbose``."""
    if fr.error is not None:
        return [f"{fr.label} E"]
    if fr.skipped is not None:
        return [f"{fr.label} SKIPPED" if verbose else f"{fr.label} s"]
    if verbose:
        word = {".": "PASSED", "F": "FAILED", "E": "ERROR"}
        return [f"{cr.nodeid} {word[_mark(cr)]}" for cr in fr.cases]
    return [f"{fr.label} {''.join(_mark(cr) for cr in fr.cases)}"]


def render_report(
    run: RunResult,
    *,
    coverage: list[str] | None = None,
    coverage_problems: list[str] | None = None,
    require_coverage: bool = False,
) -> list[str]:
    """Everything after the progress lines."""
    lines: list[str] = []
    broken = [fr for fr in run.files if fr.error is not None]
    failed = [cr for cr in run.cases if not cr.passed]
    if broken:
        lines.append(rule("ERRORS"))
        for fr in broken:
            lines.append(rule(f"ERROR loading {fr.label}", "_"))
            lines.append(fr.error or "")
    if failed:
        lines.append(rule("FAILURES"))
        for cr in failed:
            lines.append(rule(f"{cr.file.label}::{cr.case.name}", "_"))
            lines.append(cr.report())
    if coverage is not None:
        lines.append(rule("rule coverage"))
        lines.extend(coverage)
    problems = coverage_problems if require_coverage else []
    skipped = [fr for fr in run.files if fr.skipped is not None]
    if broken or failed or problems or skipped:
        lines.append(rule("short test summary info"))
        for fr in skipped:
            lines.append(f"SKIPPED {fr.skipped}")
        for fr in broken:
            lines.append(f"ERROR {fr.label} - {(fr.error or '').splitlines()[0]}")
        for cr in failed:
            kind = "ERROR" if cr.error is not None else "FAILED"
            lines.append(f"{kind} {cr.nodeid} - {cr.summary}")
        for problem in problems or []:
            lines.append(f"UNCOVERED {problem}")
    lines.append(rule(_totals(run, len(problems or []))))
    return lines


def _totals(run: RunResult, uncovered: int) -> str:
    cases = run.cases
    failed = sum(1 for c in cases if c.error is None and not c.passed)
    errors = sum(1 for c in cases if c.error is not None) + sum(
        1 for f in run.files if f.error is not None
    )
    passed = sum(1 for c in cases if c.passed)
    parts = []
    if failed:
        parts.append(f"{failed} failed")
    if passed or not (failed or errors):
        parts.append(f"{passed} passed")
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    skipped = sum(1 for f in run.files if f.skipped is not None)
    if skipped:
        parts.append(f"{skipped} file{'s' if skipped != 1 else ''} skipped")
    if uncovered:
        parts.append(f"{uncovered} uncovered")
    return f"{', '.join(parts)} in {run.seconds:.2f}s"
