"""The human report: syscalls by phase, capabilities with their evidence, the default's surplus.

Plain text, wrapped at 100 columns, stable order (so it can be diffed and
tested). :func:`render` describes a proposal, :func:`render_verify` the
re-run of a workload under one.
"""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from secengine.profile.capabilities import Inference, cap_args, short_name
from secengine.profile.recording import Recording
from secengine.profile.seccomp import Policy, ProfileNames
from secengine.profile.session import VerifyResult
from secengine.syscall_table import NUMBERS

__all__ = ["Comparison", "compare", "render", "render_verify"]

_WIDTH = 100


@dataclass(slots=True)
class Comparison:
    """The proposal against a default profile."""

    path: Path
    default_allowed: int
    removed: list[str]
    added: list[str]
    allowed: int

    @property
    def ratio(self) -> float:
        return self.allowed / self.default_allowed if self.default_allowed else 0.0


def compare(pol: Policy, default: ProfileNames, path: Path) -> Comparison:
    """What the proposal removes from (and adds to) the default profile's allowed syscalls."""
    native = {n for n in default.allowed if n in NUMBERS}  # names of other ABIs do not count
    return Comparison(
        path,
        len(native),
        sorted(native - pol.allowed),
        sorted(pol.allowed - native),
        len(pol.allowed),
    )


def _names(title: str, names: Iterable[str], indent: str = "  ") -> list[str]:
    names = sorted(names)
    head = f"{indent}{title} ({len(names)})"
    if not names:
        return [head + ": none"]
    body = textwrap.wrap(" ".join(names), _WIDTH - len(indent) - 2)
    return [head + ":"] + [indent + "  " + line for line in body]


def render(
    rec: Recording,
    pol: Policy,
    caps: Inference,
    comparison: Comparison | None = None,
    profile_path: Path | None = None,
) -> str:
    """The report of a proposal made from ``rec``."""
    out: list[str] = []
    what = (
        shlex.join(rec.command)
        if rec.command
        else (f"container {rec.container.get('name', '')} ({rec.container.get('id', '')[:12]})")
    )
    out.append(f"Least-privilege proposal for: {what}")
    runtime = rec.runtime
    rt = f", runtime {runtime.get('name')} {runtime.get('version', '')}".rstrip() if runtime else ""
    runs = f", {rec.sources} recordings merged" if rec.sources > 1 else ""
    out.append(
        f"  mode {rec.mode}{rt}{runs}; recorded {rec.duration:.2f} s; exit code "
        f"{rec.exit_code if rec.exit_code is not None else '-'}; entrypoint ran: "
        f"{'yes' if rec.started else 'NO'}"
    )
    out.append("")
    sc = rec.syscalls
    out.append("Syscalls by phase")
    out += _names(
        f"init (the runtime after its seccomp filter, until the entrypoint; {rec.init_source})",
        sc.seen(("init",)),
    )
    out += _names("workload", sc.seen(("work",)))
    if not sc.phase_empty("pre") and rec.init_source == "recorded":
        out.append(
            f"  (the runtime's setup before the filter, not in the profile: "
            f"{len(sc.seen(('pre',)))} syscalls)"
        )
    out.append("")
    out.append("Seccomp profile" + (f" ({profile_path})" if profile_path else ""))
    out += _names("allowed", pol.allowed)
    if pol.enosys:
        out += _names(
            "answered ENOSYS (seen only failing with ENOSYS: the program falls back)", pol.enosys
        )
    if pol.denied_seen:
        out += _names(
            "left denied (seen only failing with EPERM, which the default action answers too)",
            pol.denied_seen,
        )
    if pol.unknown:
        out += _names("left out (unknown to this syscall table)", pol.unknown)
    if comparison is not None:
        out.append("")
        out += textwrap.wrap(
            f"Against the default profile {comparison.path}: it allows "
            f"{comparison.default_allowed} syscalls on x86_64, this one "
            f"{comparison.allowed} ({comparison.ratio:.0%})",
            _WIDTH,
            subsequent_indent="  ",
        )
        out += _names("removed", comparison.removed)
        if comparison.added:
            out += _names("added (not in the default)", comparison.added)
    out.append("")
    out.append("Capabilities: " + " ".join(cap_args(caps.required)))
    out.append(
        "  Kubernetes: securityContext.capabilities: {drop: [ALL], add: ["
        + ", ".join(short_name(c) for c in caps.required)
        + "]}"
    )
    for verdict, title in (
        ("required", "required"),
        ("possible", "possibly needed (not added)"),
        ("denied", "refused by the kernel during recording (not added)"),
        ("unneeded", "inferred but refuted: succeeded without it"),
    ):
        found = [f for f in caps.findings if f.verdict == verdict]
        if not found:
            continue
        out.append(f"  {title}:")
        seen: set[tuple[str, str]] = set()
        for f in sorted(found, key=lambda f: (f.need.capability, f.need.reason)):
            key = (f.need.capability, f.need.reason)
            if key in seen:
                continue
            seen.add(key)
            line = (
                f"{short_name(f.need.capability)}: {f.need.reason} (pid {f.op.pid}, {f.op.count}x)"
            )
            out += textwrap.wrap(line, _WIDTH, initial_indent="    ", subsequent_indent="      ")
    if not caps.findings:
        out.append("  no privileged operation was seen")
    if rec.stats.get("compat_syscalls"):
        out.append("")
        out.append(
            f"Note: {rec.stats['compat_syscalls']} 32-bit syscalls were seen; the "
            "profile covers x86_64 only"
        )
    for note in rec.notes:
        out += textwrap.wrap(f"Note: {note}", _WIDTH, subsequent_indent="  ")
    return "\n".join(out) + "\n"


def render_verify(result: object) -> str:
    """The report of ``profile verify`` (a :class:`~.session.VerifyResult`)."""

    assert isinstance(result, VerifyResult)
    rec = result.recording
    out = [f"Verify: {shlex.join(result.command)}"]
    out.append(f"  started (entrypoint ran): {'yes' if result.started else 'NO'}")
    exp = "-" if result.expected_exit is None else str(result.expected_exit)
    out.append(
        f"  exit code {rec.exit_code} (recorded: {exp}): "
        f"{'same' if result.exit_matches else 'DIFFERENT'}"
    )
    if result.profile.audit:
        out += _names(
            "would be denied (audit mode: they ran and the kernel logged them)", result.would_deny
        )
    else:
        out += _names("denied by the profile (EPERM at syscall exit)", result.denied)
        if result.denied_as_recorded:
            out += _names(
                "denied, as they were refused during recording too", result.denied_as_recorded
            )
    if result.cap_denials:
        out.append("  capability checks refused:")
        for f in result.cap_denials:
            out += textwrap.wrap(
                f"{short_name(f.need.capability)}: {f.need.reason}",
                _WIDTH,
                initial_indent="    ",
                subsequent_indent="      ",
            )
    out.append("Result: " + ("PASS" if result.ok else "FAIL"))
    return "\n".join(out) + "\n"
