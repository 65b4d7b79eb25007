"""Output files: written together or not at all, private ones 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from secengine.profile.errors import ProfileError
from secengine.profile.files import PRIVATE, check_writable, write_files


def test_files_are_written_with_their_modes_and_no_temporary_is_left(tmp_path: Path) -> None:
    old = tmp_path / "a.json"
    old.write_text("old")
    old.chmod(0o644)
    write_files([(old, "new", PRIVATE), (tmp_path / "b.json", "b", 0o644)])
    assert old.read_text() == "new" and stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.json"]


def test_one_file_that_cannot_be_written_means_none_is(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot write .*missing/b.json"):
        write_files(
            [(tmp_path / "a.json", "a", PRIVATE), (tmp_path / "missing" / "b.json", "b", PRIVATE)]
        )
    assert os.listdir(tmp_path) == []


def test_outputs_are_checked_before_recording(tmp_path: Path) -> None:
    check_writable(tmp_path / "p.json")
    with pytest.raises(ProfileError, match="the directory .*/nope does not exist"):
        check_writable(tmp_path / "nope" / "p.json")
    with pytest.raises(ProfileError, match="it is a directory"):
        check_writable(tmp_path)
