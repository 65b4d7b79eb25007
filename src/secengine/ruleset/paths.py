"""Which files a rules path names: Falco's ``-r``/``rules_files`` semantics, in one place.

A directory stands for its ``*.yaml``/``*.yml`` files in name order (leaving
out rule-test files, ``*.ruletest.yaml``, which live next to rules); a file
stands for itself. No paths at all means the rules shipped with secengine
(``rules/*.yaml`` and the CVE pack, ``rules/cve/*.yaml``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from secengine.resources import resource_path

__all__ = ["RULE_TEST_SUFFIX", "SHIPPED_RULE_PACKS", "default_rules_files", "expand_rules_paths"]

#: Rule-test files (``secengine test``) may sit in rules directories; they are not rules.
RULE_TEST_SUFFIX = ".ruletest.yaml"


#: Subdirectories of the shipped ``rules`` directory that load with it: the CVE pack
#: (``docs/cve.md``), one file per CVE, after the general rules.
SHIPPED_RULE_PACKS = ("cve",)


def default_rules_files() -> list[Path]:
    """The rules files shipped with secengine, in load order (the syscall source's spec
    names them; :func:`secengine.sources.specs.default_rules_files` gathers every
    installed source's): ``rules/*.yaml``, then each pack's ``rules/<pack>/*.yaml``."""
    root = resource_path("rules")
    return expand_rules_paths([root, *(root / p for p in SHIPPED_RULE_PACKS)])


def expand_rules_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The rules files ``paths`` name, in load order (directories expanded, sorted by name)."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.extend(
                sorted(
                    c
                    for c in p.iterdir()
                    if c.suffix in (".yaml", ".yml")
                    and c.is_file()
                    and not c.name.endswith(RULE_TEST_SUFFIX)
                )
            )
        else:
            out.append(p)
    return out
