"""argparse value types shared by the subcommands: a bad value is argparse's usage error (2).

A flag's value is checked where argparse reads it, so that a nonsense value
(``--duration -1``, ``--drop-alert-interval nan``) stops the command with
the flag's name before anything starts, instead of surfacing later under a
configuration key the user never wrote.
"""

from __future__ import annotations

import argparse
import math

from secengine.priority import Priority

__all__ = ["non_negative", "priority", "seconds", "share"]


def non_negative(text: str, unit: str = "number") -> float:
    """A finite number of at least 0 (``unit`` names it in the error: "seconds", "events")."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {unit}: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite, non-negative {unit}") from None
    return value


def seconds(text: str) -> float:
    """A finite, non-negative number of seconds."""
    return non_negative(text, "number of seconds")


def share(text: str) -> float:
    """A share of something, at least 0 and below 1 (``--priority-headroom``)."""
    value = non_negative(text, "share")
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be below 1, not {text}")
    return value


def priority(text: str) -> Priority:
    """A rule priority by Falco's names (``warning``, ``WARNING``, ``informational`` ...)."""
    try:
        return Priority.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid priority {text!r} (emergency, alert, critical, error, warning, notice, "
            "informational, debug)"
        ) from None
