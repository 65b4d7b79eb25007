"""``required_engine_version`` and ``required_plugin_versions``."""

from __future__ import annotations

import pytest
from ruleset_helpers import load, only_error

from secengine.ruleset.items import PluginRequirement, Version
from secengine.ruleset.loader import check_plugin_requirements
from secengine.ruleset.version import ENGINE_VERSION, PROVIDED_PLUGINS, engine_version


def test_engine_version_constant() -> None:
    assert ENGINE_VERSION == "0.63.0"
    assert engine_version() == Version(0, 63, 0)


@pytest.mark.parametrize(
    "text,version,valid",
    [
        ("0.57.0", Version(0, 57, 0), True),
        ("1.2.3-rc1", Version(1, 2, 3), True),  # sscanf("%u.%u.%u") ignores the rest
        (" 1. 2. 3", Version(1, 2, 3), True),
        ("0.57", None, False),
        ("seven", None, False),
    ],
)
def test_semver_parsing(text: str, version: Version | None, valid: bool) -> None:
    parsed = Version.parse(text)
    assert parsed.valid is valid
    if version is not None:
        assert parsed == version


@pytest.mark.parametrize(
    "value,stored",
    [
        ("0.26.0", "0.26.0"),
        ("26", "0.26.0"),
        ("15", "0.15.0"),
        ('"0.57.0"', "0.57.0"),
        ("0x10", "0.16.0"),
        ("0.63.0", "0.63.0"),
    ],
)
def test_accepted_engine_versions(value: str, stored: str) -> None:
    rs = load(f"- required_engine_version: {value}\n")
    assert rs.successful and rs.results[0].warnings == []
    assert rs.required_engine_version == stored


def test_the_highest_requirement_is_kept() -> None:
    rs = load(
        "- required_engine_version: 0.40.0\n- required_engine_version: 12\n",
        "- required_engine_version: 0.57.0\n",
    )
    assert rs.required_engine_version == "0.57.0"


@pytest.mark.parametrize(
    "value,message,code",
    [
        (
            "seven",
            (
                "Unable to parse engine version 'seven' as a semver string. "
                'Expected "x.y.z" semver format.'
            ),
            "LOAD_ERR_YAML_VALIDATE",
        ),
        (
            "not-a-number",
            (
                "Unable to parse engine version 'not-a-number' as a semver string. "
                'Expected "x.y.z" semver format.'
            ),
            "LOAD_ERR_YAML_VALIDATE",
        ),
        (
            "9999999",
            "Rules require engine version 0.9999999.0, but engine version is 0.63.0",
            "LOAD_ERR_VALIDATE",
        ),
        (
            "0.64.0",
            "Rules require engine version 0.64.0, but engine version is 0.63.0",
            "LOAD_ERR_VALIDATE",
        ),
        (
            "1.0.0",
            "Rules require engine version 1.0.0, but engine version is 0.63.0",
            "LOAD_ERR_VALIDATE",
        ),
        ("[1]", "Value is not a scalar value", "LOAD_ERR_YAML_VALIDATE"),
    ],
)
def test_rejected_engine_versions(value: str, message: str, code: str) -> None:
    err = only_error(load(f"- required_engine_version: {value}\n").results[0])
    assert (err.code.name, err.message) == (code, message)


def test_provided_plugins_satisfy_the_upstream_requirements() -> None:
    required = [
        [PluginRequirement("container", "0.4.0")],
        [
            PluginRequirement("k8saudit", "0.18.0"),
            PluginRequirement("k8saudit-aks", "0.6.0"),
            PluginRequirement("k8saudit-eks", "0.12.0"),
            PluginRequirement("k8saudit-gke", "0.9.0"),
            PluginRequirement("k8saudit-ovh", "0.6.0"),
        ],
        [PluginRequirement("json", "0.7.0")],
    ]
    assert check_plugin_requirements(required, PROVIDED_PLUGINS) is None


def test_plugin_requirement_messages() -> None:
    assert check_plugin_requirements(
        [[PluginRequirement("cloudtrail", "0.1.0"), PluginRequirement("okta", "0.2.0")]],
        PROVIDED_PLUGINS,
    ) == (
        "Plugin requirement not satisfied, must load one of: cloudtrail (>= 0.1.0), okta (>= 0.2.0)"
    )
    assert check_plugin_requirements([[PluginRequirement("json", "1.0.0")]], PROVIDED_PLUGINS) == (
        "Plugin 'json' version '0.7.0' is not compatible with required plugin version '1.0.0'"
    )
    # the first alternative we provide decides
    assert (
        check_plugin_requirements(
            [[PluginRequirement("nope", "1.0.0"), PluginRequirement("json", "0.1.0")]],
            PROVIDED_PLUGINS,
        )
        is None
    )


def test_unsatisfied_plugin_requirement_is_fatal_and_stops_loading() -> None:
    rs = load(
        "- required_plugin_versions:\n    - name: cloudtrail\n      version: 0.1.0\n",
        "- list: never_loaded\n  items: []\n",
    )
    assert rs.fatal_error == (
        "Plugin requirement not satisfied, must load one of: cloudtrail (>= 0.1.0)"
    )
    assert not rs.successful
    assert len(rs.results) == 1 and rs.results[0].successful
    assert rs.required_plugin_versions == [[PluginRequirement("cloudtrail", "0.1.0")]]


def test_plugin_alternatives_are_collected() -> None:
    rs = load(
        "- required_plugin_versions:\n    - name: k8saudit\n      version: 0.18.0\n"
        "      alternatives:\n        - name: k8saudit-eks\n          version: 0.12.0\n"
        "    - name: json\n      version: 0.7.0\n"
    )
    assert rs.successful and rs.fatal_error is None
    assert rs.required_plugin_versions == [
        [PluginRequirement("k8saudit", "0.18.0"), PluginRequirement("k8saudit-eks", "0.12.0")],
        [PluginRequirement("json", "0.7.0")],
    ]


def test_custom_provided_plugins() -> None:
    rs = load(
        "- required_plugin_versions:\n    - name: mine\n      version: 1.2.0\n",
        provided_plugins={"mine": "1.3.0"},
    )
    assert rs.fatal_error is None
