"""The engine version rules files are checked against, and the plugins we provide natively.

Falco rules declare ``required_engine_version`` and ``required_plugin_versions``.
secengine implements the rule language of Falco's engine ``0.63.0`` and
provides natively what Falco gets from plugins (the container metadata, the
Kubernetes audit log fields and the ``json`` fields), so this module declares
those versions in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from secengine.ruleset.items import Version

__all__ = ["ENGINE_VERSION", "PROVIDED_PLUGINS", "engine_version"]

#: The Falco engine version whose rule language we implement.
ENGINE_VERSION = "0.63.0"

#: Plugins whose fields we provide natively → the version we claim, new
#: enough for the upstream rules files (falco*_rules.yaml need container
#: 0.4.0; k8s_audit_rules.yaml needs k8saudit 0.18.0 or one of its cloud
#: variants, and json 0.7.0).
PROVIDED_PLUGINS: Mapping[str, str] = MappingProxyType(
    {
        "container": "0.4.0",
        "k8saudit": "0.18.0",
        "k8saudit-aks": "0.6.0",
        "k8saudit-eks": "0.12.0",
        "k8saudit-gke": "0.9.0",
        "k8saudit-ovh": "0.6.0",
        "json": "0.7.0",
    }
)


def engine_version() -> Version:
    return Version.parse(ENGINE_VERSION)
