"""Rule unit tests without a kernel: the ``*.ruletest.yaml`` format, its runner and reports.

``secengine test`` (:mod:`secengine.commands.test`) and the pytest plugin
(:mod:`secengine.testing.pytest_plugin`) are two front ends over the same
pieces:

- :mod:`~secengine.testing.model`: the file format (pydantic models);
- :mod:`~secengine.testing.loader`: YAML with lines → cases with concrete events;
- :mod:`~secengine.testing.eventfiles`: event files by format (``fieldmap`` built in);
- :mod:`~secengine.testing.runner`: rules and engines cached, cases run;
- :mod:`~secengine.testing.results`: what a run produces (plain data);
- :mod:`~secengine.testing.checks` and :mod:`~secengine.testing.explain`: failures that
  explain themselves (the first failing leaf of the condition, with values);
- :mod:`~secengine.testing.coverage`, :mod:`~secengine.testing.junit`,
  :mod:`~secengine.testing.report`: coverage, JUnit XML, the terminal summary.

The names below are the public API; they are imported on first use, so
importing this package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from secengine.testing.coverage import RuleCoverage, compute_coverage
    from secengine.testing.eventfiles import register_event_format
    from secengine.testing.explain import Leaf, explain
    from secengine.testing.junit import junit_xml
    from secengine.testing.loader import TEST_FILE_SUFFIX, discover, load_test_file
    from secengine.testing.model import RuleTestError, RuleTestFile
    from secengine.testing.results import CaseResult, FileResult, RunResult
    from secengine.testing.runner import RuleTestRunner

__all__ = [
    "TEST_FILE_SUFFIX",
    "CaseResult",
    "FileResult",
    "Leaf",
    "RuleCoverage",
    "RuleTestError",
    "RuleTestFile",
    "RuleTestRunner",
    "RunResult",
    "compute_coverage",
    "discover",
    "explain",
    "junit_xml",
    "load_test_file",
    "register_event_format",
]

_WHERE = {
    "CaseResult": "results",
    "FileResult": "results",
    "RuleTestRunner": "runner",
    "RunResult": "results",
    "Leaf": "explain",
    "explain": "explain",
    "RuleCoverage": "coverage",
    "compute_coverage": "coverage",
    "RuleTestError": "model",
    "RuleTestFile": "model",
    "TEST_FILE_SUFFIX": "loader",
    "discover": "loader",
    "load_test_file": "loader",
    "junit_xml": "junit",
    "register_event_format": "eventfiles",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'secengine.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"secengine.testing.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
