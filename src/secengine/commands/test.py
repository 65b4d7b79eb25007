"""``secengine test``: run rule-test files (``*.ruletest.yaml``) and report like pytest.

Each case feeds its events to an engine built from the test file's rules
files and checks the alerts; a failure explains itself (the event, the
first failing leaf of the condition with the field's actual value, the
rule's expanded condition). The file format is described in
``docs/rule-testing.md``.

With ``-c FILE``/``-o KEY=VALUE`` the configuration's output keys
(``time_format_iso_8601``, ``json_include_*``) shape the alerts the tests
check, as the configured agent would render them.

Exit status: 0 when every case passes (and, with ``--require-coverage``,
every rule has a positive and a negative case), 1 otherwise, 2 when a path
does not exist or holds no test files, or the configuration is invalid.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from secengine.commands.outpaths import check_output_path
from secengine.config import add_config_arguments, load_cli_config
from secengine.errors import ConfigError
from secengine.testing.coverage import compute_coverage, coverage_failures, render_coverage
from secengine.testing.junit import write_junit_xml
from secengine.testing.loader import discover
from secengine.testing.report import file_line, render_report
from secengine.testing.runner import FileResult, RuleTestRunner

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "test",
        description="Run rule-test files: directories are searched recursively for "
        "*.ruletest.yaml; files named explicitly are run whatever their name.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="test file or directory")
    p.add_argument(
        "--junit-xml",
        metavar="FILE",
        default=None,
        help="also write a JUnit XML report to FILE (for CI)",
    )
    p.add_argument(
        "--coverage",
        action="store_true",
        help="report rules that have no positive or no negative case",
    )
    p.add_argument(
        "--require-coverage",
        action="store_true",
        help="fail when a loaded rule has no positive or no negative case (implies --coverage)",
    )
    p.add_argument(
        "-k",
        dest="keyword",
        metavar="TEXT",
        default=None,
        help="run only cases whose name contains TEXT (case-insensitive)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="one line per case")

    add_config_arguments(p)
    p.set_defaults(run=run)
    return p


def _runner_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :class:`~secengine.testing.RuleTestRunner`.

    This is where the configuration file (``-c FILE``) plugs in: its output
    options (``time_format_iso_8601``, ``json_include_*``) become
    ``formatter_options`` so tests render alerts as the configured agent does.
    Raises :class:`~secengine.errors.ConfigError` for a bad configuration.
    """
    if getattr(args, "config", None) is None and not getattr(args, "options", None):
        return {}

    cfg = load_cli_config(args, keys={})
    return {
        "formatter_options": {
            "time_format_iso_8601": cfg.time_format_iso_8601,
            "json_include_output_property": cfg.json_include_output_property,
            "json_include_tags_property": cfg.json_include_tags_property,
            "json_include_message_property": cfg.json_include_message_property,
            "json_include_output_fields_property": cfg.json_include_output_fields_property,
        }
    }


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    try:
        paths = discover(args.paths)
    except FileNotFoundError as e:
        sys.stderr.write(f"secengine test: {e}\n")
        return 2
    if not paths:
        sys.stderr.write(
            f"secengine test: no *.ruletest.yaml files under {', '.join(args.paths)}\n"
        )
        return 2

    if args.junit_xml:
        check_output_path(args.junit_xml, "--junit-xml")  # before the run, not after
    try:
        runner = RuleTestRunner(**_runner_options(args))
    except ConfigError as e:
        sys.stderr.write(f"secengine test: {e}\n")
        return 2

    def progress(fr: FileResult) -> None:
        for line in file_line(fr, args.verbose):
            out.write(line + "\n")
        out.flush()

    result = runner.run(paths, keyword=args.keyword, on_file=progress)

    want_coverage = args.coverage or args.require_coverage
    coverage_lines = problems = None
    if want_coverage:
        coverage = compute_coverage(result.files)
        coverage_lines = render_coverage(coverage)
        problems = coverage_failures(coverage)
    for line in render_report(
        result,
        coverage=coverage_lines,
        coverage_problems=problems,
        require_coverage=args.require_coverage,
    ):
        out.write(line + "\n")
    if args.junit_xml:
        write_junit_xml(args.junit_xml, result, problems if args.require_coverage else None)
    ok = result.passed and not (args.require_coverage and problems)
    return 0 if ok else 1
