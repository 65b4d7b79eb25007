"""Files a command will write, checked before it starts the work that produces them.

A profile recording or a long test run should not end in "No such file or
directory" for a report path that was wrong from the start: the command
checks its output paths first and stops with one sentence and status 2.
"""

from __future__ import annotations

import os
from pathlib import Path

from secengine.errors import UsageError

__all__ = ["check_output_path"]


def check_output_path(path: str | os.PathLike[str], flag: str) -> None:
    """Raise :class:`UsageError` when ``path`` cannot be created or replaced as a file."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{flag} {p}: is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{flag} {p}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {p}: the directory {parent} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"{flag} {p}: not writable")
