"""Kernel bugs reached from a user namespace, live: ``secengine run --json`` with the shipped rules.

CVE-2024-1086, CVE-2022-0185, CVE-2021-22555 and CVE-2022-2588/CVE-2023-3776 reach a
kernel bug from a user namespace the attacker makes (``unshare -Urn`` / ``-Urm``): an
nf_tables batch whose rule carries the bad verdict, a filesystem context fed oversized
options, a 32-bit ``IPT_SO_SET_REPLACE``, a route or fw traffic-control filter created and
deleted. The stand-in
(``cve_programs/kernel_surface_standin.c``, one static non-PIE program so that ``int $0x80``
reaches its buffers) makes those calls with the exploits' arguments, inside namespaces it
makes for itself and that die with it; this kernel is patched, so the calls fail or change
only the scratch namespace, and the attempt is the signal. Each test runs the benign
look-alikes first, then the exploit variants, and waits for the exploits' alerts: a
look-alike that alerted would have been read by then.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from c_programs import build_c
from podman_support import IMAGE, PODMAN_RUN, build_image
from secengine_run import Run, stop

pytestmark = pytest.mark.bpf

_SOURCE = Path(__file__).parent / "cve_programs" / "kernel_surface_standin.c"


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    r = Run()
    yield r
    stop(r.proc)


@pytest.fixture(scope="module")
def standin() -> str:
    return build_c("standin", _SOURCE.read_text(), flags=("-static", "-no-pie"))


def _renamed(program: str, tmp: Path, name: str) -> str:
    """A copy of ``program`` called ``name`` (rules match the behaviour, not the name)."""
    path = tmp / name
    shutil.copy(program, path)
    return str(path)


def _host(program: str, mode: str, token: str) -> None:
    r = subprocess.run([program, mode, token], capture_output=True, timeout=60, check=False)
    assert r.returncode == 0, f"{program} {mode} failed with {r.returncode}"


def _rules(alerts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["rule"], a["output_fields"]["proc.cmdline"]) for a in alerts]


_NFT_RULE = "nf_tables Changed From an Unprivileged User Namespace (CVE-2024-1086)"
_FS_RULE = "Filesystem Context Abused From an Unprivileged User Namespace (CVE-2022-0185)"
_IPT_RULE = "x_tables Ruleset Set by a 32-bit Call (CVE-2021-22555)"
_TC_RULE = (
    "Traffic Control Filter Changed From an Unprivileged User Namespace"
    " (CVE-2022-2588, CVE-2023-3776)"
)


def test_cve_2024_1086_nf_tables_batch_from_a_user_namespace(run, standin, tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    # look-alikes: root's batch in a private network namespace of the host's user
    # namespace, and a listing (no batch) from a user namespace
    _host(standin, "nfthost", token)
    _host(standin, "nftlist", token)
    # the exploit's batch; the same by a copy named like podman's network helper; 32-bit
    netavark = _renamed(standin, tmp_path, "netavark")
    _host(standin, "nft", token)
    _host(netavark, "nft", token)
    _host(standin, "nft32", token)
    alerts = run.cve_alerts(token, 3)
    assert _rules(alerts) == [
        (_NFT_RULE, f"standin nft {token}"),
        (_NFT_RULE, f"netavark nft {token}"),
        (_NFT_RULE, f"standin nft32 {token}"),
    ], alerts
    a = alerts[0]
    assert {"CVE-2024-1086", "T1068", "cve"} <= set(a["tags"]) and a["priority"] == "Critical"
    assert a["output_fields"]["evt.netlink.msgtypes"] == [
        "NFNL_MSG_BATCH_BEGIN",
        "NFT_MSG_NEWTABLE",
        "NFT_MSG_NEWCHAIN",
        "NFT_MSG_NEWRULE",
        "NFNL_MSG_BATCH_END",
    ]
    assert alerts[2]["output_fields"]["evt.is_compat"] is True


def test_cve_2022_0185_fs_context_from_a_user_namespace(run, standin, tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    _host(standin, "fstmpfs", token)  # look-alike: mount -t tmpfs -o size=1m in unshare -Urm
    _host(standin, "fs", token)
    _host(_renamed(standin, tmp_path, "mount"), "fs32", token)
    # each: fsopen("ext4"), three fsconfig with the empty key, one with a 250-byte value
    alerts = run.cve_alerts(token, 10)
    assert {r for r, _ in _rules(alerts)} == {_FS_RULE}, alerts
    by_cmd: dict[str, list[tuple[Any, ...]]] = {}
    for a in alerts:
        f = a["output_fields"]
        by_cmd.setdefault(f["proc.cmdline"], []).append(
            (f["evt.type"], f["evt.arg.fsname"], f["evt.arg.key"], f["evt.arg.value_charbuf"])
        )
    for cmd in (f"standin fs {token}", f"mount fs32 {token}"):
        assert by_cmd[cmd] == [
            ("fsopen", "ext4", None, None),
            *[("fsconfig", None, "", "A" * 33)] * 3,
            ("fsconfig", None, "size", "A" * 250),
        ], by_cmd
    assert set(by_cmd) == {f"standin fs {token}", f"mount fs32 {token}"}


def test_cve_2021_22555_32bit_iptables_replace(run, standin, tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    _host(standin, "ipt", token)  # look-alike: 64-bit iptables-legacy in unshare -Urn
    _host(standin, "sockopt32", token)  # look-alike: a 32-bit SO_REUSEADDR
    _host(_renamed(standin, tmp_path, "iptables"), "ipt32", token)
    alerts = run.cve_alerts(token, 1)
    assert _rules(alerts) == [(_IPT_RULE, f"iptables ipt32 {token}")], alerts
    f = alerts[0]["output_fields"]
    assert (f["evt.arg.level_num"], f["evt.arg.optname_num"]) == ("0", "64")
    assert f["evt.rawarg.optlen"] == 3920 and f["proc.is_host_userns"] is False


def test_cve_2021_22555_through_socketcall(run, standin) -> None:
    """The published exploit is built with ``gcc -m32``: Debian's i386 C library sends its
    setsockopt through ``socketcall(SYS_SETSOCKOPT)``; the probe decodes the multiplexer into
    the direct 32-bit setsockopt, with the arguments read from the call's array."""
    token = uuid.uuid4().hex
    _host(standin, "iptsocketcall", token)
    alerts = run.cve_alerts(token, 1)
    assert _rules(alerts) == [(_IPT_RULE, f"standin iptsocketcall {token}")], alerts
    f = alerts[0]["output_fields"]
    assert (f["evt.arg.level_num"], f["evt.arg.optname_num"]) == ("0", "64")
    assert f["evt.rawarg.optlen"] == 3920 and f["proc.is_host_userns"] is False


def test_cve_2022_2588_and_2023_3776_tc_filters_from_a_user_namespace(
    run, standin, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex
    _host(standin, "tcqdisc", token)  # look-alike: a qdisc made and removed in unshare -Urn
    # a route filter with handle 0, then its deletion; a fw filter by a renamed 32-bit copy
    # (this kernel has neither classifier: both requests fail with ENOENT, still the attempt)
    _host(standin, "tcroute", token)
    _host(_renamed(standin, tmp_path, "tc"), "tcfw32", token)
    alerts = run.cve_alerts(token, 4)
    assert [(r, c.split()[1]) for r, c in _rules(alerts)] == [(_TC_RULE, "tcroute")] * 2 + [
        (_TC_RULE, "tcfw32")
    ] * 2, alerts
    assert [a["output_fields"]["evt.netlink.msgtypes"] for a in alerts] == [
        ["RTM_NEWTFILTER"],
        ["RTM_DELTFILTER"],
    ] * 2
    assert {"CVE-2022-2588", "CVE-2023-3776", "T1068"} <= set(alerts[0]["tags"])
    assert [a["output_fields"]["evt.is_compat"] for a in alerts] == [False, False, True, True]


def test_the_exploits_from_a_podman_container(run, standin) -> None:
    """As container escapes: each exploit from inside a container (unconfined seccomp, as
    Kubernetes runs pods unless they ask for RuntimeDefault), its look-alike next to it."""
    build_image()
    token = uuid.uuid4().hex
    name = f"i15-cveb-{token[:8]}"
    script = "; ".join(
        f"/standin {m} {token} || echo {m} failed: $?"
        for m in ("nftlist", "fstmpfs", "ipt", "tcqdisc", "nft", "fs", "ipt32", "tcroute")
    )
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    r = subprocess.run(
        [
            *PODMAN_RUN,
            "--rm",
            "--name",
            name,
            "--security-opt",
            "seccomp=unconfined",
            "-v",
            f"{standin}:/standin:ro",
            IMAGE,
            "sh",
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0 and "failed" not in r.stdout, (r.stdout, r.stderr)
    alerts = run.cve_alerts(token, 1 + 5 + 1 + 2)
    got = [(rule, cmd.split()[1]) for rule, cmd in _rules(alerts)]
    assert got == [
        (_NFT_RULE, "nft"),
        *[(_FS_RULE, "fs")] * 5,
        (_IPT_RULE, "ipt32"),
        *[(_TC_RULE, "tcroute")] * 2,
    ], alerts
    assert all(a["output_fields"]["container.id"] not in ("host", "", None) for a in alerts)
