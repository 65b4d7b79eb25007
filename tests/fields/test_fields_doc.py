"""docs/fields.md is what ``secengine fields --markdown`` prints from the field tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from secengine.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "fields.md"
_FIRST_CLASS = "## Field Class:"


def _generated_part() -> str:
    text = DOC.read_text()
    assert _FIRST_CLASS in text, "docs/fields.md lost its field classes"
    return text[text.index(_FIRST_CLASS) :]


def test_the_committed_reference_is_the_generated_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "--markdown"]) == 0
    generated = capsys.readouterr().out
    assert _generated_part() == generated, (
        "docs/fields.md is stale: replace everything from the first '## Field Class:' with "
        "the output of 'secengine fields --markdown'"
    )
