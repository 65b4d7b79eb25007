"""Falco's "Execution from /dev/shm" fires on a program run as ``./x`` from /dev/shm itself.

Its condition reads ``proc.cwd startswith "/dev/shm/"``: libsinsp keeps a working
directory with a trailing ``/``, and secengine's ``proc.cwd`` had none, so a program run
from /dev/shm (not from a directory below it) raised nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from secengine_run import read_alerts, start, stop
from upstream_rules import needs_upstream, require

pytestmark = [pytest.mark.bpf, needs_upstream]

RULE = "Execution from /dev/shm"


def test_a_program_run_from_dev_shm_itself_alerts() -> None:
    name = os.path.basename(tempfile.mktemp(prefix="se-shm-", dir="/dev/shm"))
    program = os.path.join("/dev/shm", name)
    shutil.copy("/bin/true", program)
    run = start(require("falco_rules.yaml"))
    try:
        subprocess.run([f"./{name}"], cwd="/dev/shm", check=True)
        alerts = read_alerts(
            run, 60.0, lambda got: any(a["rule"] == RULE and name in a["output"] for a in got)
        )
    finally:
        log = stop(run)
        os.unlink(program)
    mine = [a for a in alerts if a["rule"] == RULE and name in a["output"]]
    assert len(mine) == 1, (sorted({a["rule"] for a in alerts}), log[-2000:])
    fields = mine[0]["output_fields"]
    assert fields["proc.cwd"] == "/dev/shm/"
