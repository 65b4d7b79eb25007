"""Subject and stream-key templates: placeholders checked once, values made safe tokens."""

from __future__ import annotations

import pytest

from secengine.fleet.naming import NameTemplate, safe_token, subject_filter
from secengine.fleet.settings import NatsOutputSettings


def test_values_become_single_safe_tokens() -> None:
    t = NameTemplate("secengine.alerts.{node}.{priority}.{rule}")
    assert (
        t.render(node="ip-10-0-0-5.ec2", priority="Critical", rule="Write below etc (*>)")
        == "secengine.alerts.ip-10-0-0-5_ec2.Critical.Write_below_etc"
    )
    assert safe_token("...") == "_"


def test_a_misspelt_placeholder_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match=r"unknown placeholder \{nod\}"):
        NameTemplate("secengine.{nod}")
    with pytest.raises(ValueError, match="unknown placeholder"):
        NatsOutputSettings(subject="a.{rulez}")


def test_the_stream_holds_every_subject_of_the_template() -> None:
    assert subject_filter("secengine.alerts.{node}.{rule}") == "secengine.alerts.>"
    assert subject_filter("fixed.subject") == "fixed.subject"
