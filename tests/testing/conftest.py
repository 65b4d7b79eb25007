"""Helpers for the rule-test harness tests: a small rules file and test files written to tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

RULES = """\
- macro: spawned
  condition: evt.type in (execve, execveat)

- rule: Shell
  desc: a shell not started by sshd
  condition: spawned and proc.name in (bash, sh) and not proc.pname = sshd
  output: shell %proc.name (parent=%proc.pname user=%user.name)
  priority: WARNING
  tags: [shell, test]

- rule: Any exec
  desc: every program start
  condition: spawned
  output: exec %proc.name
  priority: DEBUG
  tags: [noisy]

- rule: Shadow open
  desc: off unless enabled
  condition: evt.type = openat and fd.name = /etc/shadow
  output: open %fd.name
  priority: NOTICE
  enabled: false
"""

WriteSuite = Callable[..., Path]


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
