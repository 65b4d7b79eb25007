"""Run rule-test files: load rules once, feed each case's events to an engine, check the alerts.

:class:`RuleTestRunner` is shared by ``secengine test`` and the pytest plugin.
It caches compiled rule sets (by the rules files' paths and modification
times) and engines (by rule set and options), so a directory of test files
over the same rules compiles them once. Each case gets fresh
:class:`~secengine.events.Event` objects, numbered from 1, timed from
:data:`BASE_TIME` unless the test gives a time.

Results are plain data (:mod:`secengine.testing.results`, re-exported
here); the expectations are checked in :mod:`secengine.testing.checks` and
rendered by the callers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secengine.engine import Engine
from secengine.errors import EventFormatError
from secengine.events import FieldValues
from secengine.output import AlertFormatter
from secengine.ruleset import RuleSet
from secengine.ruleset.paths import expand_rules_paths
from secengine.sources.specs import load_rules
from secengine.testing.checks import check_case
from secengine.testing.eventfiles import read_event_file
from secengine.testing.loader import (
    FileEvents,
    LoadedCase,
    LoadedTestFile,
    discover,
    display_path,
    load_test_file,
)
from secengine.testing.model import RuleTestError, RuleTestSkipped
from secengine.testing.results import (
    CaseResult,
    Failure,
    FileResult,
    RuleContext,
    RunEvent,
    RunResult,
)

if TYPE_CHECKING:  # pragma: no cover
    from secengine.alert import Alert
    from secengine.fields.registry import FieldRegistry

__all__ = [
    "BASE_TIME",
    "CaseResult",
    "Failure",
    "FileResult",
    "RuleContext",
    "RuleTestRunner",
    "RunEvent",
    "RunResult",
    "expand_rules_files",
]

#: Time of an inline event without ``time``: 2023-11-14T22:13:20Z plus 1 ms per event.
BASE_TIME = 1_700_000_000_000_000_000
_STEP = 1_000_000

#: The hostname put in alerts during tests (keeps outputs reproducible).
TEST_HOSTNAME = "secengine-test"


class RuleTestRunner:
    """Loads and runs rule-test files; reuse one runner for a whole session.

    ``formatter_options`` are passed to
    :class:`~secengine.output.AlertFormatter` (Falco's output keys such as
    ``time_format_iso_8601``), so tests see alerts as the configured agent
    would render them.
    """

    def __init__(
        self,
        *,
        registry: FieldRegistry | None = None,
        formatter_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.registry = registry
        self.formatter_options = dict(formatter_options or {})
        self._rulesets: dict[tuple[tuple[str, int], ...], RuleSet] = {}
        self._contexts: dict[tuple[Any, ...], RuleContext] = {}
        self._event_files: dict[tuple[Any, ...], list[RunEvent]] = {}

    # -- loading ---------------------------------------------------------------
    def load(self, path: str | os.PathLike[str]) -> LoadedTestFile:
        """Load one test file; raises :class:`RuleTestError`."""
        return load_test_file(Path(path), self.registry)

    def context(self, tf: LoadedTestFile) -> RuleContext:
        """The rules and engine for a test file; raises :class:`RuleTestError` if they do not load."""
        files = expand_rules_files(tf.rules_files)
        stamp = tuple((str(p.resolve()), _mtime(p)) for p in files)
        opts = tf.options
        key = (stamp, opts.rule_matching, opts.priority, opts.selections())
        ctx = self._contexts.get(key)
        if ctx is not None:
            return ctx
        ruleset = self._ruleset(stamp, files, tf)
        formatter = AlertFormatter(hostname=TEST_HOSTNAME, **self.formatter_options)
        engine = Engine(
            ruleset,
            rule_matching=opts.rule_matching,
            min_priority=opts.priority,
            selections=opts.selections(),
            formatter=formatter,
        )
        ctx = RuleContext(
            ruleset,
            engine,
            {r.name: r for r in ruleset.rules},
            frozenset(r.name for r in engine.rules),
        )
        self._contexts[key] = ctx
        return ctx

    def _ruleset(
        self, stamp: tuple[tuple[str, int], ...], files: list[Path], tf: LoadedTestFile
    ) -> RuleSet:
        ruleset = self._rulesets.get(stamp)
        if ruleset is None:
            ruleset = load_rules([str(p) for p in files], registry=self.registry)
            self._rulesets[stamp] = ruleset
        if not ruleset.successful:
            raise RuleTestError("the rules files do not load:\n" + ruleset.render_text(), tf.label)
        return ruleset

    def events(self, case: LoadedCase) -> list[RunEvent]:
        """The events of a case in order; raises :class:`EventFormatError` for a broken file."""
        out: list[RunEvent] = []
        for spec in case.events:
            if isinstance(spec, FileEvents):
                out.extend(self._file_events(spec))
            else:
                ts = spec.time if spec.time is not None else BASE_TIME + len(out) * _STEP
                out.append(RunEvent(spec.source, ts, FieldValues(spec.fields), spec.origin))
        return out

    def _file_events(self, spec: FileEvents) -> list[RunEvent]:
        key = (str(spec.path.resolve()), _mtime(spec.path), spec.format, spec.source)
        cached = self._event_files.get(key)
        if cached is None:
            label = display_path(spec.path)
            cached = []
            for n, (line, ev) in enumerate(
                read_event_file(spec.path, spec.format, spec.source), start=1
            ):
                where = f"{label}:{line}" if line is not None else f"{label} (event {n})"
                cached.append(RunEvent(ev.source, ev.ts, ev.fields, where))
            self._event_files[key] = cached
        return cached

    # -- running -----------------------------------------------------------------
    def run_case(self, tf: LoadedTestFile, case: LoadedCase) -> CaseResult:
        """Run one case and check its expectations."""
        started = time.perf_counter()
        result = CaseResult(tf, case)
        try:
            ctx = self.context(tf)
            events = self.events(case)
        except (RuleTestError, EventFormatError) as e:
            result.error = str(e)
        else:
            alerts: list[list[Alert]] = []
            process = ctx.engine.process
            for num, ev in enumerate(events, start=1):
                alerts.append(process(ev.to_event(num)))
            result.failures = check_case(case, tf, ctx, events, alerts)
        result.seconds = time.perf_counter() - started
        return result

    def run_file(self, path: str | os.PathLike[str], *, keyword: str | None = None) -> FileResult:
        """Load and run one file; ``keyword`` keeps only cases whose name contains it."""
        p = Path(path)
        fr = FileResult(p, display_path(p))
        try:
            tf = self.load(p)
        except RuleTestError as e:
            fr.error = str(e)
            return fr
        except RuleTestSkipped as e:
            fr.skipped = str(e)
            return fr
        fr.loaded = tf
        try:
            fr.rules = list(self.context(tf).ruleset.rules)
        except RuleTestError:
            fr.rules = None  # every case reports the load failure
        needle = keyword.lower() if keyword else None
        for case in tf.cases:
            if needle is None or needle in case.name.lower():
                fr.cases.append(self.run_case(tf, case))
        return fr

    def run(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        keyword: str | None = None,
        on_file: Callable[[FileResult], None] | None = None,
    ) -> RunResult:
        """Every test file under ``paths`` (see :func:`~secengine.testing.loader.discover`);
        ``on_file`` is called with each file's result as soon as it is known."""
        started = time.perf_counter()
        result = RunResult()
        for path in discover(paths):
            fr = self.run_file(path, keyword=keyword)
            result.files.append(fr)
            if on_file is not None:
                on_file(fr)
        result.seconds = time.perf_counter() - started
        return result


def expand_rules_files(paths: Iterable[Path]) -> list[Path]:
    """Rules files in load order (see :func:`secengine.ruleset.expand_rules_paths`)."""
    return expand_rules_paths(paths)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1
