"""The ``write_suite`` fixture: a small rules file and rule-test files written to tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ruletest_helpers import RULES, WriteSuite


@pytest.fixture
def write_suite(tmp_path: Path) -> WriteSuite:
    """``write_suite(text, name=..., rules=...)``: write rules.yaml and a test file, return its path.

    ``text`` is dedented; the test file lives in ``tmp_path`` next to ``rules.yaml``.
    """

    def write(text: str, name: str = "t.ruletest.yaml", rules: str = RULES) -> Path:
        (tmp_path / "rules.yaml").write_text(rules)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write
