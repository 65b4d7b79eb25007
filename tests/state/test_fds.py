from secengine.state.fds import MAX_FDS, FdInfo, FdTable, fd_link


def test_socket_names_are_client_to_server() -> None:
    client = FdInfo("4", l4proto="tcp")
    client.set_tuple("10.0.0.1", 40000, "10.0.0.2", 443, is_server=False)
    assert client.name == "10.0.0.1:40000->10.0.0.2:443"
    assert (client.cip, client.cport, client.sip, client.sport) == (
        "10.0.0.1",
        40000,
        "10.0.0.2",
        443,
    )
    server = FdInfo("4", l4proto="tcp")
    server.set_tuple("10.0.0.2", 443, "10.0.0.1", 40000, is_server=True)
    assert server.name == client.name
    assert server.type == "ipv4"


def test_table_is_bounded_and_drops_cloexec_at_exec() -> None:
    table = FdTable()
    for fd in range(MAX_FDS + 10):
        table.set(fd, FdInfo("f", f"/f{fd}", cloexec=fd % 2 == 0))
    assert len(table) == MAX_FDS and table.evicted == 10
    table.drop_cloexec()
    assert all(fd % 2 == 1 for fd in table.fds)


def test_fork_copy_has_its_own_numbering() -> None:
    parent = FdTable()
    parent.set(3, FdInfo("f", "/etc/passwd"))
    child = parent.copy()
    child.close(3)
    child.set(4, FdInfo("p"))
    assert parent.get(3) is not None and parent.get(4) is None


def test_fd_link_recognises_paths_through_an_fds_magic_link() -> None:
    assert fd_link("/proc/self/fd/3") == ("self", 3, "")
    assert fd_link("/proc/thread-self/fd/12/a/../b") == ("self", 12, "/a/../b")
    assert fd_link("/dev/fd/0") == ("self", 0, "")
    assert fd_link("/proc/42/task/43/fd/5") == ("42", 5, "")
    for other in ("/proc/self/fdinfo/3", "/proc/self/exe", "/etc/fd/3", "/proc/self/fd/", "fd/3"):
        assert fd_link(other) is None, other


def test_resolve_link_names_the_file_or_continues_from_a_directory() -> None:
    table = FdTable()
    table.set(3, FdInfo("f", "/usr/sbin/runc"))
    table.set(7, FdInfo("d", "/sys/fs/cgroup"))
    table.set(8, FdInfo("p"))
    assert table.resolve_link(3, "") == "/usr/sbin/runc"
    assert table.resolve_link(7, "/../../../bin/sh") == "/bin/sh"
    assert table.resolve_link(8, "") is None  # a pipe has no path to give
    assert table.resolve_link(9, "") is None
