"""Small C programs the live tests compile and run (load generators)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

__all__ = ["build_c"]


def build_c(name: str, source: str, flags: tuple[str, ...] = (), libs: tuple[str, ...] = ()) -> str:
    """Compile ``source`` with gcc (``flags`` before, ``libs`` after the source) into a
    temporary folder; the executable's path."""
    d = Path(tempfile.mkdtemp(prefix="secengine-c-"))
    (d / f"{name}.c").write_text(source)
    subprocess.run(
        ["gcc", "-O2", *flags, "-o", str(d / name), str(d / f"{name}.c"), *libs], check=True
    )
    return str(d / name)
