"""A real podman container's FIRST process carries its metadata, through ``secengine run``.

The entrypoint's exec is the first event of a container: before the
runtime's files were read synchronously, only ``container.id`` was known
then (the API answered later). A rule matching the entrypoint (pid 1 of the
container's pid namespace) prints the container fields; they must be the
container's name, image, privileged flag, mounts and labels, for a
privileged container with labels and a bind mount and for a plain one, and
for a later process too. No runtime API socket is involved (``secengine
run`` uses the default sockets; none answers for these containers here).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from podman_support import IMAGE, IMAGE_REPOSITORY, PODMAN_RUN, build_image
from secengine_run import read_alerts, start, stop

pytestmark = [
    pytest.mark.bpf,
    pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed"),
]

MARK = "i14-files-first"
FIELDS = [
    "container.name",
    "container.type",
    "container.image",
    "container.image.repository",
    "container.image.tag",
    "container.privileged",
    "container.mounts",
    "container.label[app]",
    "container.labels",
    "container.host_network",
    "container.full_id",
    "proc.vpid",
    "proc.cmdline",
]
RULES = f"""
- rule: i14 test container process
  desc: a process of a test container (issue 14 item 4)
  condition: evt.type in (execve, execveat) and container.id != host and proc.cmdline contains "{MARK}"
  output: "test container process | {" ".join(f"{f}=%{f}" for f in FIELDS)}"
  priority: WARNING
"""


def _run(name: str, *extra: str, host_dir: str) -> str:
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    r = subprocess.run(
        [
            *PODMAN_RUN,
            "--rm",
            "--name",
            name,
            "-v",
            f"{host_dir}:/data:ro",
            *extra,
            IMAGE,
            "sh",
            "-c",
            # the trailing command keeps sh from exec'ing the inner one in place of itself
            f"true {MARK}-entry; sh -c 'true {MARK}-later'; true",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    return name


def test_the_entrypoint_of_a_podman_container_has_its_metadata() -> None:
    build_image()
    host_dir = tempfile.mkdtemp(prefix="i14-files-data-")
    rules = Path(tempfile.mkdtemp(prefix="i14-files-rules-")) / "rules.yaml"
    rules.write_text(RULES)
    run = start(rules)
    try:
        _run(
            "i14-files-priv",
            "--privileged",
            "--label",
            "app=web",
            "--label",
            "tier=front",
            host_dir=host_dir,
        )
        _run("i14-files-plain", host_dir=host_dir)
        alerts = read_alerts(run, 60.0, lambda got: len(got) >= 4)
    finally:
        log = stop(run)
        shutil.rmtree(host_dir, ignore_errors=True)
    seen = [a["output_fields"] for a in alerts if a["rule"] == "i14 test container process"]
    entry = {f["container.name"]: f for f in seen if MARK + "-entry" in f["proc.cmdline"]}
    assert "i14-files-priv" in entry and "i14-files-plain" in entry, (seen, log)
    first = entry["i14-files-priv"]
    assert first["proc.vpid"] == 1  # the container's first process
    assert first["container.type"] == "podman"
    assert first["container.image"] == IMAGE
    assert first["container.image.repository"] == IMAGE_REPOSITORY
    assert first["container.image.tag"] == IMAGE.rsplit(":", 1)[1]
    assert first["container.privileged"] is True
    assert first["container.mounts"] == f"{host_dir}:/data::false:rprivate"
    assert first["container.label[app]"] == "web"
    assert first["container.labels"] == "app:web, tier:front"
    assert first["container.host_network"] is False  # --network none: its own namespace
    plain = entry["i14-files-plain"]
    assert plain["container.privileged"] is False
    assert plain["container.labels"] == ""
    assert plain["container.mounts"] == f"{host_dir}:/data::false:rprivate"
    # a later process of the same container
    later = [
        f
        for f in seen
        if f["container.name"] == "i14-files-priv"
        and MARK + "-later" in f["proc.cmdline"]
        and MARK + "-entry" not in f["proc.cmdline"]
    ]
    assert later and later[0]["container.privileged"] is True, seen
    assert later[0]["proc.vpid"] != 1
    assert later[0]["container.full_id"] == first["container.full_id"]
