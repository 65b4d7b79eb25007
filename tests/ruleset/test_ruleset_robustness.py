"""``load_rules`` never raises on bad rules: random documents only produce diagnostics."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fuzzing import bounded_memory, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from secengine.sources.specs import load_rules

pytestmark = pytest.mark.fuzz

KEYS = [
    "rule",
    "macro",
    "list",
    "condition",
    "output",
    "desc",
    "priority",
    "items",
    "append",
    "override",
    "exceptions",
    "enabled",
    "tags",
    "source",
    "required_engine_version",
    "required_plugin_versions",
    "name",
    "fields",
    "comps",
    "values",
    "foo",
]
SCALARS = [
    "evt.type = open",
    "and proc.name = cat",
    "x",
    "",
    "~",
    "INFO",
    "true",
    "0.57.0",
    "append",
    "replace",
    "%proc.name",
    "(a, b)",
    "proc.name",
    "in",
    "12",
    "[a]",
]

values = st.recursive(
    st.sampled_from(SCALARS),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)
items = st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=6)


def render(value: object) -> str:
    """A tiny flow-style YAML emitter (so that every generated value is valid YAML)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, bool | int):
        return str(value).lower()
    text = str(value)
    if text == "~":  # keep one real null
        return text
    return '"' + text.replace('"', '\\"') + '"'


@fuzz_settings(short=150)
@given(st.lists(items, max_size=6), st.lists(items, max_size=3))
def test_random_items_never_raise(
    first: list[dict[str, object]], second: list[dict[str, object]]
) -> None:
    texts = ["".join(f"- {render(i)}\n" for i in doc) for doc in (first, second)]
    rs = load_rules([("a.yaml", texts[0]), ("b.yaml", texts[1])])
    for result in rs.results:
        result.render_text()
        result.as_json()


@fuzz_settings(short=150)
@given(st.text(alphabet="- :[]{}\"'\n\t#&*!|>%abc~0.,", max_size=60))
def test_random_text_never_raises(text: str) -> None:
    rs = load_rules([("t.yaml", text)])
    rs.render_json()


# -- issue 12, item 13: any bytes, realistic documents, memory ------------------------------


@fuzz_settings(short=200)
@given(st.binary(max_size=300))
def test_any_bytes_never_raise(data: bytes) -> None:
    """A rules file is read from disk: any bytes, not only text, give diagnostics."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "junk.yaml"
        path.write_bytes(data)
        with bounded_memory(4000 * len(data) + (8 << 20)):
            rs = load_rules([str(path)])
        rs.render_text()
        rs.render_json()


NAMES = st.sampled_from(["a", "b", "shell_procs", "m", "Rule one", "x y", "", "é"])
CONDS = st.sampled_from(
    [
        "evt.type = open",
        "proc.name in (shell_procs)",
        "m and not a",
        "a",
        "b or m",
        "fd.name startswith /etc",
        "proc.name = bash and",
        "evt.type in (open, openat) and proc.aname[2] = sshd",
        "proc.name in (a, b)",
        "not",
        "(",
        "k8s.ns.name = x",
        "ka.verb = get",
        'proc.name = "unterminated',
    ]
)
SCALAR_ITEMS = st.sampled_from(["bash", "sh", "a", "b", "", "shell_procs", "1", "'q'"])
EXCEPTIONS = st.lists(
    st.fixed_dictionaries(
        {"name": NAMES},
        optional={
            "fields": st.sampled_from(
                [["proc.name"], ["proc.name", "fd.name"], "proc.name", ["nosuch"], []]
            ),
            "comps": st.sampled_from([["="], ["in", "="], "in", ["bogus"], ["startswith"]]),
            "values": st.lists(st.lists(SCALAR_ITEMS, max_size=3) | SCALAR_ITEMS, max_size=3),
        },
    ),
    max_size=2,
)
ITEMS = st.one_of(
    st.fixed_dictionaries(
        {"list": NAMES, "items": st.lists(SCALAR_ITEMS, max_size=4)},
        optional={"append": st.booleans()},
    ),
    st.fixed_dictionaries({"macro": NAMES, "condition": CONDS}, optional={"append": st.booleans()}),
    st.fixed_dictionaries(
        {
            "rule": NAMES,
            "condition": CONDS,
            "output": st.sampled_from(
                ["x %proc.name", "%nosuch.field", "%", "%proc.aname[", "a %fd.name %evt.arg.flags"]
            ),
            "priority": st.sampled_from(["INFO", "critical", "bogus", "1"]),
            "desc": st.just("d"),
        },
        optional={
            "exceptions": EXCEPTIONS,
            "enabled": st.booleans(),
            "source": st.sampled_from(["syscall", "k8s_audit", "nosuch"]),
            "tags": st.lists(SCALAR_ITEMS, max_size=2),
            "append": st.booleans(),
            "override": st.dictionaries(
                st.sampled_from(["condition", "output", "exceptions", "enabled"]),
                st.sampled_from(["append", "replace", "bogus"]),
                max_size=2,
            ),
        },
    ),
    st.fixed_dictionaries({"required_engine_version": st.sampled_from(["0.26.0", "99", "x", 0])}),
)


@fuzz_settings(short=60)
@given(st.lists(ITEMS, max_size=8), st.lists(ITEMS, max_size=4))
def test_realistic_documents_never_raise(
    first: list[dict[str, object]], second: list[dict[str, object]]
) -> None:
    """Documents shaped like real rules files reach the collector and the compiler."""
    texts = ["".join(f"- {render(i)}\n" for i in doc) for doc in (first, second)]
    size = sum(map(len, texts))
    with bounded_memory(20000 * size + (16 << 20)):
        rs = load_rules([("a.yaml", texts[0]), ("b.yaml", texts[1])])
    rs.render_text()
    rs.render_json()
