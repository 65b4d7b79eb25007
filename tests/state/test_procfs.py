"""Seeding from /proc: this very process, and a listening socket it owns."""

from __future__ import annotations

import os
import socket
import sys

from secengine.state import procfs


def test_read_this_process() -> None:
    proc = procfs.read_process(os.getpid())
    assert proc is not None
    assert proc.ptid == os.getppid()
    assert proc.cwd == os.getcwd()
    assert proc.exepath == os.path.realpath(sys.executable)
    assert proc.uid == os.getuid() and proc.gid == os.getgid()
    assert proc.start_ts > 0
    assert proc.exe == sys.argv[0] or proc.args


def test_fds_and_sockets_are_resolved() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        table = procfs.read_fds(os.getpid(), procfs.socket_table())
        info = table.get(server.fileno())
        assert info is not None and info.typechar == "4"
        assert info.lport == port and info.is_server
        with open("/etc/hostname") as fh:
            table = procfs.read_fds(os.getpid())
            assert table.get(fh.fileno()).name == "/etc/hostname"
    finally:
        server.close()


def test_scan_finds_this_process() -> None:
    assert any(p.pid == os.getpid() for p in procfs.scan())
