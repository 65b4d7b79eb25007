"""give_rules: each source is told the event types of its own source's rules (its spec)."""

from __future__ import annotations

from secengine.sources import specs
from secengine.sources.k8s_audit import SPEC as K8S_AUDIT
from secengine.sources.syscall import SPEC as SYSCALL


def test_each_source_is_told_the_event_types_of_its_own_rules() -> None:
    from typing import Any, ClassVar

    from secengine.assembly import give_rules
    from secengine.engine import Engine
    from secengine.sources.base import EventQueue, Source, SourceSpec

    class _Recording(Source):
        name: ClassVar[str] = "recording"

        def __init__(self) -> None:
            self.interest: Any = "unset"

        def set_interest(self, evttypes: frozenset[str] | None) -> None:
            self.interest = evttypes

        def start(self, out: EventQueue) -> None:
            pass

        def stop(self, timeout: float | None = None) -> None:
            pass

    class _Syscall(_Recording):
        spec: ClassVar[SourceSpec | None] = SYSCALL

    class _Audit(_Recording):
        spec: ClassVar[SourceSpec | None] = K8S_AUDIT

    rules = """
- rule: opens
  desc: d
  condition: evt.type in (open, openat)
  output: o
  priority: INFO
- rule: audits
  desc: d
  condition: ka.verb = get
  output: o
  priority: INFO
  source: k8s_audit
"""
    engine = Engine(specs.load_rules([("r.yaml", rules)]))
    syscall, audit, unnamed = _Syscall(), _Audit(), _Recording()
    give_rules([syscall, audit, unnamed], engine)
    assert syscall.interest == frozenset({"open", "openat"})
    assert audit.interest is None  # its one rule names no event type: every event
    assert unnamed.interest is None  # no spec: what every rule needs
