"""Runtime init baselines: the shipped one, lookup by version, saving what was measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from secengine.profile.baselines import (
    SHIPPED_DIR,
    VARIANTS,
    baseline_from_recordings,
    find_baseline,
    load_baseline,
)
from secengine.profile.errors import ProfileError
from secengine.profile.recording import Recording


def test_the_shipped_runc_baseline_lets_a_container_start() -> None:
    base = load_baseline(SHIPPED_DIR / "runc-1.1.5.json")
    init = base.syscalls.seen(("init",))
    # what runc init does under the filter: drop capabilities, set ids, exec the entrypoint
    assert {"capset", "setuid", "setgid", "setgroups", "execve", "prctl"} <= init
    assert "mount" not in init and "pivot_root" not in init  # done before the filter
    assert set(base.meta["variants"]) == {label for label, _ in VARIANTS}


def test_lookup_exact_then_nearest(tmp_path: Path) -> None:
    base, exact = find_baseline("runc", "1.1.5", (tmp_path, SHIPPED_DIR))
    assert exact and base.label == "runc-1.1.5"
    base, exact = find_baseline("runc", "1.1.12", (tmp_path, SHIPPED_DIR))
    assert not exact and base.label == "runc-1.1.5"
    with pytest.raises(ProfileError, match="no init baseline for runtime youki"):
        find_baseline("youki", "0.3.0", (tmp_path, SHIPPED_DIR))


def test_recorded_baselines_are_found_first(tmp_path: Path) -> None:
    recs = []
    for extra in ("setgroups", "fchown"):
        rec = Recording(mode="run")
        rec.syscalls.add("init", "ok", {"execve", extra})
        rec.syscalls.add("pre", "ok", {"mount"})
        recs.append(rec)
    base = baseline_from_recordings(
        "runc", "1.1.5", recs, "podman 4.3.1", ["default", "non-root user"]
    )
    assert base.meta["variants"] == {
        "default": ["execve", "setgroups"],
        "non-root user": ["execve", "fchown"],
    }
    path = base.save(tmp_path)
    found, exact = find_baseline("runc", "1.1.5", (tmp_path, SHIPPED_DIR))
    assert exact and found.path == path
    assert found.syscalls.seen(("init",)) == {"execve", "setgroups", "fchown"}
    assert found.syscalls.seen(("pre",)) == {"mount"}


def test_a_file_that_is_not_a_baseline(tmp_path: Path) -> None:
    bad = tmp_path / "runc-9.json"
    bad.write_text('{"format": "x"}')
    with pytest.raises(ProfileError, match="not a runtime baseline"):
        load_baseline(bad)
