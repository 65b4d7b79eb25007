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
  test put in the scratch directory by ``/proc/self/fd/3/secx/true``: three
  alerts, with the file named by where it really is (``fd.name``) and the exec
  by the file it reached (``proc.exepath``);
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
    assert fields["proc.cwd"] == str(scratch)  # the working directory is the host's
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

    alerts = of_rule(alerts_seen(action, lambda got: len(of_rule(got, CVE)) >= 3), CVE)
    assert results["run"].returncode == 0, results["run"]
    assert results["run"].stdout == "scratch\n"
    by_type = {a["output_fields"]["evt.type"]: a["output_fields"] for a in alerts}
    assert len(alerts) == 3 and set(by_type) == {"chdir", "openat", "execve"}, alerts
    assert by_type["chdir"]["proc.cwd"] == str(scratch)
    assert by_type["openat"]["fd.nameraw"] == "/proc/self/fd/3/secx/f"
    assert by_type["openat"]["fd.name"] == str(scratch / "secx" / "f")
    assert by_type["execve"]["evt.arg.filename"] == "/proc/self/fd/3/secx/true"
    assert by_type["execve"]["proc.exepath"] == str(scratch / "secx" / "true")
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
