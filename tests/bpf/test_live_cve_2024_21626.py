"""CVE-2024-21626 (runc "Leaky Vessels"): a container given a descriptor of a host directory.

The exploit needs a descriptor of the host's filesystem inside the container:
a vulnerable runc leaked its fd of the host's /sys/fs/cgroup. The stand-in
leaks one on purpose, and a harmless one: podman's ``--preserve-fds 1`` hands
the container fd 3, which the test opened on a scratch directory of its own
(``tmp_path``) outside the container's root. Then the exploit's calls, with
its arguments, through that fd:

- attack 1: ``-w /proc/self/fd/3`` makes runc's init ``chdir("/proc/self/fd/3")``
  before it starts the process; this host's runc (1.1.5+ds1-1+deb12u1, patched)
  then finds the working directory outside the container's root and refuses to
  start it: the refused start is asserted, and the chdir must alert;
- attack 2 and 3: a shell in the container changes to ``/proc/self/fd/3``,
  reads a file through ``/proc/self/fd/3/...`` and execs a (busybox) copy the
  test put in the scratch directory by ``/proc/self/fd/3/secx/true``: four
  alerts (the ``cat`` runs from a working directory outside the root), with the
  file named by where it really is (``fd.name``) and the exec by the file it
  reached (``proc.exepath``);
- the same fd used without a path: ``openat(3, "secx/f")`` (and a refused
  ``openat(3, "secx/none")``), ``fchdir(3)`` then an
  exec from there, ``execveat(3, "secx/true")``: the probe finds the file, the
  working directory and the executable outside the process's root;
- the evasion: a renamed static binary makes a 32-bit ``chdir`` (``int $0x80``)
  to ``/dev/fd/3``.

Everything the container reaches is the scratch directory. The benign look-alike
lists ``/proc/self/fd/``, changes to ``/proc/self`` and reads ``/dev/fd/0``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from c_programs import build_c
from secengine_run import alerts_seen, of_rule

pytestmark = pytest.mark.bpf

CVE = "CVE-2024-21626"
RULE = "Working Directory or Executable Reached Through a Leaked fd (CVE-2024-21626)"


def _scratch(tmp_path: Path) -> Path:
    """The host directory the container gets a descriptor of, with a file and a program."""
    scratch = tmp_path / "host-side"
    (scratch / "secx").mkdir(parents=True)
    (scratch / "secx" / "f").write_text("scratch\n")
    busybox = shutil.which("busybox") or "/bin/busybox"
    shutil.copy(busybox, scratch / "secx" / "true")
    return scratch


def _run_with_fd3(
    pm: Any, name: str, directory: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``podman run --preserve-fds 1 ARGS`` with fd 3 opened on ``directory`` (by a shell, so
    that this process's own fd 3 is not touched)."""
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    podman = [*pm.PODMAN_RUN, "--rm", "--name", name, "--preserve-fds", "1", *args]
    return subprocess.run(
        ["sh", "-c", 'dir="$1"; shift; exec "$@" 3<"$dir"', "sh", str(directory), *podman],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_workdir_through_a_leaked_fd_alerts_and_the_benign_look_alike_does_not(
    podman: Any, tmp_path: Path
) -> None:
    scratch = _scratch(tmp_path)
    results = {}

    def action() -> None:
        results["benign"] = podman.run(
            "i15-cvec-21626-benign",
            "sh",
            "-c",
            "ls /proc/self/fd/ >/dev/null && cd /proc/self && cat /dev/fd/0 </etc/passwd >/dev/null",
        )
        results["workdir"] = _run_with_fd3(
            podman, "i15-cvec-21626-workdir", scratch, "-w", "/proc/self/fd/3", podman.IMAGE, "true"
        )

    alerts = of_rule(alerts_seen(action, lambda got: bool(of_rule(got, CVE))), CVE)
    assert results["benign"].returncode == 0, results["benign"].stderr
    # the patched runc refuses the container once its init is outside the root
    assert results["workdir"].returncode != 0, results["workdir"]
    assert "outside of container mount namespace root" in results["workdir"].stderr
    assert len(alerts) == 1, f"expected runc's chdir alone to alert: {alerts}"
    [alert] = alerts
    assert alert["rule"] == RULE and alert["priority"] == "Critical"
    assert "T1611" in alert["tags"]
    fields = alert["output_fields"]
    assert fields["evt.type"] == "chdir" and fields["evt.arg.path"] == "/proc/self/fd/3"
    assert fields["proc.cwd"] == f"{scratch}/"  # the working directory is the host's
    assert fields["proc.is_host_mntns"] is False


def test_a_container_process_using_the_leaked_fd_alerts_on_each_step(
    podman: Any, tmp_path: Path
) -> None:
    scratch = _scratch(tmp_path)
    results = {}
    script = "cd /proc/self/fd/3 && cat /proc/self/fd/3/secx/f && exec /proc/self/fd/3/secx/true"

    def action() -> None:
        results["run"] = _run_with_fd3(
            podman, "i15-cvec-21626-use", scratch, podman.IMAGE, "sh", "-c", script
        )

    alerts = of_rule(alerts_seen(action, lambda got: len(of_rule(got, CVE)) >= 4), CVE)
    assert results["run"].returncode == 0, results["run"]
    assert results["run"].stdout == "scratch\n"
    # the chdir, the exec of cat from the host's directory (its working directory is outside
    # the root), cat's open through the fd, the exec through the fd
    fields = [a["output_fields"] for a in alerts]
    by_type = {
        f["evt.type"]: f
        for f in fields
        if f["evt.type"] != "execve" or f["proc.exepath"] == str(scratch / "secx" / "true")
    }
    assert len(alerts) == 4 and set(by_type) == {"chdir", "openat", "execve"}, alerts
    assert by_type["chdir"]["proc.cwd"] == f"{scratch}/"
    assert by_type["chdir"]["proc.is_cwd_outside_root"] is True
    [cat] = [f for f in fields if f["evt.type"] == "execve" and f["proc.exepath"] == "/bin/busybox"]
    assert cat["proc.is_cwd_outside_root"] is True and cat["proc.is_exe_outside_root"] is False
    assert by_type["openat"]["fd.nameraw"] == "/proc/self/fd/3/secx/f"
    assert by_type["openat"]["fd.name"] == str(scratch / "secx" / "f")
    assert by_type["execve"]["evt.arg.filename"] == "/proc/self/fd/3/secx/true"
    assert by_type["execve"]["proc.exepath"] == str(scratch / "secx" / "true")
    assert by_type["execve"]["proc.is_exe_outside_root"] is True
    assert all(f["container.id"] not in ("", "host") for f in by_type.values())


_CHDIR32 = r"""
static char path[] = "/dev/fd/3";
int main(void)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(12L /* ia32 chdir */), "b"(path) : "memory");
    return ret == 0 ? 0 : 1;
}
"""


def test_a_32bit_chdir_through_dev_fd_by_a_renamed_binary_alerts(
    podman: Any, tmp_path: Path
) -> None:
    scratch = _scratch(tmp_path)
    program = Path(build_c("kworker", _CHDIR32, flags=("-static", "-no-pie")))
    results = {}

    def action() -> None:
        results["run"] = _run_with_fd3(
            podman,
            "i15-cvec-21626-compat",
            scratch,
            "-v",
            f"{program.parent}:/t:ro",
            podman.IMAGE,
            "/t/kworker",
        )

    alerts = of_rule(alerts_seen(action, lambda got: bool(of_rule(got, CVE))), CVE)
    assert results["run"].returncode == 0, results["run"]
    assert len(alerts) == 1, alerts
    fields = alerts[0]["output_fields"]
    assert fields["evt.type"] == "chdir" and fields["evt.arg.path"] == "/dev/fd/3"
    assert fields["evt.is_compat"] is True and fields["proc.name"] == "kworker"


_NO_PATH = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The leaked fd 3 used without a path through it:
 * "openat": openat(3, "secx/f") and print the file, then openat(3, "secx/none") (ENOENT);
 * "fchdir": fchdir(3), then exec ./secx/true from there (an exec from a working directory
 *           outside the root, of an executable outside it);
 * "execveat": execveat(3, "secx/true");
 * "benign": the same calls on a directory of the container's own (/etc, /bin). */
int main(int argc, char **argv)
{
    static char *args[] = {"true", NULL};
    static char *env[] = {NULL};
    static char buf[64];
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "openat") == 0) {
        int fd = openat(3, "secx/f", O_RDONLY);
        long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
        if (n <= 0 || openat(3, "secx/none", O_RDONLY) >= 0)
            return 2;
        fputs(buf, stdout);
        return 0;
    }
    if (strcmp(mode, "fchdir") == 0) {
        if (fchdir(3))
            return 3;
        execve("./secx/true", args, env);
        return 4;
    }
    if (strcmp(mode, "execveat") == 0) {
        syscall(SYS_execveat, 3, "secx/true", args, env, 0);
        return 5;
    }
    int etc = open("/etc", O_RDONLY | O_DIRECTORY), bin = open("/bin", O_RDONLY | O_DIRECTORY);
    int fd = openat(etc, "passwd", O_RDONLY);
    if (etc < 0 || bin < 0 || fd < 0 || fchdir(bin))
        return 6;
    syscall(SYS_execveat, bin, "true", args, env, 0);
    return 7;
}
"""


def test_the_leaked_fd_used_without_a_path_alerts_and_the_same_calls_inside_do_not(
    podman: Any, tmp_path: Path
) -> None:
    """``openat(3, ...)``, ``fchdir(3)`` then an exec from there, and ``execveat(3, ...)`` by a
    renamed static binary: no path goes through a magic link, and each alerts because the
    probe found the file, the working directory or the executable outside the process's root.
    The same calls on the container's own /etc and /bin (``benign``) do not."""
    scratch = _scratch(tmp_path)
    program = Path(build_c("kworker", _NO_PATH, flags=("-static",)))
    results = {}

    def action() -> None:
        for mode in ("benign", "openat", "fchdir", "execveat"):
            results[mode] = _run_with_fd3(
                podman,
                f"i15-evade-21626-{mode}",
                scratch,
                "-v",
                f"{program.parent}:/t:ro",
                podman.IMAGE,
                "/t/kworker",
                mode,
            )

    alerts = of_rule(alerts_seen(action, lambda got: len(of_rule(got, CVE)) >= 5), CVE)
    for mode, run in results.items():
        assert run.returncode == 0, (mode, run)
    assert results["openat"].stdout == "scratch\n"
    fields = [a["output_fields"] for a in alerts]
    assert all(f["container.id"] not in ("", "host") for f in fields), fields
    assert all(f["proc.cmdline"] != "kworker benign" for f in fields), fields
    by_type: dict[str, list[dict[str, Any]]] = {}
    for f in fields:
        by_type.setdefault(f["evt.type"], []).append(f)
    assert sorted(by_type) == ["execve", "execveat", "fchdir", "openat"], fields
    opened, refused = sorted(by_type["openat"], key=lambda f: f["evt.res"] != "SUCCESS")
    assert opened["fd.nameraw"] == "secx/f" and opened["fd.name"] == str(scratch / "secx" / "f")
    assert opened["fd.is_outside_root"] is True
    # refused: the directory it was relative to is outside the root
    assert refused["evt.res"] == "ENOENT" and refused["fd.nameraw"] == "secx/none"
    assert refused["fd.is_outside_root"] is True
    [moved] = by_type["fchdir"]
    assert moved["fd.name"] == str(scratch) and moved["proc.cwd"] == f"{scratch}/"
    assert moved["proc.is_cwd_outside_root"] is True
    [from_there] = by_type["execve"]  # ./secx/true run from the host's directory
    assert from_there["proc.is_cwd_outside_root"] is True
    assert from_there["proc.is_exe_outside_root"] is True
    [at] = by_type["execveat"]
    assert at["proc.exepath"] == str(scratch / "secx" / "true")
    assert at["proc.is_exe_outside_root"] is True and at["proc.is_cwd_outside_root"] is False
    assert len(fields) == 5, fields
