"""Falco's stable rules (falco_rules.yaml, unmodified) firing on real behaviour, live.

Each case runs a behaviour the rule is about and a benign look-alike that
must not fire, in child processes or podman containers, and reads the
alerts the engine produces while the probe's records are applied. Every
command carries a unique token, so alerts caused by anything else on the
machine are ignored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from upstream_rules import require

pytestmark = pytest.mark.bpf


RULES = "falco_rules.yaml"


@pytest.fixture(scope="module")
def engine() -> Any:
    from secengine.engine import Engine
    from secengine.output import AlertFormatter
    from secengine.sources.specs import load_rules

    ruleset = load_rules([str(require(RULES))])
    assert ruleset.successful
    return Engine(ruleset, rule_matching="all", formatter=AlertFormatter(hostname="test"))


def _fired(
    source: Any, live: Any, engine: Any, action: Callable[[], None], token: str, settle: float = 0.4
) -> set[str]:
    """The rules that fired on events whose command line or file carries ``token``."""
    _, alerts = live.collect(
        source, action, [], where=lambda f: False, engine=engine, settle=settle
    )
    return {a.rule for a in alerts if token in a.output}


def _ran(argv: list[str]) -> Callable[[], None]:
    """An action running ``argv``, failing unless it exits 0: a command that failed did not
    do what the rule looks for, and "not fired" must not pass on it (a command expected
    to fail ends in ``; true``)."""

    def action() -> None:
        r = subprocess.run(argv, capture_output=True, timeout=60, check=False)
        assert r.returncode == 0, (argv, r.stderr)

    return action


def _sh(cmd: str) -> Callable[[], None]:
    return _ran(["sh", "-c", cmd])


def _py(code: str, token: str) -> Callable[[], None]:
    return _ran([sys.executable, "-c", code, token])


def _token() -> str:
    return "se" + uuid.uuid4().hex[:10]


def test_create_symlink_over_sensitive_files(source, live, engine) -> None:
    t = _token()
    tmp = tempfile.mkdtemp(prefix=t)
    bad = _fired(source, live, engine, _sh(f"ln -s /etc/shadow {tmp}/{t}"), t)
    good = _fired(source, live, engine, _sh(f"ln -s /etc/hostname {tmp}/{t}b"), t)
    shutil.rmtree(tmp)
    assert "Create Symlink Over Sensitive Files" in bad
    assert "Create Symlink Over Sensitive Files" not in good


def test_create_hardlink_over_sensitive_files(source, live, engine) -> None:
    t = _token()
    tmp = tempfile.mkdtemp(prefix=t, dir="/var/tmp")
    plain = os.path.join(tmp, "plain")
    open(plain, "w").close()
    bad = _fired(source, live, engine, _sh(f"ln /etc/shadow {tmp}/{t} 2>/dev/null; true"), t)
    good = _fired(source, live, engine, _sh(f"ln {plain} {tmp}/{t}b"), t)
    shutil.rmtree(tmp)
    assert "Create Hardlink Over Sensitive Files" in bad
    assert "Create Hardlink Over Sensitive Files" not in good


_PTRACE = (
    "import ctypes, os, sys, time, signal\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    time.sleep(5); os._exit(0)\n"
    "REQ\n"
    "os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)\n"
)


def test_ptrace_attached_to_process(source, live, engine) -> None:
    t = _token()
    attach = _PTRACE.replace("REQ", "libc.ptrace(16, pid, None, None); os.waitpid(pid, 0)")
    peek = _PTRACE.replace("REQ", "libc.ptrace(12, pid, None, None)")  # GETREGS, not attached
    bad = _fired(source, live, engine, _py(attach, t), t)
    good = _fired(source, live, engine, _py(peek, t), t)
    assert "PTRACE attached to process" in bad
    assert "PTRACE attached to process" not in good


def test_ptrace_anti_debug(source, live, engine) -> None:
    t = _token()
    code = "import ctypes\nctypes.CDLL(None).ptrace(0, 0, None, None)\n"
    bad = _fired(source, live, engine, _py(code, t), t)
    assert "PTRACE anti-debug attempt" in bad


def test_fileless_execution_via_memfd_create(source, live, engine) -> None:
    t = _token()
    code = (
        "import os, sys\nfd = os.memfd_create('payload', 0)\n"
        "os.write(fd, open('/bin/true', 'rb').read())\n"
        "os.execve(fd, ['fileless', sys.argv[1]], {})\n"
    )
    benign = (
        "import os, sys\nfd = os.memfd_create('payload', 0)\n"
        "os.execv('/bin/true', ['true', sys.argv[1]])\n"
    )
    bad = _fired(source, live, engine, _py(code, t), t)
    good = _fired(source, live, engine, _py(benign, t), t)
    assert "Fileless execution via memfd_create" in bad
    assert "Fileless execution via memfd_create" not in good


def test_read_sensitive_file_untrusted(source, live, engine) -> None:
    t = _token()
    bad = _fired(source, live, engine, _sh(f"cat /etc/shadow /dev/null/{t} 2>/dev/null; true"), t)
    good = _fired(
        source, live, engine, _sh(f"cat /etc/hostname /dev/null/{t} 2>/dev/null; true"), t
    )
    assert "Read sensitive file untrusted" in bad
    assert "Read sensitive file untrusted" not in good


def test_search_private_keys_or_passwords(source, live, engine) -> None:
    t = _token()
    bad = _fired(source, live, engine, _sh(f"grep 'BEGIN PRIVATE' /dev/null {t}; true"), t)
    good = _fired(source, live, engine, _sh(f"grep 'BEGIN PUBLIC' /dev/null {t}; true"), t)
    assert "Search Private Keys or Passwords" in bad
    assert "Search Private Keys or Passwords" not in good


def test_find_aws_credentials(source, live, engine) -> None:
    t = _token()
    bad = _fired(
        source,
        live,
        engine,
        _sh(f"find /nonexistent-{t} -path .aws/credentials 2>/dev/null; true"),
        t,
    )
    good = _fired(
        source, live, engine, _sh(f"find /nonexistent-{t} -name config 2>/dev/null; true"), t
    )
    assert "Find AWS Credentials" in bad
    assert "Find AWS Credentials" not in good


def test_remove_bulk_data_from_disk(source, live, engine) -> None:
    t = _token()
    path = tempfile.mktemp(prefix=t)
    Path(path).write_text("x")
    bad = _fired(source, live, engine, _sh(f"shred -u {path}"), t)
    Path(path).write_text("x")
    good = _fired(source, live, engine, _sh(f"rm -f {path}"), t)
    assert "Remove Bulk Data from Disk" in bad
    assert "Remove Bulk Data from Disk" not in good


def test_clear_log_activities(source, live, engine) -> None:
    t = _token()
    path = f"/var/log/{t}.log"
    trunc = f"import os, sys\nos.close(os.open({path!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC))\n"
    append = (
        f"import os, sys\nos.close(os.open({path!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND))\n"
    )
    try:
        bad = _fired(source, live, engine, _py(trunc, t), t)
        good = _fired(source, live, engine, _py(append, t), t)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    assert "Clear Log Activities" in bad
    assert "Clear Log Activities" not in good


def test_directory_traversal_monitored_file_read(source, live, engine) -> None:
    t = _token()
    bad = _fired(source, live, engine, _py("open('/etc/../etc/../etc/hostname').read()", t), t)
    good = _fired(source, live, engine, _py("open('/etc/hostname').read()", t), t)
    assert "Directory traversal monitored file read" in bad
    assert "Directory traversal monitored file read" not in good


# ----------------------------------------------------------------------------
# in containers
# ----------------------------------------------------------------------------


def _container(podman: Any, name: str, cmd: str, *extra: str) -> Callable[[], None]:
    return lambda: podman.run(name, "sh", "-c", cmd, extra=extra)


def test_terminal_shell_in_container(source, live, engine, podman) -> None:
    t = _token()
    bad = _fired(
        source,
        live,
        engine,
        _container(podman, f"{t}-tty", f"sleep 1; true {t}", "-t"),
        t,
        settle=1.0,
    )
    good = _fired(
        source, live, engine, _container(podman, f"{t}-notty", f"sleep 1; true {t}"), t, settle=1.0
    )
    assert "Terminal shell in container" in bad
    assert "Terminal shell in container" not in good


def test_linux_kernel_module_injection_detected(source, live, engine, podman) -> None:
    t = _token()
    cmd = f"echo junk > /tmp/{t}.ko; sleep 1; insmod /tmp/{t}.ko; true"
    bad = _fired(
        source,
        live,
        engine,
        _container(podman, f"{t}-mod", cmd, "--cap-add", "SYS_MODULE"),
        t,
        settle=1.0,
    )
    good = _fired(source, live, engine, _container(podman, f"{t}-nomod", cmd), t, settle=1.0)
    assert "Linux Kernel Module Injection Detected" in bad
    assert "Linux Kernel Module Injection Detected" not in good


def test_netcat_remote_code_execution_in_container(source, live, engine, podman) -> None:
    t = _token()
    bad = _fired(
        source,
        live,
        engine,
        _container(podman, f"{t}-nc", f"sleep 1; /bin/nc -w 1 -e /bin/true 127.0.0.1 9 {t}; true"),
        t,
        settle=1.0,
    )
    good = _fired(
        source,
        live,
        engine,
        _container(podman, f"{t}-nc2", f"sleep 1; /bin/nc -w 1 127.0.0.1 9 {t}; true"),
        t,
        settle=1.0,
    )
    assert "Netcat Remote Code Execution in Container" in bad
    assert "Netcat Remote Code Execution in Container" not in good
