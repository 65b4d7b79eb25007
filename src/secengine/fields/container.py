"""The container plugin's fields: ``container.*``, ``k8s.*`` (falcosecurity/plugins ``container``).

Since Falco 0.41 container metadata comes from the container plugin, which
Falco loads by default and which the upstream rules require
(``required_plugin_versions: container``). Its fields apply to the syscall
source. This table follows the plugin's ``get_fields()``
(``plugins/container/src/caps/extract/extract.cpp``), in its order: plugin
field types map to Falco's (``string`` → CHARBUF, ``bool`` → BOOL, ...), a
required index-or-key argument (``container.mount.dest[/var/run/docker.sock]``,
``container.mount.dest[0]``) to ``arg_index`` + ``arg_key``, and the fields
the plugin flags ``addOutput`` to ``suggested`` (what Falco's
``suggested_output`` appends). libsinsp names a plugin's field class
``<plugin> (plugin)``, hence this class's name.

Plugin arguments are bracketed only (``container.label[foo]``); the dotted
spelling some descriptions mention is not parsed by libsinsp for plugin
fields. The ``k8s.rc``/``svc``/``ns.id``/``rs``/``deployment`` fields are
kept for compatibility and always missing, as in the plugin.

The live syscall source extracts these (``live=``) from the process's
container id and the metadata its runtime gave (``state.containers``: the
runtime's files at the container's first event, its API later), with the
plugin's semantics (``extract.cpp``): while nothing is known of a container
only ``container.id``, ``full_id``, ``start_ts`` and ``duration`` answer;
``container.start_ts`` is the start of the process's pid-namespace init;
``k8s.pod.name``/``ns.name``/``uid``/``id`` are the container's
``io.kubernetes.pod.*`` labels, ``k8s.pod.label*``/``ip`` the pod's (the
sandbox's), ``container.labels``/``k8s.pod.labels`` are ``k:v, k2:v2``
without ``io.kubernetes.*`` and ``annotation.*`` keys. A pod's sandbox
("pause") container is its own pod's: its processes have the pod's fields.
Host processes: ``container.id``/``name``/``type`` ``host``, privileged and
host namespaces false, labels and sandbox ids empty, the pod's name,
namespace, labels and IP missing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any, Final

from secengine.events import MISSING
from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldType
from secengine.fields.live import LiveExtractor, LiveFieldValues

__all__ = ["FIELD_CLASS", "HOST"]

_DELAY = (
    " In instances of userspace container engine lookup delays, this field may not be "
    "available yet."
)
_K8S_DELAY = (
    " This field is extracted from the container runtime socket simultaneously as we "
    "look up the 'container.*' fields. In cases of lookup delays, it may not be "
    "available yet."
)
_MOUNT_GLOB = (
    " The pathname can be a glob. In instances of userspace container engine lookup "
    "delays, this field may not be available yet."
)
_DEPRECATED_K8SMETA = "Deprecated. Use `k8smeta` plugin instead."


#: ``container.id`` of a process outside any container.
HOST: Final = "host"


# ---------------------------------------------------------------------------
# live extraction (the syscall source: the process's container, from its runtime)
# ---------------------------------------------------------------------------


def _cid(v: LiveFieldValues) -> str | None:
    p = v.proc
    return None if p is None else p.container_id


def _container(v: LiveFieldValues) -> Any:
    cid = _cid(v)
    if cid is None or cid == HOST:
        return None
    return v.state.containers.get(cid)


def _container_id(v: LiveFieldValues, arg: str | None) -> Any:
    cid = _cid(v)
    if cid is None:
        return MISSING
    return cid if cid == HOST else cid[:12]


def _container_full_id(v: LiveFieldValues, arg: str | None) -> Any:
    cid = _cid(v)
    return MISSING if cid is None else cid


def _c(attr: str, host: Any = MISSING) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        cid = _cid(v)
        if cid is None:
            return MISSING
        if cid == HOST:
            return host
        info = v.state.containers.get(cid)
        if not info.resolved:
            return MISSING
        value = getattr(info, attr)
        return MISSING if value is None else value

    return get


def _c_mounts(v: LiveFieldValues, arg: str | None) -> Any:
    """The mounts, comma-separated as the plugin's extractor joins them (its description says
    space-separated; its code, which Falco runs, uses ``,``)."""
    info = _container(v)
    if info is None or not info.resolved:
        return MISSING
    return ",".join(_mount_text(m) for m in info.mounts)


def _mount_text(m: Any) -> str:
    return f"{m.source}:{m.dest}:{m.mode}:{str(m.rw).lower()}:{m.propagation}"


def _c_mount(part: Callable[[Any], str], by_dest: bool = False) -> LiveExtractor:
    """A ``container.mount*`` field: ``part`` of the mount numbered ``arg``, or of the one whose
    source (``by_dest``: destination) matches the glob ``arg``, as the plugin picks it; ``N/A``
    when none does and ``<NA>`` while the metadata is not known, as libsinsp's container
    fields answer (the sandbox rules test ``not ... in ("<NA>","N/A")``)."""

    def get(v: LiveFieldValues, arg: int | str | None) -> Any:
        if arg is None or _cid(v) is None:
            return MISSING
        info = _container(v)
        if info is None or not info.resolved:
            return "<NA>"
        if isinstance(arg, int):
            return part(info.mounts[arg]) if arg < len(info.mounts) else "N/A"
        for m in info.mounts:
            if fnmatch.fnmatchcase(m.dest if by_dest else m.source, arg):
                return part(m)
        return "N/A"

    return get


def _c_label(prefix: str | None = None) -> LiveExtractor:
    def get(v: LiveFieldValues, arg: str | None) -> Any:
        info = _container(v)
        if info is None or not info.resolved:
            return MISSING
        key = prefix if prefix is not None else arg
        if key is None:
            return MISSING
        value = info.labels.get(key)
        return MISSING if value is None else value

    return get


def _start_ts(v: LiveFieldValues, arg: str | None) -> Any:
    """The start of the process's pid namespace's init, as the plugin answers (from the
    kernel, for host processes too; missing when unknown)."""
    p = v.proc
    return MISSING if p is None or not p.pidns_init_start else p.pidns_init_start


def _c_duration(v: LiveFieldValues, arg: str | None) -> Any:
    start = _start_ts(v, arg)
    return MISSING if start is MISSING else max(0, v.rec.ts - start)


def _joined(labels: dict[str, str]) -> str:
    """``key:value, key2`` of the labels, minus ``annotation.*`` and ``io.kubernetes.*``, sorted:
    the plugin's ``concatenate_container_labels``."""
    return ", ".join(
        f"{k}:{val}" if val else k
        for k, val in sorted(labels.items())
        if not k.startswith(("annotation.", "io.kubernetes."))
    )


def _c_labels(v: LiveFieldValues, arg: str | None) -> Any:
    cid = _cid(v)
    if cid is None:
        return MISSING
    if cid == HOST:
        return ""
    info = v.state.containers.get(cid)
    return _joined(info.labels) if info.resolved else MISSING


def _pod_sandbox(short: bool) -> LiveExtractor:
    """``k8s.pod.sandbox_id`` (12 digits) / ``full_sandbox_id``: empty outside a pod."""

    def get(v: LiveFieldValues, arg: str | None) -> Any:
        cid = _cid(v)
        if cid is None:
            return MISSING
        if cid == HOST:
            return ""
        info = v.state.containers.get(cid)
        if not info.resolved:
            return MISSING
        pod = info.pod
        if pod is None:
            return ""
        return pod.sandbox_id[:12] if short else pod.sandbox_id

    return get


def _pod_label(v: LiveFieldValues, arg: str | None) -> Any:
    info = _container(v)
    if info is None or not info.resolved or info.pod is None or arg is None:
        return MISSING
    value = info.pod.labels.get(arg)
    return MISSING if value is None else value


def _pod_labels(v: LiveFieldValues, arg: str | None) -> Any:
    cid = _cid(v)
    if cid is None:
        return MISSING
    if cid == HOST:
        return ""
    info = v.state.containers.get(cid)
    if not info.resolved:
        return MISSING
    return "" if info.pod is None else _joined(info.pod.labels)


def _pod_ip(v: LiveFieldValues, arg: str | None) -> Any:
    info = _container(v)
    if info is None or not info.resolved or info.pod is None:
        return MISSING
    return info.pod.ip


def _mount(
    name: str, what: str, key_by: str, example_key: str, live: LiveExtractor | None = None
) -> FieldDef:
    return FieldDef(
        name,
        FieldType.CHARBUF,
        f"The {what}, specified by number (e.g. {name}[0]) or mount {key_by} "
        f"({name}[{example_key}])." + _MOUNT_GLOB,
        arg=ArgMode.REQUIRED,
        arg_index=True,
        arg_key=True,
        live=live,
    )


def _legacy_k8s(kind: str) -> tuple[FieldDef, ...]:
    """The four deprecated ``k8s.<kind>.name/id/label/labels`` fields."""
    return (
        FieldDef(f"k8s.{kind}.name", FieldType.CHARBUF, _DEPRECATED_K8SMETA),
        FieldDef(f"k8s.{kind}.id", FieldType.CHARBUF, _DEPRECATED_K8SMETA),
        FieldDef(
            f"k8s.{kind}.label",
            FieldType.CHARBUF,
            _DEPRECATED_K8SMETA,
            arg=ArgMode.REQUIRED,
            arg_key=True,
        ),
        FieldDef(f"k8s.{kind}.labels", FieldType.CHARBUF, _DEPRECATED_K8SMETA),
    )


FIELD_CLASS = FieldClass(
    name="container (plugin)",
    desc="",
    sources=("syscall",),
    fields=(
        FieldDef(
            "container.id",
            FieldType.CHARBUF,
            "The truncated container ID (first 12 characters), e.g. 3ad7b26ded6d is "
            "extracted from the Linux cgroups by Falco within the kernel. Consequently, this "
            "field is reliably available and serves as the lookup key for Falco's "
            "synchronous or asynchronous requests against the container runtime socket to "
            "retrieve all other 'container.*' information. One important aspect to be aware "
            "of is that if the process occurs on the host, meaning not in the container PID "
            "namespace, this field is set to a string called 'host'. In Kubernetes, pod "
            "sandbox container processes can exist where `container.id` matches "
            "`k8s.pod.sandbox_id`, lacking other 'container.*' details.",
            suggested=True,
            live=_container_id,
        ),
        FieldDef(
            "container.full_id",
            FieldType.CHARBUF,
            "The full container ID, e.g. "
            "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e. In contrast "
            "to `container.id`, we enrich this field as part of the container engine "
            "enrichment. In instances of userspace container engine lookup delays, this "
            "field may not be available yet.",
            live=_container_full_id,
        ),
        FieldDef(
            "container.name",
            FieldType.CHARBUF,
            "The container name. In instances of userspace container engine lookup delays, "
            "this field may not be available yet. One important aspect to be aware of is "
            "that if the process occurs on the host, meaning not in the container PID "
            "namespace, this field is set to a string called 'host'.",
            suggested=True,
            live=_c("name", host=HOST),
        ),
        FieldDef(
            "container.image",
            FieldType.CHARBUF,
            "The container image name (e.g. falcosecurity/falco:latest for docker)." + _DELAY,
            live=_c("image"),
        ),
        FieldDef(
            "container.image.id",
            FieldType.CHARBUF,
            "The container image id (e.g. 6f7e2741b66b)." + _DELAY,
            live=_c("image_id"),
        ),
        FieldDef(
            "container.type",
            FieldType.CHARBUF,
            "The container type, e.g. docker, cri-o, containerd etc.",
            live=_c("type", host=HOST),
        ),
        FieldDef(
            "container.privileged",
            FieldType.BOOL,
            "'true' for containers running as privileged, 'false' otherwise." + _DELAY,
            live=_c("privileged", host=False),
        ),
        FieldDef(
            "container.mounts",
            FieldType.CHARBUF,
            "A space-separated list of mount information. Each item in the list has the "
            "format 'source:dest:mode:rdrw:propagation'." + _DELAY,
            live=_c_mounts,
        ),
        FieldDef(
            "container.mount",
            FieldType.CHARBUF,
            "Information about a single mount, specified by number (e.g. "
            "container.mount[0]) or mount source (container.mount[/usr/local]). The "
            "pathname can be a glob (container.mount[/usr/local/*]), in which case the "
            "first matching mount will be returned. The information has the format "
            "'source:dest:mode:rdrw:propagation'. If there is no mount with the specified "
            'index or matching the provided source, returns the string "none" instead of '
            "a NULL value." + _DELAY,
            arg=ArgMode.REQUIRED,
            arg_index=True,
            arg_key=True,
            live=_c_mount(_mount_text),
        ),
        _mount(
            "container.mount.source",
            "mount source",
            "destination",
            "/host/lib/modules",
            live=_c_mount(lambda m: m.source, by_dest=True),
        ),
        _mount(
            "container.mount.dest",
            "mount destination",
            "source",
            "/lib/modules",
            live=_c_mount(lambda m: m.dest),
        ),
        _mount(
            "container.mount.mode",
            "mount mode",
            "source",
            "/usr/local",
            live=_c_mount(lambda m: m.mode),
        ),
        _mount(
            "container.mount.rdwr",
            "mount rdwr value",
            "source",
            "/usr/local",
            live=_c_mount(lambda m: str(m.rw).lower()),
        ),
        _mount(
            "container.mount.propagation",
            "mount propagation value",
            "source",
            "/usr/local",
            live=_c_mount(lambda m: m.propagation),
        ),
        FieldDef(
            "container.image.repository",
            FieldType.CHARBUF,
            "The container image repository (e.g. falcosecurity/falco)." + _DELAY,
            suggested=True,
            live=_c("image_repository"),
        ),
        FieldDef(
            "container.image.tag",
            FieldType.CHARBUF,
            "The container image tag (e.g. stable, latest)." + _DELAY,
            suggested=True,
            live=_c("image_tag"),
        ),
        FieldDef(
            "container.image.digest",
            FieldType.CHARBUF,
            "The container image registry digest (e.g. "
            "sha256:d977378f890d445c15e51795296e4e5062f109ce6da83e0a355fc4ad8699d27)." + _DELAY,
            live=_c("image_digest"),
        ),
        FieldDef(
            "container.healthcheck",
            FieldType.CHARBUF,
            "Deprecated, will be removed in a future version.",
        ),
        FieldDef(
            "container.liveness_probe",
            FieldType.CHARBUF,
            "Deprecated, will be removed in a future version. Use `k8smeta` plugin instead.",
        ),
        FieldDef(
            "container.readiness_probe",
            FieldType.CHARBUF,
            "Deprecated, will be removed in a future version. Use `k8smeta` plugin instead.",
        ),
        FieldDef(
            "container.start_ts",
            FieldType.ABSTIME,
            "Container start as epoch timestamp in nanoseconds based on "
            "proc.pidns_init_start_ts and extracted in the kernel and not from the container "
            "runtime socket / container engine.",
            live=_start_ts,
        ),
        FieldDef(
            "container.duration",
            FieldType.RELTIME,
            "Number of nanoseconds since container.start_ts.",
            live=_c_duration,
        ),
        FieldDef(
            "container.ip",
            FieldType.CHARBUF,
            "The container's / pod's primary ip address as retrieved from the container "
            "engine. Only ipv4 addresses are tracked. Consider container.cni.json (CRI use "
            "case) for logging ip addresses for each network interface." + _DELAY,
            live=_c("ip", host=""),
        ),
        FieldDef(
            "container.cni.json",
            FieldType.CHARBUF,
            "The container's / pod's CNI result field from the respective pod status info. "
            "It contains ip addresses for each network interface exposed as unparsed "
            "escaped JSON string. Supported for CRI container engine (containerd, cri-o "
            "runtimes), optimized for containerd (some non-critical JSON keys removed). "
            "Useful for tracking ips (ipv4 and ipv6, dual-stack support) for each network "
            "interface (multi-interface support)." + _DELAY,
        ),
        FieldDef(
            "container.host_pid",
            FieldType.BOOL,
            "'true' if the container is running in the host PID namespace, 'false' otherwise.",
            live=_c("host_pid", host=False),
        ),
        FieldDef(
            "container.host_network",
            FieldType.BOOL,
            "'true' if the container is running in the host network namespace, 'false' otherwise.",
            live=_c("host_network", host=False),
        ),
        FieldDef(
            "container.host_ipc",
            FieldType.BOOL,
            "'true' if the container is running in the host IPC namespace, 'false' otherwise.",
            live=_c("host_ipc", host=False),
        ),
        FieldDef(
            "container.label",
            FieldType.CHARBUF,
            "Container label. E.g. 'container.label.foo'.",
            arg=ArgMode.REQUIRED,
            arg_key=True,
            live=_c_label(),
        ),
        FieldDef(
            "container.labels",
            FieldType.CHARBUF,
            "Container comma-separated key/value labels. E.g. 'foo1:bar1,foo2:bar2'.",
            live=_c_labels,
        ),
        FieldDef(
            "proc.is_container_healthcheck",
            FieldType.BOOL,
            "Deprecated, will be removed in a future version.",
            live=lambda v, a: False,
        ),
        FieldDef(
            "proc.is_container_liveness_probe",
            FieldType.BOOL,
            "Deprecated, will be removed in a future version. Use `k8smeta` plugin instead.",
            live=lambda v, a: False,
        ),
        FieldDef(
            "proc.is_container_readiness_probe",
            FieldType.BOOL,
            "Deprecated, will be removed in a future version. Use `k8smeta` plugin instead.",
            live=lambda v, a: False,
        ),
        FieldDef(
            "k8s.pod.name",
            FieldType.CHARBUF,
            "The Kubernetes pod name." + _K8S_DELAY,
            suggested=True,
            live=_c_label("io.kubernetes.pod.name"),
        ),
        FieldDef(
            "k8s.ns.name",
            FieldType.CHARBUF,
            "The Kubernetes namespace name." + _K8S_DELAY,
            suggested=True,
            live=_c_label("io.kubernetes.pod.namespace"),
        ),
        FieldDef(
            "k8s.pod.id",
            FieldType.CHARBUF,
            "[LEGACY] The Kubernetes pod UID, e.g. 3e41dc6b-08a8-44db-bc2a-3724b18ab19a. "
            "This legacy field points to `k8s.pod.uid`; however, the pod ID typically "
            "refers to the pod sandbox ID. We recommend using the semantically more "
            "accurate `k8s.pod.uid` field." + _K8S_DELAY,
            live=_c_label("io.kubernetes.pod.uid"),
        ),
        FieldDef(
            "k8s.pod.uid",
            FieldType.CHARBUF,
            "The Kubernetes pod UID, e.g. 3e41dc6b-08a8-44db-bc2a-3724b18ab19a. Note that "
            "the pod UID is a unique identifier assigned upon pod creation within "
            "Kubernetes, allowing the Kubernetes control plane to manage and track pods "
            "reliably. As such, it is fundamentally a different concept compared to the pod "
            "sandbox ID." + _K8S_DELAY,
            live=_c_label("io.kubernetes.pod.uid"),
        ),
        FieldDef(
            "k8s.pod.sandbox_id",
            FieldType.CHARBUF,
            "The truncated Kubernetes pod sandbox ID (first 12 characters), e.g "
            "63060edc2d3a. The sandbox ID is specific to the container runtime environment. "
            "It is the equivalent of the container ID for the pod / sandbox and extracted "
            "from the Linux cgroups. As such, it differs from the pod UID."
            + _K8S_DELAY
            + " In Kubernetes, pod sandbox container processes can exist where "
            "`container.id` matches `k8s.pod.sandbox_id`, lacking other 'container.*' "
            "details.",
            live=_pod_sandbox(short=True),
        ),
        FieldDef(
            "k8s.pod.full_sandbox_id",
            FieldType.CHARBUF,
            "The full Kubernetes pod / sandbox ID, e.g "
            "63060edc2d3aa803ab559f2393776b151f99fc5b05035b21db66b3b62246ad6a." + _K8S_DELAY,
            live=_pod_sandbox(short=False),
        ),
        FieldDef(
            "k8s.pod.label",
            FieldType.CHARBUF,
            "The Kubernetes pod label. The label can be accessed either with the familiar "
            "brackets notation, e.g. 'k8s.pod.label[foo]' or by appending a dot followed by "
            "the name, e.g. 'k8s.pod.label.foo'. The label name itself can include the "
            "original special characters such as '.', '-', '_' or '/' characters. For "
            "instance, 'k8s.pod.label[app.kubernetes.io/name]', "
            "'k8s.pod.label.app.kubernetes.io/name' or 'k8s.pod.label[custom-label_one]' "
            "are all valid." + _K8S_DELAY,
            arg=ArgMode.REQUIRED,
            arg_key=True,
            live=_pod_label,
        ),
        FieldDef(
            "k8s.pod.labels",
            FieldType.CHARBUF,
            "The Kubernetes pod comma-separated key/value labels. E.g. "
            "'foo1:bar1,foo2:bar2'." + _K8S_DELAY,
            live=_pod_labels,
        ),
        FieldDef(
            "k8s.pod.ip",
            FieldType.CHARBUF,
            "The Kubernetes pod ip, same as container.ip field as each container in a pod "
            "shares the network stack of the sandbox / pod. Only ipv4 addresses are "
            "tracked. Consider k8s.pod.cni.json for logging ip addresses for each network "
            "interface." + _K8S_DELAY,
            live=_pod_ip,
        ),
        FieldDef(
            "k8s.pod.cni.json",
            FieldType.CHARBUF,
            "The Kubernetes pod CNI result field from the respective pod status info, same "
            "as container.cni.json field. It contains ip addresses for each network "
            "interface exposed as unparsed escaped JSON string. Supported for CRI container "
            "engine (containerd, cri-o runtimes), optimized for containerd (some "
            "non-critical JSON keys removed). Useful for tracking ips (ipv4 and ipv6, "
            "dual-stack support) for each network interface (multi-interface support)."
            + _K8S_DELAY,
        ),
        *_legacy_k8s("rc"),
        *_legacy_k8s("svc"),
        FieldDef("k8s.ns.id", FieldType.CHARBUF, _DEPRECATED_K8SMETA),
        FieldDef(
            "k8s.ns.label",
            FieldType.CHARBUF,
            _DEPRECATED_K8SMETA,
            arg=ArgMode.REQUIRED,
            arg_key=True,
        ),
        FieldDef("k8s.ns.labels", FieldType.CHARBUF, _DEPRECATED_K8SMETA),
        *_legacy_k8s("rs"),
        *_legacy_k8s("deployment"),
    ),
)
