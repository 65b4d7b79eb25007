"""Failed read-only opens are dropped in the kernel when the rules read failed opens only
for writing (``sources.syscall_interest.failed_write_only_types``): the shipped rules but
CVE-2024-21626's.

The CVE pack's rules match refused opens for writing (``core_pattern``, ``release_agent``,
an overlayfs copy-up), so with the pack loaded the success-only filter no longer applies to
opens; without this one every failed lookup of a library or PATH search on the node would
reach userspace.
"""

from __future__ import annotations

import sys
import uuid

import pytest

pytestmark = pytest.mark.bpf


def test_a_failed_read_only_open_is_dropped_a_failed_write_open_arrives(source, live) -> None:
    from secengine.ruleset.paths import default_rules_files
    from secengine.sources.specs import load_rules

    shipped = load_rules([str(p) for p in default_rules_files()])
    assert shipped.successful, shipped.render_text()
    # CVE-2024-21626's rule reads refused read-only opens (through /proc/*/fd/N/): without it,
    # no shipped rule does (tests/sources/test_cve_pack_interest.py)
    rules = [r for r in shipped.rules if "CVE-2024-21626" not in r.tags]
    token = uuid.uuid4().hex
    missing = f"/nonexistent-{token}"
    code = (
        "import os\n"
        "for path, flags in (({!r}, os.O_RDONLY), ({!r}, os.O_WRONLY | os.O_CREAT),"
        " ({!r}, os.O_RDWR)):\n"
        "    try:\n"
        "        os.open(path, flags)\n"
        "    except FileNotFoundError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(1)\n"
    ).format(f"{missing}/read", f"{missing}/write", f"{missing}/rdwr")
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
            ["fd.name", "evt.res", "evt.is_open_write", "proc.pid"],
            where=lambda f: f["evt.type"] in ("open", "openat") and token in (f["fd.name"] or ""),
        )
    finally:
        source.use_rules(None)
    mine = [(s["fd.name"], s["evt.res"]) for s in snaps if s["proc.pid"] == holder["pid"]]
    assert mine == [(f"{missing}/write", "ENOENT"), (f"{missing}/rdwr", "ENOENT")], snaps
