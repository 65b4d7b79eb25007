"""How outputs apply the field transformers of :mod:`secengine.lang.transformers`.

The table is shared with conditions; what is particular to outputs is the
value they receive (text, bytes or a list, decoded here) and that only the
single-operand transformers are supported (``join``, ``concat`` and
``getopt`` take several arguments and are not supported in outputs yet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from secengine.events import MISSING
from secengine.lang.transformers import TRANSFORMER_TABLE, TransformerSpec

__all__ = ["OUTPUT_TRANSFORMERS", "TRANSFORMER_NAMES"]


def _as_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def _per_value(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A transformer's per-value function over an output value (text, bytes or a list)."""

    def apply(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            out = [fn(_as_text(v)) for v in value]
            return MISSING if any(o is MISSING for o in out) else out
        return fn(_as_text(value))

    return apply


def _len(value: Any) -> int:
    if isinstance(value, (list, tuple, set, frozenset, bytes, bytearray)):
        return len(value)
    return len(_as_text(value))


def _output_function(spec: TransformerSpec) -> Callable[[Any], Any]:
    """How an output applies ``spec``: ``len`` counts a list or the bytes of a buffer."""
    assert spec.per_value is not None
    return _len if spec.counts_list else _per_value(spec.per_value)


#: The transformers outputs support, with the function an output applies.
OUTPUT_TRANSFORMERS: dict[str, tuple[TransformerSpec, Callable[[Any], Any]]] = {
    t.name: (t, _output_function(t)) for t in TRANSFORMER_TABLE if t.unary
}
#: Every transformer name an output may start with (``val`` is a condition's only).
TRANSFORMER_NAMES = tuple(t.name for t in TRANSFORMER_TABLE if t.name != "val")
