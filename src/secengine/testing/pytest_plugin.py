"""pytest plugin: ``*.ruletest.yaml`` files become test items, one per case.

Registered through the ``pytest11`` entry point, so any project with
secengine installed runs its rule tests with its normal ``pytest``::

    $ pytest rules/
    rules/tests/my_rules.ruletest.yaml ....F.

A failing case is reported with the same explanation as ``secengine test``
(the event, the first failing leaf with the field's actual value, the
expanded condition); a test file that cannot be loaded is a collection
error naming ``file:line``; a file whose rules are absent and that says
``skip_if_rules_missing`` is skipped with its reason. One runner is shared by the session, so rules
files used by several test files compile once.

This module is imported by pytest at start-up in every project that has
secengine installed: it imports nothing of secengine until a rule-test file
is collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from secengine.errors import SecengineError

if TYPE_CHECKING:  # pragma: no cover
    from secengine.testing.loader import LoadedCase, LoadedTestFile
    from secengine.testing.runner import CaseResult, RuleTestRunner

__all__ = ["RuleTestCaseFailed", "RuleTestItem", "RuleTestYamlFile", "pytest_collect_file"]

_SUFFIX = ".ruletest.yaml"  # secengine.testing.loader.TEST_FILE_SUFFIX, without importing it
_RUNNER_KEY = pytest.StashKey["RuleTestRunner"]()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(_SUFFIX):
        node: RuleTestYamlFile = RuleTestYamlFile.from_parent(parent, path=file_path)
        return node
    return None


def _runner(config: pytest.Config) -> RuleTestRunner:
    runner = config.stash.get(_RUNNER_KEY, None)
    if runner is None:
        # start-up cost: pytest loads this plugin in every session; the runner (engine,
        # rule loader, Lark) is imported only once a *.ruletest.yaml file is collected
        from secengine.testing.runner import RuleTestRunner

        runner = config.stash[_RUNNER_KEY] = RuleTestRunner()
    return runner


class RuleTestCaseFailed(SecengineError):
    """Raised by a failing case; carries the result whose report pytest shows."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.summary)
        self.result = result


class RuleTestYamlFile(pytest.File):
    """A ``*.ruletest.yaml`` file: loads it and yields one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        # start-up cost, as in _runner: the model imports pydantic and the engine
        from secengine.testing.model import RuleTestError, RuleTestSkipped

        try:
            loaded = _runner(self.config).load(self.path)
        except RuleTestError as e:
            raise self.CollectError(str(e)) from None
        except RuleTestSkipped as e:
            pytest.skip(str(e))
        for case in loaded.cases:
            yield RuleTestItem.from_parent(self, name=case.name, loaded=loaded, case=case)


class RuleTestItem(pytest.Item):
    """One case of a rule-test file."""

    def __init__(self, *, loaded: LoadedTestFile, case: LoadedCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.case = case

    def runtest(self) -> None:
        result = _runner(self.config).run_case(self.loaded, self.case)
        if not result.passed:
            raise RuleTestCaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, RuleTestCaseFailed):
            return excinfo.value.result.report()
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"ruletest: {self.case.name}"
