"""Environment values out of recorded command lines and messages (names kept)."""

from __future__ import annotations

from pathlib import Path

from secengine.profile.redact import REDACTED, Scrubber, redact_command, secret_values


def test_every_spelling_of_an_engine_env_option_is_redacted() -> None:
    argv = [
        "podman",
        "run",
        "-e",
        "A=one1",
        "--env",
        "B=two2",
        "--env=C=three",
        "-eD=four",
        "-e=E=five",
        "-e",
        "KEEP",
        "--env-file",
        "/x.env",
        "img",
        "sh",
        "-c",
        "echo $A",
    ]
    assert redact_command(argv) == [
        "podman",
        "run",
        "-e",
        f"A={REDACTED}",
        "--env",
        f"B={REDACTED}",
        f"--env=C={REDACTED}",
        f"-eD={REDACTED}",
        f"-e=E={REDACTED}",
        "-e",
        "KEEP",
        "--env-file",
        "/x.env",
        "img",
        "sh",
        "-c",
        "echo $A",
    ]


def test_values_may_hold_equals_signs_and_names_may_be_empty() -> None:
    assert redact_command(["docker", "run", "-e", "TOKEN=a=b=c", "-e", "=bare"]) == [
        "docker",
        "run",
        "-e",
        f"TOKEN={REDACTED}",
        "-e",
        f"={REDACTED}",
    ]


def test_other_commands_keep_their_dash_e_but_env_assignments_are_redacted() -> None:
    assert redact_command(["grep", "-e", "a=b", "f"]) == ["grep", "-e", "a=b", "f"]
    assert redact_command(["env", "-i", "PW=x", "tool", "K=V"]) == [
        "env",
        "-i",
        f"PW={REDACTED}",
        "tool",
        "K=V",
    ]


def test_secret_values_come_from_options_env_files_and_our_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("# comment\nFILE_PW=from-file\nBARE\n")
    argv = [
        "podman",
        "run",
        "-e",
        "PW=s3cret",
        "-e",
        "HOSTVAR",
        "--env-file",
        str(env_file),
        "--env-file=/no/such/file",
        "img",
    ]
    assert secret_values(argv, {"HOSTVAR": "from-host"}) == ["s3cret", "from-host", "from-file"]


def test_the_scrubber_replaces_long_values_anywhere_and_short_ones_after_their_name() -> None:
    scrub = Scrubber(["hunter2", "1"])
    assert scrub('invalid "=hunter2" at 1:1, X=1') == f'invalid "={REDACTED}" at 1:1, X={REDACTED}'
    assert not Scrubber([]) and Scrubber([])("a=b") == "a=b"
    assert Scrubber(["a.*b"])("xa.*by aXXb") == f"x{REDACTED}y aXXb"  # literal, not a regex
