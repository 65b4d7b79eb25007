"""append_output: extra text and output_fields for matching rules, as Falco applies them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from secengine.agent import build_engine
from secengine.append_output import apply_append_output, suggested_formats
from secengine.config import load_config
from secengine.errors import ConfigError
from secengine.fields import default_registry
from secengine.sources.specs import load_rules


def _engine(rules_file: Path, entries: str) -> Any:
    cfg = load_config(options=[f"append_output={entries}", "hostname=h"])
    return build_engine(cfg, load_rules([str(rules_file)]))


def test_extra_output_and_fields_for_matching_rules(rules_file: Path, events: Any) -> None:
    engine = _engine(
        rules_file,
        "[{match: {tags: [filesystem]}, extra_output: 'pid=%proc.pid',"
        " extra_fields: [proc.pid, {who: 'user %user.name'}]},"
        " {match: {rule: ls_exec}, extra_output: 'ls!'},"
        " {match: {source: k8s_audit}, extra_output: 'never'}]",
    )
    ev = events.open(0)
    ev.fields["proc.pid"] = 42
    ev.fields["user.name"] = "root"
    (cat,) = engine.process(ev)
    assert cat.message == "cat opened /etc/file0 (proc=cat) pid=42"
    assert cat.output_fields["proc.pid"] == 42 and cat.output_fields["who"] == "user root"
    (ls,) = engine.process(events.exec(1))
    assert ls.message == "ls ran (cmd=ls -l) ls!" and "who" not in ls.output_fields


def test_fields_only_leave_the_text_alone(rules_file: Path, events: Any) -> None:
    engine = _engine(rules_file, "[{extra_fields: [proc.pid]}]")
    (cat,) = engine.process(events.open(0))
    assert cat.message == "cat opened /etc/file0 (proc=cat)"
    assert cat.output_fields["proc.pid"] is None  # missing → null, as Falco


def test_suggested_output_appends_the_flagged_fields(rules_file: Path, events: Any) -> None:
    suggested = suggested_formats("syscall", default_registry())
    assert "container_id=%container.id" in suggested
    engine = _engine(rules_file, "[{suggested_output: true}]")
    (cat,) = engine.process(events.open(0))
    assert cat.message.startswith("cat opened /etc/file0 (proc=cat) container_id=<NA>")


def test_the_loaded_rules_are_not_changed(rules_file: Path) -> None:
    ruleset = load_rules([str(rules_file)])
    cfg = load_config(options=["append_output=[{extra_output: x}]"])
    new = apply_append_output(ruleset.rules, cfg.append_output)
    assert new[0].output.endswith(" x") and not ruleset.rules[0].output.endswith(" x")
    assert apply_append_output(ruleset.rules, []) == ruleset.rules


def test_a_field_that_does_not_compile_names_the_entry(rules_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"append_output\[0\].extra_fields: 'no.such'"):
        _engine(rules_file, "[{extra_fields: [no.such]}]")
    with pytest.raises(ConfigError, match="append_output: the output of rule 'cat_open'"):
        _engine(rules_file, "[{extra_output: '%no.such.field'}]")
