"""Every key docs/configuration.md shows is one the code accepts.

The generated key table is checked in test_configuration_doc.py; this file
checks the rest of the page: its YAML example loads and every source and
output it configures accepts its settings (built, not started), every
``-o key=value`` parses, and every key named in the prose is a real key.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from secengine.agent import build_sinks, build_sources
from secengine.config import FALCO_IGNORED_KEYS, load_config, reference_rows
from secengine.plugins import source_registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
TEXT = DOC.read_text()
#: The prose before the generated table (the table itself is the models' own output).
PROSE = TEXT.split("<!-- BEGIN KEYS -->")[0] + TEXT.split("<!-- END KEYS -->")[-1]
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, re.DOTALL)


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=[f"yaml-{i}" for i in range(len(YAML_BLOCKS))])
def test_the_yaml_examples_load_and_their_plugins_accept_them(block: str, tmp_path: Path) -> None:
    path = tmp_path / "secengine.yaml"
    path.write_text(block)
    cfg = load_config(path)
    sources = build_sources(cfg)
    sinks = build_sinks(cfg)
    assert sources and sinks


def test_the_page_has_a_yaml_example() -> None:
    assert YAML_BLOCKS


def test_every_dash_o_option_shown_parses() -> None:
    text = re.sub(r"```.*?```", "", PROSE, flags=re.DOTALL)  # the error examples are bad on purpose
    options = [
        o for o in re.findall(r"-o ([a-z_.\[\]]+=[^`\s]+)", text) if not o.startswith("key")
    ]  # the syntax's placeholder, key[]=value
    assert options
    for option in options:
        load_config(options=[option])


def _known_keys() -> set[str]:
    keys = {key for key, _, _ in reference_rows()}
    # parents of nested keys (``http_output``), without list/map markers
    for key in list(keys):
        parts = key.replace("[]", "").split(".")
        keys.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    # ``sources.NAME`` holds a source plugin's own settings (documented per source)
    sources = {f"sources.{name}" for name in source_registry().names()}
    return keys | FALCO_IGNORED_KEYS | {"rules_file"} | sources


def test_every_key_named_in_the_prose_exists() -> None:
    known = _known_keys()
    top = {k.split(".")[0] for k in known}
    named = {m for m in re.findall(r"`([a-z_]+(?:\.[a-z_]+)*)`", PROSE) if m.split(".")[0] in top}
    assert named
    unknown = sorted(n for n in named if n not in known)
    assert not unknown, f"docs/configuration.md names keys the models do not have: {unknown}"
