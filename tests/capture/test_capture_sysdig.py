"""The capture reader against sysdig 0.29.3, field by field, on falcosecurity/libs' captures.

Each event secengine yields must print the same :data:`~sysdig_golden.FIELDS` as sysdig,
except for the differences listed in :data:`KNOWN` (docs/capture-format.md says why each is
one); the test fails on any other difference and on a known one that no longer happens.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sysdig_golden import CAPTURES, DATA, FIELDS, golden, sysdig_lines

from secengine.capture.replay import CaptureReplay, open_capture

_I = {f: i for i, f in enumerate(FIELDS)}


def ours(capture: str) -> list[list[str]]:
    path = DATA / f"{capture}.scap"
    rows = []
    with open(path, "rb") as raw:
        for batch in CaptureReplay(open_capture(raw), str(path)).batches():
            for ev in batch:
                if ev.type == "switch":
                    continue
                row = []
                for f in FIELDS:
                    v = ev.fields.get(f)
                    row.append(
                        "<NA>" if v is None else str(v).lower() if type(v) is bool else str(v)
                    )
                rows.append(row)
    return rows


def _fd_less_mmap(s: list[str], o: list[str]) -> bool:
    # the current event table gives mmap EF_USES_FD (driver/event_table.c); 0.29.3's did not
    return s[_I["evt.type"]] == "mmap" and s[_I["fd.num"]] == "<NA>"


def _unix_socket_name(s: list[str], o: list[str]) -> bool:
    # sysdig 0.29.3 names a unix socket "source->dest path" for the connect event only (a
    # failed connect leaves it unnamed); the live path names it by the path it connected to
    return s[_I["fd.typechar"]] == "u" and (
        s[_I["fd.name"]].endswith(" " + o[_I["fd.name"]]) or s[_I["fd.name"]] == ""
    )


def _thread_parent(s: list[str], o: list[str]) -> bool:
    # sysdig 0.29.3's proc.pname of a non-main thread is the main thread's name
    return s[_I["proc.pname"]] != o[_I["proc.pname"]]


def _failed_open_type(s: list[str], o: list[str]) -> bool:
    # a failed open: sysdig has fd.typechar f but no fd.type; the live fields say file
    return s[_I["evt.rawres"]].startswith("-") and s[_I["fd.type"]] == "<NA>"


def _fd_not_in_table(s: list[str], o: list[str]) -> bool:
    # an fd the capture never described (the process came in by execve, its inherited fds
    # unknown): sysdig 0.29.3 makes an unknown-type ("o") entry, secengine knows nothing
    return s[_I["fd.typechar"]] == "o" and o[_I["fd.typechar"]] == "<NA>"


def _udp_tuple(s: list[str], o: list[str]) -> bool:
    # UDP: sysdig 0.29.3 keeps the first connect's peer after a re-connect, and fills an
    # unbound source from the destination; secengine follows the capture's tuple, as current
    # libsinsp does
    return s[_I["fd.l4proto"]] == "udp"


KNOWN: dict[str, Callable[[list[str], list[str]], bool]] = {
    "mmap fd": _fd_less_mmap,
    "unix socket name": _unix_socket_name,
    "non-main thread pname": _thread_parent,
    "failed open type": _failed_open_type,
    "fd not in the table": _fd_not_in_table,
    "udp tuple": _udp_tuple,
}
#: fields a known difference may explain, per difference
_EXPLAINS = {
    "mmap fd": {
        "fd.num",
        "fd.name",
        "fd.type",
        "fd.typechar",
        "fd.directory",
        "fd.l4proto",
        "fd.filename",
    },
    "unix socket name": {"fd.name"},
    "non-main thread pname": {"proc.pname"},
    "failed open type": {"fd.type", "fd.filename"},
    "fd not in the table": {"fd.typechar", "fd.directory", "fd.num", "fd.name", "fd.filename"},
    "udp tuple": {"fd.name", "fd.sip", "fd.sport", "fd.cip", "fd.cport"},
}


@pytest.mark.parametrize("capture", CAPTURES)
def test_fields_equal_sysdig(capture: str) -> None:
    expected = [line.split("|") for line in golden(capture)]
    got = ours(capture)
    assert [r[0] for r in got] == [r[0] for r in expected], "not the same events"
    unexplained = []
    for s, o in zip(expected, got, strict=True):
        diff = {f for f, a, b in zip(FIELDS, s, o, strict=True) if a != b}
        if not diff:
            continue
        why = {k for k, test in KNOWN.items() if test(s, o)}
        explained = set().union(*(_EXPLAINS[k] for k in why)) if why else set()
        if diff - explained:
            unexplained.append((s[0], sorted(diff - explained), s, o))
    assert not unexplained, "\n".join(
        f"evt.num {n}: {d}\n  sysdig: {'|'.join(s)}\n  ours:   {'|'.join(o)}"
        for n, d, s, o in unexplained[:10]
    )


def test_every_known_difference_still_happens() -> None:
    """A difference secengine no longer has must leave :data:`KNOWN` (and the docs' table)."""
    used: set[str] = set()
    for capture in CAPTURES:
        expected = [line.split("|") for line in golden(capture)]
        for s, o in zip(expected, ours(capture), strict=True):
            diff = {f for f, a, b in zip(FIELDS, s, o, strict=True) if a != b}
            used |= {k for k, test in KNOWN.items() if diff & _EXPLAINS[k] and test(s, o)}
    assert used == set(KNOWN), sorted(set(KNOWN) - used)


@pytest.mark.skipif(shutil.which("sysdig") is None, reason="sysdig is not installed")
@pytest.mark.parametrize("capture", CAPTURES)
def test_golden_is_what_sysdig_prints(capture: str) -> None:
    assert sysdig_lines(capture) == golden(capture)


def test_captures_are_vendored_unchanged() -> None:
    assert (Path(DATA) / "README.md").read_text().count("Apache") >= 1


#: (capture, filter, events sysdig 0.29.3 matches among the exit events)
MATCHES = [
    ("curl_google", "evt.type=open and fd.name startswith /lib", 10),
    ("curl_google", "evt.type=connect and fd.l4proto=udp", 1),
    ("curl_google", "evt.type=open and evt.res!=SUCCESS", 1),
    ("curl_google", "proc.name=curl and evt.type=execve", 1),
    ("curl_google", "evt.type=close and fd.typechar=6", 3),
    ("curl_google", "evt.type=procexit and evt.dir='>' and proc.name=curl", 2),
    ("test_ipv6_client", "evt.type=sendto and fd.l4proto=udp and evt.rawres>0", 3),
    ("single_ipv6_conn", "evt.type=accept and fd.sport=1234", 1),
    ("single_ipv6_conn", "evt.type=read and fd.cip=2001:db8::4", 2),
]


@pytest.mark.parametrize(("capture", "condition", "count"), MATCHES)
def test_rule_matches_equal_sysdigs(
    tmp_path: Path, capture: str, condition: str, count: int
) -> None:
    """``secengine replay CAPTURE`` (no flag: the magic says it is a capture) alerts on the
    events sysdig's filter matches."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"- rule: r\n  desc: d\n  condition: {condition}\n  output: 'n=%evt.num'\n"
        "  priority: WARNING\n"
    )
    p = subprocess.run(
        [str(Path(sys.executable).with_name("secengine")), "replay", "--json", "-r", str(rules)]
        + [str(DATA / f"{capture}.scap")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == count, p.stdout


@pytest.mark.skipif(shutil.which("sysdig") is None, reason="sysdig is not installed")
@pytest.mark.parametrize(("capture", "condition", "count"), MATCHES)
def test_match_counts_are_sysdigs(capture: str, condition: str, count: int) -> None:
    # the events secengine evaluates: exits, and events with no exit (procexit)
    where = "evt.dir=<" if "evt.dir" not in condition else "evt.num>0"
    out = subprocess.run(
        ["sysdig", "-r", str(DATA / f"{capture}.scap"), f"({condition}) and {where}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert len(out.splitlines()) == count
