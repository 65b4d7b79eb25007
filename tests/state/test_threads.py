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


# -- reparenting, eviction (libsinsp's thread manager) ---------------------------------------


def _proc(pid: int, ptid: int, comm: str, *, start: int = 0, vpid: int | None = None) -> Process:
    p = Process(pid)
    p.ptid, p.comm, p.start_ts = ptid, comm, start
    if vpid is not None:
        p.vpid = vpid
    return p


def _reused_pid_loader(pid: int) -> Process | None:
    """/proc after the parent died: its pid now belongs to a process started later."""
    return _proc(pid, 2, "kworker", start=9_000_000_000) if pid == 20 else None


def test_an_orphan_is_reparented_to_init_when_its_parent_exits() -> None:
    table = ProcessTable(loader=_reused_pid_loader)
    for p in (
        _proc(1, 0, "init", start=1),
        _proc(10, 1, "sshd", start=2),
        _proc(20, 10, "daemonize", start=3),
        _proc(30, 20, "daemon", start=4),
    ):
        table.put(p)
    table.remove(20)
    daemon = table.get(30)
    assert daemon.ptid == 1 and table.parent(daemon).comm == "init"
    assert table.stats.exited == 1 and table.stats.reparented == 1


def test_the_reaper_callback_names_a_child_subreaper() -> None:
    asked = []

    def reaper(orphan: Process, gone: Process | None) -> int:
        asked.append((orphan.pid, gone.pid if gone else None))
        return 10  # what /proc says: sshd set PR_SET_CHILD_SUBREAPER

    table = ProcessTable(reaper=reaper)
    for p in (
        _proc(1, 0, "init"),
        _proc(10, 1, "sshd"),
        _proc(20, 10, "mid"),
        _proc(30, 20, "leaf"),
    ):
        table.put(p)
    table.remove(20)
    assert asked == [(30, 20)]
    assert table.parent(table.get(30)).comm == "sshd"


def test_in_a_pid_namespace_the_orphan_goes_to_the_namespace_init() -> None:
    table = ProcessTable(reaper=lambda orphan, gone: 0)  # the kernel has not reparented yet
    for p in (
        _proc(1, 0, "systemd"),
        _proc(500, 1, "conmon"),
        _proc(501, 500, "sh", vpid=1),
        _proc(502, 501, "mid", vpid=2),
        _proc(503, 502, "leaf", vpid=3),
    ):
        table.put(p)
    table.remove(502)
    assert table.get(503).ptid == 501


def test_a_parent_that_started_after_its_child_is_a_reused_pid() -> None:
    """The exit was missed (dropped, or the parent entry evicted): /proc's pid 20 is another
    process now, which must not be reported as the parent."""
    table = ProcessTable(loader=_reused_pid_loader, reaper=lambda orphan, gone: 1)
    for p in (_proc(1, 0, "init", start=1), _proc(30, 20, "daemon", start=4_000_000_000)):
        table.put(p)
    daemon = table.get(30)
    assert table.parent(daemon).comm == "init" and daemon.ptid == 1


def test_a_reused_pid_with_no_known_adopter_reads_as_the_init_or_no_parent() -> None:
    table = ProcessTable(loader=_reused_pid_loader, reaper=lambda orphan, gone: 0)
    table.put(_proc(1, 0, "init"))
    table.put(_proc(30, 20, "daemon", start=4_000_000_000))  # a host process: init adopts
    table.put(_proc(40, 20, "in-ctr", start=4_000_000_000, vpid=7))  # not known: none
    assert table.parent(table.get(30)).comm == "init"
    assert table.parent(table.get(40)) is None and table.get(40).ptid == 0


def test_children_leave_their_parents_list_when_they_exit_or_are_evicted() -> None:
    table = ProcessTable(max_processes=4)
    table.put(_proc(1, 0, "init"))
    for pid in range(10, 13):
        table.put(_proc(pid, 1, "child"))
    table.remove(10)
    assert table.get(1).children == {11, 12}
    table.put(_proc(13, 1, "child"))
    table.put(_proc(14, 1, "child"))  # the table is full: the least recently used goes
    assert table.stats.evicted_full == 1 and len(table.get(1).children) == 3


def test_the_bound_evicts_the_least_recently_used_and_counts() -> None:
    table = ProcessTable(max_processes=3)
    for pid in range(1, 6):
        table.put(_proc(pid, 0, f"p{pid}"))
    assert len(table) == 3 and table.stats.evicted_full == 2
    assert 1 not in table and 5 in table


def test_inactive_entries_of_gone_processes_are_swept() -> None:
    gone = {20}
    table = ProcessTable(alive=lambda p: p.pid not in gone, inactive_timeout=100, inactive_scan=10)
    table.tick(0.0)
    for p in (
        _proc(1, 0, "init"),
        _proc(20, 1, "dead"),
        _proc(21, 20, "child"),
        _proc(30, 1, "idle"),
    ):
        table.put(p)
    table.tick(50.0)
    assert len(table) == 4  # not inactive long enough
    table.tick(150.0)
    assert 20 not in table and 30 in table and 1 in table
    assert table.stats.evicted_inactive == 1
    assert table.get(21).ptid == 1  # its children are reparented as on exit
    table.tick(155.0)  # the next scan is not due: the idle-but-alive entry is kept
    assert 30 in table


def test_a_fork_does_not_inherit_the_parents_children() -> None:
    table = ProcessTable()
    parent = _proc(10, 1, "bash")
    table.put(parent)
    table.put(_proc(11, 10, "ls"))
    child = parent.fork(12)
    assert parent.children == {11} and child.children is None
