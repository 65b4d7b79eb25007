"""Falco's upstream rules files load unmodified, alone and together, with no errors.

Golden files pin the canonical expanded condition (``to_string`` of the AST
after exceptions, list and macro expansion) of a selection of upstream rules.
They were generated once from this implementation and hand-checked against
Falco's semantics (e.g. "Create Symlink Over Sensitive Files": the
``create_symlink`` macro's parentheses vanish, the two lists expand in place).
Set ``SECENGINE_REGEN_GOLDEN=1`` to rewrite them after an intended change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ruleset_helpers import GOLDEN

from secengine.sources.specs import load_rules

FILES = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")

#: Rules whose expanded condition is pinned, per file.
GOLDEN_RULES = {
    "falco_rules.yaml": (
        "Terminal shell in container",
        "Contact K8S API Server From Container",
        "Clear Log Activities",
        "Create Symlink Over Sensitive Files",
        "Disallowed SSH Connection Non Standard Port",
        "Fileless execution via memfd_create",
    ),
    "falco-incubating_rules.yaml": (
        "Launch Package Management Process in Container",
        "Network Connection outside Local Subnet",
        "Read environment variable from /proc files",
        "Set Setuid or Setgid bit",
    ),
    "falco-sandbox_rules.yaml": (
        "Write below etc",
        "Detect crypto miners using the Stratum protocol",
        "Container Drift Detected (open+create)",
        "Polkit Local Privilege Escalation Vulnerability (CVE-2021-4034)",
    ),
}

#: The number of rules each file defines (and that all compile).
RULE_COUNTS = {
    "falco_rules.yaml": 25,
    "falco-incubating_rules.yaml": 31,
    "falco-sandbox_rules.yaml": 37,
}


@pytest.mark.parametrize("name", FILES)
def test_file_alone(upstream_dir: Path, name: str) -> None:
    rs = load_rules([upstream_dir / name])
    result = rs.results[0]
    assert result.successful, result.render_text()
    assert result.errors == []
    assert result.warnings == [], result.render_text()
    assert result.schema_valid
    assert rs.fatal_error is None
    assert len(rs.rules) == RULE_COUNTS[name]
    assert rs.required_engine_version == "0.57.0"
    assert rs.render_text() == f"{upstream_dir / name}: Ok"


def test_all_three_together(upstream_dir: Path) -> None:
    rs = load_rules([upstream_dir / n for n in FILES])
    assert rs.successful
    assert [r.successful for r in rs.results] == [True, True, True]
    assert all(r.errors == [] for r in rs.results)
    # Later files redefine shared macros and lists; rules accumulate in definition order.
    names = [r.name for r in rs.rules]
    assert len(names) == len(set(names)) == sum(RULE_COUNTS.values())
    indexes = [r.index for r in rs.rules]
    assert indexes == sorted(indexes)
    assert names[0] == "Directory traversal monitored file read"


def _golden_path(name: str) -> Path:
    return GOLDEN / (name.removesuffix(".yaml") + ".conditions.json")


@pytest.mark.parametrize("name", FILES)
def test_golden_expanded_conditions(upstream_dir: Path, name: str) -> None:
    rs = load_rules([upstream_dir / name])
    actual = {rule: rs.rule(rule).condition_compiled for rule in GOLDEN_RULES[name]}
    path = _golden_path(name)
    if os.environ.get("SECENGINE_REGEN_GOLDEN"):
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    assert actual == json.loads(path.read_text())


def test_golden_hand_checked(upstream_dir: Path) -> None:
    """Two conditions checked by hand against Falco's macro/list expansion rules."""
    rs = load_rules([upstream_dir / "falco_rules.yaml"])
    assert rs.rule("Create Symlink Over Sensitive Files").condition_compiled == (
        "(evt.type in (symlink, symlinkat) and (evt.arg.target in (/etc/shadow, /etc/sudoers, "
        "/etc/pam.conf, /etc/security/pwquality.conf) or evt.arg.target in "
        "(/, /etc, /etc/, /root, /root/)))"
    )
    assert rs.rule("Fileless execution via memfd_create").condition_compiled == (
        "(evt.type in (execve, execveat) and proc.is_exe_from_memfd = true and not "
        "(proc.name in (runc) or proc.pname in (runc) or "
        "proc.exepath = memfd:runc_cloned:/proc/self/exe or "
        "proc.exe = memfd:runc_cloned:/proc/self/exe))"
    )
