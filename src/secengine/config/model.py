""":class:`AgentConfig`: the whole configuration file, one field per top-level ``falco.yaml`` key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator

from secengine.config.base import StrictModel
from secengine.config.containers import ContainerEngines
from secengine.config.outputs import (
    FileOutput,
    HttpOutput,
    OutputsRate,
    PluginSink,
    ProgramOutput,
    QueueCapacity,
    StdoutOutput,
    SyslogOutput,
)
from secengine.config.problems import ConfigFileError, Marks, did_you_mean, where
from secengine.config.response import ResponseSection
from secengine.config.rules import AppendOutputEntry, RuleSelectionEntry
from secengine.config.services import ReplayLimits, SourceBlock, SyscallEventDrops, Webserver
from secengine.priority import Priority

__all__ = ["AgentConfig", "LogLevel"]


LogLevel = Literal["emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"]


class AgentConfig(StrictModel):
    """Everything ``secengine run`` (and ``replay``/``validate``/``test`` with ``-c``) reads."""

    rules_files: list[str] = Field(
        default_factory=list,
        description="Rules files or directories (their `*.yaml`/`*.yml`, in name order), in load "
        "order; empty: the shipped rules.",
    )
    rules: list[RuleSelectionEntry] = Field(
        default_factory=list,
        description="Enable/disable rules by name glob or tag, in order, after loading.",
    )
    watch_config_files: bool = Field(
        default=False, description="Reload the rules when the config or a rules file changes."
    )
    priority: str = Field(default="debug", description="Minimum rule priority to load.")
    rule_matching: Literal["first", "all"] = Field(
        default="first", description="Stop at the first matching rule per event, or report all."
    )
    json_output: bool = Field(
        default=False, description="Alerts as Falco JSON instead of text lines."
    )
    json_include_output_property: bool = Field(default=True, description="JSON has `output`.")
    json_include_tags_property: bool = Field(default=True, description="JSON has `tags`.")
    json_include_message_property: bool = Field(default=False, description="JSON has `message`.")
    json_include_output_fields_property: bool = Field(
        default=True, description="JSON has `output_fields`."
    )
    time_format_iso_8601: bool = Field(default=False, description="ISO 8601 times in alert lines.")
    buffered_outputs: bool = Field(
        default=False, description="Flush outputs only when their queue runs empty."
    )
    hostname: str | None = Field(
        default=None, description="secengine: hostname in alerts (default: this machine's)."
    )
    append_output: list[AppendOutputEntry] = Field(
        default_factory=list, description="Text and fields added to alerts."
    )
    outputs: OutputsRate = Field(default_factory=OutputsRate, description="Alert rate limiting.")
    outputs_queue: QueueCapacity = Field(
        default_factory=QueueCapacity, description="Bound of each output's queue."
    )
    output_timeout: int = Field(
        default=2000,
        ge=0,
        description="Milliseconds the outputs may take to drain at exit (`run`, `replay`; "
        "flag `--output-timeout`) before what they still hold is counted as dropped; "
        "in `replay`, also how long an output may make no progress before alerts "
        "for it are dropped rather than waited for.",
    )
    events_queue: QueueCapacity = Field(
        default_factory=QueueCapacity,
        description="secengine: bound, in batches, of the queue between sources and the engine.",
    )
    stdout_output: StdoutOutput = Field(
        default_factory=StdoutOutput, description="Alerts on standard output."
    )
    syslog_output: SyslogOutput = Field(
        default_factory=SyslogOutput, description="Alerts to syslog."
    )
    file_output: FileOutput = Field(default_factory=FileOutput, description="Alerts to a file.")
    http_output: HttpOutput = Field(
        default_factory=HttpOutput, description="Alerts POSTed to a URL."
    )
    program_output: ProgramOutput = Field(
        default_factory=ProgramOutput, description="Alerts piped to a program."
    )
    sinks: dict[str, PluginSink] = Field(
        default_factory=dict, description="secengine: more outputs, by plugin name."
    )
    sources: dict[str, SourceBlock] = Field(
        default_factory=dict, description="secengine: event sources to start, by plugin name."
    )
    container_engines: ContainerEngines = Field(
        default_factory=ContainerEngines,
        description="Runtime APIs that enrich container metadata (docs/containers.md).",
    )
    syscall_event_drops: SyscallEventDrops = Field(
        default_factory=SyscallEventDrops, description="Actions on dropped events."
    )
    webserver: Webserver = Field(
        default_factory=Webserver, description="Health and metrics endpoint."
    )
    replay: ReplayLimits = Field(
        default_factory=ReplayLimits, description="secengine: limits of `secengine replay`."
    )
    response: ResponseSection = Field(
        default_factory=ResponseSection,
        description="secengine: responses rules ask for (off by default; docs/response.md).",
    )
    log_level: LogLevel = Field(default="info", description="Least severe log message shown.")
    log_stderr: bool = Field(default=True, description="Log to standard error.")

    _path: str | None = PrivateAttr(None)
    _warnings: list[str] = PrivateAttr(default_factory=list)
    _marks: Marks = PrivateAttr(default_factory=dict)
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
            raise ValueError(
                "Invalid priority (emergency, alert, critical, error, warning, "
                "notice, informational, debug)"
            ) from None
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
        return where(self._path, self._marks, tuple(loc), self._origin)

    def settings_error(
        self,
        loc: tuple[str, ...],
        error: Exception,
        accepted: Sequence[str] | None = None,
        given: Mapping[str, Any] | None = None,
    ) -> ConfigFileError:
        """A plugin refused the settings of the block at ``loc``: one located problem.

        With the names the plugin ``accepted``, an unknown key among ``given``
        is named (with the closest accepted name) instead of the plugin's words.
        """
        unknown = sorted(set(given or ()) - set(accepted)) if accepted is not None else []
        key = ".".join(str(p) for p in loc)
        if unknown:
            name = unknown[0]
            return ConfigFileError(
                [
                    (
                        self.where(*loc, name),
                        key,
                        f"unknown setting {name!r}" + did_you_mean(name, accepted or ()),
                    )
                ]
            )
        return ConfigFileError([(self.where(*loc), key, str(error))])
