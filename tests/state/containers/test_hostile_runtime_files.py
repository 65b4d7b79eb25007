"""Bad or hostile runtime files: a counted error, one log line, the fields fall back; never a crash.

Each case spoils one file of a fixture container (huge, truncated, not
JSON, a symlink to a file elsewhere, a directory symlinked outside the
root, wrong types, a FIFO, deep nesting) and reads the container as the
first event would. A property test then feeds the readers arbitrary bytes
and arbitrary JSON in every file they read.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from fuzzing import JSON_VALUES, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from runtime_fixtures import CTD_APP, DOCKER_ID, PODMAN_ID, Roots, copy_fixtures

from secengine.state.containers import ContainerInfo


def _ctd_config(roots: Roots) -> Path:
    return roots.containerd / "io.containerd.runtime.v2.task" / "k8s.io" / CTD_APP / "config.json"


def _read(roots: Roots, cid: str) -> tuple[ContainerInfo, dict[tuple[str, str], int]]:
    resolver = roots.resolver()
    info = resolver.get(cid)
    return info, dict(resolver.file_errors)


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])


def _huge(p: Path) -> None:
    with p.open("wb") as fh:
        fh.write(b'{"a": "' + b"x" * (2 << 20) + b'"}')


def _outside(p: Path) -> None:
    elsewhere = p.parent.parent.parent.parent.parent / "elsewhere.json"
    elsewhere.write_bytes(p.read_bytes())
    p.unlink()
    p.symlink_to(elsewhere)


def _wrong_types(p: Path) -> None:
    doc = json.loads(p.read_text())
    doc["annotations"] = ["not", "an", "object"]
    p.write_text(json.dumps(doc))


def _deep(p: Path) -> None:
    p.write_text("[" * 100_000 + "]" * 100_000)


def _fifo(p: Path) -> None:
    p.unlink()
    os.mkfifo(p)


CASES = {
    "truncated": (_truncate, "not_json"),
    "not JSON": (lambda p: p.write_bytes(b"\x00\xff garbage"), "not_json"),
    "huge": (_huge, "too_large"),
    "symlinked elsewhere": (_outside, "symlink"),
    "wrong types": (_wrong_types, "wrong_type"),
    "deeply nested": (_deep, "too_deep"),
    "a FIFO": (_fifo, "wrong_type"),
    "a JSON array": (lambda p: p.write_text("[1, 2]"), "wrong_type"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_spoilt_containerd_bundle_is_counted_and_the_fields_fall_back(
    roots: Roots, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    spoil, reason = CASES[case]
    spoil(_ctd_config(roots))
    with caplog.at_level(logging.WARNING, logger="secengine.containers"):
        info, errors = _read(roots, CTD_APP)
    assert errors == {("containerd", reason): 1}
    assert not info.resolved and info.name == "" and info.privileged is None
    lines = [r for r in caplog.records if r.name == "secengine.containers"]
    assert len(lines) == 1 and CTD_APP[:12] in lines[0].getMessage()
    assert "Traceback" not in caplog.text


def test_a_task_directory_symlinked_outside_the_root_is_refused(roots: Roots) -> None:
    ns = roots.containerd / "io.containerd.runtime.v2.task" / "k8s.io"
    outside = roots.base / "outside"
    (ns / CTD_APP).rename(outside)
    (ns / CTD_APP).symlink_to(outside)
    info, errors = _read(roots, CTD_APP)
    assert errors == {("containerd", "outside_root"): 1} and not info.resolved


def test_a_spoilt_libpod_database_falls_back_to_the_bundle(roots: Roots) -> None:
    db = roots.libpod_db()
    db.write_bytes(b"\0" * 8192)
    info, errors = _read(roots, PODMAN_ID)
    assert errors == {("podman", "not_bolt"): 1}
    # the bundle and containers.json still give name, image and privileged
    assert info.resolved and info.name == "i14-files-fx" and info.privileged is True


def test_a_libpod_record_of_the_wrong_shape(roots: Roots) -> None:
    roots.write_libpod({PODMAN_ID: json.dumps({"name": 5, "spec": {}}).encode()})
    info, errors = _read(roots, PODMAN_ID)
    assert errors == {("podman", "wrong_type"): 1}
    assert info.resolved and info.name == "i14-files-fx"  # from containers.json


def test_docker_hostconfig_not_json(roots: Roots) -> None:
    (roots.docker / "containers" / DOCKER_ID / "hostconfig.json").write_text("{")
    info, errors = _read(roots, DOCKER_ID)
    assert errors == {("docker", "not_json"): 1} and not info.resolved


def test_one_log_line_per_container_however_many_errors(
    roots: Roots, caplog: pytest.LogCaptureFixture
) -> None:
    _ctd_config(roots).write_text("{")
    resolver = roots.resolver()
    with caplog.at_level(logging.WARNING, logger="secengine.containers"):
        for _ in range(5):
            resolver.on_exec(CTD_APP)  # read again at each exec while not found
    assert resolver.file_errors[("containerd", "not_json")] == 5
    assert len([r for r in caplog.records if r.name == "secengine.containers"]) == 1


# -- property: whatever the bytes, a reader returns or raises FileError, and the resolver never
# -- raises ----------------------------------------------------------------------------------

_FILES = {
    "containerd": lambda r: _ctd_config(r),
    "podman bundle": lambda r: (
        r.graph / "overlay-containers" / PODMAN_ID / "userdata" / "config.json"
    ),
    "containers.json": lambda r: r.graph / "overlay-containers" / "containers.json",
    "docker config": lambda r: r.docker / "containers" / DOCKER_ID / "config.v2.json",
    "docker hostconfig": lambda r: r.docker / "containers" / DOCKER_ID / "hostconfig.json",
    "runc state": lambda r: r.runc / PODMAN_ID / "state.json",
}


def _contents() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=512),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(
            st.sampled_from(
                ["annotations", "linux", "process", "mounts", "Config", "Name", "MountPoints"]
            ),
            JSON_VALUES,
        ).map(lambda v: json.dumps(v).encode()),
    )


@pytest.mark.fuzz
@fuzz_settings(short=150)
@given(which=st.sampled_from(sorted(_FILES)), content=_contents(), libpod=_contents())
def test_readers_never_crash_on_arbitrary_files(
    tmp_path_factory: pytest.TempPathFactory, which: str, content: bytes, libpod: bytes
) -> None:
    roots = copy_fixtures(tmp_path_factory.mktemp("fuzz"))
    _FILES[which](roots).write_bytes(content)
    roots.write_libpod({PODMAN_ID: libpod})
    resolver = roots.resolver()
    for cid in (CTD_APP, PODMAN_ID, DOCKER_ID):
        info = resolver.get(cid)
        assert info.full_id == cid
        assert all(isinstance(v, str) for v in info.labels.values())
        assert info.privileged in (None, True, False)
    assert all(reason for (_, reason) in resolver.file_errors)


@pytest.mark.fuzz
@fuzz_settings(short=150)
@given(data=st.binary(min_size=0, max_size=20000))
def test_the_bolt_reader_never_crashes_on_arbitrary_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    from secengine.state.containers.files import FileError
    from secengine.state.containers.files.boltdb import lookup

    path = tmp_path_factory.mktemp("bolt") / "db"
    path.write_bytes(data)
    try:
        lookup(str(path), (b"ctr", PODMAN_ID.encode()), b"config", 1 << 20)
    except FileError:
        pass
