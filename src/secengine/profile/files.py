"""Write the profiler's output files together, atomically, with the right modes.

A recording and a report hold the container's command line (options,
arguments, environment names): they are written mode 0600 (:data:`PRIVATE`).
A seccomp profile holds syscall names only and is meant to be copied to
nodes: it gets the usual 0644 less the umask (:func:`public_mode`). Each file
is written to a temporary file in its own directory (created 0600) and
renamed over its name, and a set of files is written all or none, so an
interrupted or failed run never leaves a partial profile behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from secengine.profile.errors import ProfileError

__all__ = ["PRIVATE", "check_writable", "public_mode", "write_files"]

#: Mode of files that hold a command line.
PRIVATE: Final = 0o600


def public_mode() -> int:
    """0644 less the process's umask (what a plain ``open`` would have given)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o644 & ~mask


def check_writable(path: Path) -> None:
    """Refuse, before a recording starts, an output whose directory cannot take it."""
    parent = path.parent
    if not parent.is_dir():
        raise ProfileError(f"cannot write {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ProfileError(f"cannot write {path}: the directory {parent} is not writable")
    if path.is_dir():
        raise ProfileError(f"cannot write {path}: it is a directory")


def write_files(files: Sequence[tuple[Path, str, int]]) -> None:
    """Write every ``(path, text, mode)``, or none of them (a ProfileError names the file)."""
    temps: list[tuple[Path, Path]] = []
    current = files[0][0] if files else Path()
    try:
        for path, text, mode in files:
            current = path
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps.append((Path(name), path))
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.chmod(name, mode)
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
    except OSError as e:
        raise ProfileError(f"cannot write {current}: {e.strerror or e}") from None
    finally:
        for tmp, _path in temps:
            tmp.unlink(missing_ok=True)
