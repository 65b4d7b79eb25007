"""Every live syscall field has a test against ground truth: the list, checked both ways.

``TESTS_OF_LIVE_FIELDS`` names, for each field the live syscall source
extracts, the test in ``tests/bpf`` that sets up a real process, file, socket
or container and asserts the field against what /proc, stat(2) or the
runtime says. A field added to the live extraction without an entry here
fails :func:`test_every_live_field_is_listed_once`; an entry whose test does not
assert the field fails :func:`test_each_listed_test_asserts_its_field`. This
file needs no probe (no ``bpf`` marker), so the check runs everywhere.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


def live_fields() -> set[str]:
    """The fields the live syscall source extracts (the one place that knows where they are)."""
    from secengine.fields.registry import live_field_names as fields_with_live_extraction

    return set(fields_with_live_extraction())


#: "file::test" -> the live fields it asserts against ground truth
TESTS_OF_LIVE_FIELDS: dict[str, tuple[str, ...]] = {
    "test_live_field_truth.py::test_a_connect_between_two_loopback_addresses": (
        "fd.cip",
        "fd.cip.name",
        "fd.cnet",
        "fd.lip",
        "fd.lip.name",
        "fd.lnet",
        "fd.lport",
        "fd.net",
        "fd.port",
        "fd.rip",
        "fd.rip.name",
        "fd.rnet",
        "fd.rport",
        "fd.sip",
        "fd.sip.name",
        "fd.snet",
    ),
    "test_live_field_truth.py::test_a_labelled_container_with_a_bind_mount": (
        "container.duration",
        "container.full_id",
        "container.id",
        "container.image",
        "container.image.digest",
        "container.image.id",
        "container.image.tag",
        "container.label",
        "container.labels",
        "container.ip",
        "container.host_pid",
        "container.host_network",
        "container.host_ipc",
        "container.mount",
        "container.mount.source",
        "container.mount.dest",
        "container.mount.mode",
        "container.mount.rdwr",
        "container.mount.propagation",
        "container.mounts",
        "container.start_ts",
        "k8s.ns.name",
        "k8s.pod.name",
        "k8s.pod.uid",
        "k8s.pod.id",
        "k8s.pod.sandbox_id",
        "k8s.pod.full_sandbox_id",
        "k8s.pod.label",
        "k8s.pod.labels",
        "k8s.pod.ip",
        "proc.exepath",
        "proc.is_exe_lower_layer",
        "proc.is_exe_upper_layer",
    ),
    "test_live_field_truth.py::test_a_process_tree_with_its_own_session_group_limits_and_credentials": (
        "group.gid",
        "group.name",
        "proc.acmdline",
        "proc.aexe",
        "proc.aexepath",
        "proc.duration",
        "proc.pid.ts",
        "proc.ppid.ts",
        "proc.env",
        "proc.exe_ino",
        "proc.exe_ino.ctime",
        "proc.exe_ino.ctime_duration_proc_start",
        "proc.exe_ino.mtime",
        "proc.fdlimit",
        "proc.fdopencount",
        "proc.is_container_healthcheck",
        "proc.is_container_liveness_probe",
        "proc.is_container_readiness_probe",
        "proc.is_exe_writable",
        "proc.is_pgid_leader",
        "proc.is_sid_leader",
        "proc.is_vpgid_leader",
        "proc.pexe",
        "proc.pexepath",
        "proc.pgid",
        "proc.pgid.exe",
        "proc.pgid.exepath",
        "proc.pgid.name",
        "proc.pidns_init_start_ts",
        "proc.ppid",
        "proc.ppid.duration",
        "proc.pvpid",
        "proc.sid",
        "proc.sid.exe",
        "proc.sid.exepath",
        "proc.sname",
        "proc.vpgid",
        "proc.vpgid.exe",
        "proc.vpgid.exepath",
        "proc.vpgid.name",
        "proc.vpid",
        "thread.cap_inheritable",
        "thread.cap_permitted",
        "thread.cgroups",
        "thread.ismain",
        "thread.tid",
        "thread.vtid",
        "user.homedir",
        "user.loginname",
        "user.loginuid",
        "user.shell",
        "user.uid",
    ),
    "test_live_field_truth.py::test_opens_that_succeed_create_and_fail_then_an_exec": (
        "evt.arg",
        "evt.args",
        "evt.buffer",
        "evt.count",
        "evt.dir",
        "evt.failed",
        "evt.info",
        "evt.is_open_create",
        "evt.is_open_exec",
        "evt.rawarg",
        "evt.rawres",
        "evt.res",
        "fd.dev",
        "fd.dev.major",
        "fd.dev.minor",
        "fd.ino",
        "fd.num",
        "syscall.type",
    ),
    "test_container.py::test_container_fields_on_events_of_a_podman_container": (
        "container.image.repository",
        "container.name",
        "container.privileged",
        "container.type",
        "proc.cmdline",
        "proc.name",
        "user.name",
    ),
    "test_flood.py::test_a_flood_does_not_hide_a_credential_read_and_the_flooder_is_named": (
        "flood.admitted",
        "flood.cgroup",
        "flood.class",
        "flood.comm",
        "flood.count",
        "flood.evttype",
        "flood.total",
    ),
    "test_live_compat_syscalls.py::test_a_32bit_open_is_an_open_of_its_path_marked_compat": (
        "evt.is_compat",
    ),
    "test_live_io_uring.py::test_an_io_uring_open_is_an_open_event_of_its_file": (
        "evt.is_io_uring",
    ),
    "test_live_escape_probe.py::test_the_exe_set_uid_bit_owner_and_file_capabilities": (
        "proc.exe_fcaps",
        "proc.exe_gid",
        "proc.exe_uid",
        "proc.is_exe_setgid",
        "proc.is_exe_setuid",
    ),
    "test_live_escape_probe.py::test_host_namespaces_follow_unshare_setns_and_fork": (
        "proc.is_host_mntns",
        "proc.is_host_netns",
        "proc.is_host_pidns",
        "proc.is_host_userns",
    ),
    "test_live_cve_2024_21626.py::"
    "test_the_leaked_fd_used_without_a_path_alerts_and_the_same_calls_inside_do_not": (
        "fd.is_outside_root",
        "proc.is_cwd_outside_root",
        "proc.is_exe_outside_root",
    ),
    "test_live_cve_2022_0847.py::test_dirty_pipe_splice_alerts_and_the_look_alikes_do_not": (
        "fd.is_open_write",
    ),
    "test_live_escape_probe.py::test_netlink_sockets_with_protocol_and_message_types": (
        "evt.netlink.msgtypes",
        "evt.netlink.proto",
    ),
    "test_live_fields.py::test_accept_on_a_listening_socket": (
        "fd.cport",
        "fd.is_server",
        "fd.name",
        "fd.sport",
    ),
    "test_live_fields.py::test_connect_to_localhost": (
        "fd.connected",
        "fd.ip",
        "fd.l4proto",
        "fd.sockfamily",
        "fd.type",
        "fd.typechar",
    ),
    "test_live_fields.py::test_execve_under_a_terminal_has_its_tty": (
        "proc.args",
        "proc.tty",
    ),
    "test_live_fields.py::test_execve_with_arguments_cwd_and_parent": (
        "proc.aname",
        "proc.cwd",
        "proc.exe",
        "proc.pid",
        "proc.pname",
        "thread.cap_effective",
    ),
    "test_live_fields.py::test_fork_gives_the_child_its_parent_and_ancestors": (
        "proc.apid",
        "proc.pcmdline",
    ),
    "test_live_fields.py::test_memfd_create_then_execveat": ("proc.is_exe_from_memfd",),
    "test_live_fields.py::test_openat_relative_to_a_dirfd": (
        "evt.is_open_read",
        "evt.is_open_write",
        "fd.directory",
        "fd.filename",
        "fd.nameraw",
    ),
    "test_live_fields.py::test_udp_sendto_names_the_socket": ("fd.name_changed",),
}
#: field -> the test that checks it
LIVE_FIELD_TESTS: dict[str, str] = {
    field: test for test, fields in TESTS_OF_LIVE_FIELDS.items() for field in fields
}


@cache
def _asserts(file: str) -> dict[str, str]:
    """test function name -> the source of its assert statements."""
    src = (HERE / file).read_text()
    out = {}
    for node in ast.parse(src).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            out[node.name] = "\n".join(
                ast.get_source_segment(src, n) or ""
                for n in ast.walk(node)
                if isinstance(n, ast.Assert)
            )
    return out


def _asserted(text: str, field: str) -> bool:
    forms = [f'"{field}"', f'"{field}[']
    if field in ("evt.arg", "evt.rawarg"):  # evt.arg.NAME, evt.rawarg.NAME
        forms.append(f'"{field}.')
    return any(form in text for form in forms)


def test_every_live_field_is_listed_once() -> None:
    listed = [f for fields in TESTS_OF_LIVE_FIELDS.values() for f in fields]
    assert len(listed) == len(set(listed)), "a field is listed under two tests"
    live = live_fields()
    untested = sorted(live - LIVE_FIELD_TESTS.keys())
    stale = sorted(LIVE_FIELD_TESTS.keys() - live)
    assert not untested, f"live fields with no test against ground truth: {untested}"
    assert not stale, f"listed fields the live source no longer extracts: {stale}"


def test_each_listed_test_asserts_its_field() -> None:
    wrong = []
    for field, where in sorted(LIVE_FIELD_TESTS.items()):
        file, _, name = where.partition("::")
        asserts = _asserts(file).get(name)
        if asserts is None or not _asserted(asserts, field):
            wrong.append(f"{field}: {where}")
    assert not wrong, "tests that do not assert the field listed for them:\n" + "\n".join(wrong)
