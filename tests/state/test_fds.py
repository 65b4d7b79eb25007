from secengine.state.fds import MAX_FDS, FdInfo, FdTable


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
