"""``load_rules`` never raises on bad rules: random documents only produce diagnostics."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from secengine.ruleset import load_rules

KEYS = ["rule", "macro", "list", "condition", "output", "desc", "priority", "items", "append",
        "override", "exceptions", "enabled", "tags", "source", "required_engine_version",
        "required_plugin_versions", "name", "fields", "comps", "values", "foo"]
SCALARS = ["evt.type = open", "and proc.name = cat", "x", "", "~", "INFO", "true", "0.57.0",
           "append", "replace", "%proc.name", "(a, b)", "proc.name", "in", "12", "[a]"]

values = st.recursive(
    st.sampled_from(SCALARS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner,
                                                                  max_size=4),
    max_leaves=12)
items = st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=6)


def render(value: object) -> str:
    """A tiny flow-style YAML emitter (so that every generated value is valid YAML)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    text = str(value)
    if text == "~":  # keep one real null
        return text
    return '"' + text.replace('"', '\\"') + '"'


@settings(max_examples=150, deadline=None)
@given(st.lists(items, max_size=6), st.lists(items, max_size=3))
def test_random_items_never_raise(first: list[dict[str, object]],
                                  second: list[dict[str, object]]) -> None:
    texts = ["".join(f"- {render(i)}\n" for i in doc) for doc in (first, second)]
    rs = load_rules([("a.yaml", texts[0]), ("b.yaml", texts[1])])
    for result in rs.results:
        result.render_text()
        result.as_json()


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="- :[]{}\"'\n\t#&*!|>%abc~0.,", max_size=60))
def test_random_text_never_raises(text: str) -> None:
    rs = load_rules([("t.yaml", text)])
    rs.render_json()
