"""argparse value types shared by the subcommands: a bad value is argparse's usage error (2).

A flag's value is checked where argparse reads it, so that a nonsense value
(``--duration -1``, ``--drop-alert-interval nan``) stops the command with
the flag's name before anything starts, instead of surfacing later under a
configuration key the user never wrote.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["seconds"]


def seconds(text: str) -> float:
    """A finite, non-negative number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite, non-negative number of "
                                         "seconds") from None
    return value
