"""The commands' side of the configuration: ``-c``/``-o`` arguments, and flags mapped onto keys."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from secengine.argtypes import priority
from secengine.config.loading import load_config
from secengine.config.model import AgentConfig
from secengine.priority import Priority

__all__ = [
    "CLI_KEYS",
    "add_alert_arguments",
    "add_config_arguments",
    "add_output_timeout_argument",
    "load_cli_config",
]

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
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=None,
        help="configuration file (falco.yaml keys; see docs/configuration.md)",
    )
    parser.add_argument(
        "-o",
        "--option",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a configuration key, over the file (repeatable; 'key[]=value' appends to a list)",
    )


def add_alert_arguments(parser: argparse.ArgumentParser) -> None:
    """Add what ``run`` and ``replay`` share about alerts: ``--json`` (``json_output``),
    ``--min-priority`` (``priority``) and ``--rule-matching`` (``rule_matching``)."""
    parser.add_argument(
        "--json", action="store_true", default=None, help="print alerts as Falco's alert JSON"
    )
    parser.add_argument(
        "--min-priority",
        default=None,
        type=priority,
        metavar="PRIORITY",
        help="load only rules at least this severe (default: debug)",
    )
    parser.add_argument(
        "--rule-matching",
        choices=("first", "all"),
        default=None,
        help="stop at the first matching rule per event, or report all (default: first)",
    )


def add_output_timeout_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--output-timeout MS`` (the ``output_timeout`` key) to ``run`` and ``replay``."""
    parser.add_argument(
        "--output-timeout",
        type=_milliseconds,
        default=None,
        metavar="MS",
        help="milliseconds the outputs may take to drain at exit before what "
        "they still hold is counted as dropped (default: output_timeout, "
        "2000)",
    )


def _milliseconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid milliseconds {text!r} (a whole number >= 0)")
    return value


def load_cli_config(args: argparse.Namespace, *, keys: Mapping[str, str] = CLI_KEYS) -> AgentConfig:
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
    return load_config(
        getattr(args, "config", None),
        options=getattr(args, "options", None) or (),
        overrides=overrides,
    )
