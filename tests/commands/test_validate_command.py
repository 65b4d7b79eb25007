"""``secengine validate``: Falco's ``-V`` text and JSON output, and the exit status."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from upstream_rules import UPSTREAM, needs_upstream

from secengine.commands import validate
from secengine.sources.specs import default_rules_files

GOOD = "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: INFO\n"
WARN = "- list: l\n  items: [a]\n"
BAD = "- rule: no output rule\n  desc: some desc\n  condition: evt.type=fork\n  priority: INFO\n"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="secengine")
    sub = parser.add_subparsers(dest="command")
    validate.add_parser(sub)
    args = parser.parse_args(["validate", *argv])
    return int(args.run(args))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name, text in (("good.yaml", GOOD), ("warn.yaml", WARN), ("bad.yaml", BAD)):
        path = tmp_path / name
        path.write_text(text)
        out[name] = str(path)
    return out


def test_valid_file(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-r", files["good.yaml"]]) == 0
    out, err = capsys.readouterr()
    assert out == f"{files['good.yaml']}: Ok\n"
    assert err == ""


def test_text_output_of_several_files(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["-r", files["good.yaml"], "-r", files["warn.yaml"], files["bad.yaml"]]) == 1
    out, err = capsys.readouterr()
    bad = files["bad.yaml"]
    assert out == (
        f"{files['good.yaml']}: Ok\n"
        f"{files['warn.yaml']}: Ok, with warnings\n"
        f"{bad}: Invalid\n"
        "1 Errors:\n"
        f"In rules content: ({bad}:0:0)\n"
        f"    rule 'no output rule': ({bad}:0:2)\n"
        "------\n"
        "- rule: no output rule\n"
        "  ^\n"
        "------\n"
        "LOAD_ERR_YAML_VALIDATE (Error validating internal structure of YAML file): "
        "Item has no mapping for key 'output'\n"
        "\n"
    )
    # warnings of valid files go to stderr in full
    assert err.startswith(f"{files['warn.yaml']}: Ok, with warnings\n1 Warnings:\n")
    assert "LOAD_UNUSED_LIST (Unused list): List not referred to by any other rule/macro" in err


def test_json_output(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--json", files["warn.yaml"], files["bad.yaml"]]) == 1
    out, err = capsys.readouterr()
    assert out.endswith("}\n") and out.count("\n") == 1 and err == ""
    doc = json.loads(out)
    warn, bad = doc["falco_load_results"]
    assert (warn["name"], warn["successful"], warn["errors"]) == (files["warn.yaml"], True, [])
    assert [w["code"] for w in warn["warnings"]] == ["LOAD_UNUSED_LIST"]
    assert warn["warnings"][0]["codedesc"].startswith("A list is defined in the rules content")
    assert bad["successful"] is False and bad["schema_valid"] is True
    (e,) = bad["errors"]
    assert (e["code"], e["codedesc"], e["message"]) == (
        "LOAD_ERR_YAML_VALIDATE",
        "Error validating internal structure of YAML file",
        "Item has no mapping for key 'output'",
    )
    assert e["context"]["locations"][-1] == {
        "item_type": "rule",
        "item_name": "no output rule",
        "position": {"name": files["bad.yaml"], "line": 0, "column": 2, "offset": 2},
    }
    assert e["context"]["snippet"] == "- rule: no output rule\n  ^\n"
    # keys are sorted, as nlohmann::json prints them
    assert out.startswith('{"falco_load_results":[{"errors":[],"name":')


def test_directory_expands_to_sorted_yaml_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "b.yaml").write_text(GOOD)
    (tmp_path / "a.yml").write_text(WARN)
    (tmp_path / "notes.txt").write_text("ignored")
    assert run(["-r", str(tmp_path)]) == 0
    out, _ = capsys.readouterr()
    # b.yaml recompiles everything, so a.yml's unused list is reported again with it
    assert out == (
        f"{tmp_path / 'a.yml'}: Ok, with warnings\n{tmp_path / 'b.yaml'}: Ok, with warnings\n"
    )


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["/nonexistent.yaml"]) == 1
    out, _ = capsys.readouterr()
    assert out.startswith("/nonexistent.yaml: Invalid\n1 Errors:\n")
    assert "LOAD_ERR_FILE_READ (File read error): Could not open file /nonexistent.yaml" in out


def test_no_files_validates_the_shipped_rules_and_the_cve_pack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run([]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [f"{p}: Ok" for p in default_rules_files()]
    assert lines == expected
    assert any("/rules/cve/CVE-2020-8554.yaml: Ok" in line for line in lines)
    assert lines[0].endswith("/rules/secengine_rules.yaml: Ok")


def test_a_configured_rules_directory_without_rules_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["-o", f"rules_files=[{tmp_path}]"]) == 2
    assert "no rules files" in capsys.readouterr().err


def test_unsatisfied_plugin_requirement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("- required_plugin_versions:\n    - name: cloudtrail\n      version: 0.1.0\n")
    assert run([str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "Error: Plugin requirement not satisfied, must load one of: cloudtrail (>= 0.1.0)\n"
    )


@needs_upstream
def test_upstream_files(capsys: pytest.CaptureFixture[str]) -> None:
    names = ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"]
    paths = [str(UPSTREAM / n) for n in names]
    assert run([arg for p in paths for arg in ("-r", p)]) == 0
    out, err = capsys.readouterr()
    assert out == "".join(f"{p}: Ok\n" for p in paths)
    assert err == ""


def test_control_bytes_of_a_rules_file_do_not_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A snippet quotes the file: an ESC sequence in it would drive the user's terminal."""
    path = tmp_path / "esc.yaml"
    path.write_bytes(b"- rule: x\x1b[31mRED\x1b[0m\n  desc: [\n")
    assert run([str(path)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out
    snippet = out.split("------\n")[1]
    assert snippet == "- rule: x?[31mRED?[0m\n^\n"


@pytest.mark.parametrize(
    "condition",
    [
        "evt.type = val(proc.name)",
        "syscall.type != val(fd.name)",
        "not evt.type == val(proc.pname)",
    ],
)
def test_an_event_type_compared_with_a_field_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], condition: str
) -> None:
    """The fuzzer's find: the event-type resolver raised a bare ValueError (status 70)."""
    path = tmp_path / "r.yaml"
    path.write_text(
        f"- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n  priority: INFO\n"
    )
    assert run([str(path)]) == 1
    out, _ = capsys.readouterr()
    assert "LOAD_ERR_COMPILE_CONDITION" in out
    assert "right-hand field comparisons on `evt.type`/`syscall.type`" in out
    assert f"{path}:" in out
