"""Kubernetes audit events end to end on loopback: HTTP in, alert out, with k8s_audit_rules.yaml.

Run: ``python bench/k8s_audit_bench.py [--seconds S] [--connections N] [--rules FILE]``
(needs ``wrk``: ``apt-get install wrk``; ``make bench`` installs it).

The measured side is what ``secengine run --source k8s_audit --json`` runs:
an :class:`~secengine.agent.Agent` with the audit webhook
(:class:`~secengine.sources.k8s_webhook.K8sAuditWebhookSource`, granian on
its own thread, each batch evaluated there after its 200), Falco's upstream
``k8s_audit_rules.yaml``, and the stdout sink rendering Falco JSON, its
stream opened on ``/dev/null``.

The posters are ``wrk`` (C, one thread) with a Lua script: kube-apiserver,
the real poster, is Go on another machine, and Python posters spent more of
this 2-vCPU VM's CPU than the server they measured. Each request's body gets
the time it is sent (``CLOCK_REALTIME``, to the nanosecond) as every event's
``stageTimestamp``; the sink records, for every alert it writes, the time
from that POST being sent to the alert being written.

For batches of 1 event (kube-apiserver's ``blocking`` mode: one POST per API
request, as many connections as API requests in flight) and of 100 events
(``batch`` mode) it measures:

1. **max**: events per second with ``--connections`` keep-alive connections
   posting as fast as they are answered (and, for batches of 1, how that
   changes with the number of connections);
2. **paced**: latency at a steady offered load, half of the 20,000 events/s
   target (or half of the measured maximum when that is lower).

The workload is a realistic mix (``_workload``): mostly reads and lease
updates by control-plane components, some admin reads, and one event in
four raising an alert (pods with privileged/host settings, exec, RBAC
changes, a failed secret read, a user outside the allowed list). Results go to
``bench/results/k8s_audit_bench.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_RULES = ROOT.parent / "shared" / "rules-upstream" / "k8s_audit_rules.yaml"
#: Every event's stageTimestamp in the bodies; the poster replaces it with the send time.
PLACEHOLDER = "2024-05-02T10:15:30.123456789Z"


# ---------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------


def _event(
    i: int,
    verb: str,
    resource: str,
    user: str,
    *,
    name: str = "",
    namespace: str = "default",
    subresource: str = "",
    stage: str = "ResponseComplete",
    code: int = 200,
    body: dict[str, Any] | None = None,
    groups: tuple[str, ...] = ("system:authenticated",),
) -> dict[str, Any]:
    ref: dict[str, Any] = {"resource": resource, "namespace": namespace, "apiVersion": "v1"}
    if name:
        ref["name"] = name
    if subresource:
        ref["subresource"] = subresource
    uri = (
        f"/api/v1/namespaces/{namespace}/{resource}"
        + (f"/{name}" if name else "")
        + (f"/{subresource}" if subresource else "")
    )
    ev: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": f"00000000-0000-4000-8000-{i:012d}",
        "stage": stage,
        "requestURI": uri,
        "verb": verb,
        "user": {"username": user, "uid": f"uid-{i % 97}", "groups": list(groups)},
        "sourceIPs": [f"10.0.{i % 7}.{i % 250}"],
        "userAgent": "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625",
        "objectRef": ref,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": "2024-05-02T10:15:30.101000Z",
        "stageTimestamp": PLACEHOLDER,
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding",
        },
    }
    if body is not None:
        ev["requestObject"] = body
        ev["responseObject"] = body
    return ev


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example.com/app:1.4.2",
                    "ports": [{"containerPort": 8080}],
                    "resources": {"limits": {"cpu": "1", "memory": "256Mi"}},
                    **spec.pop("container", {}),
                }
            ],
            "volumes": [{"name": "cfg", "configMap": {"name": "app"}}],
            **spec,
        },
    }


def _workload(n: int) -> list[dict[str, Any]]:
    """``n`` audit events; the mix repeats every 20 events (5 of which alert)."""
    lease = {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": {"name": "kube-controller-manager", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": "cp-1_4f5e",
            "leaseDurationSeconds": 15,
            "renewTime": "2024-05-02T10:15:30.000000Z",
        },
    }
    mix = [
        lambda i: _event(
            i,
            "update",
            "leases",
            "system:kube-controller-manager",
            name="kube-controller-manager",
            namespace="kube-system",
            body=lease,
        ),
        lambda i: _event(
            i,
            "get",
            "configmaps",
            "system:kube-scheduler",
            name="extension-apiserver-authentication",
            namespace="kube-system",
        ),
        lambda i: _event(i, "watch", "pods", "system:node:worker-3"),
        lambda i: _event(i, "list", "endpointslices", "system:serviceaccount:kube-system:coredns"),
        lambda i: _event(i, "get", "nodes", "system:node:worker-1", name="worker-1"),
        lambda i: _event(
            i, "patch", "nodes", "system:node:worker-2", name="worker-2", subresource="status"
        ),
        lambda i: _event(
            i,
            "update",
            "leases",
            "system:node:worker-4",
            name="worker-4",
            namespace="kube-node-lease",
            body=lease,
        ),
        lambda i: _event(i, "get", "pods", "kubernetes-admin", name=f"web-{i % 13}"),
        lambda i: _event(i, "list", "deployments", "kubernetes-admin"),
        lambda i: _event(
            i,
            "create",
            "pods",
            "system:serviceaccount:kube-system:replicaset-controller",
            name=f"web-{i}",
            code=201,
            body=_pod(f"web-{i}"),
        ),
        lambda i: _event(
            i, "get", "secrets", "system:serviceaccount:monitoring:prometheus", name="tls", code=403
        ),
        lambda i: _event(
            i,
            "update",
            "configmaps",
            "system:kube-controller-manager",
            name="cluster-info",
            namespace="kube-public",
            body={"kind": "ConfigMap", "data": {"kubeconfig": "apiVersion: v1"}},
        ),
        lambda i: _event(
            i, "get", "serviceaccounts", "system:kube-controller-manager", name="default"
        ),
        lambda i: _event(i, "list", "events", "kubernetes-admin"),
        lambda i: _event(i, "watch", "services", "system:kube-proxy"),
        lambda i: _event(i, "get", "namespaces", "system:apiserver", name="default"),
        # alerts:
        lambda i: _event(
            i,
            "create",
            "pods",
            "kubernetes-admin",
            name=f"debug-{i}",
            code=201,
            body=_pod(
                f"debug-{i}", hostPID=True, container={"securityContext": {"privileged": True}}
            ),
        ),
        lambda i: _event(
            i,
            "create",
            "pods",
            "kubernetes-admin",
            name=f"web-{i % 13}",
            subresource="exec",
            stage="ResponseStarted",
            code=101,
        ),
        lambda i: _event(
            i,
            "create",
            "clusterrolebindings",
            "kubernetes-admin",
            name=f"ci-{i}",
            code=201,
            body={
                "kind": "ClusterRoleBinding",
                "roleRef": {"name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
            },
        ),
        lambda i: _event(i, "get", "pods", "mallory@example.com", name="web-1"),
    ]
    return [mix[i % len(mix)](i) for i in range(n)]


def _bodies(batch: int, count: int) -> list[bytes]:
    events = _workload(batch * count)
    return [
        orjson.dumps(
            {
                "kind": "EventList",
                "apiVersion": "audit.k8s.io/v1",
                "metadata": {},
                "items": events[k * batch : (k + 1) * batch],
            }
        )
        for k in range(count)
    ]


# ---------------------------------------------------------------------------
# the poster: wrk with a Lua script
# ---------------------------------------------------------------------------

#: Per request: the next body, every stageTimestamp set to the send time;
#: with a rate, a shared schedule spaces requests (wrk's delay() is in ms).
_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } se_timespec;
int clock_gettime(int clk, se_timespec *tp);
]]
local ts = ffi.new("se_timespec")
local PLACEHOLDER = "%(placeholder)s"
local RATE = %(rate)f
local bodies = {}
for line in io.lines("%(bodies)s") do
  local parts, start = {}, 1
  while true do
    local i, j = string.find(line, PLACEHOLDER, start, true)
    if not i then parts[#parts + 1] = string.sub(line, start); break end
    parts[#parts + 1] = string.sub(line, start, i - 1)
    start = j + 1
  end
  bodies[#bodies + 1] = parts
end
local headers = {["Content-Type"] = "application/json"}
local n = 0
local interval = RATE > 0 and 1000.0 / RATE or 0
local next_at = nil

local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000.0 + tonumber(ts.tv_nsec) / 1e6
end

function request()
  n = n + 1
  ffi.C.clock_gettime(0, ts)
  local stamp = os.date("!%%Y-%%m-%%dT%%H:%%M:%%S", tonumber(ts.tv_sec))
    .. string.format(".%%09dZ", tonumber(ts.tv_nsec))
  return wrk.format("POST", "/k8s-audit", headers, table.concat(bodies[(n %% #bodies) + 1], stamp))
end

if interval > 0 then
  function delay()
    local now = now_ms()
    next_at = math.max((next_at or now) + interval, now - 50)
    return math.max(0, next_at - now)
  end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _post(
    url: str, bodies_file: Path, connections: int, seconds: float, rate: float | None, workdir: Path
) -> dict[str, int]:
    """Run wrk against ``url``; its request counts and response latency (µs) percentiles."""
    script = workdir / f"post-{connections}-{rate or 0:.0f}.lua"
    script.write_text(
        _LUA % {"placeholder": PLACEHOLDER, "rate": rate or 0.0, "bodies": str(bodies_file)}
    )
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, non2xx, socket_errors, p50, p99 = (int(v) for v in line.split()[1:])
    return {
        "requests": requests,
        "non_2xx": non2xx,
        "socket_errors": socket_errors,
        "response_us_p50": p50,
        "response_us_p99": p99,
    }


# ---------------------------------------------------------------------------
# the measured side: the agent, as `secengine run --source k8s_audit --json`
# ---------------------------------------------------------------------------


def _percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx] / 1e6


def run_once(
    rules: Path, batch: int, connections: int, seconds: float, rate: float | None, workdir: Path
) -> dict[str, Any]:
    """One measurement: a fresh agent, ``connections`` wrk connections for ``seconds``."""
    from secengine.agent import Agent
    from secengine.alert import Alert
    from secengine.config import load_config
    from secengine.sinks.stdout import StdoutSink
    from secengine.sources.k8s_webhook import K8sAuditWebhookSource, WebhookConfig

    latencies: list[int] = []

    class TimedStdoutSink(StdoutSink):
        """The stdout sink, noting when each alert is written."""

        def deliver(self, alert: Alert) -> None:
            super().deliver(alert)
            latencies.append(time.time_ns() - alert.time)

    cfg = load_config(
        options=[
            f"rules_files=[{rules}]",
            "json_output=true",
            "stdout_output.enabled=false",
            "hostname=bench",
        ]
    )
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0))
    with open(os.devnull, "wb") as devnull:
        agent = Agent(cfg, sources=[src], sinks=[TimedStdoutSink(stream=devnull)])
        agent.start()
        bodies_file = workdir / f"bodies-{batch}.jsonl"
        if not bodies_file.exists():
            bodies_file.write_bytes(
                b"".join(b + b"\n" for b in _bodies(batch, max(20, 2000 // batch)))
            )
        t0 = time.perf_counter()
        posted = _post(src.url, bodies_file, connections, seconds, rate and rate / batch, workdir)
        agent.stop(30)
        elapsed = time.perf_counter() - t0
    events = src.stats.events
    alerts = sum(agent.counters.alerts.values())
    latencies.sort()
    assert sum(agent.counters.events.values()) == events, (agent.counters.events, src.stats)
    assert len(latencies) == alerts, (len(latencies), alerts)
    return {
        "batch": batch,
        "mode": "max" if rate is None else "paced",
        "offered_events_per_s": rate,
        "connections": connections,
        "seconds": round(elapsed, 2),
        "events": events,
        "events_per_s": round(events / seconds),
        "requests_per_s": round(posted["requests"] / seconds),
        "non_2xx": posted["non_2xx"],
        "socket_errors": posted["socket_errors"],
        "alerts": alerts,
        "latency_ms_p50": round(_percentile(latencies, 0.50), 2),
        "latency_ms_p99": round(_percentile(latencies, 0.99), 2),
        "latency_ms_max": round(latencies[-1] / 1e6, 2) if latencies else None,
        "response_ms_p50": posted["response_us_p50"] / 1000,
        "response_ms_p99": posted["response_us_p99"] / 1000,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument(
        "--connections",
        type=int,
        default=64,
        help="connections for batches of 1 (default 64; batches of 100 use 4)",
    )
    ap.add_argument(
        "--sweep",
        default="4,8,16,32,64",
        help="connection counts to try with batches of 1 ('' to skip)",
    )
    ap.add_argument(
        "--target",
        type=float,
        default=20000.0,
        help="the events/s target; paced runs offer half of it (default 20000)",
    )
    ap.add_argument("--out", type=Path, default=HERE / "results" / "k8s_audit_bench.json")
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("k8s_audit_bench: needs wrk (apt-get install wrk)")
    results = []
    sweep = []
    with tempfile.TemporaryDirectory(prefix="k8s-bench-") as tmp:
        work = Path(tmp)
        for conns in (int(c) for c in args.sweep.split(",") if c):
            sweep.append(run_once(args.rules, 1, conns, min(args.seconds, 5.0), None, work))
        for batch, conns in ((1, args.connections), (100, 4)):
            top = run_once(args.rules, batch, conns, args.seconds, None, work)
            results.append(top)
            paced = min(args.target / 2, top["events_per_s"] / 2)
            results.append(run_once(args.rules, batch, conns, args.seconds, paced, work))
    header = (
        f"{'batch':>5} {'mode':>6} {'conns':>5} {'offered/s':>10} {'events/s':>9} "
        f"{'req/s':>7} {'non2xx':>6} {'alerts':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7}"
    )
    print(header)
    for r in [*sweep, *results]:
        offered = "-" if r["offered_events_per_s"] is None else f"{r['offered_events_per_s']:.0f}"
        print(
            f"{r['batch']:>5} {r['mode']:>6} {r['connections']:>5} {offered:>10} "
            f"{r['events_per_s']:>9} {r['requests_per_s']:>7} {r['non_2xx']:>6} "
            f"{r['alerts']:>7} {r['latency_ms_p50']:>7} {r['latency_ms_p99']:>7} "
            f"{r['latency_ms_max']:>7}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "rules": args.rules.name,
                "poster": "wrk -t1 (Lua)",
                "connection_sweep": sweep,
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
