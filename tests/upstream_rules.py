"""Where Falco's upstream rules files are, for the tests that need them: the one place.

They are never copied into this repository. The development set-up keeps
them beside it, in ``../shared/rules-upstream``; the environment variable
``SECENGINE_UPSTREAM_RULES`` points anywhere else (a checkout of
falcosecurity/rules, say). Without them the tests that need them skip with
:data:`REASON` and everything else runs, so a fresh clone passes ``make test``.

The rule-test pack (``tests/upstream/*.ruletest.yaml``) names its rules as
``${SECENGINE_UPSTREAM_RULES}/falco_rules.yaml`` and skips itself when they
are absent (``skip_if_rules_missing``); ``tests/conftest.py`` sets the
variable to :data:`UPSTREAM` for the test session, and ``make rules-test``
asks this module (``python tests/upstream_rules.py``) for the directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["ENV", "REASON", "UPSTREAM", "available", "needs_upstream", "require"]

ENV = "SECENGINE_UPSTREAM_RULES"
_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "rules-upstream"
#: The directory holding falco_rules.yaml, k8s_audit_rules.yaml, ... (it may not exist).
UPSTREAM = Path(os.environ.get(ENV) or _DEFAULT).resolve()
REASON = (
    f"Falco's upstream rules are not in {UPSTREAM}: set {ENV} to the directory "
    "holding falco_rules.yaml and k8s_audit_rules.yaml"
)


def available() -> bool:
    """Whether the upstream rules are there (falco_rules.yaml stands for the set)."""
    return (UPSTREAM / "falco_rules.yaml").is_file()


#: Mark for a test that reads the upstream rules: skipped, with :data:`REASON`, without them.
needs_upstream = pytest.mark.skipif(not available(), reason=REASON)


def require(name: str | None = None) -> Path:
    """The upstream directory, or one file in it; skips the calling test or fixture without."""
    if not available():
        pytest.skip(REASON)
    return UPSTREAM / name if name else UPSTREAM


if __name__ == "__main__":  # make rules-test: where the rules are
    print(UPSTREAM)
