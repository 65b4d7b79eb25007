"""The objects a Kubernetes audit event writes, for the ``ka.*`` fields secengine adds.

The k8saudit plugin's ``ka.req.pod.*`` fields read ``requestObject.spec``:
a Pod created or replaced whole. The container escapes that the audit log
can show (external IPs of Services, gitRepo volumes, subPath mounts, pod
sysctls; ``docs/cve.md``) are as easily written through a workload's pod
template or a patch, so the fields added for them read:

- *the written object* (:func:`written_object`): the request object for
  ``create`` and ``update``; for ``patch`` the response object, the object
  as patched, when the event has one (a JSON patch is a list of operations,
  and a merge patch holds only what it changes, e.g. the one volume mount
  it adds next to a writable mount already in the template), else the
  request object when it is an object (``Request`` level, or a refused
  patch answered by a ``Status``);
- *the pod spec* (:func:`pod_spec`) of the written object wherever it sits:
  a Pod's ``spec``, a workload's ``spec.template.spec`` (Deployment,
  ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController), a
  CronJob's ``spec.jobTemplate.spec.template.spec``, a PodTemplate's
  ``template.spec``;
- *only what a patch writes* (:func:`_patch_writes`): a field reads a part
  of the patched object (the pod spec, ``spec.externalIPs``...) only when
  the patch writes that part, above it or below it, so a label patch, a
  ``spec.replicas`` patch or a Service port change does not report again
  what the object already had.

Each function here takes the parsed audit event and returns the field's
values as a list of strings (empty: the field is missing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from secengine.fields.json_fields import json_string

__all__ = [
    "external_ips",
    "gitrepo",
    "lb_ingress_ips",
    "pod_spec",
    "subpath_volumes",
    "subpaths",
    "sysctl_names",
    "sysctl_values",
    "written_object",
]

#: Where a pod spec sits: a CronJob's, a workload's, a PodTemplate's, a Pod's.
_CRONJOB_SPEC: Final = ("spec", "jobTemplate", "spec", "template", "spec")
_WORKLOAD_SPEC: Final = ("spec", "template", "spec")
_TEMPLATE_SPEC: Final = ("template", "spec")
_POD_SPEC: Final = ("spec",)
_CONTAINER_LISTS: Final = ("initContainers", "containers", "ephemeralContainers")
#: Volume types kubelet always mounts read-only: no container can plant a symlink in them.
_READ_ONLY_TYPES: Final = frozenset(("configMap", "secret", "downwardAPI", "projected"))


def _dict(value: Any, *path: str) -> dict[str, Any] | None:
    for key in path:
        if type(value) is not dict:
            return None
        value = value.get(key)
    return value if type(value) is dict else None


def _list(value: Any, *path: str) -> list[Any]:
    for key in path:
        if type(value) is not dict:
            return []
        value = value.get(key)
    return value if type(value) is list else []


def _text(value: Any) -> str:
    """A value as the ``ka.*`` fields write it; absent (None) gives ``""``."""
    if value is None:
        return ""
    return value if type(value) is str else json_string(value)


def _patch_writes(patch: Any, path: tuple[str, ...]) -> bool:
    """True when ``patch`` writes ``path``: the path itself, a part above it or below it.

    A merge patch (an object) writes it when it has every key of the path,
    or a non-object value on the way (a replacement or a deletion). A JSON
    patch (RFC 6902 operations) writes it when an operation's ``path`` (or a
    ``move``'s ``from``) is the path, above it or below it; ``test`` writes nothing.
    """
    if type(patch) is dict:
        value: Any = patch
        for key in path:
            if type(value) is not dict:
                return True
            if key not in value:
                return False
            value = value[key]
        return True
    if type(patch) is list:
        for op in patch:
            if type(op) is not dict or op.get("op") == "test":
                continue  # a test operation writes nothing
            moved = op.get("from") if op.get("op") == "move" else None  # a copy's source stays
            for where in (op.get("path"), moved):
                if type(where) is str:
                    keys = tuple(
                        k.replace("~1", "/").replace("~0", "~") for k in where.split("/")[1:]
                    )
                    n = min(len(keys), len(path))
                    if keys[:n] == path[:n]:
                        return True
    return False


def written_object(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The object as the request leaves it (see the module docstring), or None."""
    req = doc.get("requestObject")
    if doc.get("verb") == "patch":
        resp = doc.get("responseObject")
        if type(resp) is dict and resp.get("kind") != "Status":
            return resp
    return req if type(req) is dict else None


def _written(doc: dict[str, Any], obj: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    """The value at ``path`` of the written object ``obj``, if the request wrote it; else None."""
    if obj is None or (
        doc.get("verb") == "patch" and not _patch_writes(doc.get("requestObject"), path)
    ):
        return None
    value: Any = obj
    for key in path:
        if type(value) is not dict:
            return None
        value = value.get(key)
    return value


def _find_pod_spec(obj: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """Where the object's pod spec sits, and the spec (every write event asks: kept cheap)."""
    spec = obj.get("spec")
    if type(spec) is dict:
        if "jobTemplate" in spec:
            inner = _dict(spec, *_CRONJOB_SPEC[1:])
            if inner is not None:
                return _CRONJOB_SPEC, inner
        template = spec.get("template")
        if type(template) is dict:
            inner = template.get("spec")
            if type(inner) is dict:
                return _WORKLOAD_SPEC, inner
    template = obj.get("template")
    if type(template) is dict:
        inner = template.get("spec")
        if type(inner) is dict:
            return _TEMPLATE_SPEC, inner
    return (_POD_SPEC, spec) if type(spec) is dict else None


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of the written object, wherever it sits, if the request wrote it; or None."""
    obj = written_object(doc)
    found = None if obj is None else _find_pod_spec(obj)
    if found is None:
        return None
    path, spec = found
    if doc.get("verb") == "patch" and not _patch_writes(doc.get("requestObject"), path):
        return None
    return spec


# -- sysctls ------------------------------------------------------------------


def _sysctls(doc: dict[str, Any]) -> list[Any]:
    return _list(pod_spec(doc), "securityContext", "sysctls")


def sysctl_names(doc: dict[str, Any]) -> list[str]:
    """``securityContext.sysctls[*].name`` of the pod spec, in order."""
    return [_text(s.get("name")) for s in _sysctls(doc) if type(s) is dict]


def sysctl_values(doc: dict[str, Any]) -> list[str]:
    """``securityContext.sysctls[*].value``, in the order of :func:`sysctl_names`."""
    return [_text(s.get("value")) for s in _sysctls(doc) if type(s) is dict]


# -- volumes ------------------------------------------------------------------


def _volumes(spec: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The pod spec's volumes by name."""
    out: dict[str, dict[str, Any]] = {}
    for v in _list(spec, "volumes"):
        if type(v) is dict and type(v.get("name")) is str:
            out[v["name"]] = v
    return out


def gitrepo(key: str) -> Callable[[dict[str, Any]], list[str]]:
    """An extraction of ``key`` (repository, directory, revision) of every gitRepo volume."""

    def values(doc: dict[str, Any]) -> list[str]:
        out = []
        for v in _list(pod_spec(doc), "volumes"):
            src = v.get("gitRepo") if type(v) is dict else None
            if type(src) is dict:
                out.append(_text(src.get(key)))
            elif src is not None:
                out.append("")  # a gitRepo key of the wrong shape is still a gitRepo volume
        return out

    return values


class _Mount:
    """One volume mount of one container: what the subPath analysis needs."""

    __slots__ = ("expr", "read_only", "subpath", "volume")

    def __init__(self, m: dict[str, Any]) -> None:
        self.volume = _text(m.get("name"))
        self.read_only = m.get("readOnly") is True
        expr = m.get("subPathExpr")
        self.expr = type(expr) is str and expr != ""
        sub = expr if self.expr else m.get("subPath")
        self.subpath = sub if type(sub) is str else ""


def _mounts(spec: dict[str, Any] | None) -> list[_Mount]:
    out = []
    for list_name in _CONTAINER_LISTS:
        for c in _list(spec, list_name):
            for m in _list(c, "volumeMounts"):
                if type(m) is dict:
                    out.append(_Mount(m))
    return out


def subpaths(doc: dict[str, Any]) -> list[str]:
    """``subPath`` or ``subPathExpr`` of every volume mount that has one, in every container."""
    return [m.subpath for m in _mounts(pod_spec(doc)) if m.subpath]


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c not in ("", ".")]


def _read_only_volume(volume: dict[str, Any]) -> bool:
    """An always read-only type, or a source marked ``readOnly``."""
    return any(k in _READ_ONLY_TYPES for k in volume) or any(
        type(src) is dict and src.get("readOnly") is True for src in volume.values()
    )


def _reached(mounts: list[_Mount]) -> bool:
    """True when a writable mount of this one volume reaches another's subPath directory.

    A writable mount reaches the paths below its root, so it can replace a
    component of another mount's subPath by a symlink: the whole volume
    with no subPath, the paths below a literal subPath. A ``subPathExpr`` is
    expanded by kubelet from the container's environment, unknown here, so
    it is taken as reaching (as a writer) and as reachable (as a target).
    The literal writers' subPaths go into a trie, so each target costs the
    length of its path, whatever the number of mounts.
    """
    writers = [m for m in mounts if not m.read_only]
    whole = sum(1 for w in writers if w.expr or not w.subpath)
    trie: dict[str, Any] = {}
    for w in writers:
        if w.subpath and not w.expr:
            node = trie
            for c in _components(w.subpath):
                node = node.setdefault(c, {})
            node[""] = {}  # a writer's root ("" is never a component)
    for t in mounts:
        if not t.subpath:
            continue
        self_writes = 0 if t.read_only else 1
        if t.expr:
            if len(writers) - self_writes > 0:
                return True
            continue
        if whole > 0:
            return True
        node = trie
        for c in _components(t.subpath)[:-1]:  # the directories above the target
            node = node.get(c)  # type: ignore[assignment]
            if node is None:
                break
            if "" in node:
                return True
    return False


def subpath_volumes(doc: dict[str, Any]) -> list[str]:
    """Volumes mounted with a subPath that another writable mount of the pod reaches.

    CVE-2021-25741: kubelet followed a symlink planted in place of a subPath
    (or of a directory above it) out of the volume. A container can plant it
    when it mounts the same volume writable without a subPath, or with a
    subPath above the target's directory; read-only mounts, volumes with a
    ``readOnly`` source and the always read-only types cannot.
    """
    spec = pod_spec(doc)
    volumes = _volumes(spec)
    by_volume: dict[str, list[_Mount]] = {}
    for m in _mounts(spec):
        by_volume.setdefault(m.volume, []).append(m)
    return [
        name
        for name, mounts in by_volume.items()
        if any(m.subpath for m in mounts)
        and not _read_only_volume(volumes.get(name, {}))
        and _reached(mounts)
    ]


# -- services -----------------------------------------------------------------


def external_ips(doc: dict[str, Any]) -> list[str]:
    """``spec.externalIPs`` of the written Service."""
    ips = _written(doc, written_object(doc), ("spec", "externalIPs"))
    return [_text(ip) for ip in ips] if type(ips) is list else []


def lb_ingress_ips(doc: dict[str, Any]) -> list[str]:
    """``status.loadBalancer.ingress[*].ip`` of the written Service (entries with an ip)."""
    out = []
    ingress = _written(doc, written_object(doc), ("status", "loadBalancer", "ingress"))
    for ing in ingress if type(ingress) is list else []:
        if type(ing) is dict and ing.get("ip") is not None:
            out.append(_text(ing["ip"]))
    return out
