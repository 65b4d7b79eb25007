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

The evasion: the same exec by a 32-bit ``int $0x80`` execve (ia32 11) from a
static 64-bit program, which must alert as well (the kernel reports it, on
return, as a 64-bit execve of the 64-bit program it started).

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


_LAUNCHER32 = r"""
#include <string.h>
/* static, non-PIE: the strings and arrays live below 4 GiB, where 32-bit pointers reach */
static char path[256];
static char *argv32[1];
static char e0[] = "pwnkit", e1[] = "PATH=GCONV_PATH=.", e2[] = "CHARSET=PWNKIT", e3[] = "SHELL=pwnkit";
static unsigned int args32[1] = {0};
static unsigned int envp32[5];
int main(int argc, char **argv)
{
    strncpy(path, argv[1], sizeof path - 1);
    envp32[0] = (unsigned long)e0; envp32[1] = (unsigned long)e1;
    envp32[2] = (unsigned long)e2; envp32[3] = (unsigned long)e3; envp32[4] = 0;
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(11L /* ia32 execve */), "b"(path),
                     "c"(args32), "d"(envp32) : "memory");
    (void)argv32;
    return 127;
}
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="a root-owned set-uid copy needs root")
def test_the_exploit_exec_by_a_32bit_execve_alerts() -> None:
    launcher = build_c("pwnkit_launcher32", _LAUNCHER32, flags=("-static", "-no-pie"))
    d = Path(tempfile.mkdtemp(prefix="i15-cvea-pwnkit32-"))  # 0700
    target = d / "se-helper32"
    shutil.copy("/bin/true", target)
    os.chown(target, 0, 0)
    target.chmod(0o4755)

    def action() -> None:
        result = subprocess.run([launcher, str(target)], timeout=30, check=False)
        assert result.returncode == 0, f"the 32-bit exec failed: {result.returncode}"

    try:
        alerts = of_rule(alerts_during(action), "CVE-2021-4034")
    finally:
        shutil.rmtree(d)
    assert len(alerts) == 1, alerts
    fields = alerts[0]["output_fields"]
    assert fields["proc.exepath"] == str(target)
    # evt.is_compat is false here: exec'ing a 64-bit program, the kernel rewrites the call into
    # a 64-bit execve before it returns (set_personality_64bit clears TS_COMPAT and sets
    # orig_ax), so the exit looks native. The rule does not depend on it: it still alerts.
    assert fields["proc.env"] == " ".join(EXPLOIT_ENV)
