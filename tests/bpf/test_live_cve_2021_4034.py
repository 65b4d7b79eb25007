"""CVE-2021-4034 (PwnKit): a set-uid program started with an empty argv and GCONV_PATH.

The stand-in makes the exploit's exec with its arguments: ``execve(path,
{NULL}, {"pwnkit", "PATH=GCONV_PATH=.", "CHARSET=PWNKIT", "SHELL=pwnkit"})``
of a set-uid, root-owned program. The program is a scratch copy of
``/bin/true`` (the rule matches the behaviour, so a copy that is not called
pkexec must alert too), which is why it is safe:

- ``true`` reads neither its argv nor its environment and converts no
  character set, so nothing is written back into the environment and no
  gconv module is ever looked for (the GCONV_PATH directory does not exist);
- the test runs as root, so the set-uid bit grants nothing new (ld.so does
  not even enter its secure mode);
- the copy lives in a fresh 0700 directory no other user can enter, and is
  removed afterwards.

The benign look-alikes, which must not alert: the same copy started with an
ordinary argv and the same environment, and with an empty argv and an
ordinary environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from c_programs import build_c
from secengine_run import alerts_during, of_rule

pytestmark = pytest.mark.bpf

_LAUNCHER = r"""
#include <string.h>
#include <unistd.h>
/* launcher PATH empty|normal ENV...: execve PATH with an empty argv, or {PATH, "ok"} (true ignores it) */
int main(int argc, char **argv)
{
    char *empty[] = {NULL};
    char *normal[] = {argv[1], "ok", NULL};
    execve(argv[1], strcmp(argv[2], "empty") == 0 ? empty : normal, argv + 3);
    return 127;
}
"""

EXPLOIT_ENV = ("pwnkit", "PATH=GCONV_PATH=.", "CHARSET=PWNKIT", "SHELL=pwnkit")
ORDINARY_ENV = ("PATH=/usr/bin:/bin", "LANG=C.UTF-8")


@pytest.mark.skipif(os.geteuid() != 0, reason="a root-owned set-uid copy needs root")
def test_a_setuid_exec_with_an_empty_argv_and_gconv_path_alerts() -> None:
    launcher = build_c("pwnkit_launcher", _LAUNCHER)
    d = Path(tempfile.mkdtemp(prefix="i15-cvea-pwnkit-"))  # 0700
    target = d / "se-helper"
    shutil.copy("/bin/true", target)
    os.chown(target, 0, 0)
    target.chmod(0o4755)

    def launch(mode: str, env: tuple[str, ...]) -> None:
        result = subprocess.run([launcher, str(target), mode, *env], timeout=30, check=False)
        assert result.returncode == 0, f"{mode} exec failed: {result.returncode}"

    def action() -> None:
        launch("normal", EXPLOIT_ENV)  # benign: an ordinary argv
        launch("empty", ORDINARY_ENV)  # benign: an ordinary environment
        launch("empty", EXPLOIT_ENV)  # the exploit's exec

    try:
        alerts = of_rule(alerts_during(action), "CVE-2021-4034")
    finally:
        shutil.rmtree(d)
    assert len(alerts) == 1, f"expected the exploit's exec alone to alert: {alerts}"
    [alert] = alerts
    assert alert["rule"] == "Set-uid Program Started With Empty argv and GCONV_PATH (CVE-2021-4034)"
    fields = alert["output_fields"]
    assert fields["proc.exepath"] == str(target)
    assert fields["proc.is_exe_setuid"] is True
    assert fields["proc.env"] == " ".join(EXPLOIT_ENV)
    assert "T1068" in alert["tags"]
