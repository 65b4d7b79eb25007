"""One configured agent run into real receivers on loopback: HTTP, syslog, a program, rotated files."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from secengine.agent import Agent, ExitStatus
from secengine.config import load_config

EXPECTED_FIRST = (
    b'{"hostname":"sensor-1","output":"2023-11-14T22:13:20.000000000+0000: Warning cat opened '
    b'/etc/file0 (proc=cat)","output_fields":{"evt.time.iso8601":1700000000000000000,'
    b'"fd.name":"/etc/file0","proc.name":"cat"},"priority":"Warning","rule":"cat_open",'
    b'"source":"syscall","tags":["filesystem","test"],"time":"2023-11-14T22:13:20.000000000Z"}'
)


class _Collector:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.types: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                collector.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                collector.types.append(self.headers["Content-Type"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_every_output_receives_every_alert(tmp_path: Path, rules_file: Path, events: Any) -> None:
    evs = [events.open(i) for i in range(40)] + [events.exec(40)]
    inp = tmp_path / "events.jsonl"
    inp.write_bytes(
        b"".join(
            orjson.dumps({"time": e.ts, "source": e.source, "fields": dict(e.fields)}) + b"\n"
            for e in evs
        )
    )
    http = _Collector()
    log_path = str(tmp_path / "syslog.sock")
    syslog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    syslog.bind(log_path)
    syslog.settimeout(5)
    program_out = tmp_path / "program.out"
    alerts = tmp_path / "alerts.jsonl"
    conf = tmp_path / "secengine.yaml"
    conf.write_text(f"""
rules_files: [{rules_file}]
hostname: sensor-1
time_format_iso_8601: true
json_output: true
stdout_output: {{enabled: false}}
http_output: {{enabled: true, url: "{http.url}"}}
syslog_output: {{enabled: true, address: {log_path}, json_output: false, facility: local0}}
program_output: {{enabled: true, keep_alive: true, program: "cat >> {program_out}"}}
file_output: {{enabled: true, keep_alive: true, filename: {alerts}, max_size: 4000, backups: 9}}
sources:
  replay: {{inputs: [{inp}]}}
""")
    datagrams: list[bytes] = []
    reader = threading.Thread(
        target=lambda: datagrams.extend(syslog.recv(65536) for _ in range(41))
    )
    reader.start()
    try:
        agent = Agent(load_config(conf))
        assert agent.run(handle_signals=False) is ExitStatus.OK
        reader.join(10)
    finally:
        http.close()
        syslog.close()
    # HTTP: Falco's alert JSON, byte for byte
    assert len(http.bodies) == 41 and http.bodies[0] == EXPECTED_FIRST
    assert set(http.types) == {"application/json"}
    assert orjson.loads(http.bodies[-1])["rule"] == "ls_exec"
    # file: the same JSON lines, rotated below 4000 bytes, nothing lost
    rotated = sorted(tmp_path.glob("alerts.jsonl.*"), key=lambda p: -int(p.suffix[1:]))
    assert rotated, "the file should have rotated"
    lines = b"".join(p.read_bytes() for p in [*rotated, alerts]).splitlines()
    assert lines == http.bodies
    assert all(p.stat().st_size <= 4000 for p in [*rotated, alerts])
    # program: every line on its stdin, in order
    assert program_out.read_bytes().splitlines() == http.bodies
    # syslog: text lines with the rule priority as severity
    assert datagrams[0].startswith(b"<132>")  # local0 (16) * 8 + warning (4)
    assert datagrams[0].endswith(
        b"secengine[%d]: "
        % __import__("os").getpid()
        + b"2023-11-14T22:13:20.000000000+0000: Warning cat opened "
        b"/etc/file0 (proc=cat)"
    )
    assert datagrams[-1].startswith(b"<133>")  # notice
    for sink in agent.sinks:
        assert sink.stats.delivered == 41 and sink.stats.dropped == 0, sink
