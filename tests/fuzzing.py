"""Shared pieces of the property/fuzz tests (issue 12, item 13; docs/fuzzing.md).

Every fuzz test is marked ``fuzz`` and takes its example count from
:func:`fuzz_settings`: a short run (a few seconds per target) in the normal
suite, a long one under ``make fuzz``, which sets ``SECENGINE_FUZZ_EXAMPLES``.
:func:`bounded_memory` checks the other half of the property: whatever the
input, a target allocates no more than a bound proportional to it.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = ["JSON_VALUES", "bounded_memory", "fuzz_settings"]

#: Examples per target under ``make fuzz`` (unset: the short run of the normal suite).
_LONG = int(os.environ.get("SECENGINE_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(short: int = 200, **kwargs: Any) -> settings:
    """Hypothesis settings of a fuzz target: ``short`` examples, or the long run's count."""
    return settings(
        max_examples=_LONG or short,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        **kwargs,
    )


@contextmanager
def bounded_memory(limit: int) -> Iterator[None]:
    """Fail if the block's peak of Python allocations exceeds ``limit`` bytes."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if started:
            tracemalloc.stop()
    assert peak <= limit, f"peak allocation {peak} bytes over the bound of {limit}"


#: Any value orjson.loads can give (its integers span int64..uint64), odd text included.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
