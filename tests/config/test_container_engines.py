"""``container_engines``: Falco's key and the container plugin's ``init_config.engines``, the
discovery of default sockets, and how the agent hands the settings to its sources."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from secengine.agent import Agent
from secengine.config import load_config
from secengine.config.problems import ConfigFileError
from secengine.sources.base import EventQueue, Source
from secengine.state.containers import DockerApiEngine
from secengine.state.containers.cri import CriEngine
from secengine.state.containers.discovery import (
    DEFAULT_ENGINE_SOCKETS,
    EngineSettings,
    build_engines,
)


def _load(tmp_path: Path, text: str) -> list[EngineSettings]:
    conf = tmp_path / "falco.yaml"
    conf.write_text(text)
    return load_config(conf).container_engines.settings()


def _kinds(settings: list[EngineSettings]) -> dict[str, EngineSettings]:
    return {s.kind: s for s in settings}


def test_falcos_container_engines_key(tmp_path: Path) -> None:
    settings = _kinds(
        _load(
            tmp_path,
            """
container_engines:
  docker: {enabled: false}
  cri:
    enabled: true
    sockets: [/run/k3s/containerd/containerd.sock]
    disable_async: false
  podman: {enabled: true}
  lxc: {enabled: true}
""",
        )
    )
    assert settings["docker"].enabled is False
    assert settings["cri"].sockets == ("/run/k3s/containerd/containerd.sock",)
    assert settings["podman"] == EngineSettings("podman", True, None)
    assert settings["containerd"] == EngineSettings("containerd", True, None)


def test_the_container_plugins_init_config_engines(tmp_path: Path) -> None:
    conf = tmp_path / "falco.yaml"
    conf.write_text(
        """
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
  - name: container
    library_path: libcontainer.so
    init_config:
      label_max_len: 100
      engines:
        docker: {enabled: false}
        containerd: {enabled: true, sockets: [/run/containerd/containerd.sock]}
        cri: {enabled: true, sockets: [/run/crio/crio.sock]}
load_plugins: [container]
"""
    )
    cfg = load_config(conf)
    settings = _kinds(cfg.container_engines.settings())
    assert settings["docker"].enabled is False
    assert settings["containerd"].sockets == ("/run/containerd/containerd.sock",)
    assert settings["cri"].sockets == ("/run/crio/crio.sock",)
    assert any(
        "init_config.engines read as container_engines" in w and ":2:1" in w for w in cfg.warnings
    ), cfg.warnings


def test_the_plugin_counts_only_when_loaded_and_the_falco_key_wins(tmp_path: Path) -> None:
    plugin = """
plugins:
  - name: container
    init_config: '{"engines": {"docker": {"enabled": false}}}'
"""
    # init_config as a JSON string, as Falco takes it too
    assert _kinds(_load(tmp_path, plugin))["docker"].enabled is False
    not_loaded = plugin + "load_plugins: [k8saudit]\n"
    assert _kinds(_load(tmp_path, not_loaded))["docker"].enabled is True
    both = plugin + "container_engines: {docker: {enabled: true, sockets: [/d.sock]}}\n"
    conf = tmp_path / "both.yaml"
    conf.write_text(both)
    cfg = load_config(conf)
    assert _kinds(cfg.container_engines.settings())["docker"].sockets == ("/d.sock",)
    assert any("ignored: container_engines is set" in w for w in cfg.warnings)


def test_falcos_command_line_form() -> None:
    """Falco 0.38's replacement for ``--cri``: ``-o container_engines.cri.sockets[]=PATH``."""
    cfg = load_config(
        options=[
            "container_engines.cri.enabled=true",
            "container_engines.cri.sockets[]=/run/a.sock",
            "container_engines.cri.sockets[]=/run/b.sock",
            "container_engines.cri.disable_async=true",
        ]
    )
    assert _kinds(cfg.container_engines.settings())["cri"].sockets == (
        "/run/a.sock",
        "/run/b.sock",
    )


def test_a_bad_key_in_the_plugins_engines_is_located(tmp_path: Path) -> None:
    conf = tmp_path / "falco.yaml"
    conf.write_text(
        """
plugins:
  - name: container
    init_config:
      engines:
        cri: {sokets: [/x.sock]}
"""
    )
    with pytest.raises(ConfigFileError) as err:
        load_config(conf)
    text = str(err.value)
    assert "container_engines.cri.sokets" in text and "did you mean 'sockets'" in text
    assert "falco.yaml:6:" in text


def test_an_unknown_engine_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as err:
        _load(tmp_path, "container_engines: {crio: {enabled: true}}\n")
    assert "container_engines.crio" in str(err.value)


def test_default_sockets_are_discovered_configured_ones_always_used() -> None:
    present = {"/run/crio/crio.sock", "/var/run/docker.sock"}
    engines = build_engines(None, exists=present.__contains__)
    assert [(type(e), e.socket) for e in engines] == [  # type: ignore[attr-defined]
        (CriEngine, "/run/crio/crio.sock"),
        (DockerApiEngine, "/var/run/docker.sock"),
    ]
    configured = [
        EngineSettings("cri", True, ("/tmp/absent-cri.sock",)),
        EngineSettings("containerd", True, ("/tmp/absent-cri.sock",)),  # the same: one engine
        EngineSettings("docker", False, None),
        EngineSettings("podman", True, ()),
    ]
    engines = build_engines(configured, exists=present.__contains__)
    assert [(type(e), e.socket) for e in engines] == [  # type: ignore[attr-defined]
        (CriEngine, "/tmp/absent-cri.sock")
    ]


def test_a_crictl_style_endpoint_is_a_socket_path() -> None:
    engines = build_engines([EngineSettings("cri", True, ("unix:///run/x/containerd.sock",))])
    assert [e.socket for e in engines] == ["/run/x/containerd.sock"]  # type: ignore[attr-defined]


def test_the_issue_names_these_default_sockets() -> None:
    every = {s for socks in DEFAULT_ENGINE_SOCKETS.values() for s in socks}
    assert {
        "/run/containerd/containerd.sock",
        "/run/crio/crio.sock",
        "/run/k3s/containerd/containerd.sock",
        "/var/run/docker.sock",
        "/run/podman/podman.sock",
    } <= every


def test_the_agent_hands_the_settings_to_its_sources(tmp_path: Path) -> None:
    class _Recording(Source):
        name: ClassVar[str] = "recording"
        engines: list[EngineSettings] | None = None

        def use_container_engines(self, engines: object) -> None:
            self.engines = list(engines)  # type: ignore[call-overload]

        def start(self, out: EventQueue) -> None:
            pass

        def stop(self, timeout: float | None = None) -> None:
            pass

    conf = tmp_path / "c.yaml"
    conf.write_text("container_engines: {podman: {enabled: false}}\n")
    source = _Recording()
    agent = Agent(load_config(conf), sources=[source])
    agent.start()
    agent.stop(5.0)
    assert source.engines is not None
    assert _kinds(source.engines)["podman"].enabled is False


def test_the_start_line_names_the_engines_found() -> None:
    from secengine.sources.syscall import SyscallSource
    from secengine.state.containers import ContainerResolver
    from secengine.state.tracker import StateTracker

    source = SyscallSource()
    engines = build_engines(
        [EngineSettings("cri", True, ("/run/x/containerd.sock",))], exists=lambda p: False
    )
    source.tracker = StateTracker(containers=ContainerResolver(readers=[], engines=engines))
    line = source.describe_start(3)
    assert line.startswith("watching ")
    assert "container APIs: cri at /run/x/containerd.sock" in line
    source.tracker = StateTracker(containers=ContainerResolver(readers=[], engines=[]))
    assert "container APIs: none" in source.describe_start(3)
