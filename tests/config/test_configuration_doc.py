"""docs/configuration.md lists every configuration key, as generated from the pydantic models."""

from __future__ import annotations

import re
from pathlib import Path

from secengine.config import AgentConfig, reference_markdown, reference_rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _table() -> str:
    text = DOC.read_text()
    m = re.search(r"<!-- BEGIN KEYS -->\n(.*)<!-- END KEYS -->", text, re.DOTALL)
    assert m is not None, "docs/configuration.md lost its BEGIN/END KEYS markers"
    return m.group(1)


def test_the_key_table_is_the_generated_one() -> None:
    assert _table() == reference_markdown(), (
        "docs/configuration.md is out of date: paste secengine.config.reference_markdown()"
    )


def test_every_model_field_is_a_row() -> None:
    keys = {key for key, _, _ in reference_rows()}
    documented = set(re.findall(r"^\| `([^`]+)` \|", _table(), re.MULTILINE))
    assert keys == documented
    assert set(AgentConfig.model_fields) <= keys
    for key in (
        "http_output.url",
        "file_output.max_size",
        "rules[].disable.tag",
        "append_output[].match.tags",
        "webserver.k8s_healthz_endpoint",
        "outputs.max_burst",
        "syscall_event_drops.threshold",
    ):
        assert key in keys
