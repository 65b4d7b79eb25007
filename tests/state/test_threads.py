from secengine.state.threads import Process, ProcessTable


def _table(*chain: tuple[int, int, str]) -> ProcessTable:
    table = ProcessTable()
    for pid, ptid, comm in chain:
        p = Process(pid)
        p.ptid, p.comm = ptid, comm
        table.put(p)
    return table


def test_ancestors_walk_parents_and_stop_at_a_gap() -> None:
    table = _table((1, 0, "init"), (10, 1, "sshd"), (20, 10, "bash"), (30, 20, "cat"))
    cat = table.get(30)
    assert [a.comm for a in table.ancestors(cat)] == ["bash", "sshd", "init"]
    assert table.ancestor(cat, 0) is cat
    assert table.ancestor(cat, 2).comm == "sshd"
    assert table.ancestor(cat, 9) is None


def test_a_loop_ends_the_walk() -> None:
    table = _table((5, 6, "a"), (6, 5, "b"))
    assert [a.comm for a in table.ancestors(table.get(5))] == ["b"]


def test_fork_copies_the_parent() -> None:
    table = _table((1, 0, "init"))
    parent = table.get(1)
    parent.args, parent.cwd, parent.uid = ["-x"], "/srv", 1000
    child = parent.fork(2)
    assert (child.pid, child.ptid, child.cwd, child.uid, child.args) == (2, 1, "/srv", 1000, ["-x"])
    assert child.cmdline == "init -x"


def test_missing_processes_are_loaded_then_counted() -> None:
    loaded = []

    def loader(pid: int) -> Process | None:
        loaded.append(pid)
        return Process(pid) if pid == 7 else None

    table = ProcessTable(loader=loader)
    assert table.get(7) is not None and table.get(7) is not None
    assert table.get(8) is None
    assert loaded == [7, 8] and table.lookups_failed == 1
