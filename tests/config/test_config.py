"""The configuration models and loader: precedence, key-naming errors, Falco keys, CLI helpers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from secengine.config import (
    AgentConfig,
    ConfigFileError,
    add_config_arguments,
    load_cli_config,
    load_config,
    parse_option,
    rules_file_paths,
)
from secengine.errors import ConfigError
from secengine.priority import Priority


def _write(tmp_path: Path, text: str, name: str = "secengine.yaml") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_defaults() -> None:
    cfg = load_config()
    assert cfg == AgentConfig()
    assert cfg.priority == "debug" and cfg.min_priority is Priority.DEBUG
    assert cfg.rule_matching == "first" and not cfg.json_output
    assert cfg.stdout_output.enabled and not cfg.file_output.enabled
    assert cfg.outputs.rate == 0 and cfg.outputs.max_burst == 1000
    assert cfg.syscall_event_drops.actions == ["log", "alert"]
    assert not cfg.webserver.enabled and cfg.path is None and cfg.warnings == []


def test_precedence_cli_over_options_over_file_over_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "priority: warning\njson_output: true\nrule_matching: all\n"
        "file_output: {enabled: true, filename: a.txt}\n",
    )
    from_file = load_config(path)
    assert (from_file.priority, from_file.json_output, from_file.rule_matching) == (
        "warning",
        True,
        "all",
    )
    assert from_file.file_output.filename == "a.txt" and from_file.file_output.keep_alive is False
    with_options = load_config(path, options=["priority=error", "file_output.filename=b.txt"])
    assert with_options.priority == "error" and with_options.file_output.filename == "b.txt"
    assert with_options.file_output.enabled  # the rest of the block stays as the file set it
    with_flags = load_config(
        path, options=["priority=error"], overrides={"priority": "critical", "json_output": False}
    )
    assert with_flags.priority == "critical" and with_flags.json_output is False
    assert with_flags.rule_matching == "all"


def test_options_are_yaml_and_can_append(tmp_path: Path) -> None:
    path = _write(tmp_path, "rules_files: [/a.yaml]\n")
    cfg = load_config(
        path,
        options=[
            "rules_files[]=/b.yaml",
            "outputs.rate=2.5",
            "http_output.headers={X-A: '1'}",
            "hostname=",
        ],
    )
    assert cfg.rules_files == ["/a.yaml", "/b.yaml"]
    assert cfg.outputs.rate == 2.5 and cfg.http_output.headers == {"X-A": "1"}
    assert cfg.hostname == ""
    assert parse_option("a.b=[1, 2]") == (["a", "b"], False, [1, 2])
    with pytest.raises(ConfigFileError, match="not key=value"):
        parse_option("novalue")


def test_unknown_key_names_the_key_the_file_and_the_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "priority: warning\njsno_output: true\nhttp_output:\n  enabled: false\n  tiemout: 3\n",
    )
    with pytest.raises(ConfigFileError) as info:
        load_config(path)
    e = info.value
    assert isinstance(e, ConfigError)
    assert sorted(e.keys) == ["http_output.tiemout", "jsno_output"]
    text = str(e)
    assert (
        f"{path}:2:1: jsno_output: unknown key 'jsno_output' (did you mean 'json_output'?)" in text
    )
    assert (
        f"{path}:5:3: http_output.tiemout: unknown key 'tiemout' (did you mean 'timeout'?)" in text
    )


def test_bad_values_name_their_key_path(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "priority: loud\nrules:\n  - disable: {rule: '*'}\n  - enable: {}\n"
        "http_output: {enabled: true}\nfile_output: {max_size: -1}\n"
        "syscall_event_drops: {actions: [ignore, log]}\n",
    )
    with pytest.raises(ConfigFileError) as info:
        load_config(path)
    problems = {key: (where, msg) for where, key, msg in info.value.problems}
    assert problems["priority"] == (
        f"{path}:1:1",
        "Invalid priority (emergency, alert, critical, error, warning, notice, informational, debug)",
    )
    assert problems["rules[1].enable"] == (f"{path}:4:5", "needs 'rule' or 'tag'")
    assert problems["http_output"][1] == "http_output is enabled but has no url"
    assert problems["file_output.max_size"][0] == f"{path}:6:15"
    assert "cannot be combined" in problems["syscall_event_drops.actions"][1]


def test_errors_from_the_command_line_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as info:
        load_config(options=["outputs.rate=fast"])
    assert str(info.value).startswith("command line option -o outputs.rate=fast: outputs.rate: ")


def test_yaml_errors_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"secengine.yaml:2:\d+: invalid YAML"):
        load_config(_write(tmp_path, "a: 1\n b: [\n"))
    with pytest.raises(ConfigFileError, match="must be a YAML mapping"):
        load_config(_write(tmp_path, "- 1\n", "list.yaml"))
    with pytest.raises(ConfigFileError, match="cannot read the configuration file"):
        load_config(tmp_path / "missing.yaml")
    assert (
        load_config(_write(tmp_path, "", "empty.yaml")).model_dump() == AgentConfig().model_dump()
    )


def test_falco_keys_without_meaning_here_are_ignored_with_a_warning(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "engine:\n  kind: modern_ebpf\nplugins: []\nrules_file: /r.yaml\n"
        "json_output: true\nwebserver: {enabled: false, listen_port: 8765}\n",
    )
    cfg = load_config(path)
    assert cfg.json_output and cfg.rules_files == ["/r.yaml"]
    assert cfg.warnings == [
        f"{path}:4:1: rules_file: deprecated, read as rules_files",
        f"{path}:1:1: engine: Falco key ignored by secengine",
        f"{path}:3:1: plugins: Falco key ignored by secengine",
    ]


def test_environment_variables_are_expanded(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("SECENGINE_TEST_URL", "http://127.0.0.1:9/x")
    path = _write(tmp_path, "http_output: {url: '${SECENGINE_TEST_URL}'}\nhostname: 'a$${b}'\n")
    cfg = load_config(path)
    assert cfg.http_output.url == "http://127.0.0.1:9/x" and cfg.hostname == "a${b}"


def test_plugin_blocks_keep_their_own_settings(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "sources:\n  k8s_audit: {listen_port: 9765}\n  off: {enabled: false}\n"
        "sinks:\n  kafka: {brokers: [a, b], queue_capacity: 5}\n",
    )
    cfg = load_config(path)
    assert cfg.sources["k8s_audit"].model_extra == {"listen_port": 9765}
    assert not cfg.sources["off"].enabled
    assert cfg.sinks["kafka"].queue_capacity == 5
    assert cfg.sinks["kafka"].model_extra == {"brokers": ["a", "b"]}


def test_append_output_entries_are_checked(tmp_path: Path) -> None:
    path = _write(tmp_path, "append_output:\n  - extra_fields: [a, {b: x}, a]\n")
    with pytest.raises(ConfigFileError, match="extra field 'a' is defined twice"):
        load_config(path)


def test_rules_file_paths_expand_directories(tmp_path: Path) -> None:
    d = tmp_path / "rules.d"
    d.mkdir()
    for name in ("b.yaml", "a.yml", "c.txt"):
        (d / name).write_text("")
    cfg = load_config(options=[f"rules_files=[{d}, /x.yaml]"])
    assert rules_file_paths(cfg) == [str(d / "a.yml"), str(d / "b.yaml"), "/x.yaml"]
    shipped = rules_file_paths(AgentConfig())
    assert shipped and all(p.endswith(".yaml") for p in shipped)


def test_load_cli_config_reads_c_o_and_flags(tmp_path: Path) -> None:
    path = _write(tmp_path, "priority: notice\nrules_files: [/from-file.yaml]\njson_output: true\n")
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    parser.add_argument("-r", "--rules", action="append", default=None)
    parser.add_argument("--min-priority", default=None)
    parser.add_argument("--json", action="store_true", default=None)
    cfg = load_cli_config(parser.parse_args(["-c", path, "-o", "rule_matching=all"]))
    assert cfg.path == path
    assert (cfg.priority, cfg.rules_files, cfg.rule_matching, cfg.json_output) == (
        "notice",
        ["/from-file.yaml"],
        "all",
        True,
    )
    cfg = load_cli_config(
        parser.parse_args(["-c", path, "-r", "/cli.yaml", "--min-priority", "error"])
    )
    assert cfg.rules_files == ["/cli.yaml"] and cfg.priority == "error"
    ns = argparse.Namespace(config=None, options=[], min_priority=Priority.CRITICAL)
    assert load_cli_config(ns).priority == "critical"
