"""Rule reload: atomic swap, a broken rules file keeps the old rules firing, watched files."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from secengine.agent import Agent
from secengine.config import load_config
from secengine.sinks.memory import MemorySink


def _agent(rules_file: Path, events: Any, *options: str) -> tuple[Agent, Any, MemorySink]:
    cfg = load_config(
        options=[f"rules_files=[{rules_file}]", "stdout_output.enabled=false", *options]
    )
    source = events.live()
    sink = MemorySink()
    agent = Agent(cfg, sources=[source], sinks=[sink], watch_interval=0.05)
    agent.start()
    return agent, source, sink


def test_broken_rules_on_reload_keep_the_old_rules_firing(
    rules_file: Path, events: Any, caplog: Any
) -> None:
    agent, source, sink = _agent(rules_file, events)
    try:
        source.push([events.open(0)])
        assert sink.wait_for(1)
        rules_file.write_text(events.broken_rules)
        with caplog.at_level(logging.ERROR, logger="secengine.agent"):
            assert agent.reload() is False
        assert "no.such.field" in (agent.last_reload_error or "")
        assert any("previous rules stay active" in m for m in caplog.messages)
        assert agent.counters.reloads_failed == 1 and agent.counters.rules_loaded == 2
        source.push([events.open(1), events.open(2, "vi")])
        assert sink.wait_for(2)
        assert [a.rule for a in sink.alerts] == ["cat_open", "cat_open"]
        assert agent.healthy
    finally:
        agent.stop()


def test_a_good_reload_swaps_the_rules(rules_file: Path, events: Any) -> None:
    agent, source, sink = _agent(rules_file, events)
    try:
        old = agent.engine
        rules_file.write_text(events.other_rules)
        assert agent.reload() is True and agent.last_reload_error is None
        assert agent.engine is not old and agent.counters.reloads_ok == 1
        assert agent.counters.rules_loaded == 1
        source.push([events.open(0), events.open(1, "vi")])
        assert sink.wait_for(1)
        assert [a.rule for a in sink.alerts] == ["vi_open"]
        assert source.interest == frozenset({"open"})
    finally:
        agent.stop()


def test_watch_config_files_reloads_on_change(rules_file: Path, events: Any, until: Any) -> None:
    agent, source, sink = _agent(rules_file, events, "watch_config_files=true")
    try:
        rules_file.write_text(events.broken_rules)
        until(lambda: agent.counters.reloads_failed >= 1)
        rules_file.write_text(events.rules + events.other_rules)
        until(lambda: agent.counters.reloads_ok >= 1)
        source.push([events.open(0, "vi")])
        assert sink.wait_for(1)
        assert sink.alerts[0].rule == "vi_open"
    finally:
        agent.stop()


def test_reload_rereads_the_configuration_file(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    conf = tmp_path / "secengine.yaml"
    conf.write_text(f"rules_files: [{rules_file}]\nstdout_output: {{enabled: false}}\n")
    sink = MemorySink()
    source = events.live()
    agent = Agent(
        load_config(conf), sources=[source], sinks=[sink], config_loader=lambda: load_config(conf)
    )
    agent.start()
    try:
        conf.write_text(
            f"rules_files: [{rules_file}]\nstdout_output: {{enabled: false}}\n"
            "rules: [{disable: {rule: 'cat_*'}}]\n"
        )
        assert agent.reload()
        source.push([events.open(0), events.exec(1)])
        assert sink.wait_for(1)
        assert [a.rule for a in sink.alerts] == ["ls_exec"]
        assert agent.config.path == str(conf)
        conf.write_text("jsno_output: true\n")
        assert not agent.reload() and "unknown key 'jsno_output'" in str(agent.last_reload_error)
    finally:
        agent.stop()


def test_an_agent_given_its_engine_has_nothing_to_reload(rules_file: Path, events: Any) -> None:
    from secengine.agent import build_engine
    from secengine.sources.specs import load_rules

    engine = build_engine(load_config(), load_rules([str(rules_file)]))
    with Agent(engine=engine) as agent:
        assert not agent.reload()
        other = build_engine(load_config(), load_rules([str(rules_file)]))
        agent.replace_engine(other)
        assert agent.engine is other


def _json_agent(
    tmp_path: Path, rules_file: Path, events: Any
) -> tuple[Agent, Any, MemorySink, Path, str]:
    """A started agent whose configuration file (returned, with its text) renders JSON."""
    base = f"rules_files: [{rules_file}]\nstdout_output: {{enabled: false}}\njson_output: true\n"
    conf = tmp_path / "secengine.yaml"
    conf.write_text(base)
    sink = MemorySink()
    source = events.live()
    agent = Agent(
        load_config(conf), sources=[source], sinks=[sink], config_loader=lambda: load_config(conf)
    )
    agent.start()
    return agent, source, sink, conf, base


def test_a_reload_applies_the_formatting_keys_with_the_rules(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    """The alert's text (built by the engine) and its JSON keys (rendered by the sinks)
    follow the reloaded file together, and the agent's configuration says so."""
    agent, source, sink, conf, base = _json_agent(tmp_path, rules_file, events)
    try:
        source.push([events.open(0)])
        assert sink.wait_for(1)
        before = json.loads(sink.lines[0])
        assert "tags" in before and "evt.time" in before["output_fields"]
        conf.write_text(
            base + "json_include_tags_property: false\n"
            "json_include_message_property: true\ntime_format_iso_8601: true\n"
        )
        assert agent.reload()
        source.push([events.open(1)])
        assert sink.wait_for(2)
        after = json.loads(sink.lines[1])
        assert "evt.time.iso8601" in after["output_fields"]  # the engine's half
        assert "tags" not in after and "message" in after  # the sinks' half
        assert not agent.config.json_include_tags_property
        assert agent.config.time_format_iso_8601
    finally:
        agent.stop()


def test_a_failed_reload_keeps_the_formatting_keys(
    tmp_path: Path, rules_file: Path, events: Any
) -> None:
    """Rules that do not load: neither they nor the new formatting keys apply."""
    agent, source, sink, conf, base = _json_agent(tmp_path, rules_file, events)
    try:
        conf.write_text(base + "json_include_tags_property: false\ntime_format_iso_8601: true\n")
        rules_file.write_text(events.broken_rules)
        assert not agent.reload()
        source.push([events.open(0)])
        assert sink.wait_for(1)
        line = json.loads(sink.lines[0])
        assert "tags" in line and "evt.time" in line["output_fields"]
        assert agent.config.json_include_tags_property
        assert not agent.config.time_format_iso_8601
    finally:
        agent.stop()
