"""Recording sessions: start a command under observation, attach to a container, verify.

- :func:`record_command` (``profile run`` and ``profile exec``) starts the
  command held at the door (:class:`~.launch.HeldChild`), has the recorder
  follow its process tree from the first syscall, releases it and waits. For
  ``run`` the tree is podman (or docker's client), conmon, the runtime and the
  container; only tasks *outside* secengine's own mount namespace are
  recorded, so the engine's own syscalls are not. A task is in the ``pre``
  phase until it runs under more seccomp filters than secengine does (the
  runtime has installed the container's filter), ``init`` until its
  ``execve`` of the entrypoint succeeds, ``work`` afterwards.
- :func:`record_attach` (``profile attach``) records every task in the mount
  namespace of a running container for a while, without restarting it, and
  adds the init phase from the runtime's baseline.
- :func:`verify` re-runs a ``run`` command with a proposed profile and
  capabilities and reports what the kernel denied.

A command whose workload never ran (image missing, bad flags, the runtime
refused it, the entrypoint could not be executed) raises
:class:`~.errors.WorkloadNotStarted` with the engine's own error message: a
recording of nothing would make a profile of nothing. SIGINT and SIGTERM
(:class:`~.interrupt.Interrupts`) stop and remove the container the command
started (``ENGINE rm -f``, by the id in its cidfile) and the command's
process tree, then raise :class:`~.errors.Interrupted`. The recorded command
line has its environment values redacted (:mod:`.redact`).
"""

from __future__ import annotations

import errno as _errno
import os
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from secengine.profile import layout as L
from secengine.profile.baselines import SHIPPED_DIR, USER_DIR, Baseline, find_baseline
from secengine.profile.capabilities import Context, Finding, infer, opspec
from secengine.profile.errors import ProfileError, WorkloadNotStarted
from secengine.profile.interrupt import Interrupts
from secengine.profile.launch import HeldChild
from secengine.profile.recorder import Recorder, mntns_of, seccomp_filters
from secengine.profile.recording import Recording
from secengine.profile.redact import Scrubber, redact_command
from secengine.profile.relay import StderrRelay
from secengine.profile.runtime import (
    ContainerRef,
    blocked_syscalls,
    default_runtime,
    engine_message,
    engine_of,
    inject_options,
    remove_container,
    resolve_container,
    run_index,
    runtime_of_command,
    runtime_version,
    stop_container,
    tasks_in_mntns,
    with_cidfile,
)
from secengine.profile.seccomp import ProfileNames, load_profile, profile_names
from secengine.syscall_table import name_of

__all__ = [
    "STOP_GRACE",
    "TERM_GRACE",
    "VerifyResult",
    "add_baseline",
    "describe_runtime",
    "record_attach",
    "record_command",
    "verify",
    "with_runtime",
]

#: Seconds a command gets to exit after SIGTERM before SIGKILL.
TERM_GRACE = 10.0
#: Seconds an interrupted container gets between its stop signal and SIGKILL.
STOP_GRACE = 5
#: Seconds the command's stderr is still read for after it exited (its last error line).
STDERR_DRAIN = 1.0


def with_runtime(command: Sequence[str], runtime: str | None) -> list[str]:
    """The command asking its engine for ``runtime`` (unless it names one already)."""
    command = list(command)
    engine = engine_of(command)
    if runtime is None or not engine or runtime_of_command(command):
        return command
    if engine == "podman" and daemon_started(command):
        return command  # remote podman takes no --runtime: its service's configuration says
    if engine == "podman":  # a global option of podman's
        return [command[0], "--runtime", runtime, *command[1:]]
    idx = next((i for i, a in enumerate(command) if a in ("run", "create")), -1)
    if idx < 0:
        return command
    return [*command[: idx + 1], "--runtime", runtime, *command[idx + 1 :]]


def describe_runtime(command: Sequence[str], runtime: str | None = None) -> dict[str, str]:
    """``{"name": ..., "version": ...}`` of the runtime a docker/podman command uses."""
    name = runtime or runtime_of_command(command) or default_runtime(engine_of(command))
    if not name:
        return {}
    try:
        version = runtime_version(name)
    except (ProfileError, OSError):
        version = "unknown"
    return {"name": os.path.basename(name), "version": version}


def record_command(
    command: Sequence[str],
    *,
    mode: str = "run",
    duration: float | None = None,
    linger: float = 5.0,
    runtime: str | None = None,
    stdout_to_stderr: bool = False,
) -> Recording:
    """Run ``command`` under observation (``mode`` ``run`` or ``exec``) and return its recording.

    ``stdout_to_stderr`` sends the command's output to stderr. ``duration`` bounds
    the whole recording: a container still running then is stopped with its
    engine (``podman stop``; the ``run`` command is given a ``--cidfile`` for
    that), any other command and the processes below it are sent SIGTERM (and
    SIGKILL after :data:`TERM_GRACE`). Once the command has exited, processes it
    left behind (conmon, a detached container) are recorded until they end, for
    at most ``linger`` seconds (or until ``duration`` runs out, when given).

    Raises :class:`~.errors.WorkloadNotStarted` when the workload never ran and
    :class:`~.errors.Interrupted` after a SIGINT/SIGTERM (see the module's docstring).
    """
    if mode not in ("run", "exec"):
        raise ValueError(mode)
    shown = with_runtime(command, runtime) if mode == "run" else list(command)
    with (
        Interrupts() as interrupts,
        tempfile.TemporaryDirectory(prefix="secengine-profile-") as tmp,
    ):
        argv, cidfile = with_cidfile(shown, Path(tmp) / "cid") if mode == "run" else (shown, None)
        relay = StderrRelay(Scrubber.for_command(argv)) if mode == "run" else None
        try:
            rec = _record(
                shown,
                argv,
                cidfile,
                mode,
                duration,
                linger,
                runtime,
                stdout_to_stderr,
                interrupts,
                relay,
            )
        finally:
            if relay is not None:
                relay.close()
        if not rec.started:
            raise WorkloadNotStarted(_why_not_started(rec, argv, relay), rec)
        return rec


def _why_not_started(rec: Recording, argv: Sequence[str], relay: StderrRelay | None) -> str:
    """One clause: the engine's own error message when it gave one."""
    engine = engine_of(argv)
    said = engine_message(relay.tail) if relay is not None else None
    if said:
        return f"the container never started: {said}"
    if rec.mode == "run" and not engine:
        return "nothing ran inside a container (is the command a 'podman run' or 'docker run'?)"
    return (
        f"the workload never started ({os.path.basename(argv[0])} exited with code {rec.exit_code})"
    )


def daemon_started(command: Sequence[str]) -> bool:
    """Whether a daemon starts the container, outside the command's tree (docker, podman -r)."""
    engine = engine_of(command)
    if engine == "docker":
        return True
    idx = run_index(command)
    globals_ = command[1 : idx if idx > 0 else len(command)]
    remote = ("--remote", "-r", "--url", "--connection", "-c")
    return engine == "podman" and any(
        a in remote or a.startswith(("--url=", "--connection=")) for a in globals_
    )


class _Container:
    """The mount namespace of the container a ``run`` command started (from its cidfile)."""

    def __init__(self, cidfile: Path | None) -> None:
        self.cidfile = cidfile
        self.mntns = 0

    def poll(self) -> None:
        if self.mntns or self.cidfile is None or not self.cidfile.is_file():
            return
        cid = self.cidfile.read_text().strip()
        if not cid:
            return
        try:
            self.mntns = mntns_of(resolve_container(cid).pid)
        except (ProfileError, OSError):
            pass  # not running yet (or already gone): asked again on the next poll


def _cid(cidfile: Path | None) -> str:
    try:
        return cidfile.read_text().strip() if cidfile is not None else ""
    except OSError:
        return ""


def _abort(
    child: HeldChild, argv: Sequence[str], cidfile: Path | None, interrupts: Interrupts
) -> NoReturn:
    """A signal came: remove the container the command started, stop the command's tree."""
    engine = engine_of(argv)
    removed: set[str] = set()
    cid = _cid(cidfile)
    if cid and remove_container(engine, cid, STOP_GRACE):
        removed.add(cid)
    child.terminate_tree(TERM_GRACE)
    cid = _cid(cidfile)  # created while we stopped it
    if cid and cid not in removed and remove_container(engine, cid, 0):
        removed.add(cid)
    if removed:
        done = f"the container {next(iter(removed))[:12]} was stopped and removed"
    elif cid:
        done = f"the container {cid[:12]} could not be removed ('{engine} rm -f {cid[:12]}')"
    else:
        done = "the command was stopped"
    raise interrupts.error(done)


def _record(
    shown: list[str],
    argv: list[str],
    cidfile: Path | None,
    mode: str,
    duration: float | None,
    linger: float,
    runtime: str | None,
    stdout_to_stderr: bool,
    interrupts: Interrupts,
    relay: StderrRelay | None,
) -> Recording:
    host_mntns = mntns_of("self")
    own_filters = seccomp_filters("self")
    daemon = mode == "run" and daemon_started(argv)
    container = _Container(cidfile if daemon else None)
    with Recorder(opspec=opspec()) as rec:
        if interrupts:
            raise interrupts.error("nothing had been started")
        child = HeldChild(argv, stdout_to_stderr=stdout_to_stderr, stderr=relay)
        try:
            if mode == "exec":
                slot = rec.follow(child.pid, phase=L.PHASE_WORK)
            else:
                slot = rec.follow(
                    child.pid,
                    phase=L.PHASE_INIT,
                    min_filters=own_filters + 1,
                    exclude_mntns=host_mntns,
                )
            if daemon:
                rec.catch(
                    slot,
                    os.path.basename(
                        runtime
                        or runtime_of_command(argv)
                        or default_runtime(engine_of(argv))
                        or "runc"
                    ),
                )
        except BaseException:
            child.signal(signal.SIGKILL)
            child.wait()
            raise
        if interrupts:
            child.terminate_tree(0)
            raise interrupts.error("the command was never started")
        try:
            child.release()
        except ProfileError as e:
            raise WorkloadNotStarted(str(e)) from None
        deadline = None if duration is None else time.monotonic() + duration
        while (
            child.poll() is None
            and not interrupts
            and (deadline is None or time.monotonic() < deadline)
        ):
            container.poll()
            child.pump(0.05)
        if interrupts:
            _abort(child, argv, cidfile, interrupts)
        if child.returncode is None:  # --duration ran out
            if cidfile is not None and stop_container(engine_of(argv), cidfile):
                if child.wait(TERM_GRACE) is None:
                    child.terminate_tree(0)
            else:
                child.terminate_tree(TERM_GRACE)
        if relay is not None:
            relay.drain(STDERR_DRAIN)
        end = time.monotonic() + linger if deadline is None else deadline
        while rec.followed(slot) and time.monotonic() < end and not interrupts:
            time.sleep(0.1)
        if interrupts:
            _abort(child, argv, cidfile, interrupts)
        left = rec.followed(slot)
        raw = rec.read(slot)
        if interrupts:  # came as the recording ended: still not written, still cleaned up
            _abort(child, argv, cidfile, interrupts)
    others = 0
    if daemon and container.mntns in raw.bits and len(raw.bits) > 1:
        others = len(raw.bits) - 1  # other containers the daemon started meanwhile
        raw.bits = {container.mntns: raw.bits[container.mntns]}
    recording = Recording.from_raw(
        raw,
        mode,
        command=redact_command(shown),
        exit_code=child.returncode,
        duration=child.duration,
    )
    recording.started = not recording.syscalls.phase_empty("work")
    if left:
        recording.notes.append(
            f"{left} task(s) of the workload were still running when recording stopped"
        )
    if others:
        recording.notes.append(
            f"the daemon started {others} other container(s) meanwhile: "
            "their syscalls were set apart by mount namespace, their "
            "privileged operations could not be"
        )
    if mode == "run":
        if cidfile is not None and cidfile.is_file():
            recording.container = {"id": cidfile.read_text().strip()}
        recording.runtime = describe_runtime(shown, runtime)
        _settle_init(recording)
    return recording


def _settle_init(rec: Recording) -> None:
    """Name where the init phase came from; stand in for it if seccomp was off."""
    if not rec.syscalls.phase_empty("init"):
        rec.init_source = "recorded"
    elif not rec.syscalls.phase_empty("pre"):
        rec.syscalls.replace_phase("init", rec.syscalls, "pre")
        rec.init_source = "recorded without seccomp (the runtime's whole setup in the container)"
        rec.notes.append(
            "the container ran without a seccomp filter, so the runtime's setup "
            "could not be told from its init phase: all of it is in the profile "
            "(record under the engine's default profile for a smaller one)"
        )
    else:
        rec.notes.append(
            "nothing was recorded inside a container: is the command a "
            "'podman run' or 'docker run'?"
        )


def add_baseline(
    rec: Recording, runtime: str, version: str, dirs: Sequence[Path] = (USER_DIR, SHIPPED_DIR)
) -> Baseline:
    """Fill ``rec``'s init phase from the runtime's baseline."""
    base, exact = find_baseline(runtime, version, dirs)
    rec.syscalls.replace_phase("init", base.syscalls, "init")
    rec.init_source = f"baseline {base.label}"
    if not exact:
        rec.notes.append(
            f"no baseline for {runtime} {version}: used the nearest, "
            f"{base.label}; record one with 'secengine profile baseline "
            f"--runtime {runtime}'"
        )
    return base


def record_attach(
    ref: str | ContainerRef,
    duration: float,
    baseline_dirs: Sequence[Path] = (USER_DIR, SHIPPED_DIR),
) -> Recording:
    """Record a running container for ``duration`` seconds without restarting it."""
    container = ref if isinstance(ref, ContainerRef) else resolve_container(ref)
    pid = container.pid
    try:
        mntns = mntns_of(pid)
        filters = seccomp_filters(pid)
    except OSError as e:
        raise ProfileError(
            f"cannot read process {pid} of container {container.name}: {e.strerror}"
        ) from None
    if mntns == mntns_of("self"):
        raise ProfileError(
            f"container {container.name} shares the host's mount namespace; "
            "its processes cannot be told from the host's"
        )
    start = time.monotonic()
    with Interrupts() as interrupts, Recorder(opspec=opspec()) as rec:
        slot = rec.watch_mntns(mntns, min_filters=filters)
        tasks = tasks_in_mntns(mntns)
        for tpid, tid in tasks:
            rec.seed_creds(tpid, tid)
        blocked = blocked_syscalls(tasks)
        end = start + duration
        while time.monotonic() < end and os.path.exists(f"/proc/{pid}") and not interrupts:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
        if interrupts:  # not ours to stop: the container keeps running
            raise interrupts.error(f"the container {container.name} was left running")
        blocked |= blocked_syscalls(tasks_in_mntns(mntns))
        raw = rec.read(slot)
    recording = Recording.from_raw(
        raw, "attach", command=[], duration=time.monotonic() - start, container=container.to_json()
    )
    recording.syscalls.add("work", "ok", {name_of(nr) for nr in blocked})
    recording.started = True
    recording.runtime = {"name": os.path.basename(container.runtime)}
    try:
        version = runtime_version(container.runtime)
    except ProfileError as e:
        raise ProfileError(
            f"{e}; the init phase of a running container comes from the "
            "runtime's baseline, which is chosen by version"
        ) from None
    recording.runtime["version"] = version
    add_baseline(recording, recording.runtime["name"], version, baseline_dirs)
    if not os.path.exists(f"/proc/{pid}"):
        recording.notes.append("the container exited during recording")
    return recording


@dataclass(slots=True)
class VerifyResult:
    """What re-running a workload under a proposal showed."""

    recording: Recording
    profile: ProfileNames
    command: list[str]
    #: syscalls the profile denied (EPERM from a name the profile does not allow)
    denied: list[str] = field(default_factory=list)
    #: denied, but the recording saw them refused with EPERM too (not a regression)
    denied_as_recorded: list[str] = field(default_factory=list)
    #: syscalls an audit-mode profile would have denied (they ran; the kernel logged them)
    would_deny: list[str] = field(default_factory=list)
    #: capability checks the kernel refused
    cap_denials: list[Finding] = field(default_factory=list)
    expected_exit: int | None = 0

    @property
    def started(self) -> bool:
        return self.recording.started

    @property
    def exit_matches(self) -> bool:
        return self.expected_exit is None or self.recording.exit_code == self.expected_exit

    @property
    def ok(self) -> bool:
        return (
            self.started
            and self.exit_matches
            and not self.denied
            and not self.would_deny
            and not self.cap_denials
        )


def verify(
    command: Sequence[str],
    profile: Path,
    caps: Sequence[str] | None,
    *,
    reference: Recording | None = None,
    inject: bool = True,
    duration: float | None = None,
    ctx: Context | None = None,
    stdout_to_stderr: bool = False,
) -> VerifyResult:
    """Re-run a ``run`` command under ``profile`` and ``caps``; what did the kernel deny?

    Seccomp denials never reach the ``sys_enter`` tracepoint (the filter runs
    first) but do reach ``sys_exit``, with -EPERM: a syscall whose name the
    profile does not allow and that returned EPERM was denied by the profile.
    """
    names = profile_names(load_profile(profile), caps or ())
    argv = inject_options(command, profile, caps) if inject else list(command)
    try:
        rec = record_command(argv, mode="run", duration=duration, stdout_to_stderr=stdout_to_stderr)
    except WorkloadNotStarted as e:
        if not isinstance(e.recording, Recording):
            raise
        result = _judge(e.recording, names, argv, reference, ctx)
        if not (result.denied or result.denied_as_recorded or result.cap_denials):
            raise  # not the profile's doing: the engine's message says why
        return result  # the profile stopped the runtime or the entrypoint: a FAIL
    return _judge(rec, names, argv, reference, ctx)


def _judge(
    rec: Recording,
    names: ProfileNames,
    argv: Sequence[str],
    reference: Recording | None,
    ctx: Context | None,
) -> VerifyResult:
    """What the kernel denied in ``rec``, against the profile and the reference recording."""
    phases = rec.profile_phases
    result = VerifyResult(
        rec,
        names,
        redact_command(argv),
        expected_exit=reference.exit_code if reference is not None else 0,
    )
    # what the recording saw refused with EPERM (by the kernel or the profile it ran under)
    before = reference.syscalls.outcome("eperm", phases) if reference is not None else set()
    if names.audit:
        logged = rec.syscalls.seen(phases) - names.allowed - set(names.errno)
        result.would_deny = sorted(logged - before)
        result.denied_as_recorded = sorted(logged & before)
    else:
        refused = {
            n
            for n in rec.syscalls.outcome("eperm", phases) - names.allowed
            if names.errno.get(n, _errno.EPERM) == _errno.EPERM
        }
        result.denied = sorted(refused - before)
        result.denied_as_recorded = sorted(refused & before)
    result.cap_denials = [
        f for f in infer(rec.ops, ctx or Context.from_host()).findings if f.verdict == "denied"
    ]
    return result
