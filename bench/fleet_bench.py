"""The fleet outputs and sources side by side with the file output: throughput and latency.

For each of ``file``, ``nats`` (JetStream) and ``redis`` (Streams), in one run on loopback:

- **alerts/s**: N alerts submitted to the output until it says all were delivered (the
  broker acknowledged them, or the file was flushed);
- **events/s, node side**: N events handed to the output's forwarder until the broker
  acknowledged them all (file: written as JSON lines and flushed);
- **events/s, central side**: N events already in the broker evaluated by the central
  source with the shipped rules (file: ``ReplaySource`` over the file written above);
- **latency node → central evaluation**, p50/p99: events sent at a steady rate by a
  node's forwarder, timed from the moment the node offered each one to the moment the
  central agent evaluated it (file: written and flushed by the node, read by a poller
  every millisecond, then evaluated).

Brokers are started by the script (``tests/broker_support.py``, the tests' own helper).
Results go to ``bench/results/fleet_bench.json``; ``docs/performance.md`` quotes them.

    .venv/bin/python bench/fleet_bench.py [--events 20000] [--rate 1000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the brokers the tests start: one way to start them

from broker_support import Broker, make_broker, sink_options, source_options

from secengine.alert import Alert
from secengine.assembly import engine_from_config
from secengine.config import AgentConfig
from secengine.events import Event, FieldValues
from secengine.fleet.wire import decode_event, encode_event
from secengine.priority import Priority
from secengine.sinks.base import Sink
from secengine.sinks.file import FileSink
from secengine.sinks.nats import NatsSink
from secengine.sinks.redis import RedisSink
from secengine.sources.broker import BrokerSource
from secengine.sources.nats import NatsSource
from secengine.sources.redis import RedisSource
from secengine.sources.replay import ReplaySource, read_events

SAMPLES = ROOT / "samples" / "events.jsonl"


def _alerts(n: int) -> list[Alert]:
    return [
        Alert(
            rule="Write below etc",
            priority=Priority.WARNING,
            source="syscall",
            time=1_700_000_000_000_000_000 + i,
            output=f"12:00:00.000000000: Warning File below /etc opened for writing (n={i})",
            output_fields={"fd.name": "/etc/passwd", "proc.name": "vi", "n": i},
            tags=("filesystem",),
            hostname="node",
            message="File below /etc opened for writing",
        )
        for i in range(n)
    ]


def _events(n: int) -> list[Event]:
    base = list(read_events(SAMPLES))
    out = []
    for i in range(n):
        e = base[i % len(base)]
        out.append(Event(e.source, e.ts + i, FieldValues(dict(e.fields)), i + 1))
    return out


def _engine() -> Any:
    cfg = AgentConfig.model_validate({"rules_files": [str(ROOT / "rules")]})
    return engine_from_config(cfg)[0]


def _broker_sink(b: Broker, spool: Path, **more: Any) -> Sink:
    cls = NatsSink if b.kind == "nats" else RedisSink
    return cls(**sink_options(b, spool, queue_capacity=1_000_000, **more))


def _source(b: Broker, name: str, latency: bool = False) -> BrokerSource:
    """A central consumer of its own (``name``): of the node events, or of the latency run's."""
    if b.kind == "nats":
        lat = {"stream": "BENCH_LAT", "subjects": "bench.lat.>", "dead_letter_subject": "bench.dlq"}
        return NatsSource(**source_options(b, durable=name, **(lat if latency else {})))
    lat2 = {"streams": ["bench:lat"]} if latency else {}
    return RedisSource(**source_options(b, group=name, consumer="bench", **lat2))


# -- alerts/s ---------------------------------------------------------------------------------
def alerts_per_second(sink: Sink, n: int) -> float:
    alerts = _alerts(n)
    sink.start()
    t0 = time.perf_counter()
    for a in alerts:
        sink.submit(a)
    assert sink.stop(600)
    took = time.perf_counter() - t0
    assert sink.stats.delivered == n, sink.stats
    return n / took


# -- events/s ---------------------------------------------------------------------------------
def node_events_per_second(b: Broker, tmp: Path, events: Sequence[Event]) -> float:
    sink = _broker_sink(b, tmp / "node-events", events=True)
    sink.start()
    t0 = time.perf_counter()
    for i in range(0, len(events), 512):
        sink.forward(events[i : i + 512])
    assert sink.stop(600)
    return len(events) / (time.perf_counter() - t0)


def central_events_per_second(b: Broker, n: int) -> float:
    engine = _engine()
    done = threading.Event()
    count = [0]
    t0 = [0.0]

    def evaluate(batch: Sequence[Event]) -> object:
        if not count[0]:
            t0[0] = time.perf_counter()
        engine.process_batch(list(batch))
        count[0] += len(batch)
        if count[0] >= n:
            done.set()
        return None

    source = _source(b, "bench-throughput")
    source.start_inline(evaluate)
    done.wait(600)
    took = time.perf_counter() - t0[0]
    source.stop(10)
    return count[0] / took


def file_events(tmp: Path, events: Sequence[Event]) -> tuple[float, float]:
    path = tmp / "events.jsonl"
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        f.writelines(encode_event(e) + b"\n" for e in events)
        f.flush()
    node = len(events) / (time.perf_counter() - t0)
    engine = _engine()
    t0 = time.perf_counter()
    n = 0
    for batch in ReplaySource([path]).batches():
        engine.process_batch(batch)
        n += len(batch)
    central = n / (time.perf_counter() - t0)
    return node, central


# -- latency ----------------------------------------------------------------------------------
def _timed_events(count: int) -> list[Event]:
    template = next(iter(read_events(SAMPLES)))
    return [
        Event(template.source, template.ts + i, FieldValues(dict(template.fields)), i)
        for i in range(count)
    ]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 3),
        "n": len(ms),
    }


def broker_latency(b: Broker, tmp: Path, rate: float, seconds: float) -> dict[str, float]:
    engine = _engine()
    sent: dict[int, float] = {}
    latencies: list[float] = []
    count = int(rate * seconds)
    finished = threading.Event()

    def evaluate(batch: Sequence[Event]) -> object:
        now = time.perf_counter()
        engine.process_batch(list(batch))
        for e in batch:
            t = sent.get(e.ts)
            if t is not None:
                latencies.append(now - t)
        if len(latencies) >= count:
            finished.set()
        return None

    source = _source(b, "bench-latency", latency=True)
    source.start_inline(evaluate)
    extra = (
        {"events_subject": "bench.lat.{node}", "events_stream": "BENCH_LAT"}
        if b.kind == "nats"
        else {"events_stream": "bench:lat"}
    )
    sink = _broker_sink(b, tmp / "lat", events=True, **extra)
    sink.start()
    events = _timed_events(count)
    interval = 1.0 / rate
    start = time.perf_counter()
    for i, e in enumerate(events):
        target = start + i * interval
        while time.perf_counter() < target:
            time.sleep(max(0.0, min(0.0005, target - time.perf_counter())))
        sent[e.ts] = time.perf_counter()
        sink.forward([e])
    finished.wait(120)
    sink.stop(60)
    source.stop(10)
    return _percentiles(latencies)


def file_latency(tmp: Path, rate: float, seconds: float) -> dict[str, float]:
    """A node appends each event to a file and flushes; the central side polls the file
    every millisecond, decodes and evaluates what is new."""
    engine = _engine()
    path = tmp / "latency.jsonl"
    path.write_bytes(b"")
    count = int(rate * seconds)
    sent: dict[int, float] = {}
    latencies: list[float] = []
    stop = threading.Event()

    def central() -> None:
        with open(path, "rb") as f:
            rest = b""
            while not stop.is_set() or rest:
                chunk = f.read()
                if not chunk:
                    if len(latencies) >= count:
                        return
                    time.sleep(0.001)
                    continue
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                batch = [decode_event(line) for line in lines if line]
                now = time.perf_counter()
                engine.process_batch(batch)
                latencies.extend(now - sent[e.ts] for e in batch)

    reader = threading.Thread(target=central)
    reader.start()
    events = _timed_events(count)
    interval = 1.0 / rate
    start = time.perf_counter()
    with open(path, "ab") as out:
        for i, e in enumerate(events):
            target = start + i * interval
            while time.perf_counter() < target:
                time.sleep(max(0.0, min(0.0005, target - time.perf_counter())))
            sent[e.ts] = time.perf_counter()
            out.write(encode_event(e) + b"\n")
            out.flush()
    reader.join(60)
    stop.set()
    return _percentiles(latencies)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alerts", type=int, default=20000)
    p.add_argument("--events", type=int, default=20000)
    p.add_argument("--rate", type=float, default=1000.0, help="events/s for the latency runs")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fleet_bench.json")
    args = p.parse_args(argv)
    results: dict[str, Any] = {
        "alerts": args.alerts,
        "events": args.events,
        "rate": args.rate,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    events = _events(args.events)
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmpdir:
        tmp = Path(tmpdir)
        results["file"] = {
            "alerts_per_s": round(
                alerts_per_second(
                    FileSink(
                        tmp / "alerts.jsonl",
                        keep_alive=True,
                        buffered=True,
                        queue_capacity=1_000_000,
                    ),
                    args.alerts,
                )
            ),
        }
        node, central = file_events(tmp, events)
        results["file"].update(node_events_per_s=round(node), central_events_per_s=round(central))
        results["file"]["latency"] = file_latency(tmp, args.rate, args.seconds)
        for kind in ("nats", "redis"):
            b = make_broker(kind, tmp / f"{kind}-data")
            b.start()
            try:
                r: dict[str, Any] = {}
                r["alerts_per_s"] = round(
                    alerts_per_second(_broker_sink(b, tmp / kind), args.alerts)
                )
                r["node_events_per_s"] = round(node_events_per_second(b, tmp / kind, events))
                r["central_events_per_s"] = round(central_events_per_second(b, args.events))
                r["latency"] = broker_latency(b, tmp / kind, args.rate, args.seconds)
                results[kind] = r
            finally:
                b.stop()
            print(kind, json.dumps(results[kind]), flush=True)
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print("file", json.dumps(results["file"]))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
