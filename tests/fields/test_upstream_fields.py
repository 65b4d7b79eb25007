"""Every field Falco's syscall rule files use resolves for the syscall source.

The three upstream files (read from ``../shared/rules-upstream``, never
copied into the repository) must load unmodified, so every field in their
conditions and outputs must be declared. Conditions are scanned for a dotted
name in check position: not preceded by a path or word character and followed
(after an optional ``[arg]``) by a comparison operator; that keeps list items
such as ``docker.io/library`` or ``nginx.conf`` out without knowing field
names in advance. Outputs are scanned for ``%field`` tokens.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from upstream_rules import UPSTREAM, needs_upstream, require

from secengine.fields import FieldRegistry

FILES = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")

_OPERATORS = (
    r"(?:==|=|!=|<=|<|>=|>|exists\b|in\b|in\(|intersects\b|pmatch\b|contains\b"
    r"|icontains\b|bcontains\b|startswith\b|bstartswith\b|endswith\b|glob\b|iglob\b"
    r"|regex\b)"
)
_NAME = r"([a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)+)(\[[^\]]*\])?"
CONDITION_FIELD = re.compile(r"(?<![\w./%-])" + _NAME + r"(?=\s*" + _OPERATORS + ")")
OUTPUT_FIELD = re.compile(r"%" + _NAME)


def _fields_of(path: Path) -> set[tuple[str, str | None]]:
    items = YAML(typ="safe").load(path.read_text())
    found: set[tuple[str, str | None]] = set()
    for item in items:
        for key, pattern in (("condition", CONDITION_FIELD), ("output", OUTPUT_FIELD)):
            text = item.get(key) if isinstance(item, dict) else None
            if isinstance(text, str):
                for m in pattern.finditer(text):
                    found.add((m.group(1), m.group(2)[1:-1] if m.group(2) else None))
    return found


@pytest.fixture(scope="module")
def used() -> dict[str, set[tuple[str, str | None]]]:
    require()
    return {name: _fields_of(UPSTREAM / name) for name in FILES}


def test_scan_finds_the_fields_the_rules_use(used: dict[str, set[tuple[str, str | None]]]) -> None:
    # The scan must not be vacuous: spot-check fields of every kind (spec §5).
    everything = set().union(*used.values())
    assert len(everything) > 100
    for expected in [
        ("proc.aname", "2"),
        ("proc.aname", None),
        ("evt.arg.flags", None),
        ("container.mount.dest", "/proc*"),
        ("k8s.ns.name", None),
        ("fd.sip.name", None),
        ("thread.cap_permitted", None),
        ("proc.exe_ino.ctime", None),
        ("fd.net", None),
        ("evt.num", None),
    ]:
        assert expected in everything, expected
    assert not any(name.endswith((".io", ".conf", ".com")) for name, _ in everything)


@pytest.mark.parametrize("filename", FILES)
def test_every_field_resolves(
    used: dict[str, set[tuple[str, str | None]]], filename: str, registry: FieldRegistry
) -> None:
    failures = []
    for name, arg in sorted(used[filename], key=lambda t: (t[0], t[1] or "")):
        try:
            registry.resolve("syscall", name, arg)
        except Exception as e:  # noqa: BLE001 - collect every failure for one report
            failures.append(f"{name}{'' if arg is None else f'[{arg}]'}: {e}")
    assert not failures, "\n".join(failures)


@needs_upstream
def test_output_fields_are_printable(
    used: dict[str, set[tuple[str, str | None]]], registry: FieldRegistry
) -> None:
    for filename in FILES:
        text = (UPSTREAM / filename).read_text()
        for m in OUTPUT_FIELD.finditer(text):
            rf = registry.resolve("syscall", m.group(1), m.group(2)[1:-1] if m.group(2) else None)
            assert not rf.field.filter_only, m.group(0)
