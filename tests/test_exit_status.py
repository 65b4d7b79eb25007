"""Bad input and a hostile environment, as a user meets them: every command, real processes.

Each case runs ``secengine`` in a subprocess with a real bad input (junk
rules, an unreadable file as an unprivileged user, a directory or a FIFO
where a file belongs, a symlink loop, a missing output directory, a mistyped
key) and requires: the status of the one exit-status table
(:class:`~secengine.exit_status.ExitStatus`), one sentence naming the place,
and no Python traceback. ``docs/exit-status.md`` must be that table.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from secengine.exit_status import ExitStatus

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "events.jsonl"
RULES = ROOT / "rules"
SECENGINE = [sys.executable, "-m", "secengine.cli"]
#: Listen on loopback, any port: runs that need a source but no root use the audit webhook.
WEBHOOK = ["--source", "k8s_audit", "--k8s-audit-addr", "127.0.0.1:0"]


def unprivileged() -> list[str]:
    """The prefix that runs a command as a user without privileges (nobody, when we are root)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]


@pytest.fixture(scope="module")
def place() -> Iterator[Path]:
    """A directory of bad inputs that an unprivileged user can traverse (not tmp_path: 0700)."""
    d = Path(tempfile.mkdtemp(prefix="secengine-exit-status-"))
    d.chmod(0o755)
    junk = d / "junk"
    junk.mkdir()
    (junk / "a.yaml").write_bytes(bytes(range(256)) * 8)  # binary
    (junk / "b.yaml").write_text("{{{ not: yaml\n")  # not YAML
    (junk / "c.yml").write_text("- rule: [unclosed\n")
    (d / "adir").mkdir()
    (d / "out").mkdir()
    (d / "out").chmod(0o777)  # where the unprivileged user may write
    os.mkfifo(d / "fifo")
    (d / "loop").symlink_to(d / "loop")
    for name, text in {
        "unreadable.yaml": "json_output: true\n",
        "unreadable.jsonl": SAMPLES.read_text(),
        "unreadable_rules.yaml": (RULES / "secengine_rules.yaml").read_text(),
    }.items():
        (d / name).write_text(text)
        (d / name).chmod(0o000)
    (d / "typo.yaml").write_text("json_outptu: true\n")
    (d / "deep.json").write_text("[" * 100_000)
    for name, events in (("events_dir", "adir"), ("events_fifo", "fifo")):
        (d / f"{name}.ruletest.yaml").write_text(
            f"rules_files: [{RULES / 'secengine_rules.yaml'}]\n"
            f"cases:\n  - name: c\n    events: [{{file: {events}}}]\n    no_alerts: true\n"
        )
    (d / "list.json").write_text("[]\n")
    (d / "listen_port.yaml").write_text("sources:\n  k8s_audit: {listen_port: 9765}\n")
    (d / "budget.yaml").write_text("sources:\n  syscall: {producer_rate: -5}\n")
    (d / "nodir.yaml").write_text(
        f"file_output: {{enabled: true, filename: {d}/no/such/dir/alerts.jsonl}}\n"
        "sources:\n  k8s_audit: {listen: '127.0.0.1:0'}\n"
    )
    yield d
    shutil.rmtree(d)


@dataclass(frozen=True)
class Case:
    """A command line (``{d}`` is the bad-input directory), the status and words of its error."""

    argv: str
    status: ExitStatus
    says: str
    unprivileged: bool = False


CASES: dict[str, Case] = {
    # run
    "run-ring-buffer-not-a-power-of-two": Case(
        "run --ring-buffer-mb 3",
        ExitStatus.USAGE,
        "argument --ring-buffer-mb: 3 is not a power of two",
    ),
    "run-ring-buffer-zero": Case(
        "run --ring-buffer-mb 0",
        ExitStatus.USAGE,
        "argument --ring-buffer-mb: 0 is not a power of two",
    ),
    "run-producer-rate-negative": Case(
        "run --producer-rate -1",
        ExitStatus.USAGE,
        "argument --producer-rate: -1 is not a finite, non-negative number",
    ),
    "run-producer-burst-nan": Case(
        "run --producer-burst nan",
        ExitStatus.USAGE,
        "argument --producer-burst: nan is not a finite, non-negative number",
    ),
    "run-priority-headroom-whole-ring": Case(
        "run --priority-headroom 1",
        ExitStatus.USAGE,
        "argument --priority-headroom: must be below 1, not 1",
    ),
    "run-source-budget-negative": Case(
        "run -c {d}/budget.yaml --duration 1",
        ExitStatus.USAGE,
        "sources.syscall: a producer budget needs finite numbers: producer_rate >= 0",
    ),
    "run-without-privileges": Case(
        "run --duration 1", ExitStatus.USAGE, "cannot start the syscall source: ", unprivileged=True
    ),
    "run-config-typo": Case(
        "run -c {d}/typo.yaml",
        ExitStatus.USAGE,
        "typo.yaml:1:1: json_outptu: unknown key 'json_outptu' (did you mean 'json_output'?)",
    ),
    "run-source-setting-typo": Case(
        "run -c {d}/listen_port.yaml",
        ExitStatus.USAGE,
        "listen_port.yaml:2:3: sources.k8s_audit: unknown k8s_audit "
        "webhook setting 'listen_port' (did you mean 'listen'?)",
    ),
    "run-output-directory-missing": Case(
        "run -c {d}/nodir.yaml --duration 5",
        ExitStatus.USAGE,
        "output file_output cannot start: failed to open output file {d}/no/such/dir/",
    ),
    "run-negative-duration": Case(
        "run --duration -1",
        ExitStatus.USAGE,
        "argument --duration: -1 is not a finite, non-negative",
    ),
    "run-drop-interval-nan": Case(
        "run --drop-alert-interval nan",
        ExitStatus.USAGE,
        "argument --drop-alert-interval: nan is not a finite",
    ),
    "run-junk-rules": Case(
        "run -r {d}/junk " + " ".join(WEBHOOK), ExitStatus.FAILED, "LOAD_ERR_YAML_PARSE"
    ),
    "run-config-symlink-loop": Case(
        "run -c {d}/loop",
        ExitStatus.USAGE,
        "loop: cannot read the configuration file: Too many levels",
    ),
    "run-config-unreadable": Case(
        "run -c {d}/unreadable.yaml",
        ExitStatus.USAGE,
        "unreadable.yaml: cannot read the configuration file: Permission denied",
        unprivileged=True,
    ),
    # replay
    "replay-junk-rules": Case(
        "replay -r {d}/junk " + str(SAMPLES), ExitStatus.FAILED, "rules failed to load"
    ),
    "replay-directory-input": Case(
        "replay {d}/adir", ExitStatus.USAGE, "cannot read input {d}/adir: is a directory"
    ),
    "replay-fifo-input": Case(
        "replay {d}/fifo", ExitStatus.USAGE, "cannot read input {d}/fifo: not a regular file"
    ),
    "replay-dev-null-input": Case(
        "replay /dev/null", ExitStatus.USAGE, "cannot read input /dev/null: not a regular file"
    ),
    "replay-symlink-loop": Case(
        "replay {d}/loop",
        ExitStatus.USAGE,
        "cannot read input {d}/loop: Too many levels of symbolic links",
    ),
    "replay-missing-input": Case(
        "replay {d}/nothing.jsonl",
        ExitStatus.USAGE,
        "cannot read input {d}/nothing.jsonl: No such file or directory",
    ),
    "replay-unreadable-input": Case(
        "replay {d}/unreadable.jsonl",
        ExitStatus.USAGE,
        "unreadable.jsonl: Permission denied",
        unprivileged=True,
    ),
    "replay-unreadable-rules": Case(
        "replay -r {d}/unreadable_rules.yaml " + str(SAMPLES),
        ExitStatus.FAILED,
        "Could not open file",
        unprivileged=True,
    ),
    "replay-output-directory-missing": Case(
        "replay -c {d}/nodir.yaml " + str(SAMPLES),
        ExitStatus.USAGE,
        "failed to open output file {d}/no/such/dir/alerts.jsonl",
    ),
    "replay-config-typo": Case(
        "replay -c {d}/typo.yaml " + str(SAMPLES), ExitStatus.USAGE, "did you mean 'json_output'?"
    ),
    "replay-unknown-source": Case(
        "replay --source bogus " + str(SAMPLES),
        ExitStatus.USAGE,
        "unknown event source 'bogus' for --source (known: syscall",
    ),
    "replay-no-input": Case("replay", ExitStatus.USAGE, "the following arguments are required"),
    # validate
    "validate-junk-rules": Case("validate {d}/junk", ExitStatus.FAILED, ""),
    "validate-config-directory": Case(
        "validate -c {d}/adir",
        ExitStatus.USAGE,
        "adir: cannot read the configuration file: Is a directory",
    ),
    "validate-config-unreadable": Case(
        "validate -c {d}/unreadable.yaml", ExitStatus.USAGE, "Permission denied", unprivileged=True
    ),
    "validate-config-source-setting-typo": Case(
        "validate -c {d}/listen_port.yaml",
        ExitStatus.USAGE,
        "listen_port.yaml:2:3: sources.k8s_audit: unknown k8s_audit webhook setting "
        "'listen_port' (did you mean 'listen'?)",
    ),
    "validate-config-typo": Case(
        "validate -c {d}/typo.yaml", ExitStatus.USAGE, "did you mean 'json_output'?"
    ),
    # test
    "test-junit-into-missing-directory": Case(
        "test " + str(RULES) + " --junit-xml {d}/no/such/dir/junit.xml",
        ExitStatus.USAGE,
        "--junit-xml {d}/no/such/dir/junit.xml: the directory {d}/no/such/dir does not exist",
    ),
    "test-junit-onto-a-directory": Case(
        "test " + str(RULES) + " --junit-xml {d}/adir",
        ExitStatus.USAGE,
        "--junit-xml {d}/adir: is a directory",
    ),
    "test-event-file-is-a-directory": Case(
        "test {d}/events_dir.ruletest.yaml",
        ExitStatus.FAILED,
        "events_dir.ruletest.yaml:4: event file adir is a directory",
    ),
    "test-event-file-is-a-fifo": Case(
        "test {d}/events_fifo.ruletest.yaml",
        ExitStatus.FAILED,
        "events_fifo.ruletest.yaml:4: event file fifo is not a regular file",
    ),
    "test-missing-path": Case("test {d}/nothing", ExitStatus.USAGE, "no such file or directory"),
    "test-no-test-files": Case("test {d}/junk", ExitStatus.USAGE, "no *.ruletest.yaml files"),
    "test-config-typo": Case(
        "test " + str(RULES) + " -c {d}/typo.yaml", ExitStatus.USAGE, "did you mean 'json_output'?"
    ),
    # fields
    "fields-unknown-source": Case(
        "fields --source nope", ExitStatus.USAGE, "must be a valid source type"
    ),
    # profile
    "profile-exec-without-command": Case(
        "profile exec --", ExitStatus.USAGE, "secengine profile exec: give the command after '--'"
    ),
    "profile-run-without-command": Case(
        "profile run", ExitStatus.USAGE, "secengine profile run: give the command after '--'"
    ),
    "profile-exec-without-privileges": Case(
        "profile exec -o {d}/out/p.json -- true", ExitStatus.USAGE, "needs root", unprivileged=True
    ),
    "profile-exec-output-directory-missing": Case(
        "profile exec -o {d}/no/such/dir/p.json -- true",
        ExitStatus.USAGE,
        "secengine profile exec: -o {d}/no/such/dir/p.json: the directory {d}/no/such/dir "
        "does not exist",
    ),
    "profile-merge-report-is-a-directory": Case(
        "profile merge {d}/list.json --report {d}/adir",
        ExitStatus.USAGE,
        "--report {d}/adir: is a directory",
    ),
    "profile-exec-output-directory-not-writable": Case(
        "profile exec -o /p.json -- true",
        ExitStatus.USAGE,
        "-o /p.json: the directory / is not writable",
        unprivileged=True,
    ),
    "profile-merge-directory": Case(
        "profile merge {d}/adir", ExitStatus.USAGE, "cannot read {d}/adir: Is a directory"
    ),
    "profile-merge-deeply-nested-json": Case(
        "profile merge {d}/deep.json",
        ExitStatus.USAGE,
        "deep.json: not a profile or recording: JSON nested too deeply",
    ),
    "profile-merge-a-json-list": Case(
        "profile merge {d}/list.json",
        ExitStatus.USAGE,
        "list.json: not a secengine recording (a JSON list",
    ),
    "profile-verify-deeply-nested-json": Case(
        "profile verify --profile {d}/deep.json -- podman run --rm x",
        ExitStatus.USAGE,
        "secengine profile verify: {d}/deep.json: not a profile or recording",
    ),
    "profile-merge-dev-null": Case("profile merge /dev/null", ExitStatus.USAGE, "not JSON"),
    "profile-verify-profile-is-a-directory": Case(
        "profile verify --profile {d}/adir -- podman run --rm x",
        ExitStatus.USAGE,
        "{d}/adir: Is a directory",
    ),
}


def secengine(
    argv: list[str], *, as_unprivileged: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    prefix = unprivileged() if as_unprivileged else []
    return subprocess.run(
        [*prefix, *SECENGINE, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
        env=env,
    )


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_sentence_and_the_documented_status(name: str, place: Path) -> None:
    case = CASES[name]
    argv = [a.replace("{d}", str(place)) for a in case.argv.split()]
    done = secengine(argv, as_unprivileged=case.unprivileged)
    assert "Traceback" not in done.stderr, done.stderr
    assert "internal error" not in done.stderr, done.stderr
    assert done.returncode == case.status, (done.returncode, done.stderr)
    assert case.says.replace("{d}", str(place)) in done.stderr + done.stdout, done.stderr


def test_every_command_is_covered() -> None:
    """Each subcommand (and each profile subcommand worth a bad input) has cases above."""
    from secengine.cli import COMMANDS

    covered = {c.argv.split()[0] for c in CASES.values()}
    assert set(COMMANDS) <= covered


# ---------------------------------------------------------------------------
# an unexpected exception: a bug, reported as one line (traceback on request)
# ---------------------------------------------------------------------------


@pytest.fixture
def buggy_plugin(tmp_path: Path) -> dict[str, str]:
    """An installed sink plugin whose constructor has a bug (an entry point, as pip makes it)."""
    site = tmp_path / "site"
    dist = site / "buggy_sink-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: buggy-sink\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[secengine.sinks]\nbuggy = buggy_sink:BuggySink\n")
    (site / "buggy_sink.py").write_text(
        "from secengine.sinks.base import Sink\n\n"
        "class BuggySink(Sink):\n"
        "    name = 'buggy'\n"
        "    def __init__(self, **kwargs):\n"
        "        {}['missing']\n"
        "    def deliver(self, alert):\n"
        "        pass\n"
    )
    (tmp_path / "buggy.yaml").write_text("sinks:\n  buggy: {}\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    env.pop("SECENGINE_DEBUG", None)
    return env


def test_an_unexpected_exception_is_one_line_and_status_70(
    buggy_plugin: dict[str, str], tmp_path: Path
) -> None:
    done = secengine(["replay", "-c", str(tmp_path / "buggy.yaml"), str(SAMPLES)], env=buggy_plugin)
    assert done.returncode == ExitStatus.INTERNAL_ERROR == 70
    assert "Traceback" not in done.stderr
    first, hint = done.stderr.splitlines()
    assert first == "secengine replay: internal error: KeyError: 'missing'"
    assert "This is a bug" in hint and "--debug" in hint


@pytest.mark.parametrize("how", ["flag-before", "flag-after", "environment"])
def test_debug_shows_the_traceback(buggy_plugin: dict[str, str], tmp_path: Path, how: str) -> None:
    args = ["replay", "-c", str(tmp_path / "buggy.yaml"), str(SAMPLES)]
    if how == "flag-before":
        args = ["--debug", *args]
    elif how == "flag-after":
        args = [*args, "--debug"]
    else:
        buggy_plugin["SECENGINE_DEBUG"] = "1"
    done = secengine(args, env=buggy_plugin)
    assert done.returncode == 70
    assert "Traceback (most recent call last)" in done.stderr
    assert "buggy_sink.py" in done.stderr


# ---------------------------------------------------------------------------
# docs/exit-status.md is the table
# ---------------------------------------------------------------------------


def test_the_documented_table_is_the_code() -> None:
    text = (ROOT / "docs" / "exit-status.md").read_text()
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", text, re.MULTILINE)
    assert rows, "docs/exit-status.md lost its table"
    canonical = {int(m): m.name for m in ExitStatus}  # aliases map to the first name
    assert {int(n): name for n, name in rows} == canonical
