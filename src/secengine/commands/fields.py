"""``secengine fields``: list the fields rules can use, like ``falco --list``.

The listing is generated from the field registry the rules compile against
(:mod:`secengine.fields.listing`), as text (a block per field class: its
description and event sources, then ``name  description`` lines with Falco's
argument and list tags), as Falco's ``--list -J`` JSON, or as Markdown.

Exit status: 0, or 2 (usage, :class:`~secengine.exit_status.ExitStatus`) when
``--source`` names a source that has no fields.
"""

from __future__ import annotations

import argparse
import sys

from secengine.exit_status import ExitStatus
from secengine.fields import listing
from secengine.sources.specs import field_registry

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "fields",
        description="List the fields available to rule conditions and outputs, grouped by "
        "field class, with their event sources.",
    )
    p.add_argument(
        "--source",
        default=None,
        metavar="SOURCE",
        help="only the fields of this event source (e.g. syscall)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print Falco's --list -J JSON")
    fmt.add_argument("--markdown", action="store_true", help="print Markdown tables")
    p.add_argument("-N", "--names-only", action="store_true", help="print field names only")
    p.add_argument("-v", "--verbose", action="store_true", help="show each field's type")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    registry = field_registry()
    try:
        classes = listing.listed_classes(registry, args.source)
    except KeyError:
        known = ", ".join(registry.sources())
        print(
            f"secengine fields: Value for --source must be a valid source type (known: {known})",
            file=sys.stderr,
        )
        return int(ExitStatus.USAGE)
    if args.names_only:
        text = listing.render_names(classes, as_json=args.json)
        if args.json:
            text += "\n"
    elif args.json:
        text = listing.render_json(classes) + "\n"
    elif args.markdown:
        text = listing.render_markdown(classes)
    else:
        text = listing.render_text(classes, verbose=args.verbose)
    sys.stdout.write(text)
    return 0
