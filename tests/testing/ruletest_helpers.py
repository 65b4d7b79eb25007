"""Shared pieces of the rule-test harness tests (a uniquely named module: several
test directories have a ``conftest``, so tests import from here instead)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
