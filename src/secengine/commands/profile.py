"""``secengine profile``: propose a container's seccomp profile and capabilities, and prove them.

Subcommands::

    profile run    [--runtime runc|crun] [-o P.json] -- podman run ...
    profile attach CONTAINER --duration 60s [-o P.json]
    profile exec   [-o P.json] -- CMD ...
    profile merge  A.record.json B.record.json ... [-o P.json]
    profile verify --profile P.json [--caps NET_BIND_SERVICE,...] -- podman run ...
    profile baseline --runtime runc --image IMAGE

Recording commands write the seccomp profile (``P.json``), the recording it
was made from (``P.record.json``, what ``merge`` and ``verify`` read) and
print the report (also written to ``--report``). ``--audit`` makes the
profile log instead of deny. The recording and the report hold the command
line (environment values redacted) and are written mode 0600; all outputs
are written together or not at all.

Exit status (the table every command shares, :class:`~secengine.exit_status.ExitStatus`):

- 0 ``OK`` done (verify: PASS);
- 1 ``FAILED`` verify FAIL;
- 2 ``USAGE`` usage or environment error;
- 6 ``NOT_STARTED`` the workload never started (the engine is missing, the
  image, a flag, the runtime refused it, the entrypoint could not run):
  nothing is written;
- 130 ``INTERRUPTED`` / 143 ``TERMINATED`` SIGINT / SIGTERM: the container the
  command started is stopped and removed, the command's processes stopped,
  nothing written.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from secengine.bpf.errors import BpfError
from secengine.commands.outpaths import check_output_path
from secengine.errors import SecengineError, UsageError
from secengine.exit_status import ExitStatus
from secengine.profile import session
from secengine.profile.baselines import SHIPPED_DIR, USER_DIR, VARIANTS, baseline_from_recordings
from secengine.profile.capabilities import DOCKER_DEFAULT_CAPS, Context, cap_args, infer
from secengine.profile.errors import Interrupted, WorkloadNotStarted
from secengine.profile.files import PRIVATE, check_writable, public_mode, write_files
from secengine.profile.interrupt import exit_status
from secengine.profile.recorder import preflight
from secengine.profile.recording import Recording, load_recording
from secengine.profile.report import compare, render, render_verify
from secengine.profile.runtime import runtime_version
from secengine.profile.seccomp import (
    build_profile,
    find_default_profile,
    load_profile,
    policy,
    profile_json,
    profile_names,
)

__all__ = ["add_parser", "parse_duration", "run"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``60s``, ``2m``, ``500ms``, ``1.5h`` or plain seconds -> seconds."""
    m = _DURATION.match(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 60s, 2m, 500ms)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _duration_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--duration",
        type=parse_duration,
        metavar="TIME",
        help="stop after this long (a container is stopped with its engine, "
        "another command and its processes get SIGTERM)",
    )


def _output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("profile.json"),
        metavar="P.json",
        help="where to write the seccomp profile (default: profile.json); the "
        "recording goes next to it as P.record.json",
    )
    p.add_argument(
        "--audit",
        action="store_true",
        help="write SCMP_ACT_LOG as the default action (log, do not deny)",
    )
    p.add_argument("--report", type=Path, metavar="FILE", help="also write the report here")
    p.add_argument(
        "--compare",
        type=Path,
        metavar="PROFILE",
        help="default profile to compare with (default: the engine's installed one)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary instead of the report (the workload's own "
        "output goes to stderr)",
    )


def _command_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help=what)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "profile",
        description="Watch a workload in the kernel and propose its seccomp profile and "
        "Linux capabilities; re-run it under the proposal to prove it.",
    )
    psub = p.add_subparsers(dest="profile_command", metavar="SUBCOMMAND")
    psub.required = True

    r = psub.add_parser("run", help="start a container under observation (init phase included)")
    r.add_argument(
        "--runtime",
        metavar="NAME",
        help="OCI runtime to run the container with (runc, crun); passed to podman "
        "or docker unless the command names one",
    )
    _duration_arg(r)
    _output_args(r)
    _command_arg(r, "the 'podman run ...' (or 'docker run ...') command")
    r.set_defaults(run=run, action="run")

    a = psub.add_parser("attach", help="record a running container without restarting it")
    a.add_argument("container", metavar="CONTAINER", help="container id or name (docker, podman)")
    a.add_argument(
        "--duration",
        type=parse_duration,
        default=60.0,
        metavar="TIME",
        help="how long to record (default 60s)",
    )
    a.add_argument(
        "--baseline-dir",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="where to look for runtime baselines first (repeatable)",
    )
    _output_args(a)
    a.set_defaults(run=run, action="attach")

    e = psub.add_parser("exec", help="observe a plain process tree on the host")
    _duration_arg(e)
    _output_args(e)
    _command_arg(e, "the command to run")
    e.set_defaults(run=run, action="exec")

    m = psub.add_parser("merge", help="union the recordings of replicas or runs into one profile")
    m.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="recordings (P.record.json) or seccomp profiles (P.json)",
    )
    _output_args(m)
    m.set_defaults(run=run, action="merge")

    v = psub.add_parser("verify", help="re-run a workload under a proposal; report denials")
    v.add_argument(
        "--profile",
        type=Path,
        required=True,
        metavar="P.json",
        help="the seccomp profile to run under",
    )
    v.add_argument(
        "--caps",
        metavar="CAP,...",
        help="capabilities to add after --cap-drop ALL (comma-separated; '' for "
        "none; default: the recording's proposal, or none)",
    )
    v.add_argument(
        "--recording",
        type=Path,
        metavar="P.record.json",
        help="the recording to compare the exit code with (default: next to --profile)",
    )
    v.add_argument(
        "--no-inject",
        action="store_true",
        help="run the command as given (it already has the security options)",
    )
    v.add_argument(
        "--duration",
        type=parse_duration,
        metavar="TIME",
        help="stop after this long (a container is stopped with its engine, "
        "another command and its processes get SIGTERM)",
    )
    v.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary (the workload's own output goes to stderr)",
    )
    _command_arg(v, "the 'podman run ...' command to re-run")
    v.set_defaults(run=run, action="verify")

    b = psub.add_parser(
        "baseline", help="measure a runtime's init-phase syscalls (once per runtime version)"
    )
    b.add_argument("--runtime", required=True, metavar="NAME", help="runc or crun")
    b.add_argument(
        "--image",
        required=True,
        metavar="IMAGE",
        help="a small local image with /bin/true or a 'true' in PATH",
    )
    b.add_argument("--engine", default="podman", choices=("podman", "docker"))
    b.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra option for '<engine> run' (repeatable)",
    )
    b.add_argument("--repeat", type=int, default=2, help="runs per variant (default 2)")
    b.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="where to save it (default /var/lib/secengine/baselines)",
    )
    b.set_defaults(run=run, action="baseline")
    return p


def _command(args: argparse.Namespace) -> list[str]:
    cmd = list(args.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("give the command after '--'")
    return cmd


def _record_path(profile: Path) -> Path:
    name = profile.name.removesuffix(".json")
    return profile.with_name(name + ".record.json")


def run(args: argparse.Namespace) -> int:
    writes = args.action in ("run", "exec", "attach", "baseline")
    try:
        return _dispatch(args)
    except BpfError as e:
        sys.stderr.write(f"secengine profile: {e}\n")
        return ExitStatus.USAGE
    except Interrupted as e:
        sys.stderr.write(f"secengine profile {args.action}: {e}\n")
        return exit_status(e.signum)
    except WorkloadNotStarted as e:
        tail = "; nothing was written" if writes else ""
        sys.stderr.write(f"secengine profile {args.action}: {e}{tail}\n")
        return ExitStatus.NOT_STARTED
    except SecengineError as e:
        sys.stderr.write(f"secengine profile {args.action}: {e}\n")
        return ExitStatus.USAGE


def _dispatch(args: argparse.Namespace) -> int:
    # the files this command will write: wrong paths stop it before anything is recorded
    if getattr(args, "output", None) is not None and args.action != "verify":
        check_output_path(args.output, "-o")
        check_output_path(_record_path(args.output), "-o (its recording)")
    if getattr(args, "report", None) is not None:
        check_output_path(args.report, "--report")

    if args.action == "verify":
        return _verify(args)
    if args.action == "baseline":
        return _baseline(args)
    _check_outputs(args)
    if args.action == "run":
        rec = session.record_command(
            _command(args),
            mode="run",
            duration=args.duration,
            runtime=args.runtime,
            stdout_to_stderr=args.json,
        )
    elif args.action == "exec":
        rec = session.record_command(
            _command(args), mode="exec", duration=args.duration, stdout_to_stderr=args.json
        )
    elif args.action == "attach":
        rec = session.record_attach(
            args.container, args.duration, (*args.baseline_dir, USER_DIR, SHIPPED_DIR)
        )
    else:
        rec = _merge(args.inputs)
    _propose(rec, args)
    return ExitStatus.OK


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output that cannot be written before recording, not after.

    The recorder's own requirements (root, BTF) are said first: they are the bigger problem.
    """

    if args.action != "merge":
        preflight()

    for path in (args.output, _record_path(args.output), args.report):
        if path is not None:
            check_writable(path)


def _merge(inputs: Sequence[Path]) -> Recording:
    merged: Recording | None = None
    for path in inputs:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError):
            data = None  # load_recording says what is wrong with it
        if isinstance(data, dict) and "defaultAction" in data:
            names = profile_names(load_profile(path))
            rec = Recording(mode="profile", command=[], init_source=f"profile {path.name}")
            rec.syscalls.add("work", "ok", names.allowed)
            rec.syscalls.add("work", "enosys", {n for n, e in names.errno.items() if e == 38})
            rec.started = True
        else:
            rec = load_recording(path)
        if merged is None:
            merged = rec
        else:
            merged.merge(rec)
    assert merged is not None
    return merged


def _propose(rec: Recording, args: argparse.Namespace) -> None:
    pol = policy(rec)
    caps = infer(rec.ops, Context.from_host())
    out: Path = args.output
    default_path = find_default_profile(args.compare)
    comparison = None
    if default_path is not None:
        default = profile_names(load_profile(default_path), DOCKER_DEFAULT_CAPS)
        comparison = compare(pol, default, default_path)
    text = render(rec, pol, caps, comparison, out)
    files = [
        (out, profile_json(build_profile(pol, audit=args.audit)), public_mode()),
        (_record_path(out), rec.to_text(), PRIVATE),
    ]
    if args.report:
        files.append((args.report, text, PRIVATE))
    write_files(files)
    if args.json:
        summary = {
            "profile": str(out),
            "recording": str(_record_path(out)),
            "allowed": sorted(pol.allowed),
            "enosys": sorted(pol.enosys),
            "capabilities": caps.required,
            "possible_capabilities": caps.possible,
            "cap_args": cap_args(caps.required),
            "started": rec.started,
            "exit_code": rec.exit_code,
            "init_source": rec.init_source,
            "default_profile": str(default_path) if default_path else None,
            "default_allowed": comparison.default_allowed if comparison else None,
            "removed": comparison.removed if comparison else None,
            "notes": rec.notes,
        }
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    else:
        sys.stdout.write(text)


def _verify(args: argparse.Namespace) -> int:
    ref_path = args.recording or _record_path(args.profile)
    reference = load_recording(ref_path) if ref_path.is_file() else None
    if args.caps is not None:
        caps: list[str] | None = [c.strip() for c in args.caps.split(",") if c.strip()]
    elif reference is not None:
        caps = infer(reference.ops, Context.from_host()).required
    else:
        caps = []
    if args.no_inject:
        caps = None
    result = session.verify(
        _command(args),
        args.profile,
        caps,
        reference=reference,
        inject=not args.no_inject,
        duration=args.duration,
        stdout_to_stderr=args.json,
    )
    if args.json:
        sys.stdout.write(
            json.dumps(
                {
                    "ok": result.ok,
                    "started": result.started,
                    "exit_code": result.recording.exit_code,
                    "expected_exit_code": result.expected_exit,
                    "denied": result.denied,
                    "denied_as_recorded": result.denied_as_recorded,
                    "would_deny": result.would_deny,
                    "capability_denials": [f.need.reason for f in result.cap_denials],
                    "command": result.command,
                },
                indent=1,
            )
            + "\n"
        )
    else:
        sys.stdout.write(render_verify(result))
    return ExitStatus.OK if result.ok else ExitStatus.FAILED


def _baseline(args: argparse.Namespace) -> int:
    version = runtime_version(args.runtime)
    recordings = []
    labels = []
    for label, extra in VARIANTS:
        for _ in range(args.repeat):
            cmd = [args.engine, "run", "--rm", *args.engine_arg, *extra, args.image, "true"]
            rec = session.record_command(cmd, mode="run", runtime=args.runtime)
            if not rec.started or rec.exit_code != 0:
                sys.stderr.write(
                    f"secengine profile baseline: the {label} run failed "
                    f"(exit code {rec.exit_code}): {' '.join(rec.command)}\n"
                )
                return ExitStatus.USAGE
            recordings.append(rec)
            labels.append(label)
    engine_version = _engine_version(args.engine)
    base = baseline_from_recordings(args.runtime, version, recordings, engine_version, labels)
    path = base.save(args.dir or USER_DIR)
    init = base.syscalls.seen(("init",))
    sys.stdout.write(
        f"{base.label}: {len(init)} init-phase syscalls -> {path}\n  "
        + " ".join(sorted(init))
        + "\n"
    )
    return 0


def _engine_version(engine: str) -> str:
    proc = subprocess.run(
        [engine, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    return proc.stdout.strip() or engine
