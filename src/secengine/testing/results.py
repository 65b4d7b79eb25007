"""What a rule-test run produces: the events fed, unmet expectations, per-case/file/run results.

Plain data, shared by the runner that fills it
(:mod:`secengine.testing.runner`), the checks that judge a case
(:mod:`secengine.testing.checks`) and the reports that print it
(:mod:`~secengine.testing.report`, :mod:`~secengine.testing.junit`), so none
of them imports another to reach a type.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secengine.events import Event, FieldValues

if TYPE_CHECKING:  # pragma: no cover
    from secengine.engine import Engine
    from secengine.ruleset import Rule, RuleSet
    from secengine.testing.loader import LoadedCase, LoadedTestFile

__all__ = ["CaseResult", "Failure", "FileResult", "RuleContext", "RunEvent", "RunResult"]


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One event of a case as it is fed to the engine.

    ``fields`` is kept pristine: the engine caches derived and missing values
    in the values it evaluates, so every run (and every explanation) gets a
    fresh copy from :meth:`values`. Sources whose values are extracted
    lazily (the k8s audit source keeps the audit object in its
    ``FieldValues`` subclass) are copied with their own ``__reduce__``.
    """

    source: str
    ts: int
    fields: FieldValues
    origin: str

    def values(self) -> FieldValues:
        if type(self.fields) is FieldValues:
            return FieldValues(self.fields)
        return copy.copy(self.fields)

    def to_event(self, num: int) -> Event:
        return Event(self.source, self.ts, self.values(), num)

    def display(self) -> dict[str, Any]:
        """What reports print: the given field values, and the raw document of
        sources that extract values from one (``doc``, as the k8s audit source keeps it)."""
        shown: dict[str, Any] = dict(self.fields)
        doc = getattr(self.fields, "doc", None)
        if doc is not None:
            shown = {"(document)": doc, **shown}
        return shown


@dataclass(slots=True)
class Failure:
    """One unmet expectation: a one-line summary and the lines explaining it."""

    summary: str
    details: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join([self.summary, *self.details])


@dataclass(slots=True)
class CaseResult:
    file: LoadedTestFile
    case: LoadedCase
    failures: list[Failure] = field(default_factory=list)
    #: Set when the case could not run (its rules do not load, an event file is broken).
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None

    @property
    def nodeid(self) -> str:
        return f"{self.file.label}::{self.case.name}"

    @property
    def summary(self) -> str:
        if self.error is not None:
            return self.error.splitlines()[0]
        return self.failures[0].summary if self.failures else "passed"

    def report(self) -> str:
        """The full explanation of why the case failed (empty when it passed).

        The first line is the summary (pytest shows it in its short summary);
        the last names the case and where it is written.
        """
        if self.error is not None:
            body = self.error
        elif self.failures:
            body = "\n\n".join(f.text() for f in self.failures)
        else:
            return ""
        return f"{body}\n\n(case {self.case.name!r} at {self.case.origin})"


@dataclass(slots=True)
class FileResult:
    path: Path
    label: str
    loaded: LoadedTestFile | None = None
    #: Set when the file could not be loaded at all (bad YAML or shape, missing files).
    error: str | None = None
    #: Set when the file was skipped: its rules are absent and it says to skip then.
    skipped: str | None = None
    cases: list[CaseResult] = field(default_factory=list)
    #: The rules the file's rules files define (for coverage); None if they did not load.
    rules: list[Rule] | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.cases)


@dataclass(slots=True)
class RunResult:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def cases(self) -> list[CaseResult]:
        return [c for f in self.files for c in f.cases]

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.files)


@dataclass(slots=True)
class RuleContext:
    """A loaded rule set and the engine built from it with a test file's options."""

    ruleset: RuleSet
    engine: Engine
    by_name: dict[str, Rule]
    active: frozenset[str]
