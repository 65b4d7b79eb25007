"""The configuration file: pydantic models whose keys follow ``falco.yaml``, and how it is loaded.

A configuration comes from three places, in increasing precedence: the
defaults in the models below, a YAML file (``-c FILE``), and the command
line (``-o key=value`` and the commands' own flags such as ``--json``).
:func:`load_config` merges them in that order and validates the result;
every problem is reported at once, each naming the key (``http_output.url``)
and where it came from (``secengine.yaml:12:3``, or the command-line option),
in a :class:`ConfigFileError`.

Keys mean what they mean in Falco wherever Falco has them
(``docs/configuration.md`` lists every key; a test checks that list against
these models). Falco keys that have no meaning here (``engine``,
``plugins``, ``metrics``...) are accepted and reported as ignored, so a
``falco.yaml`` loads; any other unknown key is an error, with a suggestion
when it looks like a typo. ``${NAME}`` in a string value is replaced by the
environment variable ``NAME`` when the file is loaded (``$${`` is a literal
``${``), as Falco does.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from secengine.errors import ConfigError
from secengine.priority import Priority
from secengine.sources.lines import DEFAULT_MAX_LINE
from secengine.web.limits import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, HttpLimits

__all__ = [
    "FALCO_IGNORED_KEYS",
    "AgentConfig",
    "AppendOutputEntry",
    "ConfigFileError",
    "add_config_arguments",
    "did_you_mean",
    "load_cli_config",
    "load_config",
    "parse_option",
    "rules_file_paths",
]

#: Keys of ``falco.yaml`` that are accepted and ignored (reported in ``AgentConfig.warnings``).
FALCO_IGNORED_KEYS: frozenset[str] = frozenset({
    "config_files", "engine", "capture", "load_plugins", "plugins", "plugins_hostinfo",
    "buffer_format_base64", "log_syslog", "libs_logger", "syscall_event_timeouts", "metrics",
    "base_syscalls", "falco_libs", "static_fields", "grpc", "grpc_output",
    "modern_bpf", "container_engines",
})

#: The per-sink queue bound used when ``outputs_queue.capacity`` is 0.
DEFAULT_SINK_QUEUE = 10_000


class ConfigFileError(ConfigError):
    """One or more bad keys or values; ``problems`` lists ``(where, key, message)``."""

    def __init__(self, problems: Sequence[tuple[str, str, str]]) -> None:
        self.problems = list(problems)
        lines = [f"{where}: {key}: {message}" if key else f"{where}: {message}"
                 for where, key, message in self.problems]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [key for _, key, _ in self.problems]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, coerce_numbers_to_str=True)


# ---------------------------------------------------------------------------
# rule selection and output decoration
# ---------------------------------------------------------------------------

class RuleMatch(_Model):
    """Rules named by a glob (``*`` wildcards), and/or carrying a tag."""

    rule: str | None = Field(default=None, description="Rule name glob (`*` matches anything).")
    tag: str | None = Field(default=None, description="A tag the rules must have.")

    @model_validator(mode="after")
    def _not_empty(self) -> RuleMatch:
        if self.rule is None and self.tag is None:
            raise ValueError("needs 'rule' or 'tag'")
        return self


class RuleSelectionEntry(_Model):
    """One item of ``rules:``: ``{enable: {...}}`` or ``{disable: {...}}``."""

    enable: RuleMatch | None = Field(default=None, description="Enable the matching rules.")
    disable: RuleMatch | None = Field(default=None, description="Disable the matching rules.")

    @model_validator(mode="after")
    def _exactly_one(self) -> RuleSelectionEntry:
        if (self.enable is None) == (self.disable is None):
            raise ValueError("each entry needs exactly one of 'enable' or 'disable'")
        return self


class AppendOutputMatch(_Model):
    """Which rules an ``append_output`` entry applies to (all of the given conditions)."""

    source: str | None = Field(default=None, description="Only rules of this source.")
    tags: list[str] = Field(default_factory=list, description="Only rules with all these tags.")
    rule: str | None = Field(default=None, description="Only the rule of this name.")


class AppendOutputEntry(_Model):
    """Falco's ``append_output`` entry: text and fields added to matching rules' alerts."""

    match: AppendOutputMatch = Field(
        default_factory=AppendOutputMatch, description="Which rules (default: all).")
    extra_output: str = Field(
        default="", description="Appended, after a space, to the output text.")
    extra_fields: list[str | dict[str, str]] = Field(
        default_factory=list,
        description="Added to `output_fields` only: a field name (typed value) or `{name: "
                    "format}` (rendered text).")
    suggested_output: bool = Field(
        default=False,
        description="Append `name=%field` for every field flagged as suggested (container.id, "
                    "container.name, ...).")

    @field_validator("extra_fields")
    @classmethod
    def _unique_fields(cls, value: list[str | dict[str, str]]) -> list[str | dict[str, str]]:
        seen: set[str] = set()
        for item in value:
            if isinstance(item, dict) and len(item) != 1:
                raise ValueError("a formatted extra field is a map with exactly one key")
            key = item if isinstance(item, str) else next(iter(item))
            if key in seen:
                raise ValueError(f"extra field {key!r} is defined twice")
            seen.add(key)
        return value


class OutputsRate(_Model):
    """Falco's alert rate limiter (a token bucket per event source)."""

    rate: float = Field(
        default=0, ge=0, description="Alerts allowed per second; 0 disables limiting.")
    max_burst: int = Field(
        default=1000, ge=1, description="Tokens the bucket holds (and starts with).")


class QueueCapacity(_Model):
    capacity: int = Field(default=0, ge=0, description="Queue bound; 0 means the built-in default.")


# ---------------------------------------------------------------------------
# sinks
# ---------------------------------------------------------------------------

class SinkBlock(_Model):
    """Keys every sink block has."""

    enabled: bool = Field(default=False, description="Send alerts to this output.")
    json_output: bool | None = Field(
        default=None,
        description="secengine: override the top-level `json_output` for this output.")
    queue_capacity: int | None = Field(
        default=None, ge=1,
        description="secengine: this output's queue bound (default: outputs_queue).")


class StdoutOutput(SinkBlock):
    enabled: bool = Field(default=True, description="Print alerts on standard output.")


class SyslogOutput(SinkBlock):
    address: str = Field(
        default="/dev/log",
        description="secengine: a local socket path, `unix:///path` or `udp://host:port`.")
    facility: Literal["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
                      "cron", "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4",
                      "local5", "local6", "local7"] = Field(
        default="user", description="secengine: syslog facility.")
    ident: str = Field(default="secengine", description="secengine: the tag before `[pid]:`.")
    timeout: float = Field(
        default=5.0, gt=0,
        description="secengine: seconds a send may wait on a daemon that stopped reading.")


class FileOutput(SinkBlock):
    keep_alive: bool = Field(
        default=False, description="Keep the file open (else reopen per alert).")
    filename: str = Field(default="./events.txt", description="File the alerts are appended to.")
    max_size: int = Field(
        default=0, ge=0,
        description="secengine: rotate before the file exceeds this many bytes; 0 never rotates.")
    backups: int = Field(
        default=5, ge=0, description="secengine: rotated files kept (`filename.1` ...).")


class HttpOutput(SinkBlock):
    url: str = Field(default="", description="URL the alerts are POSTed to.")
    user_agent: str = Field(default="falcosecurity/falco", description="User-Agent header.")
    insecure: bool = Field(default=False, description="Do not verify the server's certificate.")
    ca_cert: str = Field(default="", description="CA certificate file to verify the server.")
    ca_bundle: str = Field(default="", description="CA bundle file (used when ca_cert is empty).")
    ca_path: str = Field(
        default="", description="Directory of CA certificates (default: the system's store).")
    mtls: bool = Field(default=False, description="Present a client certificate.")
    client_cert: str = Field(default="/etc/ssl/certs/client.crt", description="Client certificate.")
    client_key: str = Field(default="/etc/ssl/certs/client.key", description="Client key.")
    echo: bool = Field(default=False, description="Print the server's answers on stdout.")
    compress_uploads: bool = Field(default=False, description="gzip the body.")
    keep_alive: bool = Field(default=False, description="Reuse the connection.")
    max_consecutive_timeouts: int = Field(
        default=5, ge=0, description="Timed-out attempts per alert before giving it up.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="secengine: extra request headers.")
    timeout: float = Field(default=5.0, gt=0, description="secengine: seconds per request.")
    max_retries: int | None = Field(
        default=5, ge=0,
        description="secengine: retries of a failed POST before the alert counts as failed; "
                    "null means the default (5); never unbounded.")
    retry_backoff: float = Field(
        default=0.5, gt=0, description="secengine: first retry delay (s), doubling.")
    retry_backoff_max: float = Field(
        default=30.0, gt=0, description="secengine: longest retry delay (s).")

    @model_validator(mode="after")
    def _url_needed(self) -> HttpOutput:
        if self.enabled and not self.url:
            raise ValueError("http_output is enabled but has no url")
        return self


class ProgramOutput(SinkBlock):
    keep_alive: bool = Field(
        default=False, description="One long-running process (else one per alert).")
    program: str = Field(default="", description="Shell command that reads alerts on stdin.")

    @model_validator(mode="after")
    def _program_needed(self) -> ProgramOutput:
        if self.enabled and not self.program.strip():
            raise ValueError("program_output is enabled but has no program")
        return self


class PluginSink(SinkBlock):
    """A sink plugin configured under ``sinks:``; other keys go to its constructor."""

    model_config = ConfigDict(extra="allow")
    enabled: bool = Field(default=True, description="Send alerts to this sink.")
    plugin: str | None = Field(default=None, description="Plugin name (default: the entry's key).")


class SourceBlock(_Model):
    """An event source under ``sources:``; other keys go to the source plugin."""

    model_config = ConfigDict(extra="allow")
    enabled: bool = Field(default=True, description="Start this source.")
    plugin: str | None = Field(default=None, description="Plugin name (default: the entry's key).")


# ---------------------------------------------------------------------------
# agent services
# ---------------------------------------------------------------------------

DropAction = Literal["ignore", "log", "alert", "exit"]


def _default_drop_actions() -> list[DropAction]:
    return ["log", "alert"]


class SyscallEventDrops(_Model):
    """What to do when a source drops events (Falco's ``syscall_event_drops``, for every source)."""

    threshold: float = Field(
        default=0.1, ge=0, le=1,
        description="Dropped share of the last second's events that triggers the actions.")
    actions: list[DropAction] = Field(
        default_factory=_default_drop_actions, description="`ignore`, `log`, `alert`, `exit`.")
    rate: float = Field(default=0.03333, ge=0, description="Actions per second (token bucket).")
    max_burst: int = Field(default=1, ge=1, description="Actions in a burst.")
    simulate_drops: bool = Field(
        default=False, description="Act as if events were dropped every second.")

    @field_validator("actions")
    @classmethod
    def _ignore_alone(cls, value: list[str]) -> list[str]:
        if "ignore" in value and len(set(value)) > 1:
            raise ValueError("'ignore' cannot be combined with other actions")
        return value


class Webserver(_Model):
    """The health and metrics HTTP endpoint (off by default)."""

    enabled: bool = Field(default=False, description="Serve /healthz and the Prometheus metrics.")
    listen_address: str = Field(default="0.0.0.0", description="Address to listen on.")
    listen_port: int = Field(default=8765, ge=0, le=65535, description="Port (0: any free port).")
    k8s_healthz_endpoint: str = Field(default="/healthz", description="Path of the health check.")
    prometheus_metrics_enabled: bool = Field(
        default=True, description="Serve Prometheus text metrics.")
    metrics_endpoint: str = Field(default="/metrics", description="secengine: path of the metrics.")
    ssl_enabled: bool = Field(default=False, description="Serve HTTPS.")
    ssl_certificate: str = Field(
        default="/etc/secengine/secengine.pem", description="Combined certificate and key (PEM).")
    max_connections: int = Field(
        default=DEFAULT_MAX_CONNECTIONS, ge=1,
        description="secengine: connections served at once; more wait in the listen queue.")
    header_timeout: float = Field(
        default=DEFAULT_HEADER_TIMEOUT, gt=0, le=86400,
        description="secengine: seconds to receive a request's headers, and idle keep-alive "
                    "seconds, before the connection is closed.")
    keepalive: bool = Field(default=True, description="secengine: keep connections open between "
                                                      "requests.")

    def limits(self) -> HttpLimits:
        """The listener's limits (:mod:`secengine.web.limits`)."""
        return HttpLimits(max_connections=self.max_connections,
                          header_timeout=self.header_timeout, keepalive=self.keepalive)


class ReplayLimits(_Model):
    """Bounds on what ``secengine replay`` reads (its input may come from anyone)."""

    max_line_size: int = Field(
        default=DEFAULT_MAX_LINE, ge=1,
        description="secengine: longest input line (bytes) replay reads, also the cap on an audit "
                    "file that is one JSON document; a longer line is skipped and reported "
                    "(`--max-line-size`).")


LogLevel = Literal["emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"]


class AgentConfig(_Model):
    """Everything ``secengine run`` (and ``replay``/``validate``/``test`` with ``-c``) reads."""

    rules_files: list[str] = Field(
        default_factory=list,
        description="Rules files or directories (their `*.yaml`/`*.yml`, in name order), in load "
                    "order; empty: the shipped rules.")
    rules: list[RuleSelectionEntry] = Field(
        default_factory=list,
        description="Enable/disable rules by name glob or tag, in order, after loading.")
    watch_config_files: bool = Field(
        default=False, description="Reload the rules when the config or a rules file changes.")
    priority: str = Field(default="debug", description="Minimum rule priority to load.")
    rule_matching: Literal["first", "all"] = Field(
        default="first", description="Stop at the first matching rule per event, or report all.")
    json_output: bool = Field(
        default=False, description="Alerts as Falco JSON instead of text lines.")
    json_include_output_property: bool = Field(default=True, description="JSON has `output`.")
    json_include_tags_property: bool = Field(default=True, description="JSON has `tags`.")
    json_include_message_property: bool = Field(default=False, description="JSON has `message`.")
    json_include_output_fields_property: bool = Field(
        default=True, description="JSON has `output_fields`.")
    time_format_iso_8601: bool = Field(default=False, description="ISO 8601 times in alert lines.")
    buffered_outputs: bool = Field(
        default=False, description="Flush outputs only when their queue runs empty.")
    hostname: str | None = Field(
        default=None, description="secengine: hostname in alerts (default: this machine's).")
    append_output: list[AppendOutputEntry] = Field(
        default_factory=list, description="Text and fields added to alerts.")
    outputs: OutputsRate = Field(default_factory=OutputsRate, description="Alert rate limiting.")
    outputs_queue: QueueCapacity = Field(
        default_factory=QueueCapacity, description="Bound of each output's queue.")
    output_timeout: int = Field(
        default=2000, ge=0,
        description="Milliseconds the outputs may take to drain at exit (`run`, `replay`; "
                    "flag `--output-timeout`) before what they still hold is counted as dropped; "
                    "in `replay`, also how long an output may make no progress before alerts "
                    "for it are dropped rather than waited for.")
    events_queue: QueueCapacity = Field(
        default_factory=QueueCapacity,
        description="secengine: bound, in batches, of the queue between sources and the engine.")
    stdout_output: StdoutOutput = Field(
        default_factory=StdoutOutput, description="Alerts on standard output.")
    syslog_output: SyslogOutput = Field(
        default_factory=SyslogOutput, description="Alerts to syslog.")
    file_output: FileOutput = Field(default_factory=FileOutput, description="Alerts to a file.")
    http_output: HttpOutput = Field(
        default_factory=HttpOutput, description="Alerts POSTed to a URL.")
    program_output: ProgramOutput = Field(
        default_factory=ProgramOutput, description="Alerts piped to a program.")
    sinks: dict[str, PluginSink] = Field(
        default_factory=dict, description="secengine: more outputs, by plugin name.")
    sources: dict[str, SourceBlock] = Field(
        default_factory=dict, description="secengine: event sources to start, by plugin name.")
    syscall_event_drops: SyscallEventDrops = Field(
        default_factory=SyscallEventDrops, description="Actions on dropped events.")
    webserver: Webserver = Field(
        default_factory=Webserver, description="Health and metrics endpoint.")
    replay: ReplayLimits = Field(
        default_factory=ReplayLimits, description="secengine: limits of `secengine replay`.")
    log_level: LogLevel = Field(default="info", description="Least severe log message shown.")
    log_stderr: bool = Field(default=True, description="Log to standard error.")

    _path: str | None = PrivateAttr(None)
    _warnings: list[str] = PrivateAttr(default_factory=list)
    _marks: dict[tuple[Any, ...], tuple[int, int]] = PrivateAttr(default_factory=dict)
    _origin: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("rules_files", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: str) -> str:
        try:
            Priority.parse(value)
        except ValueError:
            raise ValueError("Invalid priority (emergency, alert, critical, error, warning, "
                             "notice, informational, debug)") from None
        return value

    @property
    def min_priority(self) -> Priority:
        return Priority.parse(self.priority)

    @property
    def path(self) -> str | None:
        """The file this configuration was read from (None: defaults and command line only)."""
        return self._path

    @property
    def warnings(self) -> list[str]:
        """Ignored Falco keys and similar notes collected while loading."""
        return list(self._warnings)

    def where(self, *loc: str | int) -> str:
        """Where the key at ``loc`` was set: ``file:line:column``, the ``-o`` option, or
        ``defaults`` (for errors found after loading, such as a plugin's settings)."""
        return _where(self._path, self._marks, tuple(loc), self._origin)

    def settings_error(self, loc: tuple[str, ...], error: Exception,
                       accepted: Sequence[str] | None = None,
                       given: Mapping[str, Any] | None = None) -> ConfigFileError:
        """A plugin refused the settings of the block at ``loc``: one located problem.

        With the names the plugin ``accepted``, an unknown key among ``given``
        is named (with the closest accepted name) instead of the plugin's words.
        """
        unknown = sorted(set(given or ()) - set(accepted)) if accepted is not None else []
        key = ".".join(str(p) for p in loc)
        if unknown:
            name = unknown[0]
            return ConfigFileError([(self.where(*loc, name), key,
                                     f"unknown setting {name!r}"
                                     + did_you_mean(name, accepted or ()))])
        return ConfigFileError([(self.where(*loc), key, str(error))])


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

_ENV = re.compile(r"\$\$\{|\$\{([^}]*)\}")


def _expand_env(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        return os.environ.get(m.group(1), "")
    return _ENV.sub(sub, text)


def _plain(node: Any, path: tuple[Any, ...], marks: dict[tuple[Any, ...], tuple[int, int]]
           ) -> Any:
    """ruamel's nodes → plain Python values, recording each key's (line, column)."""
    lc = getattr(node, "lc", None)
    if isinstance(node, Mapping):
        out: dict[Any, Any] = {}
        for k, v in node.items():
            key = str(k) if not isinstance(k, (str, int)) else k
            if lc is not None:
                try:
                    line, col = lc.key(k)
                    marks[path + (key,)] = (line + 1, col + 1)
                except (KeyError, TypeError):
                    pass
            out[key] = _plain(v, path + (key,), marks)
        return out
    if isinstance(node, list):
        items = []
        for i, v in enumerate(node):
            if lc is not None:
                try:
                    line, col = lc.item(i)
                    marks[path + (i,)] = (line + 1, col + 1)
                except (KeyError, TypeError):
                    pass
            items.append(_plain(v, path + (i,), marks))
        return items
    if isinstance(node, str):
        return _expand_env(str(node))
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _load_yaml(text: str) -> Any:
    """The YAML value of ``text``, its aliases and depth bounded first (``yamlbounds``):
    the values are walked into plain dicts and lists, which would expand a billion laughs."""
    from ruamel.yaml import YAML

    from secengine.yamlbounds import compose_all

    compose_all(YAML(typ="safe", pure=True), text)
    return YAML(typ="rt").load(text)


def _read_file(path: str, marks: dict[tuple[Any, ...], tuple[int, int]]) -> dict[str, Any]:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from secengine.yamlbounds import YamlLimitError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        reason = f"cannot read the configuration file: {e.strerror or e}"
        raise ConfigFileError([(path, "", reason)]) from e
    try:
        data = _load_yaml(text)
    except YamlLimitError as e:
        raise ConfigFileError([(e.where(path), "", e.message)]) from None
    except MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        raise ConfigFileError([(where, "", f"invalid YAML: {e.problem}")]) from e
    except YAMLError as e:
        raise ConfigFileError([(path, "", f"invalid YAML: {e}")]) from e
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigFileError([(path, "", "the configuration must be a YAML mapping")])
    return _plain(data, (), marks)  # type: ignore[no-any-return]


def parse_option(spec: str) -> tuple[list[str], bool, Any]:
    """``-o key.sub=value`` (or ``key[]=value`` to append): the key path, append?, YAML value."""
    key, sep, raw = spec.partition("=")
    if not sep or not key.strip():
        raise ConfigFileError([("command line", "", f"option {spec!r} is not key=value")])
    key = key.strip()
    append = key.endswith("[]")
    if append:
        key = key[:-2]
    from ruamel.yaml.error import YAMLError

    from secengine.yamlbounds import YamlLimitError

    try:
        value = _plain(_load_yaml(raw), (), {}) if raw.strip() else ""
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


def load_config(path: str | os.PathLike[str] | None = None, *,
                options: Sequence[str] = (),
                overrides: Mapping[str, Any] | None = None) -> AgentConfig:
    """Defaults, then the file at ``path``, then ``-o`` ``options``, then ``overrides``.

    ``overrides`` maps dotted keys (``"json_output"``, ``"http_output.url"``)
    to values that have the last word (the commands' flags). Raises
    :class:`ConfigFileError` naming every bad key and where it was set.
    """
    marks: dict[tuple[Any, ...], tuple[int, int]] = {}
    origin: dict[str, str] = {}
    name = os.fspath(path) if path is not None else None
    data: dict[str, Any] = _read_file(name, marks) if name is not None else {}
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
        warnings.append(f"{_where(name, marks, ('rules_file',), origin)}: rules_file: "
                        "deprecated, read as rules_files")
    for key in sorted(FALCO_IGNORED_KEYS & data.keys()):
        warnings.append(f"{_where(name, marks, (key,), origin)}: {key}: Falco key ignored "
                        "by secengine")
        del data[key]
    try:
        cfg = AgentConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigFileError(_problems(e, name, marks, origin)) from None
    cfg._path = name
    cfg._warnings = warnings
    cfg._marks = marks
    cfg._origin = origin
    return cfg


def _where(name: str | None, marks: dict[tuple[Any, ...], tuple[int, int]],
           loc: tuple[Any, ...], origin: dict[str, str]) -> str:
    if loc and isinstance(loc[0], str) and loc[0] in origin:
        return origin[loc[0]]
    for n in range(len(loc), 0, -1):
        mark = marks.get(tuple(loc[:n]))
        if mark is not None:
            return f"{name}:{mark[0]}:{mark[1]}"
    return name if name is not None else "defaults"


def _problems(error: ValidationError, name: str | None,
              marks: dict[tuple[Any, ...], tuple[int, int]],
              origin: dict[str, str]) -> list[tuple[str, str, str]]:
    problems = []
    for err in error.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and _is_union_tag(p)))
        key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" + _suggest(loc)
        else:
            message = err["msg"].removeprefix("Value error, ")
        problems.append((_where(name, marks, loc, origin), key, message))
    return problems


def _is_union_tag(part: str) -> bool:
    return part in ("str", "dict[str,str]", "list[str]") or part.startswith(("function-",
                                                                            "literal["))


def _suggest(loc: tuple[Any, ...]) -> str:
    model: Any = AgentConfig
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return ""
        annotation = field.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation,
                                                                          BaseModel) else None
        if model is None:
            return ""
    return did_you_mean(str(loc[-1]), list(model.model_fields))


def did_you_mean(word: str, names: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``names``, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def rules_file_paths(cfg: AgentConfig) -> list[str]:
    """``rules_files`` with directories expanded (their YAML files in name order), as Falco does.

    An empty list means the rules shipped with secengine.
    """
    from secengine.ruleset.paths import default_rules_files, expand_rules_paths

    files = expand_rules_paths(cfg.rules_files) if cfg.rules_files else default_rules_files()
    return [str(f) for f in files]


# ---------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------

#: argparse destinations that map onto configuration keys (a flag left at None is not given).
CLI_KEYS: dict[str, str] = {
    "rules": "rules_files",
    "min_priority": "priority",
    "rule_matching": "rule_matching",
    "json": "json_output",
    "hostname": "hostname",
    "max_line_size": "replay.max_line_size",
    "output_timeout": "output_timeout",
}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``-c/--config FILE`` and ``-o/--option KEY=VALUE`` to a command's parser."""
    parser.add_argument("-c", "--config", metavar="FILE", default=None,
                        help="configuration file (falco.yaml keys; see docs/configuration.md)")
    parser.add_argument("-o", "--option", dest="options", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="set a configuration key, over the file (repeatable; "
                             "'key[]=value' appends to a list)")


def add_output_timeout_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--output-timeout MS`` (the ``output_timeout`` key) to ``run`` and ``replay``."""
    parser.add_argument("--output-timeout", type=_milliseconds, default=None, metavar="MS",
                        help="milliseconds the outputs may take to drain at exit before what "
                             "they still hold is counted as dropped (default: output_timeout, "
                             "2000)")


def _milliseconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid milliseconds {text!r} (a whole number >= 0)")
    return value


def load_cli_config(args: argparse.Namespace, *, keys: Mapping[str, str] = CLI_KEYS
                    ) -> AgentConfig:
    """The configuration for a command: its ``-c`` file, ``-o`` options, then its own flags.

    ``keys`` maps argparse destinations to configuration keys; a destination
    that is missing or None (the flag was not given) leaves the key alone.
    Priorities may be given as :class:`~secengine.priority.Priority`.
    """
    overrides: dict[str, Any] = {}
    for dest, key in keys.items():
        value = getattr(args, dest, None)
        if value is None or value == []:
            continue
        if isinstance(value, Priority):
            value = value.name.lower()
        overrides[key] = value
    return load_config(getattr(args, "config", None), options=getattr(args, "options", None) or (),
                       overrides=overrides)


# ---------------------------------------------------------------------------
# the reference table of docs/configuration.md
# ---------------------------------------------------------------------------

def _default_text(info: Any) -> str:
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        value = info.default_factory()
        if isinstance(value, BaseModel):
            return ""
    elif info.default is PydanticUndefined:
        return ""
    else:
        value = info.default
    if value is None:
        return "`null`"
    if value == "":
        return '`""`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (list, dict)) and not value:
        return "`[]`" if isinstance(value, list) else "`{}`"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return f"`{value}`"


def _nested_model(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def reference_rows(model: Any = None, prefix: str = "") -> list[tuple[str, str, str]]:
    """``(key, default, description)`` for every configuration key, depth first.

    Keys inside lists and maps are written ``rules[].enable.rule`` and
    ``sinks.<name>.plugin``. This is the table ``docs/configuration.md``
    carries; a test keeps the two equal.
    """
    import typing

    model = AgentConfig if model is None else model
    rows: list[tuple[str, str, str]] = []
    for name, info in model.model_fields.items():
        key = prefix + name
        rows.append((key, _default_text(info), info.description or ""))
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        nested = _nested_model(annotation)
        if nested is None:
            continue
        if origin is list:
            rows.extend(reference_rows(nested, key + "[]."))
        elif origin is dict:
            rows.extend(reference_rows(nested, key + ".<name>."))
        else:
            rows.extend(reference_rows(nested, key + "."))
    return rows


def reference_markdown() -> str:
    """The key table of ``docs/configuration.md`` (between its ``BEGIN``/``END`` markers)."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, default, desc in reference_rows():
        escaped = desc.replace("|", "\\|")
        lines.append(f"| `{key}` | {default} | {escaped} |")
    return "\n".join(lines) + "\n"
