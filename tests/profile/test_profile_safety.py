"""``secengine profile`` under failure and interruption, through the real CLI (marker ``bpf``).

A workload that never started must not yield a profile; a signal must not
leave the container secengine started behind; the container's environment
must not leak into files, reports or messages. Every test runs the installed
``secengine`` as a subprocess with real podman/runc containers (named
``profsafe-...``) and checks ``podman ps -a`` afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from profile_podman import PODMAN_RUN

from secengine.exit_status import ExitStatus

pytestmark = pytest.mark.bpf

SECENGINE = str(Path(sys.executable).with_name("secengine"))
#: documented exit statuses (docs/least-privilege.md)
NOT_STARTED = ExitStatus.NOT_STARTED
DEFAULT_PROFILE = Path("/usr/share/containers/seccomp.json")
SECRET = "hunter2-xyzzy"
FILE_SECRET = "filesecret-plugh"
_names = itertools.count()


def unique(tag: str) -> str:
    return f"profsafe-{tag}-{os.getpid()}-{next(_names)}"


def secengine(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SECENGINE, "profile", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_sentence(err: str) -> str:
    """secengine's own last line (the engine's output, forwarded, comes before it)."""
    assert "Traceback" not in err, err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("secengine profile "), err
    return last


def containers(prefix: str) -> list[str]:
    out = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return [n for n in out if n.startswith(prefix)]


def remove(name: str) -> None:
    subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, check=False)


@pytest.fixture
def workdir(tmp_path: Path, busybox_image: str, recorder_object: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


def _run_cmd(image: str, *args: str, rm: bool = True) -> list[str]:
    return [*PODMAN_RUN, *(["--rm"] if rm else []), *args]


# -- the workload never started: a documented status, one sentence, nothing written ------------


@pytest.mark.parametrize(
    ("label", "options", "argv", "expect"),
    [
        (
            "missing image",
            ["--pull", "never"],
            ["localhost/profsafe-no-such-image:none", "true"],
            "image not known",
        ),
        ("bad podman flag", ["--profsafe-bogus-flag"], ["IMAGE", "true"], "unknown flag"),
        ("entrypoint missing", [], ["IMAGE", "/profsafe-nonexistent"], "/profsafe-nonexistent"),
        (
            "runtime refused",
            ["--ulimit", "nofile=2000000:2000000"],
            ["IMAGE", "true"],
            "operation not permitted",
        ),
    ],
)
def test_run_of_a_container_that_never_started_writes_nothing(
    workdir: Path, busybox_image: str, label: str, options: list[str], argv: list[str], expect: str
) -> None:
    argv = [busybox_image if a == "IMAGE" else a for a in argv]
    proc = secengine(
        "run",
        "-o",
        "p.json",
        "--report",
        "r.txt",
        "--",
        *_run_cmd(busybox_image, *options, *argv),
        cwd=workdir,
    )
    assert proc.returncode == NOT_STARTED, (label, proc.stdout[-500:], proc.stderr)
    line = one_sentence(proc.stderr)
    assert "never started" in line and expect in line, line
    assert sorted(os.listdir(workdir)) == []  # no profile, no recording, no report, no temp
    assert proc.stdout == ""


def test_run_with_an_oci_runtime_that_does_not_exist(workdir: Path, busybox_image: str) -> None:
    proc = secengine(
        "run",
        "--runtime",
        "profsafe-no-runtime",
        "-o",
        "p.json",
        "--",
        "podman",
        "run",
        "--rm",
        busybox_image,
        "true",
        cwd=workdir,
    )
    assert proc.returncode == NOT_STARTED, proc.stderr
    assert "profsafe-no-runtime" in one_sentence(proc.stderr)
    assert os.listdir(workdir) == []


def test_run_when_the_engine_is_not_installed(workdir: Path) -> None:
    proc = secengine(
        "run", "-o", "p.json", "--", "profsafe-no-such-engine", "run", "img", cwd=workdir
    )
    assert proc.returncode == NOT_STARTED, proc.stderr
    assert "profsafe-no-such-engine" in one_sentence(proc.stderr)
    assert os.listdir(workdir) == []


def test_a_workload_that_ran_and_failed_is_a_valid_recording(
    workdir: Path, busybox_image: str
) -> None:
    proc = secengine(
        "run",
        "-o",
        "p.json",
        "--json",
        "--",
        *_run_cmd(busybox_image, busybox_image, "sh", "-c", "cat /etc/data.txt; exit 3"),
        cwd=workdir,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["started"] and summary["exit_code"] == 3
    assert sorted(os.listdir(workdir)) == ["p.json", "p.record.json"]


def test_verify_of_a_container_that_never_started(workdir: Path, busybox_image: str) -> None:
    proc = secengine(
        "verify",
        "--profile",
        str(DEFAULT_PROFILE),
        "--caps",
        "",
        "--",
        *_run_cmd(
            busybox_image, "--pull", "never", "localhost/profsafe-no-such-image:none", "true"
        ),
        cwd=workdir,
    )
    assert proc.returncode == NOT_STARTED, (proc.stdout, proc.stderr)
    assert "image not known" in one_sentence(proc.stderr)


# -- the container's environment: redacted everywhere, files 0600 ------------------------------


def test_environment_values_are_redacted_and_files_are_private(
    workdir: Path, busybox_image: str
) -> None:
    env_file = workdir.parent / "app.env"
    env_file.write_text(f"PROFSAFE_FILE_SECRET={FILE_SECRET}\n")
    # the container sees both values (checked by length: its command line holds no secret)
    workload = (
        f"test ${{#PROFSAFE_SECRET}} = {len(SECRET)} && "
        f"test ${{#PROFSAFE_FILE_SECRET}} = {len(FILE_SECRET)}"
    )
    cmd = _run_cmd(
        busybox_image,
        "-e",
        f"PROFSAFE_SECRET={SECRET}",
        "--env-file",
        str(env_file),
        busybox_image,
        "sh",
        "-c",
        workload,
    )
    proc = secengine("run", "-o", "p.json", "--report", "r.txt", "--", *cmd, cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    record = workdir / "p.record.json"
    for path in (record, workdir / "r.txt"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert SECRET not in path.read_text() and FILE_SECRET not in path.read_text()
    assert SECRET not in proc.stdout + proc.stderr
    command = json.loads(record.read_text())["command"]
    assert "PROFSAFE_SECRET=<redacted>" in command  # the name is kept
    assert json.loads(record.read_text())["exit_code"] == 0  # the container had the value
    for extra in ([], ["--json"]):
        check = secengine("verify", "--profile", "p.json", *extra, "--", *cmd, cwd=workdir)
        assert check.returncode == 0, check.stdout + check.stderr
        assert SECRET not in check.stdout + check.stderr
        assert "PROFSAFE_SECRET=<redacted>" in check.stdout


@pytest.mark.parametrize("how", ["option", "env-file"])
def test_the_engines_error_message_is_redacted_too(
    workdir: Path, busybox_image: str, how: str
) -> None:
    # podman echoes an invalid variable in its error message, value included
    if how == "option":
        opts = ["-e", f"={SECRET}"]
    else:
        env_file = workdir.parent / "bad.env"
        env_file.write_text(f"={SECRET}\n")
        opts = ["--env-file", str(env_file)]
    proc = secengine(
        "run",
        "-o",
        "p.json",
        "--",
        *_run_cmd(busybox_image, *opts, busybox_image, "true"),
        cwd=workdir,
    )
    assert proc.returncode == NOT_STARTED, proc.stderr
    assert "invalid environment variable" in one_sentence(proc.stderr)
    assert SECRET not in proc.stderr + proc.stdout
    assert os.listdir(workdir) == []


# -- signals: stop and remove what secengine started, exit 128+N, write nothing -----------------


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(p) for p in (task / "children").read_text().split()]
    return out


def _recording(pid: int) -> bool:
    """Whether the process holds a BPF link (its recorder is attached)."""
    try:
        return any(
            os.readlink(f) == "anon_inode:bpf_link" for f in Path(f"/proc/{pid}/fd").iterdir()
        )
    except OSError:
        return False


def _wait_for(what: str, check: object, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


def _running(name: str) -> bool:
    proc = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.Running}}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() == "true"


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """CLI processes a test started; killed (by pid) if a test leaves one behind."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def _start(started: list[subprocess.Popen[str]], cwd: Path, *args: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [SECENGINE, "profile", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(p)
    return p


def _interrupt(p: subprocess.Popen[str], signum: int, timeout: float = 60) -> tuple[str, str]:
    """Send ``signum``; secengine's output once it exited (fails the test after ``timeout``)."""
    children = _children(p.pid)
    p.send_signal(signum)
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in [*children, p.pid]:  # ours: they hold the pipes open
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait()
        pytest.fail(f"secengine did not stop within {timeout} s of signal {signum}")


@pytest.mark.parametrize(
    ("command", "signum", "rm"),
    [
        ("run", signal.SIGTERM, True),
        ("run", signal.SIGINT, False),
        ("verify", signal.SIGTERM, False),
        ("verify", signal.SIGINT, True),
    ],
)
def test_a_signal_stops_and_removes_the_container(
    workdir: Path,
    busybox_image: str,
    started: list[subprocess.Popen[str]],
    command: str,
    signum: int,
    rm: bool,
) -> None:
    name = unique("sig")
    args = (
        ["run", "-o", "p.json"]
        if command == "run"
        else ["verify", "--profile", str(DEFAULT_PROFILE), "--caps", ""]
    )
    p = _start(
        started,
        workdir,
        *args,
        "--",
        *_run_cmd(busybox_image, "--name", name, busybox_image, "sleep", "300", rm=rm),
    )
    try:
        _wait_for(f"container {name}", lambda: _running(name))
        engine = _children(p.pid)
        assert engine, "the podman client is secengine's child"
        _out, err = _interrupt(p, signum)
        assert p.returncode == 128 + signum, err
        line = one_sentence(err)
        assert "interrupted" in line, line
        assert containers(name) == []  # stopped and removed, with or without --rm
        assert not any(Path(f"/proc/{pid}").exists() for pid in engine)
        assert os.listdir(workdir) == []
    finally:
        remove(name)


def test_a_signal_while_the_engine_pulls_stops_it_before_any_container_exists(
    workdir: Path, busybox_image: str, started: list[subprocess.Popen[str]]
) -> None:
    name = unique("pull")
    # no registry listens on localhost: podman retries the pull for a few seconds
    p = _start(
        started,
        workdir,
        "run",
        "-o",
        "p.json",
        "--",
        *_run_cmd(
            busybox_image,
            "--pull",
            "always",
            "--name",
            name,
            "localhost/profsafe-unreachable:none",
            "true",
        ),
    )
    try:
        _wait_for("the engine", lambda: _recording(p.pid) and bool(_children(p.pid)))
        _out, err = _interrupt(p, signal.SIGTERM)
        assert p.returncode == 128 + signal.SIGTERM, err
        assert "interrupted by SIGTERM" in one_sentence(err)
        assert containers(name) == []
        assert os.listdir(workdir) == []
    finally:
        remove(name)


def _pids_of(marker: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def test_a_signal_stops_the_whole_process_tree_of_exec(
    workdir: Path, started: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    secs = 3000 + os.getpid() % 997  # a sleep duration no other test uses: its marker
    script = f"sleep {secs}.1 & sleep {secs}.2; wait"
    p = _start(started, workdir, "exec", "-o", "p.json", "--", "sh", "-c", script)
    try:
        _wait_for("the workload's sleeps", lambda: len(_pids_of(f"sleep\0{secs}.")) == 2)
        _out, err = _interrupt(p, signal.SIGTERM)
        assert p.returncode == 128 + signal.SIGTERM, err
        assert "interrupted" in one_sentence(err)
        time.sleep(0.2)
        assert _pids_of(f"sleep\0{secs}.") == []
        assert os.listdir(workdir) == []
    finally:
        for pid in _pids_of(f"sleep\0{secs}."):
            os.kill(pid, signal.SIGKILL)


def test_duration_stops_the_whole_process_tree_of_exec(workdir: Path) -> None:
    secs = 4000 + os.getpid() % 997
    proc = secengine(
        "exec",
        "--duration",
        "2s",
        "-o",
        "p.json",
        "--",
        "sh",
        "-c",
        f"sleep {secs}.1 & sleep {secs}.2; wait",
        cwd=workdir,
    )
    try:
        assert proc.returncode == 0, proc.stderr
        assert sorted(os.listdir(workdir)) == ["p.json", "p.record.json"]
        assert _pids_of(f"sleep\0{secs}.") == []  # the background sleep too
    finally:
        for pid in _pids_of(f"sleep\0{secs}."):
            os.kill(pid, signal.SIGKILL)


def test_a_signal_ends_attach_and_leaves_the_container_running(
    workdir: Path, busybox_image: str, started: list[subprocess.Popen[str]]
) -> None:
    name = unique("attach")
    run = subprocess.run(
        [*PODMAN_RUN, "-d", "--name", name, busybox_image, "sleep", "300"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    try:
        p = _start(started, workdir, "attach", name, "--duration", "300s", "-o", "p.json")
        _wait_for("the recorder", lambda: _recording(p.pid))
        _out, err = _interrupt(p, signal.SIGTERM)
        assert p.returncode == 128 + signal.SIGTERM, err
        assert "interrupted" in one_sentence(err)
        assert _running(name)  # not secengine's: left as it was
        assert os.listdir(workdir) == []
    finally:
        remove(name)
