"""``secengine profile``: argument handling and ``merge``, which needs no kernel."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from secengine.cli import main
from secengine.commands.profile import parse_duration
from secengine.profile.recording import Op, Recording, load_recording


def test_durations() -> None:
    assert parse_duration("60s") == 60.0
    assert parse_duration("2m") == 120.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1.5h") == 5400.0
    assert parse_duration("7") == 7.0
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        parse_duration("soon")


def replica(extra: str, port: int) -> Recording:
    rec = Recording(
        mode="run",
        command=["podman", "run", "web"],
        exit_code=0,
        started=True,
        init_source="recorded",
    )
    rec.syscalls.add("init", "ok", {"capset", "execve"})
    rec.syscalls.add("work", "ok", {"read", "accept4", extra})
    rec.ops = [Op("bind", "bind", "work", 0, 1 << 10, 0, (2, port, 1024) + (0,) * 7)]
    return rec


def test_merge_replicas_and_a_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replica("fsync", 80).save(tmp_path / "a.record.json")
    replica("fdatasync", 443).save(tmp_path / "b.record.json")
    (tmp_path / "c.json").write_text(
        json.dumps(
            {
                "defaultAction": "SCMP_ACT_ERRNO",
                "syscalls": [
                    {"names": ["uname"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                ],
            }
        )
    )
    out = tmp_path / "merged.json"
    rc = main(
        [
            "profile",
            "merge",
            str(tmp_path / "a.record.json"),
            str(tmp_path / "b.record.json"),
            str(tmp_path / "c.json"),
            "-o",
            str(out),
            "--compare",
            str(tmp_path / "c.json"),
            "--json",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    prof = json.loads(out.read_text())
    allowed = set(prof["syscalls"][0]["names"])
    assert {"capset", "execve", "read", "accept4", "fsync", "fdatasync", "uname"} <= allowed
    assert prof["syscalls"][1] == {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
    assert summary["capabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert summary["cap_args"] == ["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"]
    merged = load_recording(tmp_path / "merged.record.json")
    assert merged.sources == 3 and merged.mode == "merged"
    assert sorted(o.v[1] for o in merged.ops) == [80, 443]


def test_report_and_audit_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replica("fsync", 8080).save(tmp_path / "a.record.json")
    out = tmp_path / "p.json"
    report = tmp_path / "report.txt"
    assert (
        main(
            [
                "profile",
                "merge",
                str(tmp_path / "a.record.json"),
                "-o",
                str(out),
                "--audit",
                "--report",
                str(report),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert printed == report.read_text()
    assert "Capabilities: --cap-drop ALL\n" in printed
    assert json.loads(out.read_text())["defaultAction"] == "SCMP_ACT_LOG"


def test_commands_need_a_command_and_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", "exec", "--"]) == 2  # ExitStatus.USAGE, not SystemExit's 1
    assert capsys.readouterr().err == "secengine profile exec: give the command after '--'\n"
    assert main(["profile", "merge", str(tmp_path / "missing.record.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("secengine profile merge: cannot read") and err.count("\n") == 1
    (tmp_path / "p.json").write_text('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}')
    assert (
        main(["profile", "verify", "--profile", str(tmp_path / "p.json"), "--", "sh", "-c", "true"])
        == 2
    )
    assert "verify re-runs a 'docker run' or 'podman run'" in capsys.readouterr().err


def test_merge_refuses_what_is_not_a_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert main(["profile", "merge", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err
