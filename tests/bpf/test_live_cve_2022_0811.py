"""CVE-2022-0811, the node side: kernel.core_pattern opened for writing in a real container.

The stand-in does the exploit's last step with its arguments: a shell in a
podman container opens ``/proc/sys/kernel/core_pattern`` for writing
(``O_WRONLY|O_CREAT|O_TRUNC``, as ``echo ... >`` does). It is safe: an
unprivileged container's /proc/sys is mounted read-only, so the kernel
refuses the open with EROFS before anything is written (the test checks
that the host's core_pattern is unchanged), and the refused attempt is what
must alert. The benign look-alike reads the same file, as crash reporters do.
The evasion: the same open by a 32-bit ``int $0x80`` call from a renamed static
binary in the container (the ia32 ``open``, 5), which must alert as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from c_programs import build_c
from secengine_run import alerts_during, of_rule

pytestmark = pytest.mark.bpf

CORE_PATTERN = Path("/proc/sys/kernel/core_pattern")


def test_a_container_opening_core_pattern_for_writing_alerts(podman) -> None:
    before = CORE_PATTERN.read_text()
    results = {}

    def action() -> None:
        results["read"] = podman.run("i15-cvea-0811-read", "cat", str(CORE_PATTERN))
        results["write"] = podman.run(
            "i15-cvea-0811-write",
            "sh",
            "-c",
            f"echo '|/tmp/secengine-not-run #' > {CORE_PATTERN}",
        )

    alerts = of_rule(alerts_during(action), "CVE-2022-0811")
    assert CORE_PATTERN.read_text() == before, "the host's core_pattern changed"
    assert results["read"].returncode == 0, results["read"].stderr
    assert "Read-only file system" in results["write"].stderr, results["write"]
    assert len(alerts) == 1, f"expected the write attempt alone to alert: {alerts}"
    [alert] = alerts
    assert alert["rule"] == "Core Pattern Written From a Container (CVE-2022-0811)"
    assert alert["priority"] == "Critical"
    fields = alert["output_fields"]
    assert fields["fd.name"] == str(CORE_PATTERN)
    assert fields["evt.res"] == "EROFS"
    assert fields["container.id"] not in ("", "host")
    assert "T1611" in alert["tags"]


_OPEN32 = r"""
#include <fcntl.h>
static char path[] = "/proc/sys/kernel/core_pattern";
int main(void)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(5L /* ia32 open */), "b"(path),
                     "c"((long)(O_WRONLY | O_TRUNC)), "d"(0L) : "memory");
    return ret == -30 /* EROFS */ ? 0 : 1;
}
"""


def test_a_32bit_open_of_core_pattern_by_a_renamed_binary_alerts(podman) -> None:
    program = Path(build_c("kworker", _OPEN32, flags=("-static", "-no-pie")))
    before = CORE_PATTERN.read_text()
    results = {}

    def action() -> None:
        results["run"] = podman.run(
            "i15-cvea-0811-compat", "/t/kworker", extra=("-v", f"{program.parent}:/t:ro")
        )

    alerts = of_rule(alerts_during(action), "CVE-2022-0811")
    assert CORE_PATTERN.read_text() == before, "the host's core_pattern changed"
    assert results["run"].returncode == 0, results["run"]  # refused with EROFS
    assert len(alerts) == 1, alerts
    fields = alerts[0]["output_fields"]
    assert fields["evt.type"] == "open" and fields["evt.res"] == "EROFS", fields
    assert fields["proc.name"] == "kworker"
    assert fields["evt.is_compat"] is True
