"""Rules, events and sources shared by the agent tests (the agent, its metrics and its
commands): fixtures tests/conftest.py imports from here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from secengine.events import Event, FieldValues
from secengine.sources.base import EventQueue, Source, SourceStats

RULES = """\
- rule: cat_open
  desc: cat opened a file
  condition: evt.type = open and proc.name = cat
  output: "cat opened %fd.name (proc=%proc.name)"
  priority: WARNING
  tags: [filesystem, test]
- rule: ls_exec
  desc: ls ran
  condition: evt.type = execve and proc.name = ls
  output: "ls ran (cmd=%proc.cmdline)"
  priority: NOTICE
  tags: [process]
"""

OTHER_RULES = """\
- rule: vi_open
  desc: vi opened a file
  condition: evt.type = open and proc.name = vi
  output: "vi opened %fd.name"
  priority: ERROR
"""

BROKEN_RULES = """\
- rule: broken
  desc: does not compile
  condition: evt.type = open and no.such.field = 1
  output: "x"
  priority: ERROR
"""

T0 = 1_700_000_000_000_000_000


def open_event(i: int, proc: str = "cat") -> Event:
    return Event(
        "syscall",
        T0 + i,
        FieldValues({"evt.type": "open", "proc.name": proc, "fd.name": f"/etc/file{i}"}),
        i + 1,
    )


def exec_event(i: int) -> Event:
    return Event(
        "syscall",
        T0 + i,
        FieldValues({"evt.type": "execve", "proc.name": "ls", "proc.cmdline": "ls -l"}),
        i + 1,
    )


class LiveSource(Source):
    """A source that never finishes by itself; tests push events and set its counters."""

    name: ClassVar[str] = "live"

    def __init__(self) -> None:
        self.stats = SourceStats()
        self.out: EventQueue | None = None
        self.interest: Any = "unset"
        self.stopped = False

    def set_interest(self, evttypes: frozenset[str] | None) -> None:
        self.interest = evttypes

    def start(self, out: EventQueue) -> None:
        self.out = out

    def push(self, events: list[Event]) -> None:
        assert self.out is not None
        if self.out.put(self.name, events, timeout=5):
            self.stats.add(events=len(events))
        else:
            self.stats.add(dropped=len(events))

    def stop(self, timeout: float | None = None) -> None:
        self.stopped = True


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    p = tmp_path / "rules.yaml"
    p.write_text(RULES)
    return p


@pytest.fixture
def until() -> Any:
    def wait(cond: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.01)

    return wait


@pytest.fixture
def events() -> Any:
    """``events.open(i, proc)`` and ``events.exec(i)``."""

    class E:
        open = staticmethod(open_event)
        exec = staticmethod(exec_event)
        rules = RULES
        other_rules = OTHER_RULES
        broken_rules = BROKEN_RULES
        live = LiveSource

    return E


from loopback import silent_http  # noqa: F401 - the fixture, for tests/conftest.py
from tls_pki import pki  # noqa: F401 - the fixture, for tests/conftest.py
