"""With the shipped rules, the probe captures ``setsockopt`` only from 32-bit calls
(``sources.syscall_interest.compat_only_types``): CVE-2021-22555's rule reads nothing else of
it, and every TCP server makes x86_64 ``setsockopt`` calls on each connection it accepts.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from c_programs import build_c

pytestmark = pytest.mark.bpf

_STANDIN = Path(__file__).parent / "cve_programs" / "kernel_surface_standin.c"
#: a 64-bit SO_REUSEADDR; the token in the command line tells this run's processes apart
_NATIVE = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
)


def _setsockopts(source, live, rules, token: str) -> list[tuple[str, bool]]:
    """(proc.name, evt.is_compat) of the setsockopt calls of a 64-bit and a 32-bit
    SO_REUSEADDR that reached userspace with ``rules`` pushed down into the probe."""
    standin = build_c("standin", _STANDIN.read_text(), flags=("-static", "-no-pie"))

    def action() -> None:
        import subprocess

        subprocess.run([sys.executable, "-c", _NATIVE, token], check=True, timeout=60)
        subprocess.run([standin, "sockopt32", token], check=True, timeout=60)

    source.use_rules(rules)
    try:
        snaps, _ = live.collect(
            source,
            action,
            ["proc.name", "evt.is_compat", "proc.cmdline"],
            where=lambda f: f["evt.type"] == "setsockopt" and token in (f["proc.cmdline"] or ""),
        )
    finally:
        source.use_rules(None)
    return sorted({(s["proc.name"], s["evt.is_compat"]) for s in snaps})


def _shipped() -> list:
    from secengine.ruleset.paths import default_rules_files
    from secengine.sources.specs import load_rules

    shipped = load_rules([str(p) for p in default_rules_files()])
    assert shipped.successful, shipped.render_text()
    return list(shipped.rules)


def test_the_shipped_rules_keep_a_32_bit_setsockopt_and_drop_a_64_bit_one(source, live) -> None:
    token = uuid.uuid4().hex
    got = _setsockopts(source, live, _shipped(), token)
    assert got == [("standin", True)], got


def test_without_the_filter_both_arrive(source, live) -> None:
    """The other half: the 64-bit call is the probe's to drop, not missing from the test."""
    token = uuid.uuid4().hex
    got = _setsockopts(source, live, None, token)
    assert ("standin", True) in got and [c for _, c in got] == [False, True], got
