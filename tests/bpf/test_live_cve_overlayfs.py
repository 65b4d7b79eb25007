"""Overlayfs copy-up from a user namespace, live: CVE-2023-0386 and CVE-2023-2640/CVE-2023-32629.

``secengine run --json`` with the shipped rules watches safe stand-ins that make
the exploits' calls with their arguments, on scratch directories the test makes:

- CVE-2023-0386: an unprivileged user (``nobody``) in ``unshare -Urm`` mounts
  overlayfs over a lower directory holding a root-owned set-uid file (the FUSE
  filesystem's part in the exploit) and makes overlayfs copy it up by a rename
  and by an open for writing. This kernel is fixed: the copy-up of a file whose
  owner is not mapped in the namespace fails with EOVERFLOW, and that attempt
  alerts.
- CVE-2023-2640/CVE-2023-32629: the published one-liner as ``nobody``:
  ``setcap cap_setuid+eip`` on its own file in ``unshare -Urm``, an overlay
  over it, ``touch`` through the overlay. Set in the namespace, the capability
  is a namespaced one (its root is ``nobody``), so it grants nothing.
- The exploits' last step, what a vulnerable kernel leaves in the upper
  directory: a set-uid root program and a program with ``cap_setuid``, run by
  ``nobody``. Both are scratch copies of ``true``/``sleep``, which use no
  privilege, in a root-owned directory only root writes, removed afterwards.

Look-alikes that must not alert run in the same namespaces and processes: the
user's own files renamed and written through the overlay, a read of the set-uid
file, another extended attribute, ``setcap`` on the host, and root running the
set-uid copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from secengine_run import alerts_during

pytestmark = pytest.mark.bpf

_NOBODY = 65534
_AS_NOBODY = ["setpriv", f"--reuid={_NOBODY}", f"--regid={_NOBODY}", "--clear-groups"]
_COPY_UP = "Overlay Copy-up Refused for a File Owned Outside the User Namespace (CVE-2023-0386)"
_SETUID_RUN = "Set-uid Root Program Run From a User-Writable Directory (CVE-2023-0386)"
_SETCAP = "File Capability Set From an Unprivileged User Namespace (CVE-2023-2640, CVE-2023-32629)"
_FCAP_RUN = (
    "Program With File Capabilities Run From a User-Writable Directory"
    " (CVE-2023-2640, CVE-2023-32629)"
)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory under /tmp that ``nobody`` may enter (pytest's tmp_path is 0700)."""
    for tool in ("setpriv", "unshare", "setcap"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (util-linux, libcap2-bin)")
    base = Path(tempfile.mkdtemp(prefix="i15-cved-ovl-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        # the overlays died with their mount namespaces; the files are root's or nobody's
        shutil.rmtree(base, ignore_errors=True)


def _layers(base: Path, name: str, lower_owner: int) -> Path:
    """``name/{l,u,w,m}``: the lower owned by ``lower_owner``, the rest by nobody."""
    top = base / name
    for d in ("l", "u", "w", "m"):
        (top / d).mkdir(parents=True)
        os.chown(
            top / d, lower_owner if d == "l" else _NOBODY, lower_owner if d == "l" else _NOBODY
        )
    top.chmod(0o755)
    return top


def _in_userns(top: Path, script: str) -> None:
    """``script`` as nobody in ``unshare -Urm``, after mounting overlayfs on ``top/m``."""
    mount = f"mount -t overlay overlay -o lowerdir={top}/l,upperdir={top}/u,workdir={top}/w {top}/m"
    r = subprocess.run(
        [*_AS_NOBODY, "unshare", "-Urm", "sh", "-c", f"{mount} || exit 90; {script}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode != 90, f"overlayfs mount in the user namespace failed: {r.stderr}"


def _mine(alerts: list[dict[str, Any]], base: Path) -> list[tuple[str, str]]:
    return [
        (a["rule"], a["output_fields"]["evt.type"])
        for a in alerts
        if "cve" in a.get("tags", ()) and str(base) in a["output"]
    ]


def test_cve_2023_0386_copy_up_of_an_unmapped_setuid_file(scratch: Path) -> None:
    top = _layers(scratch, "a", 0)
    shutil.copy("/bin/true", top / "l" / "suid")
    (top / "l" / "suid").chmod(0o4755)
    (top / "l" / "data").write_bytes(b"")
    (top / "l" / "data").chmod(0o666)  # writable: the open reaches the copy-up
    m = top / "m"
    script = "; ".join(
        [
            # look-alikes: the user's own file made, renamed and written; a read of suid
            f"touch {m}/mine",
            f"mv {m}/mine {m}/mine2",
            f"echo x > {m}/mine2",
            f"cat {m}/suid > /dev/null",
            # the exploit's copy-ups: a rename, and an open for writing (as touch does)
            f"mv {m}/suid {m}/moved",
            f"echo x > {m}/data",
            "true",
        ]
    )
    alerts = alerts_during(lambda: _in_userns(top, script))
    got = _mine(alerts, scratch)
    assert sorted(r for r, _ in got) == [_COPY_UP, _COPY_UP], alerts
    assert {t for _, t in got} <= {"rename", "renameat", "renameat2", "open", "openat"}
    assert len({t.startswith("rename") for _, t in got}) == 2, got  # one of each
    a = next(a for a in alerts if a["rule"] == _COPY_UP)
    assert {"CVE-2023-0386", "T1068", "cve"} <= set(a["tags"]) and a["priority"] == "Critical"
    assert "res=EOVERFLOW" in a["output"], a["output"]


def test_cve_2023_2640_setcap_in_a_user_namespace_then_copy_up(scratch: Path) -> None:
    top = _layers(scratch, "b", _NOBODY)
    for f in ("f", "g"):
        shutil.copy("/bin/true", top / "l" / f)
        os.chown(top / "l" / f, _NOBODY, _NOBODY)
    renamed = scratch / "tar"  # a copy of setcap under another name
    shutil.copy(shutil.which("setcap") or "", renamed)
    host_file = scratch / "host-setcap"
    shutil.copy("/bin/true", host_file)
    l, m = top / "l", top / "m"
    script = "; ".join(
        [
            # look-alike: another extended attribute on a file of the user's
            f"/usr/bin/python3 -c \"import os; os.setxattr('{l}/g', 'user.note', b'x')\"",
            # the published one-liner: setcap on the lower file, then touch through the overlay
            f"setcap cap_setuid+eip {l}/f",
            f"{renamed} cap_setuid+eip {m}/g",
            f"touch {m}/f",
            "true",
        ]
    )

    def action() -> None:
        # look-alike: root sets a capability on the host (the host's user namespace)
        subprocess.run(["setcap", "cap_setuid+ep", str(host_file)], check=True, timeout=30)
        _in_userns(top, script)

    alerts = alerts_during(action)
    got = _mine(alerts, scratch)
    assert got == [(_SETCAP, "setxattr"), (_SETCAP, "setxattr")], alerts
    mine = [a for a in alerts if a["rule"] == _SETCAP and str(scratch) in a["output"]]
    assert [a["output_fields"]["proc.exepath"] for a in mine] == [
        shutil.which("setcap"),
        str(renamed),
    ], mine
    assert {"CVE-2023-2640", "CVE-2023-32629", "T1068"} <= set(mine[0]["tags"])
    # the copy-up kept the (namespaced) capability in the upper layer
    assert os.getxattr(top / "u" / "f", "security.capability")


def test_the_exploits_last_step_running_what_the_upper_layer_holds(scratch: Path) -> None:
    res = scratch / "upper"  # what a vulnerable kernel leaves there, made by root
    res.mkdir(mode=0o755)
    suid = res / "suidroot"
    shutil.copy("/bin/true", suid)
    suid.chmod(0o4755)
    plain = res / "plain"
    shutil.copy("/bin/true", plain)
    capsleep = res / "capsleep"
    shutil.copy("/bin/sleep", capsleep)
    subprocess.run(["setcap", "cap_setuid+ep", str(capsleep)], check=True, timeout=30)

    def action() -> None:
        for cmd in (
            [str(suid)],  # look-alike: root runs it (the bit grants nothing)
            [*_AS_NOBODY, str(plain)],  # look-alike: no set-uid bit, no capability
            [*_AS_NOBODY, "/bin/su", "--help"],  # look-alike: a set-uid root program of the OS
            [*_AS_NOBODY, str(suid)],
            # alive long enough for its file capabilities to be read from /proc
            [*_AS_NOBODY, str(capsleep), "2"],
        ):
            subprocess.run(cmd, capture_output=True, check=True, timeout=30)

    alerts = alerts_during(action)
    # the pack's alerts for this test's programs and su (other sessions share the machine)
    got = [
        (a["rule"], a["output_fields"]["proc.exepath"])
        for a in alerts
        if "cve" in a.get("tags", ())
        and (
            str(scratch) in str(a["output_fields"].get("proc.exepath"))
            or str(a["output_fields"].get("proc.exepath")).endswith("/su")
        )
    ]
    assert got == [(_SETUID_RUN, str(suid)), (_FCAP_RUN, str(capsleep))], alerts
    f = next(a for a in alerts if a["rule"] == _FCAP_RUN and str(scratch) in a["output"])[
        "output_fields"
    ]
    assert f["proc.exe_fcaps"] == "CAP_SETUID" and f["user.uid"] == _NOBODY
