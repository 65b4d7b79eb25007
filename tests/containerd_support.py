"""A real containerd with its CRI plugin for the tests, started by hand, everything in a temp dir.

:class:`Containerd` runs the Debian package's ``containerd`` (1.6) with its
root, state, socket and configuration under one temporary directory, runc
with cgroupfs, overlayfs, ``restrict_oom_score_adj`` (root here lacks
CAP_SYS_RESOURCE; without it runc cannot start the sandbox). It runs in a
mount namespace of its own with a tmpfs on ``/run/containerd``: the shims
put their sockets under ``/run/containerd/s`` whatever the configuration
says, and the host's ``/run/containerd`` must stay untouched.

Images are built offline (no registry): the busybox rootfs of
``podman_support`` (``podman import``), once as the test image and once,
with a command that waits, as the sandbox ("pause") image, then
``podman save | ctr -n k8s.io images import -``.

:meth:`Containerd.run_pod` starts a pod as the kubelet would, through the
CRI gRPC API (secengine's own client): a sandbox in the node's network
namespace (no CNI), ``linux.cgroup_parent`` ``/kubepods/besteffort/pod<uid>``,
known name, namespace, uid and labels; :meth:`Containerd.start_container`
creates and starts a container in it with known name, labels, a mount.
:meth:`Containerd.close` stops every pod, containerd, and removes the state
and the cgroups it made, also after a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import podman_support
import pytest

from secengine.state.containers.cri import CriClient, CriError
from secengine.state.containers.cri import api_pb2 as api

#: the sandbox ("pause") image: the busybox rootfs, waiting for SIGTERM
PAUSE_IMAGE = "localhost/i14cri-pause:v1"
NAMESPACE = "k8s.io"
#: Debian's CNI plugins (containernetworking-plugins)
CNI_PLUGINS = "/usr/lib/cni"
#: cgroup v1 controllers runc makes the pods' directories in (cgroupfs driver)
_CGROUP_ROOT = Path("/sys/fs/cgroup")

_CONFIG = """\
version = 2
root = "{root}"
state = "{state}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{base}/cni/bin"
    conf_dir = "{base}/cni/conf"
"""


def missing() -> str | None:
    """Why containerd cannot run here, or None."""
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2", "runc", "podman", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install containerd runc podman)"
    if os.geteuid() != 0:
        return "containerd needs root"
    if not os.path.exists(os.path.join(CNI_PLUGINS, "bridge")):
        return f"no CNI plugins in {CNI_PLUGINS} (apt-get install containernetworking-plugins)"
    return None


@dataclass
class Pod:
    """A running pod sandbox and what it was made with."""

    sandbox_id: str
    name: str
    namespace: str
    uid: str
    labels: dict[str, str]
    config: api.PodSandboxConfig
    containers: list[str] = field(default_factory=list)

    @property
    def cgroup_parent(self) -> str:
        return f"/kubepods/besteffort/pod{self.uid}"


class Containerd:
    """containerd with its CRI plugin, in a temporary directory (see the module docstring)."""

    def __init__(self, prefix: str = "i14cri") -> None:
        self.prefix = prefix
        self.base = Path(tempfile.mkdtemp(prefix=f"{prefix}-ctd-", dir="/tmp"))
        self.root = self.base / "root"
        self.state = self.base / "state"
        self.socket = str(self.base / "containerd.sock")
        self.logs = self.base / "logs"
        self.data = self.base / "data"
        for d in (self.root, self.state, self.logs, self.data, self.base / "opt"):
            d.mkdir(parents=True)
        (self.data / "hello.txt").write_text("hello from the host\n")
        # a CNI bridge of its own for pods with their own network namespace (a pod IP)
        tag = self.base.name.rsplit("-", 1)[-1][:6].lower()
        self.bridge = f"se{tag}"[:15]
        self.subnet_octet = 100 + int.from_bytes(os.urandom(1), "big") % 100
        self._write_cni()
        self.pods: list[Pod] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: CriClient | None = None
        self.image = ""

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> Containerd:
        config = self.base / "config.toml"
        config.write_text(
            _CONFIG.format(
                root=self.root,
                state=self.state,
                socket=self.socket,
                base=self.base,
                pause=PAUSE_IMAGE,
                runc=shutil.which("runc"),
            )
        )
        script = (
            "mount --make-rprivate / && mkdir -p /run/containerd && "
            "mount -t tmpfs -o mode=0700 tmpfs /run/containerd && "
            f'exec containerd --config "{config}"'
        )
        log = open(self.base / "containerd.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "sh", "-c", script],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        end = time.monotonic() + 30
        self.client = CriClient(self.socket, timeout=30)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd exited: {self.log_tail()}")
            if os.path.exists(self.socket):
                with contextlib.suppress(CriError):  # not serving yet
                    self.client.version(timeout=1)
                    break
            if time.monotonic() > end:
                raise RuntimeError(f"containerd did not answer: {self.log_tail()}")
            time.sleep(0.1)
        self.image = podman_support.build_image()
        self._import(self.image)
        self._import(_pause_image())
        return self

    def _write_cni(self) -> None:
        """CNI for pods with a network namespace: Debian's plugins (containernetworking-plugins),
        a bridge named after this containerd, host-local addresses in its own 10.222.X.0/24,
        no masquerade (no iptables change), address state under the temporary directory."""
        bin_dir, conf_dir = self.base / "cni" / "bin", self.base / "cni" / "conf"
        bin_dir.mkdir(parents=True)
        conf_dir.mkdir(parents=True)
        for plugin in ("bridge", "host-local", "loopback"):
            (bin_dir / plugin).symlink_to(Path(CNI_PLUGINS) / plugin)
        conf = {
            "cniVersion": "0.4.0",
            "name": f"{self.prefix}-net",
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": False,
            "ipMasq": False,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": f"10.222.{self.subnet_octet}.0/24"}]],
                "dataDir": str(self.base / "cni" / "ipam"),
            },
        }
        (conf_dir / "10-secengine.conf").write_text(json.dumps(conf))

    def log_tail(self) -> str:
        try:
            return (self.base / "containerd.log").read_text()[-3000:]
        except OSError:
            return ""

    def _import(self, image: str) -> None:
        save = subprocess.Popen(["podman", "save", image], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["ctr", "--address", self.socket, "-n", NAMESPACE, "images", "import", "-"],
            stdin=save.stdout,
            capture_output=True,
            check=False,
        )
        assert save.stdout is not None
        save.stdout.close()
        save.wait()
        if imp.returncode != 0 or save.returncode != 0:
            raise RuntimeError(f"importing {image} failed: {imp.stderr.decode()}")

    def close(self) -> None:
        """Stop every pod and containerd; remove the state and the pods' cgroups."""
        if self.client is not None:
            for pod in self.pods:
                for step in (self.client.stop_pod_sandbox, self.client.remove_pod_sandbox):
                    with contextlib.suppress(CriError):  # best effort: containerd goes next
                        step(pod.sandbox_id, timeout=20)
            self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._kill_leftovers()
        for pod in self.pods:
            _remove_cgroups(pod.cgroup_parent)
        # overlay mounts lived in containerd's own mount namespace: gone with it
        shutil.rmtree(self.base, ignore_errors=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)

    def _kill_leftovers(self) -> None:
        """Shims and container processes whose cgroups are under our pods (a failed stop)."""
        for pod in self.pods:
            for procs in _CGROUP_ROOT.glob(f"*{pod.cgroup_parent}/**/cgroup.procs"):
                try:
                    pids = procs.read_text().split()
                except OSError:
                    continue
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
        for shim in self._shims():
            try:
                os.kill(shim, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _shims(self) -> list[int]:
        """The shims serving this containerd (their command line names its socket)."""
        out = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                args = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                args
                and args[0].endswith(b"containerd-shim-runc-v2")
                and (self.socket.encode() in args)
            ):
                out.append(int(cmdline.parent.name))
        return out

    # -- pods, as the kubelet makes them ----------------------------------------
    def run_pod(
        self,
        name: str,
        labels: dict[str, str],
        namespace: str = "i14cri-ns",
        *,
        privileged: bool = False,
        pod_network: bool = False,
    ) -> Pod:
        """A pod sandbox in the node's network namespace, its cgroup under kubepods
        (``privileged`` allows privileged containers in it; ``pod_network``: a network
        namespace of its own with an address from this containerd's CNI bridge)."""
        assert self.client is not None
        uid = str(uuid.uuid4())
        meta = api.PodSandboxMetadata(name=name, uid=uid, namespace=namespace, attempt=0)
        config = api.PodSandboxConfig(
            metadata=meta,
            log_directory=str(self.logs / uid),
            labels=labels,
            annotations={"i14cri/annotation": "yes"},
            linux=api.LinuxPodSandboxConfig(
                cgroup_parent=f"/kubepods/besteffort/pod{uid}",
                security_context=api.LinuxSandboxSecurityContext(
                    privileged=privileged,
                    namespace_options=api.NamespaceOption(
                        network=api.POD if pod_network else api.NODE, pid=api.POD, ipc=api.POD
                    ),
                ),
            ),
        )
        pod = Pod("", name, namespace, uid, dict(labels), config)
        self.pods.append(pod)  # before it runs: close() cleans up even a half-made pod
        pod.sandbox_id = self.client.run_pod_sandbox(config)
        return pod

    def start_container(
        self,
        pod: Pod,
        name: str,
        command: list[str],
        labels: dict[str, str],
        *,
        privileged: bool = False,
    ) -> str:
        """Create and start a container in ``pod``; its id. Labels as the kubelet sets them."""
        assert self.client is not None
        kubelet_labels = {
            "io.kubernetes.container.name": name,
            "io.kubernetes.pod.name": pod.name,
            "io.kubernetes.pod.namespace": pod.namespace,
            "io.kubernetes.pod.uid": pod.uid,
        }
        config = api.ContainerConfig(
            metadata=api.ContainerMetadata(name=name, attempt=0),
            image=api.ImageSpec(image=self.image),
            command=command,
            labels={**kubelet_labels, **labels},
            log_path=f"{name}.log",
            mounts=[api.Mount(container_path="/data", host_path=str(self.data), readonly=True)],
            linux=api.LinuxContainerConfig(
                security_context=api.LinuxContainerSecurityContext(
                    privileged=privileged,
                    namespace_options=api.NamespaceOption(
                        # the pod's network: the node's, or the sandbox's own
                        network=pod.config.linux.security_context.namespace_options.network,
                        pid=api.CONTAINER,
                        ipc=api.POD,
                    ),
                )
            ),
        )
        cid = self.client.create_container(pod.sandbox_id, config, pod.config)
        pod.containers.append(cid)
        self.client.start_container(cid)
        return cid

    def bundle(self, container_id: str) -> Path:
        """The directory of a running task's OCI bundle (its config.json)."""
        return self.state / "io.containerd.runtime.v2.task" / NAMESPACE / container_id


def _pause_image() -> str:
    """The sandbox image: the test image's rootfs with a command that waits until stopped."""
    if subprocess.run(["podman", "image", "exists", PAUSE_IMAGE], check=False).returncode == 0:
        return PAUSE_IMAGE
    image = podman_support.build_image()
    with tempfile.TemporaryDirectory() as tmp:
        cid = subprocess.run(
            ["podman", "create", image, "true"], capture_output=True, text=True, check=True
        ).stdout.strip()
        try:
            tar = Path(tmp) / "rootfs.tar"
            subprocess.run(["podman", "export", "-o", str(tar), cid], check=True)
        finally:
            subprocess.run(["podman", "rm", "-f", cid], capture_output=True, check=False)
        subprocess.run(
            [
                "podman",
                "import",
                "--change",
                "ENV PATH=/bin",
                "--change",
                'ENTRYPOINT ["/bin/sh", "-c", "trap \'exit 0\' TERM; while :; do sleep 1; done"]',
                str(tar),
                PAUSE_IMAGE,
            ],
            check=True,
            capture_output=True,
        )
    return PAUSE_IMAGE


def _remove_cgroups(parent: str) -> None:
    """rmdir the pod's cgroup directories in every controller, deepest first; then the
    kubepods levels above it if they are empty (another pod's keep them)."""
    for controller in _CGROUP_ROOT.iterdir():
        top = controller / parent.lstrip("/")
        if not top.is_dir():
            continue
        for d in sorted(top.glob("**/"), key=lambda p: len(p.parts), reverse=True):
            try:
                d.rmdir()
            except OSError:
                pass
        for up in (top.parent, top.parent.parent):
            try:
                up.rmdir()
            except OSError:
                pass


@pytest.fixture(scope="session")
def containerd() -> Iterator[Containerd]:
    """One containerd for the session (about a second to start), stopped and removed at the
    end even when a test failed; skips only when containerd cannot run here at all."""
    why = missing()
    if why is not None:
        pytest.skip(why)
    ctd = Containerd()
    try:
        ctd.start()
        yield ctd
    finally:
        ctd.close()
