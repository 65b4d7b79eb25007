"""What an OCI runtime spec (a bundle's ``config.json``) says about a container.

- privileged: the spec a runtime makes for ``--privileged`` / a privileged
  pod, recognised as the container plugin recognises containerd's
  (containerd's ``WithPrivileged`` in reverse): no masked or read-only
  paths, no seccomp profile, no SELinux label, AppArmor unconfined, sysfs
  and cgroup mounts read-write; we also require what libsinsp's description
  names: every capability that a default profile drops (:data:`ESCAPE_CAPS`
  in the bounding set) and the device cgroup allowing every device. Used
  where no runtime record says so (containerd; CRI-O and podman give it).
- host_pid / host_network / host_ipc: the namespace is absent from
  ``linux.namespaces`` (``WithHostNamespace`` removes it). An entry with a
  ``path`` joins another container's namespace: a pod's containers join
  their sandbox's, so they have the sandbox's answer (a ``hostNetwork``
  pod's containers join a sandbox that has no network namespace of its own:
  host network, as the container plugin reports from the sandbox's ``NODE``
  option); without the sandbox's spec a joined namespace is not the host's.
- mounts: ``source:dest``, ``ro`` → rw false, ``mode=`` → mode, the
  propagation option (``rprivate``...) when the mount has one, else the
  rootfs propagation, as the plugin renders containerd's.
"""

from __future__ import annotations

from typing import Any, Final

from secengine.state.containers.files.typed import obj, seq, string_map, text, wrong
from secengine.state.containers.info import Mount

__all__ = ["ESCAPE_CAPS", "OciSpec"]

#: capabilities a default container lacks and a privileged one has (a privileged spec's
#: bounding set holds every capability the runtime knows; these are the ones that matter)
ESCAPE_CAPS: Final = frozenset(
    {
        "CAP_SYS_ADMIN",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_PTRACE",
        "CAP_SYS_BOOT",
        "CAP_SYS_TIME",
        "CAP_NET_ADMIN",
        "CAP_DAC_READ_SEARCH",
        "CAP_MAC_ADMIN",
        "CAP_LINUX_IMMUTABLE",
    }
)
_PROPAGATIONS: Final = frozenset(
    {"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"}
)


class OciSpec:
    """A parsed ``config.json`` (typed access; raises ``wrong_type`` on a foreign shape)."""

    __slots__ = ("annotations", "linux", "path", "process", "spec")

    def __init__(self, spec: dict[str, Any], path: str) -> None:
        self.spec = spec
        self.path = path
        self.annotations = string_map(spec, "annotations", path)
        self.linux = obj(spec, "linux", path)
        self.process = obj(spec, "process", path)

    def _joined(self) -> dict[str, str]:
        """Each namespace the spec lists: type -> the path it joins ("" for a new one)."""
        out = {}
        for ns in seq(self.linux, "namespaces", self.path):
            if not isinstance(ns, dict):
                raise wrong(self.path, "linux.namespaces[]")
            out[text(ns, "type", self.path)] = text(ns, "path", self.path)
        return out

    def host_namespaces(self, sandbox: OciSpec | None = None) -> tuple[bool, bool, bool]:
        """(host pid, host network, host ipc); a namespace joined by path has ``sandbox``'s."""
        joined = self._joined()
        theirs = sandbox.host_namespaces() if sandbox is not None else (False, False, False)

        def host(i: int, kind: str) -> bool:
            if kind not in joined:
                return True
            return bool(joined[kind]) and theirs[i]

        return host(0, "pid"), host(1, "network"), host(2, "ipc")

    def mounts(self) -> list[Mount]:
        rootfs = text(self.linux, "rootfsPropagation", self.path)
        out = []
        for m in seq(self.spec, "mounts", self.path):
            if not isinstance(m, dict):
                raise wrong(self.path, "mounts[]")
            options = seq(m, "options", self.path)
            mode = ""
            propagation = rootfs
            rw = True
            for opt in options:
                if not isinstance(opt, str):
                    raise wrong(self.path, "mounts[].options[]")
                if opt == "ro":
                    rw = False
                elif opt.startswith("mode="):
                    mode = opt[5:]
                elif opt in _PROPAGATIONS:
                    propagation = opt
            out.append(
                Mount(
                    text(m, "source", self.path),
                    text(m, "destination", self.path),
                    mode,
                    rw,
                    propagation,
                )
            )
        return out

    def privileged(self) -> bool:
        """Whether the spec is a privileged container's (see the module docstring)."""
        linux, process, path = self.linux, self.process, self.path
        if not linux or not process:
            return False
        if seq(linux, "maskedPaths", path) or seq(linux, "readonlyPaths", path):
            return False
        if obj(linux, "seccomp", path):
            return False
        if text(process, "selinuxLabel", path):
            return False
        if text(process, "apparmorProfile", path) not in ("", "unconfined"):
            return False
        for m in seq(self.spec, "mounts", path):
            if (
                isinstance(m, dict)
                and m.get("type") in ("sysfs", "cgroup")
                and "ro" in seq(m, "options", path)
            ):
                return False
        bounding = seq(obj(process, "capabilities", path), "bounding", path)
        if not ESCAPE_CAPS.issubset(c for c in bounding if isinstance(c, str)):
            return False
        devices = seq(obj(linux, "resources", path), "devices", path)
        return not devices or any(_allows_all(d) for d in devices)


def _allows_all(rule: Any) -> bool:
    """A device cgroup rule that allows every device (``a *:* rwm``)."""
    if not isinstance(rule, dict) or rule.get("allow") is not True:
        return False
    return (
        rule.get("type") in (None, "a")
        and rule.get("major") is None
        and rule.get("minor") is None
        and "m" in str(rule.get("access", "rwm"))
    )
