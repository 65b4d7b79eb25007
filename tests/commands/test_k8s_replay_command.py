"""``secengine replay FILE --source k8s_audit``: audit logs replayed through the upstream rules."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from k8s_audit_cases import K8S_RULES, create_pod, pod, simple
from upstream_rules import needs_upstream

from secengine.cli import main


def _run(argv: list[str], capfdbinary: pytest.CaptureFixture[bytes]) -> tuple[int, str, str]:
    rc = main(["replay", *argv])
    out, err = capfdbinary.readouterr()
    return rc, out.decode(), err.decode()


def _line(doc: object) -> bytes:
    return orjson.dumps(doc) + b"\n"


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")


@needs_upstream
def test_replays_an_audit_log(tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(
        _line(create_pod(pod(hostPID=True), user="kubernetes-admin"))
        + _line(
            {
                "kind": "EventList",
                "items": [simple("get", "secrets", "db-pass", "shop", user="kubernetes-admin")],
            }
        )
    )
    rc, out, err = _run([str(log), "--source", "k8s_audit", "-r", str(K8S_RULES)], capfdbinary)
    assert rc == 0, err
    assert out.splitlines() == [
        (
            "10:15:30.123456789: Warning Pod started using host pid namespace "
            "(user=kubernetes-admin pod=web-7f9c resource=pods ns=default images=(nginx:1.25.4))"
        ),
        (
            "10:15:30.123456789: Error K8s Secret Get Successfully (user=kubernetes-admin "
            "secret=db-pass ns=shop resource=secrets resp=200 decision=allow "
            # Falco escapes double quotes in values of the text line
            r"reason=RBAC: allowed by ClusterRoleBinding \"developers\" of ClusterRole \"edit\" to "
            r"Group \"developers\")"
        ),
    ]
    assert "Events read: 2 from 1 input(s)" in err and "Lines rejected: 0" in err
    assert "Events detected: 2" in err


@needs_upstream
def test_json_output_and_directories_with_gzip(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    d = tmp_path / "audit"
    d.mkdir()
    with gzip.open(d / "audit-1.log.gz", "wb") as fh:
        fh.write(_line(simple("get", "pods", "a", "d", user="mallory")))
    (d / "audit.log").write_bytes(_line(simple("get", "pods", "b", "d", user="mallory")))
    os.utime(d / "audit-1.log.gz", (1, 1))
    rc, out, err = _run(
        [str(d), "--source", "k8s_audit", "-r", str(K8S_RULES), "--json"], capfdbinary
    )
    assert rc == 0, err
    alerts = [orjson.loads(x) for x in out.splitlines()]
    assert [a["output_fields"]["ka.target.name"] for a in alerts] == ["a", "b"]
    assert {(a["rule"], a["source"]) for a in alerts} == {("Disallowed K8s User", "k8s_audit")}
    assert alerts[0]["time"] == "2024-05-02T10:15:30.123456789Z"
    assert "from 2 input(s)" in err


@needs_upstream
def test_bad_lines_are_reported_and_counted(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    log = tmp_path / "audit.log"
    no_ts = {k: v for k, v in simple("get", "pods", "x", "d").items() if k != "stageTimestamp"}
    log.write_bytes(
        b'{"kind": 0}\n' + _line(no_ts) + _line(simple("get", "pods", "ok", "d", user="mallory"))
    )
    rc, out, err = _run([str(log), "--source", "k8s_audit", "-r", str(K8S_RULES)], capfdbinary)
    assert rc == 0
    assert f"{log}:1: data not recognized as a k8s audit event (kind: 0) (line skipped)" in err
    assert f"{log}:2: audit event has no stageTimestamp (line skipped)" in err
    assert "Lines rejected: 2" in err and "Events read: 1" in err
    assert len(out.splitlines()) == 1


@needs_upstream
def test_nothing_readable_exits_non_zero(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b'{"kind": 0}\n[1, 2]\n')
    rc, _, err = _run([str(log), "--source", "k8s_audit", "-r", str(K8S_RULES)], capfdbinary)
    assert rc == 2 and "no audit event could be read" in err
    rc, _, err = _run([str(tmp_path / "missing.log"), "--source", "k8s_audit"], capfdbinary)
    assert rc == 2 and "cannot read input" in err


@needs_upstream
def test_field_map_files_still_work_with_the_k8s_source(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        _line(
            {
                "time": 1,
                "fields": {
                    "ka.verb": "get",
                    "ka.user.name": "mallory",
                    "jevt.value[/stage]": "ResponseComplete",
                },
            }
        )
    )
    rc, out, err = _run([str(events), "--source", "k8s_audit", "-r", str(K8S_RULES)], capfdbinary)
    assert rc == 0, err
    assert "K8s Operation performed by user not in allowed list" in out


@needs_upstream
def test_audit_events_on_stdin(tmp_path: Path) -> None:
    data = _line(simple("get", "pods", "piped", "d", user="mallory"))
    code = "import sys; from secengine.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, "replay", "-", "--source", "k8s_audit", "-r", str(K8S_RULES)],
        input=data,
        capture_output=True,
        check=False,
        env={**os.environ, "TZ": "UTC"},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"target=piped/pods" in proc.stdout
