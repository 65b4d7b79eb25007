"""Memory stays bounded under process churn: 100,000 short-lived processes, live."""

from __future__ import annotations

import resource
import subprocess
import threading
import time
from pathlib import Path

import pytest
from c_programs import build_c

pytestmark = pytest.mark.bpf

N = 100_000

FORKER = r"""
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid(pid, 0, 0);
    }
    return 0;
}
"""


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_hundred_thousand_short_lived_processes_keep_state_bounded(source) -> None:
    forker = build_c("forker", FORKER)
    tracker = source.tracker
    source.drain(0.2)
    procs_before = len(tracker.procs)
    rss_before = _rss_kb()
    kernel_before = source.kernel_stats()
    records_before = source.stats.records
    done = threading.Event()

    def churn() -> None:
        subprocess.run([forker, str(N)], check=True)
        done.set()

    t = threading.Thread(target=churn)
    start = time.monotonic()
    t.start()
    peak_procs = 0
    while not done.is_set():
        source.read_batch()
        peak_procs = max(peak_procs, len(tracker.procs))
        source.wait_if_idle(0.005)
    t.join()
    source.drain(0.5)
    elapsed = time.monotonic() - start
    tracker.flush_exited()
    procs_after = len(tracker.procs)
    rss_after = _rss_kb()
    kernel = source.kernel_stats()
    records = source.stats.records - records_before
    dropped = kernel["dropped"] - kernel_before["dropped"]
    print(
        f"\n{N} forks in {elapsed:.1f}s: {records} records read, {dropped} dropped in the "
        f"kernel; processes {procs_before} -> peak {peak_procs} -> {procs_after}; "
        f"RSS {rss_before} kB -> {rss_after} kB"
    )
    # every child was seen (a clone and an exit each) unless the kernel dropped records
    assert records + dropped >= 2 * N
    # exits removed the children: the table is back to where it was (give or take
    # processes that came and went on the machine meanwhile)
    assert procs_after <= procs_before + 200
    assert peak_procs <= procs_before + 10_000
    # and the memory it took was given back to the allocator, not kept growing
    assert rss_after - rss_before < 64 * 1024


def test_the_process_table_is_an_lru_bound_even_without_exits() -> None:
    from secengine.state.threads import Process, ProcessTable

    table = ProcessTable(max_processes=1000)
    for pid in range(1, N + 1):
        table.put(Process(pid))
    assert len(table) == 1000
    assert table.peek(N) is not None and table.peek(1) is None
