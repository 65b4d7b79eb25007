"""Runtimes and container commands: versions, security options, the container's tasks."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from secengine.profile.errors import ContainerNotFound, ProfileError
from secengine.profile.recorder import mntns_of
from secengine.profile.runtime import (
    _from_inspect,
    blocked_syscalls,
    engine_of,
    inject_options,
    resolve_container,
    runtime_of_command,
    runtime_version,
    tasks_in_mntns,
    with_cidfile,
)
from secengine.profile.session import with_runtime
from secengine.syscall_table import NUMBERS


def test_inject_after_run() -> None:
    cmd = ["podman", "--runtime", "runc", "run", "--rm", "img", "sh", "-c", "run"]
    out = inject_options(cmd, Path("/p.json"), ["CAP_NET_BIND_SERVICE"])
    assert out == [
        "podman",
        "--runtime",
        "runc",
        "run",
        "--security-opt",
        "seccomp=/p.json",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "NET_BIND_SERVICE",
        "--rm",
        "img",
        "sh",
        "-c",
        "run",
    ]
    assert inject_options(["docker", "create", "img"], None, []) == [
        "docker",
        "create",
        "--cap-drop",
        "ALL",
        "img",
    ]
    assert inject_options(["/usr/bin/podman", "run", "img"], Path("p"), None) == [
        "/usr/bin/podman",
        "run",
        "--security-opt",
        "seccomp=p",
        "img",
    ]


def test_inject_refuses_other_commands() -> None:
    with pytest.raises(ProfileError, match="docker run"):
        inject_options(["sh", "-c", "podman run x"], None, [])
    with pytest.raises(ProfileError, match="docker run"):
        inject_options(["podman", "ps"], None, [])


def test_runtime_option_of_engines() -> None:
    assert with_runtime(["podman", "run", "img"], "crun") == [
        "podman",
        "--runtime",
        "crun",
        "run",
        "img",
    ]
    assert with_runtime(["docker", "run", "img"], "crun") == [
        "docker",
        "run",
        "--runtime",
        "crun",
        "img",
    ]
    assert with_runtime(["podman", "--runtime", "runc", "run", "img"], "crun") == [
        "podman",
        "--runtime",
        "runc",
        "run",
        "img",
    ]
    assert with_runtime(["sh"], "crun") == ["sh"]
    assert runtime_of_command(["podman", "--runtime=/usr/bin/crun", "run"]) == "crun"
    assert runtime_of_command(["podman", "run"]) is None
    assert engine_of(["/usr/bin/docker", "run"]) == "docker"
    assert engine_of(["sh"]) == ""


def test_runtime_version_from_the_binary(tmp_path: Path) -> None:
    fake = tmp_path / "runc"
    fake.write_text("#!/bin/sh\necho 'runc version 1.1.5+ds1'\necho 'commit: x'\n")
    fake.chmod(0o755)
    assert runtime_version(str(fake)) == "1.1.5"
    fake.write_text("#!/bin/sh\necho 'crun version 1.8.1'\n")
    assert runtime_version(str(fake)) == "1.8.1"
    fake.write_text("#!/bin/sh\necho nothing\n")
    with pytest.raises(ProfileError, match="cannot tell the version"):
        runtime_version(str(fake))
    with pytest.raises(ProfileError, match="not installed"):
        runtime_version("no-such-runtime-here")


def test_inspect_documents_of_both_engines() -> None:
    podman = {
        "Id": "abc",
        "Name": "web",
        "State": {"Pid": 42},
        "OCIRuntime": "crun",
        "ImageName": "localhost/img:1",
    }
    docker = {
        "Id": "def",
        "Name": "/api",
        "State": {"Pid": 7},
        "HostConfig": {"Runtime": "runc"},
        "Config": {"Image": "nginx"},
    }
    assert _from_inspect(podman, "podman").runtime == "crun"
    ref = _from_inspect(docker, "docker")
    assert (ref.name, ref.pid, ref.runtime, ref.image) == ("api", 7, "runc", "nginx")


def test_an_unknown_container_is_an_error() -> None:
    with pytest.raises(ContainerNotFound, match="no container 'secengine-no-such-container'"):
        resolve_container("secengine-no-such-container", sockets=())


def test_tasks_and_blocked_syscalls_of_a_mount_namespace() -> None:
    mine = tasks_in_mntns(mntns_of("self"))
    assert (os.getpid(), threading.get_native_id()) in mine
    r, w = os.pipe()
    t = threading.Thread(target=os.read, args=(r, 1))
    t.start()
    try:
        time.sleep(0.1)
        blocked = blocked_syscalls([(os.getpid(), t.native_id or 0)])
        assert blocked == {NUMBERS["read"]}
    finally:
        os.write(w, b"x")
        t.join()


def test_cidfile_for_stopping_the_container() -> None:
    cmd, path = with_cidfile(["podman", "--runtime", "runc", "run", "--rm", "img"], Path("/t/c"))
    assert cmd == ["podman", "--runtime", "runc", "run", "--cidfile", "/t/c", "--rm", "img"]
    assert path == Path("/t/c")
    assert with_cidfile(["docker", "run", "--cidfile=/mine", "img"], Path("/t/c")) == (
        ["docker", "run", "--cidfile=/mine", "img"],
        Path("/mine"),
    )
    assert with_cidfile(["sh", "-c", "x"], Path("/t/c")) == (["sh", "-c", "x"], None)


def test_the_engines_error_message_is_found_in_its_stderr() -> None:
    from secengine.profile.runtime import MESSAGE_CHARS, engine_message

    assert (
        engine_message("Error: unknown flag: --bogus\nSee 'podman run --help'\n")
        == "unknown flag: --bogus"
    )
    assert (
        engine_message(
            "docker: Error response from daemon: No such image: x.\nSee 'docker run --help'.\n"
        )
        == "No such image: x"
    )
    assert engine_message('time="t" level=error msg="bad \\"thing\\""\n') == 'bad "thing"'
    assert engine_message("the workload's own output\n") is None
    long = engine_message("Error: " + "x" * 1000)
    assert long is not None and len(long) == MESSAGE_CHARS + 3
