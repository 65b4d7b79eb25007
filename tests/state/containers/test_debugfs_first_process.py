"""Issue 14 item 5: ``debugfs`` as the entrypoint of a privileged podman container alerts.

Falco's stable rule "Debugfs Launched in Privileged Container" needs
``container.privileged=true`` on the container's *first* exec. Before the
runtime's files were read synchronously, that exec came before the API
answered and the rule missed. The busybox test image has no debugfs: the
entrypoint is a stand-in shell script named ``debugfs`` (the rule matches
``proc.name``, the kernel's comm, which for a script is the script's name),
bind-mounted read-only into the container.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from podman_support import IMAGE, PODMAN_RUN, build_image
from secengine_run import read_alerts, start, stop
from upstream_rules import needs_upstream, require

pytestmark = [pytest.mark.bpf, needs_upstream]

RULE = "Debugfs Launched in Privileged Container"


def _standin() -> str:
    d = tempfile.mkdtemp(prefix="i14-files-debugfs-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "debugfs")
    with open(path, "w") as fh:
        fh.write('#!/bin/sh\necho debugfs stand-in "$@"\n')
    os.chmod(path, 0o755)
    return d


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_debugfs_as_the_entrypoint_of_a_privileged_container_alerts() -> None:
    build_image()
    standin = _standin()
    name = "i14-files-debugfs"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    run = start(require("falco_rules.yaml"))
    try:
        r = subprocess.run(
            [
                *PODMAN_RUN,
                "--rm",
                "--privileged",
                "--name",
                name,
                "-v",
                f"{standin}:/standin:ro",
                "--entrypoint",
                "/standin/debugfs",
                IMAGE,
                "/dev/sda1",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "debugfs stand-in /dev/sda1" in r.stdout, r.stdout + r.stderr
        alerts = read_alerts(run, 60.0, lambda got: any(a["rule"] == RULE for a in got))
    finally:
        log = stop(run)
        shutil.rmtree(standin, ignore_errors=True)
    mine = [a for a in alerts if a["rule"] == RULE]
    assert mine, (sorted({a["rule"] for a in alerts}), log[-2000:])
    fields = mine[0]["output_fields"]
    assert fields["proc.name"] == "debugfs"
    assert fields["proc.cmdline"] == "debugfs /standin/debugfs /dev/sda1"
