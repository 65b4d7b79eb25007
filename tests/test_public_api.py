"""The public surface is pinned, importing has no side effects, and the documented flow works."""

from __future__ import annotations

import subprocess
import sys

import secengine

PUBLIC = {
    "__version__",
    "load_rules",
    "RuleSet",
    "Rule",
    "LoadResult",
    "Engine",
    "RuleSelection",
    "Event",
    "FieldValues",
    "MISSING",
    "Priority",
    "Alert",
    "AlertFormatter",
    "SecengineError",
    "ConditionError",
    "ConditionSyntaxError",
    "ConditionCompileError",
    "RulesLoadError",
    "EventFormatError",
    "OutputFormatError",
    "ConfigError",
}


def test_public_names_are_pinned() -> None:
    assert PUBLIC <= set(secengine.__all__)
    for name in secengine.__all__:
        assert getattr(secengine, name) is not None, name


def test_import_has_no_side_effects() -> None:
    code = (
        "import logging, sys, os\n"
        "before = set(sys.modules)\n"
        "env = dict(os.environ)\n"
        "import secengine\n"
        "assert logging.getLogger().handlers == [], 'configured logging'\n"
        "heavy = {'lark', 'ruamel', 'secengine.engine', 'secengine.ruleset'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""


def test_documented_flow() -> None:
    rules = secengine.load_rules(
        [
            (
                "r.yaml",
                """
- rule: Shadow read
  desc: someone read /etc/shadow
  condition: evt.type = openat and fd.name = /etc/shadow
  output: shadow read by %proc.name (file=%fd.name)
  priority: WARNING
  tags: [filesystem]
""",
            )
        ]
    )
    assert rules.successful
    engine = secengine.Engine(rules, formatter=secengine.AlertFormatter(hostname="h"))
    ev = secengine.Event(
        "syscall",
        1_470_327_477_881_781_397,
        {"evt.type": "openat", "fd.name": "/etc/shadow", "proc.name": "cat"},
    )
    [alert] = engine.process(ev)
    assert engine.formatter.text(alert).endswith("Warning shadow read by cat (file=/etc/shadow)")
    js = engine.formatter.json(alert)
    assert js.startswith(b'{"hostname":"h","output":') and b'"rule":"Shadow read"' in js
    assert engine.process_batch([ev, ev])[0].rule == "Shadow read"
