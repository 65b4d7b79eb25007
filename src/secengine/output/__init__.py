"""Rule output templates (``%proc.name``) and Falco's alert line and alert JSON.

Two jobs, both ported from Falco:

- :class:`OutputFormat` compiles a rule's ``output:`` text once, when the rule
  loads, following libsinsp's ``sinsp_evt_formatter::set_format``: ``%`` with
  an optional width, then the *longest prefix* of the rest that parses as a
  known field (optionally ``[arg]``) or a transformer such as
  ``tolower(proc.name)``. Fields are resolved through the
  :class:`~secengine.lang.resolver.FieldResolver` at that point, so
  rendering never looks a name up or parses anything.
- :class:`AlertFormatter` turns a matching rule and its event into an
  :class:`~secengine.alert.Alert` and renders it as Falco's text line or as
  Falco's alert JSON (falco ``formats.cpp``), so Falcosidekick and other Falco
  consumers accept it as is.

Falco always renders outputs as if they began with ``*``: a missing value
prints as ``<NA>`` (and is ``null`` in ``output_fields``) instead of
suppressing the line, so a leading ``*`` is accepted and dropped here.

The package's modules: :mod:`~secengine.output.values` (a value as text or
JSON), :mod:`~secengine.output.tokens` (the tokens of a compiled template),
:mod:`~secengine.output.transformers` (the shared transformer table applied
to output values), :mod:`~secengine.output.compiler` (template text →
tokens), :mod:`~secengine.output.format` (:class:`OutputFormat`) and
:mod:`~secengine.output.alerts` (:class:`AlertFormatter`).
"""

from __future__ import annotations

from secengine.output.alerts import AlertFormatter, RuleLike
from secengine.output.format import OutputFormat
from secengine.output.values import NA, escape_line, json_value, render_value

__all__ = [
    "NA",
    "AlertFormatter",
    "OutputFormat",
    "RuleLike",
    "escape_line",
    "json_value",
    "render_value",
]
