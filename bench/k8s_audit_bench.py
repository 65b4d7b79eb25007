"""Kubernetes audit events end to end on loopback: HTTP in, alert out, with k8s_audit_rules.yaml.

Run: ``python bench/k8s_audit_bench.py [--seconds S] [--clients N] [--rules FILE]``.

This process runs what ``secengine run --source k8s_audit`` runs: the webhook
(:class:`~secengine.sources.k8s_webhook.K8sAuditWebhookSource`, its own
thread and event loop), the bounded event queue, and an evaluation loop with
Falco's upstream ``k8s_audit_rules.yaml`` that renders every alert as Falco
JSON and writes it to ``/dev/null``. Client *processes* (so that they do not
share this interpreter's lock) post ``EventList`` batches over keep-alive
connections, as kube-apiserver's webhook backend does, and retry on 503.

Each batch carries its send time (``CLOCK_MONOTONIC``, shared by all
processes) in an annotation; the evaluation loop records, for every event
that raised an alert, the time from the POST being sent to its alert being
written. For batches of 1 and of 100 events it measures:

1. **max**: as many events per second as the clients can get accepted
   (closed loop, ``--clients`` connections);
2. **paced**: latency at a steady offered load, by default half of the
   20,000 events/s target (or half of the measured maximum when that is
   lower), p50/p99 from POST to alert.

The workload is a realistic mix (``_workload``): mostly reads and lease
updates by control-plane components, some admin reads, and about one event
in five raising an alert (pods with privileged/host settings, exec, RBAC
changes, a user outside the allowed list). Results go to
``bench/results/k8s_audit_bench.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_RULES = ROOT.parent / "shared" / "rules-upstream" / "k8s_audit_rules.yaml"
SENT_KEY = "bench.secengine.dev/sent-ns"
_PLACEHOLDER = b"9" * 20  # replaced by the zero-padded send time, same length


# ---------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------

def _event(i: int, verb: str, resource: str, user: str, *, name: str = "",
           namespace: str = "default", subresource: str = "", stage: str = "ResponseComplete",
           code: int = 200, body: dict[str, Any] | None = None,
           groups: tuple[str, ...] = ("system:authenticated",)) -> dict[str, Any]:
    ref: dict[str, Any] = {"resource": resource, "namespace": namespace, "apiVersion": "v1"}
    if name:
        ref["name"] = name
    if subresource:
        ref["subresource"] = subresource
    uri = f"/api/v1/namespaces/{namespace}/{resource}" + (f"/{name}" if name else "") + (
        f"/{subresource}" if subresource else "")
    ev: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": f"00000000-0000-4000-8000-{i:012d}", "stage": stage, "requestURI": uri,
        "verb": verb, "user": {"username": user, "uid": f"uid-{i % 97}", "groups": list(groups)},
        "sourceIPs": [f"10.0.{i % 7}.{i % 250}"],
        "userAgent": "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625",
        "objectRef": ref,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": "2024-05-02T10:15:30.101000Z",
        "stageTimestamp": "2024-05-02T10:15:30.123456789Z",
        "annotations": {"authorization.k8s.io/decision": "allow",
                        "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding",
                        SENT_KEY: _PLACEHOLDER.decode()},
    }
    if body is not None:
        ev["requestObject"] = body
        ev["responseObject"] = body
    return ev


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.4.2",
                                     "ports": [{"containerPort": 8080}],
                                     "resources": {"limits": {"cpu": "1", "memory": "256Mi"}},
                                     **spec.pop("container", {})}],
                     "volumes": [{"name": "cfg", "configMap": {"name": "app"}}], **spec}}


def _workload(n: int) -> list[dict[str, Any]]:
    """``n`` audit events; the mix repeats every 20 events (4 of which alert)."""
    lease = {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
             "metadata": {"name": "kube-controller-manager", "namespace": "kube-system"},
             "spec": {"holderIdentity": "cp-1_4f5e", "leaseDurationSeconds": 15,
                      "renewTime": "2024-05-02T10:15:30.000000Z"}}
    mix = [
        lambda i: _event(i, "update", "leases", "system:kube-controller-manager",
                         name="kube-controller-manager", namespace="kube-system", body=lease),
        lambda i: _event(i, "get", "configmaps", "system:kube-scheduler",
                         name="extension-apiserver-authentication", namespace="kube-system"),
        lambda i: _event(i, "watch", "pods", "system:node:worker-3"),
        lambda i: _event(i, "list", "endpointslices", "system:serviceaccount:kube-system:coredns"),
        lambda i: _event(i, "get", "nodes", "system:node:worker-1", name="worker-1"),
        lambda i: _event(i, "patch", "nodes", "system:node:worker-2", name="worker-2",
                         subresource="status"),
        lambda i: _event(i, "update", "leases", "system:node:worker-4", name="worker-4",
                         namespace="kube-node-lease", body=lease),
        lambda i: _event(i, "get", "pods", "kubernetes-admin", name=f"web-{i % 13}"),
        lambda i: _event(i, "list", "deployments", "kubernetes-admin"),
        lambda i: _event(i, "create", "pods", "system:serviceaccount:kube-system:replicaset-"
                         "controller", name=f"web-{i}", code=201, body=_pod(f"web-{i}")),
        lambda i: _event(i, "get", "secrets", "system:serviceaccount:monitoring:prometheus",
                         name="tls", code=403),
        lambda i: _event(i, "update", "configmaps", "system:kube-controller-manager",
                         name="cluster-info", namespace="kube-public",
                         body={"kind": "ConfigMap", "data": {"kubeconfig": "apiVersion: v1"}}),
        lambda i: _event(i, "get", "serviceaccounts", "system:kube-controller-manager",
                         name="default"),
        lambda i: _event(i, "list", "events", "kubernetes-admin"),
        lambda i: _event(i, "watch", "services", "system:kube-proxy"),
        lambda i: _event(i, "get", "namespaces", "system:apiserver", name="default"),
        # alerts:
        lambda i: _event(i, "create", "pods", "kubernetes-admin", name=f"debug-{i}", code=201,
                         body=_pod(f"debug-{i}", hostPID=True,
                                   container={"securityContext": {"privileged": True}})),
        lambda i: _event(i, "create", "pods", "kubernetes-admin", name=f"web-{i % 13}",
                         subresource="exec", stage="ResponseStarted", code=101),
        lambda i: _event(i, "create", "clusterrolebindings", "kubernetes-admin",
                         name=f"ci-{i}", code=201,
                         body={"kind": "ClusterRoleBinding", "roleRef": {"name": "cluster-admin"},
                               "subjects": [{"kind": "ServiceAccount", "name": "ci",
                                             "namespace": "ci"}]}),
        lambda i: _event(i, "get", "pods", "mallory@example.com", name="web-1"),
    ]
    return [mix[i % len(mix)](i) for i in range(n)]


def _bodies(batch: int, count: int) -> list[bytes]:
    events = _workload(batch * count)
    return [orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {},
                          "items": events[k * batch:(k + 1) * batch]}) for k in range(count)]


# ---------------------------------------------------------------------------
# clients (separate processes)
# ---------------------------------------------------------------------------

def _client(port: int, bodies: list[bytes], rate: float | None, seconds: float,
            result: Any) -> None:
    """Post ``bodies`` in a loop for ``seconds`` (at ``rate`` posts/s if given); retry 503s."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    posted = refused = 0
    start = time.monotonic()
    end = start + seconds
    k = 0
    next_at = start
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if rate is not None:
            if now < next_at:
                time.sleep(next_at - now)
            next_at += 1.0 / rate
        body = bodies[k % len(bodies)].replace(_PLACEHOLDER, b"%020d" % time.monotonic_ns())
        k += 1
        while True:
            conn.request("POST", "/k8s-audit", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                posted += 1
                break
            refused += 1
            time.sleep(0.001)
    conn.close()
    result.put((posted, refused))


# ---------------------------------------------------------------------------
# the measured side
# ---------------------------------------------------------------------------

def _percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx] / 1e6


def run_once(rules: Path, batch: int, clients: int, seconds: float,
             rate: float | None) -> dict[str, Any]:
    """One measurement: server + evaluation here, ``clients`` poster processes."""
    from secengine.engine import Engine
    from secengine.output import AlertFormatter
    from secengine.ruleset import load_rules
    from secengine.sources.base import EventQueue
    from secengine.sources.k8s_webhook import K8sAuditWebhookSource, WebhookConfig

    engine = Engine(load_rules([str(rules)]), formatter=AlertFormatter(hostname="bench"))
    src = K8sAuditWebhookSource(WebhookConfig(host="127.0.0.1", port=0))
    queue = EventQueue(1024)
    src.start(queue)
    latencies: list[int] = []
    stop = threading.Event()
    devnull = os.open(os.devnull, os.O_WRONLY)
    dump = engine.formatter.json
    evaluated = [0]

    def evaluate() -> None:
        process = engine.process
        while not stop.is_set() or queue.depth():
            item = queue.get(timeout=0.05)
            if item is None:
                continue
            out: list[bytes] = []
            alerted: list[Any] = []
            for ev in item[1]:
                alerts = process(ev)
                if alerts:
                    out.extend(dump(a) + b"\n" for a in alerts)
                    alerted.append(ev)
            if out:
                os.write(devnull, b"".join(out))
                now = time.monotonic_ns()
                latencies.extend(now - int(ev.fields.doc["annotations"][SENT_KEY])
                                 for ev in alerted)
            evaluated[0] += len(item[1])

    evaluator = threading.Thread(target=evaluate)
    evaluator.start()
    per_client = None if rate is None else rate / batch / clients
    bodies = _bodies(batch, max(1, 2000 // batch))
    result: mp.Queue[tuple[int, int]] = mp.Queue()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_client,
                         args=(src.address[1], bodies[c::clients] or bodies, per_client,
                               seconds, result)) for c in range(clients)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    posted = refused = 0
    for _ in procs:
        a, b = result.get()
        posted += a
        refused += b
    for p in procs:
        p.join()
    src.stop(10)
    stop.set()
    evaluator.join()
    elapsed = time.perf_counter() - t0
    os.close(devnull)
    latencies.sort()
    assert evaluated[0] == src.stats.events == posted * batch, (evaluated, src.stats, posted)
    return {
        "batch": batch,
        "mode": "max" if rate is None else "paced",
        "offered_events_per_s": rate,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "events": evaluated[0],
        "events_per_s": round(evaluated[0] / elapsed),
        "requests_per_s": round(posted / elapsed),
        "refused_503": refused,
        "alerts": engine.stats.alerts,
        "latency_ms_p50": round(_percentile(latencies, 0.50), 2),
        "latency_ms_p99": round(_percentile(latencies, 0.99), 2),
        "latency_ms_max": round(latencies[-1] / 1e6, 2) if latencies else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--target", type=float, default=20000.0,
                    help="the events/s target; paced runs offer half of it (default 20000)")
    ap.add_argument("--batches", default="1,100", help="batch sizes to measure (default 1,100)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "k8s_audit_bench.json")
    args = ap.parse_args(argv)
    results = []
    for batch in (int(b) for b in args.batches.split(",")):
        top = run_once(args.rules, batch, args.clients, args.seconds, None)
        results.append(top)
        paced = min(args.target / 2, top["events_per_s"] / 2)
        results.append(run_once(args.rules, batch, args.clients, args.seconds, paced))
    header = (f"{'batch':>5} {'mode':>6} {'offered/s':>10} {'events/s':>9} {'req/s':>7} "
              f"{'503s':>5} {'alerts':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    print(header)
    for r in results:
        offered = "-" if r["offered_events_per_s"] is None else f"{r['offered_events_per_s']:.0f}"
        print(f"{r['batch']:>5} {r['mode']:>6} {offered:>10} {r['events_per_s']:>9} "
              f"{r['requests_per_s']:>7} {r['refused_503']:>5} {r['alerts']:>7} "
              f"{r['latency_ms_p50']:>7} {r['latency_ms_p99']:>7} {r['latency_ms_max']:>7}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "python": sys.version.split()[0], "platform": platform.platform(),
        "cpus": os.cpu_count(), "rules": args.rules.name, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
