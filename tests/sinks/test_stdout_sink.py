"""The stdout sink writes one line per alert to its stream."""

from __future__ import annotations

import io
from typing import Any

from secengine.sinks.render import AlertRenderer
from secengine.sinks.stdout import StdoutSink


def test_text_and_json_lines(alert: Any) -> None:
    text, js = io.BytesIO(), io.BytesIO()
    with (
        StdoutSink(stream=text) as a,
        StdoutSink(stream=js, renderer=AlertRenderer(json_output=True)) as b,
    ):
        a.submit(alert(1))
        b.submit(alert(1))
    assert text.getvalue() == alert(1).output.encode() + b"\n"
    assert js.getvalue().startswith(b'{"hostname":"test-host"') and js.getvalue().endswith(b"}\n")
