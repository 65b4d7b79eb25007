"""The wheel: it carries the grammar, the default rules and the samples, and works installed.

Builds the wheel from this checkout, installs it with ``--no-deps`` into a
fresh virtual environment (whose dependencies come from the running test
environment through a ``.pth`` file, so no network is needed), and runs
``secengine replay`` from there, outside the source tree, on the samples
bundled in the wheel. The alerts must equal the golden file.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "samples.expected.jsonl"

pytestmark = pytest.mark.slow


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(env)])
    python = env / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--quiet",
            str(wheel),
        ]
    )
    # Make the test environment's dependencies importable, after the venv's own
    # site-packages (so the installed wheel, not this checkout, provides secengine).
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    deps = {
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        *site.getsitepackages(),
    }
    (purelib / "_secengine_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return env


def test_wheel_carries_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "secengine/grammars/condition.lark" in names
    assert "secengine/rules/secengine_rules.yaml" in names
    assert "secengine/rules/cve/CVE-2020-8554.yaml" in names  # the CVE pack ships too
    assert "secengine/rules/tests/cve/events/CVE-2020-8554/create-external-ips.json" in names
    assert "secengine/samples/events.jsonl" in names
    assert "secengine/cli.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "secengine = secengine.cli:main" in text
    assert "replay = secengine.sources.replay:ReplaySource" in text


def test_installed_package_finds_its_data(venv: Path, tmp_path: Path) -> None:
    code = (
        "import secengine, secengine.resources as r\n"
        "print(secengine.__file__)\n"
        "for n in ('grammars', 'rules', 'samples'): print(r.resource_path(n))\n"
    )
    out = _run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path).stdout.split()
    package = Path(out[0]).parent
    assert package.is_relative_to(venv), "secengine was imported from outside the venv"
    for line, name in zip(out[1:], ("grammars", "rules", "samples")):
        assert Path(line) == package / name
    assert (package / "grammars" / "condition.lark").is_file()


def test_installed_replay_of_bundled_samples(venv: Path, tmp_path: Path) -> None:
    python = str(venv / "bin" / "python")
    code = (
        "from secengine.resources import resource_path; "
        "print(resource_path('samples') / 'events.jsonl')"
    )
    samples = _run([python, "-c", code], cwd=tmp_path).stdout.strip()
    env = {**os.environ, "TZ": "UTC"}
    env.pop("PYTHONPATH", None)
    proc = _run(
        [str(venv / "bin" / "secengine"), "replay", samples, "--json", "--hostname", "golden"],
        cwd=tmp_path,
        env=env,
    )
    alerts = [orjson.loads(line) for line in proc.stdout.splitlines()]
    expected = [orjson.loads(line) for line in GOLDEN.read_text().splitlines()]
    assert alerts == expected
    assert f"Events detected: {len(expected)}" in proc.stderr


def test_the_wheel_hook_loads_the_probe_builder_with_the_standard_library_only(
    tmp_path: Path,
) -> None:
    """pip's isolated build has hatchling but not secengine: the hook must still load build.py.

    ``pip install -e .`` on a fresh clone failed with ``No module named 'secengine'`` once
    build.py imported the package's error base. Here the child runs without site-packages
    (``-S``; hatchling's hook interface is replaced by a stand-in class) and loads the
    builder exactly as the hook does.
    """
    script = (
        "import sys, types\n"
        "hooks = types.ModuleType('hatchling.builders.hooks.plugin.interface')\n"
        "hooks.BuildHookInterface = type('BuildHookInterface', (), {})\n"
        "for name in ('hatchling', 'hatchling.builders', 'hatchling.builders.hooks',\n"
        "             'hatchling.builders.hooks.plugin'):\n"
        "    sys.modules[name] = types.ModuleType(name)\n"
        "sys.modules['hatchling.builders.hooks.plugin.interface'] = hooks\n"
        "import importlib.util, pathlib\n"
        f"root = pathlib.Path({str(ROOT)!r})\n"
        "spec = importlib.util.spec_from_file_location('hatch_build', root / 'hatch_build.py')\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "builder = mod.load_probe_builder(root)\n"
        "assert callable(builder.build_all) and issubclass(builder.BuildError, Exception)\n"
        "assert 'secengine' not in sys.modules, 'the hook left secengine imported'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
