"""Write a benchmark's results file: the figures, stamped with when and where they were taken."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["write_results"]


def write_results(path: Path, figures: dict[str, Any]) -> None:
    """``figures`` as indented JSON at ``path``, after the date, the kernel and the CPU count
    (figures of this VM drift between runs: a result must say when and on what it was made)."""
    doc = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        **figures,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"written to {path}")
