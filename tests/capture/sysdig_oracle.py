"""sysdig as the oracle: read a capture with ``sysdig -r`` and return field values per event.

Debian 12's sysdig 0.29.3 reads captures (it cannot capture here). Each event is
printed as one line of the asked fields joined by a separator no value contains
(``\\x1f``), prefixed with a marker so that a value with a newline (a command
line) cannot be taken for a new event; ``<NA>`` (sysdig's missing value) becomes
``None``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["FIELDS", "SYSDIG", "read_events"]

SYSDIG = shutil.which("sysdig")
#: The fields a rule would use (issue 16 item 3), plus what joins events to secengine's.
FIELDS = (
    "evt.num",
    "evt.rawtime",
    "thread.tid",
    "evt.type",
    "evt.dir",
    "evt.res",
    "evt.rawres",
    "proc.name",
    "proc.pid",
    "proc.ppid",
    "proc.pname",
    "proc.exepath",
    "proc.cmdline",
    "proc.args",
    "user.uid",
    "fd.name",
    "fd.type",
    "fd.sip",
    "fd.sport",
    "fd.cip",
    "fd.cport",
    "fd.l4proto",
    "fd.directory",
    "evt.is_open_read",
)
_SEP = "\x1f"
_MARK = "\x1e@@"


def read_events(
    capture: Path | str, filter_: str = "", fields: tuple[str, ...] = FIELDS, timeout: float = 300
) -> list[dict[str, str | None]]:
    """Every event of ``capture`` that ``filter_`` selects, as field -> value (None: missing)."""
    if SYSDIG is None:
        raise RuntimeError("sysdig is not installed (apt-get install sysdig)")
    fmt = "*" + _MARK + _SEP.join(f"%{f}" for f in fields)
    cmd = [SYSDIG, "-r", str(capture), "-p", fmt]
    if filter_:
        cmd.append(filter_)
    out = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    if out.returncode != 0:
        raise RuntimeError(
            f"sysdig failed ({out.returncode}): {out.stderr.decode(errors='replace')}"
        )
    events = []
    for chunk in out.stdout.decode("utf-8", "surrogateescape").split(_MARK)[1:]:
        values = chunk.rstrip("\n").split(_SEP)
        if len(values) != len(fields):
            raise RuntimeError(
                f"sysdig line with {len(values)} fields, not {len(fields)}: {chunk!r}"
            )
        events.append(
            {f: (None if v in ("<NA>", "") else v) for f, v in zip(fields, values, strict=True)}
        )
    return events
