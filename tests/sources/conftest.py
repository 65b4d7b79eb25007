"""Shared fixtures for the k8s_audit tests: the upstream rules, engines, event helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from upstream_rules import require

from secengine.engine import Engine
from secengine.events import Event
from secengine.ruleset import RuleSet
from secengine.sources.k8s_audit import make_event
from secengine.sources.specs import load_rules


@pytest.fixture(scope="session")
def k8s_ruleset() -> RuleSet:
    rs = load_rules([str(require("k8s_audit_rules.yaml"))])
    assert rs.successful
    return rs


@pytest.fixture(scope="session")
def k8s_engine_all(k8s_ruleset: RuleSet) -> Engine:
    """An engine reporting every matching rule (``rule_matching: all``)."""
    return Engine(k8s_ruleset, rule_matching="all")


@pytest.fixture
def matching(k8s_engine_all: Engine) -> Callable[[dict[str, Any]], set[str]]:
    """The names of the upstream rules an audit event triggers."""

    def names(doc: dict[str, Any]) -> set[str]:
        return {r.name for r in k8s_engine_all.matching_rules(make_event(doc))}

    return names


@pytest.fixture
def event() -> Callable[[dict[str, Any]], Event]:
    return make_event


from tls_pki import pki  # noqa: F401 - the fixture, for this directory's tests
