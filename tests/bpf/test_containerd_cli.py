"""``secengine run -c`` with ``container_engines`` naming a real containerd's CRI socket.

The configuration reaches the syscall source through the agent (Falco's
``container_engines`` key, here in the container plugin's
``init_config.engines`` form), the start line names the API found, and an
alert on a process of a pod's container carries what only the CRI API
knows: the pod's labels, the image digest. containerd's state directory is
a temporary one here, which the default file readers do not look at, so
this also shows the fields coming from the API alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from containerd_support import Containerd
from secengine_run import read_alerts, stop

pytestmark = pytest.mark.bpf

RULES = """
- rule: i14cri data read in a pod
  desc: a test rule
  condition: evt.type in (open, openat) and fd.name = /etc/data.txt and container.id != host
  output: >
    data read (pod=%k8s.pod.name ns=%k8s.ns.name app=%k8s.pod.label[app]
    digest=%container.image.digest name=%container.name)
  priority: WARNING
"""

CONFIG = """
plugins:
  - name: container
    init_config:
      engines:
        docker: {{enabled: false}}
        podman: {{enabled: false}}
        containerd: {{enabled: false}}
        cri: {{enabled: true, sockets: [{socket}]}}
load_plugins: [container]
"""


def test_container_engines_from_the_configuration_reach_the_alerts(
    containerd: Containerd, tmp_path: Path
) -> None:
    from secengine.bpf.build import build
    from secengine.bpf.loader import object_path

    if not object_path().is_file():
        build(object_path())
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    config = tmp_path / "secengine.yaml"
    config.write_text(CONFIG.format(socket=containerd.socket))
    proc = subprocess.Popen(
        [sys.executable, "-m", "secengine.cli", "run", "--json", "-c", str(config)]
        + ["-r", str(rules)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines = []
    try:
        while not lines or "watching" not in lines[-1]:
            line = proc.stderr.readline().decode()
            assert line, "".join(lines) + proc.stderr.read().decode()
            lines.append(line)
        assert f"container APIs: cri at {containerd.socket}" in lines[-1], lines
        # the plugin's engines were read as container_engines, and said so
        assert any("init_config.engines read as container_engines" in ln for ln in lines)

        pod = containerd.run_pod("i14cri-cli", {"app": "i14cri-cli"})
        status_of = containerd.client.container_status  # type: ignore[union-attr]
        cid = containerd.start_container(
            pod, "reader", ["/bin/sh", "-c", "sleep 2; cat /etc/data.txt; sleep 30"], {}
        )
        alerts = read_alerts(proc, 30, lambda a: bool(a))
    finally:
        err = stop(proc)
    assert alerts, err
    fields = alerts[0]["output_fields"]
    assert fields["k8s.pod.name"] == "i14cri-cli"
    assert fields["k8s.ns.name"] == pod.namespace
    assert fields["k8s.pod.label[app]"] == "i14cri-cli"
    assert fields["container.image.digest"] == status_of(cid).status.image_ref
    assert fields["container.name"] == "reader"
