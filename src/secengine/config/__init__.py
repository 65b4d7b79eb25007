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

The package's modules: :mod:`~secengine.config.base` (the strict model
base), :mod:`~secengine.config.rules`, :mod:`~secengine.config.outputs` and
:mod:`~secengine.config.services` (the models of each section),
:mod:`~secengine.config.model` (:class:`AgentConfig`, the whole file),
:mod:`~secengine.config.problems` (where a key was set, located errors),
:mod:`~secengine.config.reading` (YAML with positions and ``${NAME}``),
:mod:`~secengine.config.loading` (precedence and ``-o`` options),
:mod:`~secengine.config.cli` (the commands' ``-c``/``-o`` and flags) and
:mod:`~secengine.config.reference` (the table of ``docs/configuration.md``).
Every name below is importable from ``secengine.config``.
"""

from __future__ import annotations

from secengine.config.base import StrictModel
from secengine.config.cli import (
    CLI_KEYS,
    add_alert_arguments,
    add_config_arguments,
    add_output_timeout_argument,
    load_cli_config,
)
from secengine.config.loading import (
    FALCO_IGNORED_KEYS,
    load_config,
    parse_option,
    rules_file_paths,
)
from secengine.config.model import AgentConfig, LogLevel
from secengine.config.outputs import (
    DEFAULT_SINK_QUEUE,
    FileOutput,
    HttpOutput,
    OutputsRate,
    PluginSink,
    ProgramOutput,
    QueueCapacity,
    SinkBlock,
    StdoutOutput,
    SyslogOutput,
)
from secengine.config.problems import ConfigFileError, did_you_mean
from secengine.config.reference import reference_markdown, reference_rows
from secengine.config.rules import (
    AppendOutputEntry,
    AppendOutputMatch,
    RuleMatch,
    RuleSelectionEntry,
)
from secengine.config.services import (
    DropAction,
    ReplayLimits,
    SourceBlock,
    SyscallEventDrops,
    Webserver,
)

__all__ = [
    "CLI_KEYS",
    "DEFAULT_SINK_QUEUE",
    "FALCO_IGNORED_KEYS",
    "AgentConfig",
    "AppendOutputEntry",
    "AppendOutputMatch",
    "ConfigFileError",
    "DropAction",
    "FileOutput",
    "HttpOutput",
    "LogLevel",
    "OutputsRate",
    "PluginSink",
    "ProgramOutput",
    "QueueCapacity",
    "ReplayLimits",
    "RuleMatch",
    "RuleSelectionEntry",
    "SinkBlock",
    "SourceBlock",
    "StdoutOutput",
    "StrictModel",
    "SyscallEventDrops",
    "SyslogOutput",
    "Webserver",
    "add_alert_arguments",
    "add_config_arguments",
    "add_output_timeout_argument",
    "did_you_mean",
    "load_cli_config",
    "load_config",
    "parse_option",
    "reference_markdown",
    "reference_rows",
    "rules_file_paths",
]
