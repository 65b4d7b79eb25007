"""What sysdig 0.29.3 prints for the vendored captures: the oracle of the capture reader.

``data/<capture>.sysdig.txt`` holds ``sysdig -r data/<capture>.scap -p FORMAT FILTER``
(:data:`FORMAT`, :data:`FILTER`): every event secengine evaluates (exits, and the events that
have no exit), one ``|``-separated line of :data:`FIELDS`. ``python tests/capture/sysdig_golden.py``
rewrites them; ``test_capture_sysdig.py`` checks that sysdig still prints them, when installed.

The captures are falcosecurity/libs' ``test/libsinsp_e2e/resources/captures/`` (Apache-2.0,
libs commit 48dfd53cd23f95720521d41b89883bbc35c8567f); see ``data/README.md``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DATA = Path(__file__).with_name("data")
CAPTURES = ("curl_google", "single_ipv6_conn", "test_ipv6_client")
FIELDS = [
    "evt.num",
    "evt.type",
    "proc.name",
    "proc.pid",
    "proc.ppid",
    "proc.pname",
    "proc.cmdline",
    "user.uid",
    "user.name",
    "fd.num",
    "fd.name",
    "fd.type",
    "fd.typechar",
    "fd.directory",
    "fd.sip",
    "fd.sport",
    "fd.cip",
    "fd.cport",
    "fd.l4proto",
    "evt.res",
    "evt.rawres",
    "evt.dir",
    "evt.failed",
    "evt.is_open_read",
    "evt.is_open_write",
    "proc.exepath",
    "proc.args",
    "fd.filename",
]
FORMAT = "*" + "|".join(f"%{f}" for f in FIELDS)
#: the events secengine evaluates: exits, and enter events with no exit (switch is one, but
#: its fields are the scheduler's; left out)
FILTER = "evt.dir=< or evt.type in (procexit, signaldeliver)"


def sysdig_lines(capture: str) -> list[str]:
    out = subprocess.run(
        ["sysdig", "-r", str(DATA / f"{capture}.scap"), "-p", FORMAT, FILTER],
        check=True,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=120,
    ).stdout
    return out.splitlines()


def golden(capture: str) -> list[str]:
    return (DATA / f"{capture}.sysdig.txt").read_text(errors="surrogateescape").splitlines()


if __name__ == "__main__":
    if shutil.which("sysdig") is None:
        raise SystemExit("sysdig is not installed (apt-get install sysdig)")
    for name in CAPTURES:
        (DATA / f"{name}.sysdig.txt").write_text(
            "\n".join(sysdig_lines(name)) + "\n", errors="surrogateescape"
        )
        print(f"wrote {name}.sysdig.txt")
