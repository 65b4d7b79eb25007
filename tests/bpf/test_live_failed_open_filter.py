"""Failed read-only opens are dropped in the kernel when the rules read failed opens only
for writing (``sources.syscall_interest.failed_write_only_types``): the shipped rules but
CVE-2024-21626's; with the whole pack, all but those whose path starts with /proc/ or
/dev/fd/, which CVE-2024-21626's rule reads.

The CVE pack's rules match refused opens for writing (``core_pattern``, ``release_agent``,
an overlayfs copy-up), so with the pack loaded the success-only filter no longer applies to
opens; without this one every failed lookup of a library or PATH search on the node would
reach userspace.
"""

from __future__ import annotations

import os
import sys
import uuid

import pytest

pytestmark = pytest.mark.bpf


def _failed_opens(
    source, live, rules, token: str, paths: list[tuple[str, int]]
) -> list[tuple[str, str]]:
    """(fd.nameraw, evt.res) of the failed opens of ``paths`` (with their flags; each
    containing ``token``) a child made that reached userspace with ``rules`` loaded."""
    code = (
        "import os, sys\n"
        f"for path, flags in {paths!r}:\n"
        "    try:\n"
        "        os.open(path, flags)\n"
        "    except OSError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(1)\n"
    )
    holder: dict[str, int] = {}

    def action() -> None:
        import subprocess

        p = subprocess.Popen([sys.executable, "-c", code])
        holder["pid"] = p.pid
        assert p.wait(timeout=60) == 0

    source.use_rules(rules)
    try:
        snaps, _ = live.collect(
            source,
            action,
            ["fd.name", "fd.nameraw", "evt.res", "evt.is_open_write", "proc.pid"],
            where=lambda f: f["evt.type"] in ("open", "openat") and token in (f["fd.name"] or ""),
        )
    finally:
        source.use_rules(None)
    return [(s["fd.nameraw"], s["evt.res"]) for s in snaps if s["proc.pid"] == holder["pid"]]


def _shipped() -> list:
    from secengine.ruleset.paths import default_rules_files
    from secengine.sources.specs import load_rules

    shipped = load_rules([str(p) for p in default_rules_files()])
    assert shipped.successful, shipped.render_text()
    return list(shipped.rules)


def test_a_failed_read_only_open_is_dropped_a_failed_write_open_arrives(source, live) -> None:
    # CVE-2024-21626's rule reads refused read-only opens (through /proc/*/fd/N/): without it,
    # no shipped rule does (tests/sources/test_cve_pack_interest.py)
    rules = [r for r in _shipped() if "CVE-2024-21626" not in r.tags]
    token = uuid.uuid4().hex
    missing = f"/nonexistent-{token}"
    got = _failed_opens(
        source,
        live,
        rules,
        token,
        [
            (f"{missing}/read", os.O_RDONLY),
            (f"{missing}/write", os.O_WRONLY | os.O_CREAT),
            (f"{missing}/rdwr", os.O_RDWR),
        ],
    )
    assert got == [(f"{missing}/write", "ENOENT"), (f"{missing}/rdwr", "ENOENT")]


def test_with_the_whole_pack_only_failed_reads_through_fd_links_arrive(source, live) -> None:
    """CVE-2024-21626's rule reads failed opens whose path as passed goes through
    /proc/*/fd/N/ or /dev/fd/N/: the probe keeps failed read-only opens below /proc/ and
    /dev/fd/ and still drops the others (tests/bpf/test_live_cve_2024_21626.py checks that
    the rule still fires)."""
    token = uuid.uuid4().hex
    missing = f"/nonexistent-{token}"
    got = _failed_opens(
        source,
        live,
        _shipped(),
        token,
        [
            (f"{missing}/read", os.O_RDONLY),
            (f"/proc/self/fd/987/x-{token}", os.O_RDONLY),
            (f"/dev/fd/987/x-{token}", os.O_RDONLY),
            (f"/prox/self/fd/987/x-{token}", os.O_RDONLY),
            (f"{missing}/write", os.O_WRONLY | os.O_CREAT),
        ],
    )
    assert [raw for raw, _ in got] == [
        f"/proc/self/fd/987/x-{token}",
        f"/dev/fd/987/x-{token}",
        f"{missing}/write",
    ], got
    assert all(res.startswith("E") for _, res in got), got
