"""Coverage-guided fuzzing (atheris/libFuzzer) of secengine's decoders; run by ``make fuzz``.

    python tools/fuzz/atheris_targets.py TARGET [libFuzzer flags] [CORPUS_DIR]

TARGET is one of the names in :data:`TARGETS`. Each target feeds the
fuzzer's bytes to one decoder and lets only its documented error types
pass; anything else is a crash that libFuzzer reports with the input saved
as ``crash-*`` (replay it with ``python tools/fuzz/atheris_targets.py TARGET
crash-FILE``). The hypothesis tests (``pytest -m fuzz``) hold the same
properties with structure-aware inputs; this adds coverage guidance, which
reaches branches that random structures do not (docs/fuzzing.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable

import atheris

with atheris.instrument_imports(include=["secengine"]):
    import orjson
    from secengine.state.extract import SyscallFieldValues

    from secengine.engine import Engine
    from secengine.errors import ConditionError, EventFormatError
    from secengine.events import Event, FieldValues
    from secengine.fields import json_fields, k8s_audit
    from secengine.fields.base import ArgMode, FieldClass
    from secengine.fields.registry import default_registry
    from secengine.lang import parse_condition
    from secengine.ruleset.paths import default_rules_files
    from secengine.sources.fieldmap import FieldMapError, parse_line
    from secengine.sources.k8s_audit import AuditPayloadError, K8sAuditFileSource, decode_payload
    from secengine.sources.replay import ReplaySource
    from secengine.sources.specs import load_rules
    from secengine.state.containers import ContainerResolver
    from secengine.state.decode import Rec, RecordFormatError, event_params
    from secengine.state.tracker import StateTracker

_TMP = tempfile.mkdtemp(prefix="secengine-atheris-")


def _keys(classes: Iterable[FieldClass]) -> list[str]:
    out = []
    for cls in classes:
        for f in cls.fields:
            if f.arg is not ArgMode.REQUIRED:
                out.append(f.name)
            if f.arg is not ArgMode.NONE:
                out += [f"{f.name}[0]", f"{f.name}[command]", f"{f.name}[/spec/x]"]
    return out


_AUDIT_KEYS = _keys([k8s_audit.FIELD_CLASS, json_fields.FIELD_CLASS])
_SYSCALL_KEYS = _keys(default_registry().classes_for("syscall"))
_ENGINE: Engine | None = None


def _engine() -> Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine(load_rules([str(p) for p in default_rules_files()]), rule_matching="all")
    return _ENGINE


def _file(data: bytes) -> str:
    path = os.path.join(_TMP, "input")
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def fieldmap(data: bytes) -> None:
    """A field-map line, then the same bytes as a file, then the shipped rules on the events."""
    try:
        parse_line(data)
    except FieldMapError:
        pass
    errors: list[EventFormatError] = []
    events = list(
        ReplaySource([_file(data)], on_error=errors.append, max_line_size=4096, chunk_size=64)
    )
    if events:
        _engine().process_batch(events)


def audit(data: bytes) -> None:
    """An audit payload (webhook body), its events' every field, and the file reader."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        payload = None
    if payload is not None:
        try:
            events = decode_payload(payload, max_event_size=1 << 16)
        except AuditPayloadError:
            events = []
        for ev in events:
            for key in _AUDIT_KEYS:
                ev.fields.get(key)
    list(K8sAuditFileSource([_file(data)], on_error=lambda e: None, max_line_size=4096).batches())


def ringbuf(data: bytes) -> None:
    """Records as the live source reads them (2-byte length prefixes split one input)."""
    tracker = StateTracker(boot_ns=0, containers=ContainerResolver([]))
    fdp = atheris.FuzzedDataProvider(data)
    while fdp.remaining_bytes():
        n = fdp.ConsumeIntInRange(0, 600)
        rec_bytes = fdp.ConsumeBytes(n)
        if len(rec_bytes) >= 20:  # keep the header plausible often enough to go deep
            rec_bytes = rec_bytes[:18] + bytes([fdp.ConsumeIntInRange(1, 4), 0]) + rec_bytes[20:]
        try:
            rec = Rec(rec_bytes, 0)
            proc, fdnum, fd, changed = tracker.apply(rec)
        except RecordFormatError:
            continue
        values = SyscallFieldValues(rec, proc, fdnum, fd, changed, tracker)
        event_params(rec)
        for key in _SYSCALL_KEYS:
            values.get(key)
    tracker.flush_exited()


def condition(data: bytes) -> None:
    """A condition: parsed, then loaded as a rule and evaluated on one event."""
    text = data.decode("utf-8", "replace")
    try:
        parse_condition(text)
    except ConditionError:
        return
    quoted = text.replace("'", "''")
    text = f"- rule: r\n  desc: d\n  condition: '{quoted}'\n  output: o\n  priority: INFO\n"
    rs = load_rules([("c.yaml", text)])
    if rs.successful and rs.rules:
        Engine(rs, rule_matching="all").process_batch(
            [
                Event(
                    "syscall",
                    1,
                    FieldValues(
                        {"evt.type": "openat", "proc.name": "bash", "fd.name": "/etc/shadow"}
                    ),
                )
            ]
        )


def rules(data: bytes) -> None:
    """A rules file of any bytes: diagnostics, never an exception."""
    rs = load_rules([_file(data)])
    rs.render_text()
    rs.render_json()


TARGETS: dict[str, Callable[[bytes], None]] = {
    "fieldmap": fieldmap,
    "audit": audit,
    "ringbuf": ringbuf,
    "condition": condition,
    "rules": rules,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer flags] [CORPUS]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
