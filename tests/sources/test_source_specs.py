"""The built-in sources' specs: what the engine, the CLI and the agent read instead of names."""

from __future__ import annotations

from secengine.internal_alerts import drop_alert
from secengine.sources import specs
from secengine.sources.k8s_audit import SPEC as K8S_AUDIT
from secengine.sources.syscall import SPEC as SYSCALL


def test_builtin_sources_in_order() -> None:
    assert specs.names()[:2] == ["syscall", "k8s_audit"]
    assert specs.spec("syscall") is SYSCALL
    assert specs.source_class("k8s_audit").spec is K8S_AUDIT


def test_only_the_syscall_source_indexes_rules_by_event_type() -> None:
    registry = specs.field_registry()
    index = registry.event_index("syscall")
    assert index is not None and index.is_known("openat") and not index.is_known("opnat")
    assert registry.event_index("k8s_audit") is None


def test_the_registry_of_the_specs_holds_the_builtin_fields() -> None:
    from secengine.fields import default_registry

    assert [c.name for c in specs.field_registry().classes] == [
        c.name for c in default_registry().classes
    ]


def test_rules_of_the_syscall_source_are_marked_for_event_type_buckets() -> None:
    rules = """
- rule: opens
  desc: d
  condition: evt.type = openat
  output: o
  priority: INFO
- rule: audits
  desc: d
  condition: ka.verb = get
  output: o
  priority: INFO
  source: k8s_audit
"""
    ruleset = specs.load_rules([("r.yaml", rules)])
    assert ruleset.successful, ruleset.render_text()
    assert {r.name: r.by_event_type for r in ruleset.rules} == {"opens": True, "audits": False}


def test_the_drop_alert_takes_its_words_from_the_spec() -> None:
    alert = drop_alert(
        "syscall", 3, 7, "h", ts=0, noun=SYSCALL.drop_noun, extra=SYSCALL.drop_fields
    )
    assert (
        alert.message
        == "Falco internal: syscall event drop. 3 system calls dropped in last second."
    )
    assert alert.output_fields == {"ebpf_enabled": "1", "n_drops": "3", "n_evts": "10"}
    other = drop_alert(
        "k8s_audit", 1, 1, "h", ts=0, noun=K8S_AUDIT.drop_noun, extra=K8S_AUDIT.drop_fields
    )
    assert other.message.endswith("1 events dropped in last second.")
    assert "ebpf_enabled" not in other.output_fields
