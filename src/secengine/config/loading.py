"""Loading a configuration: defaults < file < ``-o`` options < the commands' flags, validated once.

Falco keys that have no meaning here (:data:`FALCO_IGNORED_KEYS`) are
accepted and reported as ignored, so a ``falco.yaml`` loads; Falco's old
``rules_file`` is read as ``rules_files``, and the container plugin's
``init_config.engines`` (``plugins: [{name: container, ...}]``) as
``container_engines``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.error import YAMLError

from secengine.config.model import AgentConfig
from secengine.config.problems import ConfigFileError, Marks, problems_of, where
from secengine.config.reading import load_yaml, plain, read_file
from secengine.ruleset.paths import expand_rules_paths
from secengine.sources.specs import default_rules_files
from secengine.yamlbounds import YamlLimitError

__all__ = ["FALCO_IGNORED_KEYS", "load_config", "parse_option", "rules_file_paths"]

#: Keys of ``falco.yaml`` that are accepted and ignored (reported in ``AgentConfig.warnings``).
FALCO_IGNORED_KEYS: frozenset[str] = frozenset(
    {
        "config_files",
        "engine",
        "capture",
        "load_plugins",
        "plugins",
        "plugins_hostinfo",
        "buffer_format_base64",
        "log_syslog",
        "libs_logger",
        "syscall_event_timeouts",
        "metrics",
        "base_syscalls",
        "falco_libs",
        "static_fields",
        "grpc",
        "grpc_output",
        "modern_bpf",
    }
)


def parse_option(spec: str) -> tuple[list[str], bool, Any]:
    """``-o key.sub=value`` (or ``key[]=value`` to append): the key path, append?, YAML value."""
    key, sep, raw = spec.partition("=")
    if not sep or not key.strip():
        raise ConfigFileError([("command line", "", f"option {spec!r} is not key=value")])
    key = key.strip()
    append = key.endswith("[]")
    if append:
        key = key[:-2]
    try:
        value = plain(load_yaml(raw), (), {}) if raw.strip() else ""
    except YamlLimitError as e:
        raise ConfigFileError([("command line", "", f"option {key!r}: {e.message}")]) from None
    except YAMLError:
        value = raw
    return key.split("."), append, value


def _apply(data: dict[str, Any], path: list[str], append: bool, value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    last = path[-1]
    if append:
        existing = node.get(last)
        node[last] = (list(existing) if isinstance(existing, list) else []) + [value]
    else:
        node[last] = value


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    options: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> AgentConfig:
    """Defaults, then the file at ``path``, then ``-o`` ``options``, then ``overrides``.

    ``overrides`` maps dotted keys (``"json_output"``, ``"http_output.url"``)
    to values that have the last word (the commands' flags). Raises
    :class:`ConfigFileError` naming every bad key and where it was set.
    """
    marks: Marks = {}
    origin: dict[str, str] = {}
    name = os.fspath(path) if path is not None else None
    data: dict[str, Any] = read_file(name, marks) if name is not None else {}
    for spec in options:
        keys, append, value = parse_option(spec)
        _apply(data, keys, append, value)
        origin[keys[0]] = f"command line option -o {spec}"
    for dotted, value in (overrides or {}).items():
        keys = dotted.split(".")
        _apply(data, keys, False, value)
        origin[keys[0]] = f"command line ({dotted})"
    warnings = []
    if "rules_file" in data:  # Falco's name before 0.38
        legacy = data.pop("rules_file")
        if "rules_files" not in data:
            data["rules_files"] = legacy
            if ("rules_file",) in marks:
                marks[("rules_files",)] = marks[("rules_file",)]
        warnings.append(
            f"{where(name, marks, ('rules_file',), origin)}: rules_file: "
            "deprecated, read as rules_files"
        )
    read_plugin = _container_plugin_engines(data, marks)
    if read_plugin is not None:
        warnings.append(f"{where(name, marks, ('plugins',), origin)}: plugins: {read_plugin}")
    for key in sorted(FALCO_IGNORED_KEYS & data.keys()):
        warnings.append(
            f"{where(name, marks, (key,), origin)}: {key}: Falco key ignored by secengine"
        )
        del data[key]
    try:
        cfg = AgentConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigFileError(problems_of(e, AgentConfig, name, marks, origin)) from None
    cfg._path = name
    cfg._warnings = warnings
    cfg._marks = marks
    cfg._origin = origin
    return cfg


def _container_plugin_engines(data: dict[str, Any], marks: Marks) -> str | None:
    """Read the container plugin's ``init_config.engines`` as ``container_engines``.

    Falco 0.41 moved the container engines' configuration into its
    ``container`` plugin; a ``falco.yaml`` of that era configures them there.
    The entry counts when ``load_plugins`` names it (or is absent).
    ``container_engines`` given as well wins. Returns what to report, or None
    when there is no such entry.
    """
    plugins = data.get("plugins")
    loaded = data.get("load_plugins")
    if not isinstance(plugins, list) or (isinstance(loaded, list) and "container" not in loaded):
        return None
    for index, entry in enumerate(plugins):
        if not isinstance(entry, dict) or entry.get("name") != "container":
            continue
        init = entry.get("init_config")
        if isinstance(init, str):  # Falco also takes init_config as a JSON string
            try:
                init = json.loads(init)
            except ValueError:
                return "the container plugin's init_config is not JSON; its engines are ignored"
        engines = init.get("engines") if isinstance(init, dict) else None
        if engines is None:
            return None
        if "container_engines" in data:
            return "the container plugin's init_config.engines ignored: container_engines is set"
        data["container_engines"] = engines
        prefix = ("plugins", index, "init_config", "engines")
        for loc, mark in list(marks.items()):
            if loc[: len(prefix)] == prefix:
                marks[("container_engines", *loc[len(prefix) :])] = mark
        return "the container plugin's init_config.engines read as container_engines"
    return None


def rules_file_paths(cfg: AgentConfig) -> list[str]:
    """``rules_files`` with directories expanded (their YAML files in name order), as Falco does.

    An empty list means the rules shipped with secengine.
    """
    files = expand_rules_paths(cfg.rules_files) if cfg.rules_files else default_rules_files()
    return [str(f) for f in files]
