"""Container churn: what resolving container metadata costs the live agent.

Run as root: ``python bench/container_churn.py [--containers 200] [--json FILE]``.

While ``secengine run`` (the live probe, a separate process, alerts as JSON
on a pipe) runs under a background syscall load (``bench/storm.c``: dup +
close, records the agent decodes and applies to its state), this starts
``--containers`` short-lived podman containers (the test image and run
settings of ``tests/podman_support.py``: runc, ulimits, no network),
``--parallel`` at a time. Each runs ``sh -c 'cat /etc/data.txt; cat
/etc/data.txt'``; the rules alert on every exec and every open of that file
inside a container, with the container's id, name and image in the output.
Reported:

- **metadata lag**: per container, the kernel time from its first event
  (the entrypoint's exec) to its first event that carries the container's
  name and image; and how many containers' first event already carried them
  (with metadata read synchronously at the first event, all of them, lag 0);
- **alert delay**: time from an event (kernel clock) to its alert on the
  pipe, for each container's first event and for the later ones: the
  difference is the latency the first event's resolution adds;
- **field cost** (in this process, its own probe, ``--field-containers``
  more containers): the time the runtime-file readers took per container
  (where the tree reads them), and the time to extract the container fields (``container.id``,
  ``.name``, ``.image``, ``.image.repository``, ``.type``, ``.privileged``)
  on a container's first event and on each later one, next to ``proc.name``;
- **drops**: records the kernel dropped and events the agent lost (must be 0);
- **RSS** of the agent before the containers, its peak during, and after they
  exited (``--settle`` seconds later): flat means entries are not kept.

A podman API service is started on podman's default socket
(``/run/podman/podman.sock``) for the agent's metadata lookups when nothing
listens there, and stopped at the end. Results go to stdout and, with
``--json``, to a file (``bench/results/container_churn.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from podman_support import IMAGE, PODMAN_RUN, PodmanService, build_image

PODMAN_SOCKET = "/run/podman/podman.sock"
NAME_PREFIX = "i14-ship-churn-"
FILE = "/etc/data.txt"
COMMAND = ("sh", "-c", f"cat {FILE} >/dev/null; cat {FILE} >/dev/null")
RULES = f"""\
- rule: Churn exec in a container
  desc: every program a churn container runs
  condition: evt.type = execve and container.id != host
  output: >-
    exec %evt.rawtime %container.full_id %container.name %container.image %proc.name
  priority: NOTICE
- rule: Churn open in a container
  desc: every open of the churn file in a container
  condition: evt.type = openat and fd.name = {FILE} and container.id != host
  output: >-
    open %evt.rawtime %container.full_id %container.name %container.image %proc.name
  priority: NOTICE
"""
#: the container fields the field-cost phase extracts on each event
CONTAINER_FIELDS = (
    "container.id",
    "container.name",
    "container.image",
    "container.image.repository",
    "container.type",
    "container.privileged",
)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values) if values else float("nan"),
        "p90": _pct(values, 0.90),
        "p99": _pct(values, 0.99),
        "max": max(values) if values else float("nan"),
    }


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _compile_storm(tmp: Path) -> Path:
    exe = tmp / "storm"
    subprocess.run(
        ["cc", "-O2", "-o", str(exe), str(REPO / "bench" / "storm.c")],
        check=True,
        capture_output=True,
    )
    return exe


class Agent:
    """``secengine run`` with the churn rules; alerts read from its stdout as they come."""

    def __init__(self, rules: Path) -> None:
        self.alerts: list[tuple[int, dict[str, Any]]] = []  # (receive time ns, alert)
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "secengine"), "run", "-r", str(rules), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        self.stderr: list[str] = []
        threading.Thread(target=self._read_err, daemon=True).start()
        end = time.monotonic() + 120
        while not any("watching" in line for line in self.stderr):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("secengine run did not start: " + "".join(self.stderr))
            time.sleep(0.1)
        threading.Thread(target=self._read_out, daemon=True).start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.time_ns()
            if line.startswith("{"):
                self.alerts.append((now, json.loads(line)))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def rss_kib(self) -> int:
        return _rss_kib(self.proc.pid)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> dict[str, int]:
        """SIGTERM; the summary's event and drop counts."""
        self.proc.terminate()
        self.proc.wait(timeout=60)
        time.sleep(0.2)
        text = "".join(self.stderr)
        summary = re.search(
            r"(\d+) events, (\d+) alerts .*?, (\d+) dropped in the kernel, (\d+) alerts not", text
        )
        kernel = re.search(
            r"kernel drops: (\d+) ring full, (\d+) ring busy, (\d+) refused .*?, "
            r"(\d+) over a producer's budget",
            text,
        )
        if summary is None or kernel is None:
            raise RuntimeError("no summary from secengine run: " + text[-2000:])
        return {
            "events": int(summary.group(1)),
            "alerts": int(summary.group(2)),
            "dropped_in_kernel": int(summary.group(3)),
            "alerts_not_delivered": int(summary.group(4)),
            "ring_full": int(kernel.group(1)),
            "ring_busy": int(kernel.group(2)),
            "headroom": int(kernel.group(3)),
            "over_budget": int(kernel.group(4)),
            "exit_status": self.proc.returncode,
        }


def _start_container(name: str, cid_dir: Path) -> None:
    """Start one container (detached, removed when it exits); its id goes to ``cid_dir``."""
    r = subprocess.run(
        [*PODMAN_RUN, "-d", "--rm", "--name", name, IMAGE, *COMMAND],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise RuntimeError(f"podman run {name} failed: {r.stderr.strip()}")
    (cid_dir / name).write_text(r.stdout.strip())


def _wait_gone(names: list[str], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = subprocess.run(
            ["podman", "ps", "-a", "--filter", f"name={NAME_PREFIX}", "--format", "{{.Names}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if not set(r.stdout.split()) & set(names):
            return
        time.sleep(0.5)


def start_containers(containers: int, parallel: int, tag: str, cid_dir: Path) -> None:
    """Start the containers ``parallel`` at a time and wait until all are gone."""
    names = [f"{NAME_PREFIX}{tag}-{i}" for i in range(containers)]
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda n: _start_container(n, cid_dir), names))
    _wait_gone(names, 120)


def churn(containers: int, parallel: int, tag: str) -> tuple[dict[str, str], float]:
    """Run :func:`start_containers` in a child process (so that starting containers does
    not compete for this process's interpreter lock); id -> name, and the seconds it took."""
    with tempfile.TemporaryDirectory(prefix="churn-cids-") as cid_dir:
        t0 = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--start-containers",
                str(containers),
                "--parallel",
                str(parallel),
                "--label",
                tag,
                "--cid-dir",
                cid_dir,
            ],
            check=True,
        )
        seconds = time.monotonic() - t0
        ids = {p.read_text(): p.name for p in Path(cid_dir).iterdir()}
    return ids, seconds


def _field(alert: dict[str, Any], key: str) -> str:
    value = alert["output_fields"].get(key)
    return "" if value in (None, "<NA>") else str(value)


def metadata_lag(alerts: list[tuple[int, dict[str, Any]]], ids: dict[str, str]) -> dict[str, Any]:
    """Per container: first event, first event with name and image, alert delays."""
    by_id: dict[str, list[tuple[int, int, dict[str, Any]]]] = {}
    for recv, alert in alerts:
        full_id = _field(alert, "container.full_id")
        if full_id in ids:
            ts = int(alert["output_fields"]["evt.rawtime"])
            by_id.setdefault(full_id, []).append((ts, recv, alert))
    lags_ms: list[float] = []
    first_delay_ms: list[float] = []
    later_delay_ms: list[float] = []
    first_has_meta = 0
    never = 0
    for full_id, events in by_id.items():
        events.sort(key=lambda e: e[0])
        name = ids[full_id]
        first_ts, first_recv, _ = events[0]
        first_delay_ms.append((first_recv - first_ts) / 1e6)
        later_delay_ms.extend((recv - ts) / 1e6 for ts, recv, _ in events[1:])
        meta = [
            ts
            for ts, _, a in events
            if _field(a, "container.name") == name and _field(a, "container.image") == IMAGE
        ]
        if not meta:
            never += 1
            continue
        lags_ms.append((meta[0] - first_ts) / 1e6)
        first_has_meta += meta[0] == first_ts
    return {
        "containers_started": len(ids),
        "containers_seen": len(by_id),
        "first_event_has_metadata": first_has_meta,
        "never_had_metadata": never,
        "metadata_lag_ms": _summary(lags_ms),
        "alert_delay_first_event_ms": _summary(first_delay_ms),
        "alert_delay_later_events_ms": _summary(later_delay_ms),
    }


def _time_file_readers(src: Any) -> dict[str, list[int]] | None:
    """Wrap the resolver's runtime-file readers (where the tree has them) to time each
    synchronous read, by container; None when metadata comes from the APIs only."""
    readers = getattr(src.tracker.containers, "readers", None)
    if readers is None:
        return None
    times: dict[str, list[int]] = {}
    for reader in readers:
        read = reader.read

        def timed(full_id: str, *args: Any, _read: Any = read) -> Any:
            t0 = time.perf_counter_ns()
            try:
                return _read(full_id, *args)
            finally:
                times.setdefault(full_id, []).append(time.perf_counter_ns() - t0)

        reader.read = timed
    return times


def field_cost(containers: int) -> dict[str, Any]:
    """Extraction time of the container fields on first and later events, in this process.

    Wall time (what the event loop waits, including a synchronous read at a
    first event) and this thread's CPU time (without the moments another
    thread held the interpreter lock) are both reported.
    """
    from secengine.sources.syscall import SyscallSource

    src = SyscallSource(ring_bytes=64 * 1024 * 1024)
    src.set_interest({"execve", "openat"})
    src.open()
    samples: list[tuple[str, int, int, int]] = []  # (full id, wall ns, cpu ns, proc.name ns)

    def on_event(ev: Any) -> None:
        fields = ev.fields
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        cid = fields["container.id"]
        if cid == "host":
            return
        w1 = time.perf_counter_ns()
        fields["proc.name"]
        w2 = time.perf_counter_ns()
        for key in CONTAINER_FIELDS[1:]:
            fields[key]
        w3, c3 = time.perf_counter_ns(), time.thread_time_ns()
        base = w2 - w1
        samples.append((fields["container.full_id"], (w3 - w0) - base, (c3 - c0) - base, base))

    reads = _time_file_readers(src)
    result: dict[str, Any] = {}

    def run() -> None:
        result["ids"], _ = churn(containers, 1, "fields")

    worker = threading.Thread(target=run)
    worker.start()
    try:
        while worker.is_alive():
            src.read_batch(on_event)
            src.wait_if_idle(0.01)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            src.read_batch(on_event)
            src.wait_if_idle(0.01)
    finally:
        worker.join()
        src.close()
    ours = result.get("ids", {})
    seen: set[str] = set()
    first: list[tuple[int, int]] = []
    later: list[tuple[int, int]] = []
    base: list[int] = []
    for full_id, wall, cpu, b in samples:
        if full_id not in ours:
            continue  # another container on this machine
        base.append(b)
        (later if full_id in seen else first).append((wall, cpu))
        seen.add(full_id)
    read_us = [sum(reads.get(full_id, ())) / 1e3 for full_id in ours] if reads is not None else []
    return {
        "containers": containers,
        # None: this tree reads no runtime files (metadata only from the APIs)
        "file_reads_per_container_us": _summary(read_us) if reads is not None else None,
        "first_event_wall_us": _summary([w / 1e3 for w, _ in first]),
        "first_event_cpu_us": _summary([c / 1e3 for _, c in first]),
        "later_event_wall_us": _summary([w / 1e3 for w, _ in later]),
        "later_event_cpu_us": _summary([c / 1e3 for _, c in later]),
        "proc_name_wall_us": _summary([b / 1e3 for b in base]),
    }


def _podman_api() -> PodmanService | None:
    """A podman API service on the default socket, unless something answers there already."""
    if os.path.exists(PODMAN_SOCKET):
        return None
    return PodmanService(PODMAN_SOCKET)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--containers", type=int, default=200)
    p.add_argument("--parallel", type=int, default=2, help="containers started at once")
    p.add_argument("--field-containers", type=int, default=20)
    p.add_argument(
        "--load-rate", type=int, default=5000, help="background dup+close loops per second"
    )
    p.add_argument("--settle", type=float, default=10.0, help="seconds before the RSS 'after'")
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--label", default="", help="what was measured (e.g. the branch)")
    p.add_argument("--start-containers", type=int, help=argparse.SUPPRESS)
    p.add_argument("--cid-dir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.start_containers is not None:  # the child process of churn()
        start_containers(args.start_containers, args.parallel, args.label, args.cid_dir)
        return 0
    if os.geteuid() != 0:
        print("container_churn: needs root (the probe and podman)", file=sys.stderr)
        return 2
    build_image()
    api = _podman_api()
    result: dict[str, Any] = {
        "label": args.label,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        ).stdout.strip(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "containers": args.containers,
        "parallel": args.parallel,
        "load_loops_per_s": args.load_rate,
    }
    try:
        with tempfile.TemporaryDirectory(prefix="container-churn-") as tmp_:
            tmp = Path(tmp_)
            rules = tmp / "churn_rules.yaml"
            rules.write_text(RULES)
            storm = _compile_storm(tmp)
            agent = Agent(rules)
            load = subprocess.Popen([str(storm), str(args.load_rate), "100000"])
            try:
                time.sleep(3.0)
                rss_before = agent.rss_kib()
                cpu0 = agent.cpu_seconds()
                peak = [rss_before]
                sampling = threading.Event()

                def sample() -> None:
                    while not sampling.is_set():
                        peak.append(agent.rss_kib())
                        time.sleep(0.25)

                sampler = threading.Thread(target=sample)
                sampler.start()
                ids, seconds = churn(args.containers, args.parallel, "agent")
                sampling.set()
                sampler.join()
                time.sleep(args.settle)
                rss_after = agent.rss_kib()
                cpu = agent.cpu_seconds() - cpu0
            finally:
                load.terminate()
                load.wait()
                counts = agent.stop()
            result["churn_seconds"] = round(seconds, 1)
            result["agent_cpu_seconds"] = round(cpu, 2)
            result.update(metadata_lag(agent.alerts, ids))
            result["agent"] = counts
            result["rss_kib"] = {"before": rss_before, "peak": max(peak), "after": rss_after}
            result["field_cost"] = field_cost(args.field_containers)
    finally:
        if api is not None:
            api.close()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = counts["dropped_in_kernel"] == 0 and counts["alerts_not_delivered"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
