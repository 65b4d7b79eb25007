"""A third-party event source, installed as a package, works like a built-in one.

The package below (``tinysrc``) is written to a temporary directory with a
``.dist-info`` whose ``entry_points.txt`` registers its source class in the
``secengine.sources`` group, exactly what ``pip install`` of a wheel leaves
behind. It ships its own field class (``tiny.word``, ``tiny.count``), a
spec, a replay reader for its own file format (``word count`` lines) and a
``from_flags`` factory. Nothing in secengine names it: rules against its
fields load, evaluate and alert through the public API, ``secengine
replay`` and ``secengine run``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import secengine
from secengine import plugins
from secengine.sources import specs

PACKAGE = '''
"""tinysrc: a toy event source for secengine (one event per "word count" line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from secengine.events import Event
from secengine.fields.base import FieldClass, FieldDef, FieldType
from secengine.sources.base import BatchSource, SourceSpec
from secengine.sources.replay import ReplayStats

FIELD_CLASS = FieldClass(
    name="tiny",
    desc="Fields of tiny events.",
    sources=("tiny",),
    fields=(
        FieldDef("tiny.word", FieldType.CHARBUF, "the word of the line"),
        FieldDef("tiny.count", FieldType.UINT64, "the number after it"),
    ),
)

RULES = Path(__file__).with_name("tiny_rules.yaml")

SPEC = SourceSpec(name="tiny", field_classes=lambda: [FIELD_CLASS],
                  default_rules=lambda: [RULES],
                  replay_reader="tinysrc:read_files", event_noun="tiny event")

BUILTIN_LINES = ["hello 1", "hello 5", "bye 9"]


def _event(line: str, n: int) -> Event:
    word, count = line.split()
    return Event("tiny", 1_700_000_000_000_000_000 + n,
                 {"tiny.word": word, "tiny.count": int(count)})


class TinySource(BatchSource):
    name = "tiny"
    spec = SPEC

    def __init__(self, lines: list[str] | None = None) -> None:
        self.lines = BUILTIN_LINES if lines is None else lines
        self.stats = ReplayStats()

    @classmethod
    def from_flags(cls, args: Any) -> "TinySource":
        return cls()

    def batches(self):
        batch = []
        for n, line in enumerate(self.lines):
            self.stats.lines += 1
            batch.append(_event(line, n))
            self.stats.events += 1
        yield batch


def read_files(inputs, *, on_error=None, max_line_size=0):
    lines = []
    for name in inputs:
        lines.extend(l for l in Path(name).read_text().splitlines() if l.strip())
    source = TinySource(lines)
    source.stats.files = len(inputs)
    return source
'''

RULES = """\
- rule: Tiny hello
  desc: a hello counted more than twice
  condition: tiny.word = hello and tiny.count > 2
  output: "hello seen (word=%tiny.word count=%tiny.count)"
  priority: WARNING
  source: tiny
"""

ENTRY_POINTS = """\
[secengine.sources]
tiny = tinysrc:TinySource
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tinysrc`` importable and its entry point visible, as after ``pip install``."""
    site = tmp_path / "site"
    pkg = site / "tinysrc"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PACKAGE)
    (pkg / "tiny_rules.yaml").write_text(RULES)
    dist = site / "tinysrc-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tinysrc\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(plugins, "_SOURCES", None)  # read the entry points afresh
    yield site
    sys.modules.pop("tinysrc", None)


def _cli(site: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    return subprocess.run(
        [sys.executable, "-m", "secengine.cli", *argv],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_its_spec_is_found_through_the_entry_point(installed: Path) -> None:
    assert specs.names()[:2] == ["syscall", "k8s_audit"]  # secengine's own first
    assert "tiny" in specs.names()
    registry = specs.field_registry()
    assert registry.lookup("tiny", "tiny.count") is not None
    assert registry.lookup("tiny", "evt.time") is not None  # the generic class comes too
    assert registry.lookup("syscall", "tiny.word") is None
    assert registry.event_index("tiny") is None  # one bucket, like every plugin source
    assert [p.name for p in specs.default_rules_files()][-1] == "tiny_rules.yaml"


def test_rules_load_evaluate_and_alert_through_the_public_api(installed: Path) -> None:
    ruleset = secengine.load_rules([("tiny.yaml", RULES)])
    assert ruleset.successful, ruleset.render_text()
    engine = secengine.Engine(ruleset)
    hit = secengine.Event("tiny", 1, {"tiny.word": "hello", "tiny.count": 3})
    miss = secengine.Event("tiny", 2, {"tiny.word": "hello", "tiny.count": 1})
    alerts = engine.process_batch([hit, miss])
    assert [a.rule for a in alerts] == ["Tiny hello"]
    assert alerts[0].message == "hello seen (word=hello count=3)"
    assert alerts[0].output_fields["tiny.count"] == 3


def test_an_unknown_field_of_it_is_a_located_rule_error(installed: Path) -> None:
    bad = RULES.replace("tiny.count > 2", "tiny.nope > 2")
    ruleset = secengine.load_rules([("tiny.yaml", bad)])
    assert not ruleset.successful
    assert "tiny.nope" in ruleset.render_text()


def test_secengine_replay_reads_its_files_with_its_reader(installed: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.tiny"
    events.write_text("hello 7\nbye 3\nhello 1\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    done = _cli(installed, "replay", "--source", "tiny", "-r", str(rules), str(events))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and "Warning hello seen (word=hello count=7)" in lines[0]


def test_its_shipped_rules_load_when_no_rules_are_given(installed: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.tiny"
    events.write_text("hello 4\n")
    done = _cli(installed, "replay", "--source", "tiny", str(events))
    assert done.returncode == 0, done.stderr
    assert "Warning hello seen (word=hello count=4)" in done.stdout


def test_secengine_run_starts_it_from_flags(installed: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    done = _cli(installed, "run", "--source", "tiny", "-r", str(rules), "--duration", "20")
    assert done.returncode == 0, done.stderr
    assert "Warning hello seen (word=hello count=5)" in done.stdout
    assert "source tiny started with 1 rules" in done.stderr


def test_run_names_the_installed_sources_for_an_unknown_one(installed: Path) -> None:
    done = _cli(installed, "run", "--source", "nope", "--duration", "1")
    assert done.returncode == 2
    assert textwrap.shorten(done.stderr, 500).startswith(
        "secengine run: unknown event source 'nope' for --source (known: syscall, k8s_audit, tiny; "
        "relays of every source: nats, redis)"
    )
