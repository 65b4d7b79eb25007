"""``secengine validate``: check rules files and print what ``falco -V`` prints.

Files load in order into one ruleset, as ``falco -V f1 -V f2`` does. Text
output (stdout) has, per file, either the full result (``name: Ok`` or
``name: Invalid`` followed by the errors with their locations and snippets)
or, for a valid file with warnings, just ``name: Ok, with warnings``; those
warnings are printed in full on stderr. ``--json`` prints Falco's one-line
``{"falco_load_results":[...]}`` instead, errors and warnings included.

Exit status: 0 if every file is valid, 1 otherwise (or when a file needs a
plugin version secengine does not provide; Falco's error then goes to stderr).

With ``-c FILE`` (or ``-o rules_files=...``) the configuration is checked
too, including the settings of every source and output it configures
(built, not started), and with no files named its ``rules_files`` are
validated; 2 for a bad configuration. With no files and no configuration,
the rules shipped with secengine are validated (``rules/*.yaml`` and the
CVE pack ``rules/cve/*.yaml``), as ``run`` and ``replay`` load them.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from secengine.assembly import build_sinks, build_sources
from secengine.config import add_config_arguments, load_cli_config, rules_file_paths
from secengine.errors import ConfigError
from secengine.ruleset import expand_rules_paths
from secengine.sources.specs import default_rules_files, load_rules

if TYPE_CHECKING:  # pragma: no cover
    from secengine.config import AgentConfig

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "validate",
        description="Load rules files in order, report every error and warning with its "
        "location, and exit 1 if any file is invalid.",
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="rules file or directory to validate (default: the shipped rules)",
    )
    p.add_argument(
        "-r",
        "--rules",
        action="append",
        default=[],
        metavar="FILE",
        help="rules file or directory to validate (repeatable)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print Falco's JSON validation result (falco_load_results)",
    )

    add_config_arguments(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    files = [str(f) for f in expand_rules_paths(list(args.rules) + list(args.files))]
    if getattr(args, "config", None) is not None or getattr(args, "options", None):
        try:
            cfg = load_cli_config(args, keys={})
            _check_plugin_settings(cfg)
        except ConfigError as e:
            print(f"secengine validate: {e}", file=sys.stderr)
            return 2
        files = files or rules_file_paths(cfg)
    else:
        files = files or [str(f) for f in default_rules_files()]  # the shipped rules
    if not files:
        print("secengine validate: no rules files given (use -r FILE)", file=sys.stderr)
        return 2
    ruleset = load_rules(files)
    if ruleset.fatal_error is not None:
        print("Error: " + ruleset.fatal_error, file=sys.stderr)
        return 1
    if args.json:
        print(ruleset.render_json())
    else:
        print(ruleset.render_text())
        for result in ruleset.results:
            if result.successful and result.has_warnings:
                print(result.render_text(), file=sys.stderr)
    return 0 if ruleset.successful else 1


def _check_plugin_settings(cfg: AgentConfig) -> None:
    """Build (never start) every configured source and output, so that a setting one of
    them refuses (``sources.k8s_audit.listen_port``) is found now, not when ``run`` starts."""

    build_sources(cfg)
    build_sinks(cfg)
