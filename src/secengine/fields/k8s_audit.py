"""The k8saudit plugin's fields: ``ka.*`` over Kubernetes audit events (source ``k8s_audit``).

Falco reads Kubernetes audit events through its ``k8saudit`` plugin
(falcosecurity/plugins ``plugins/k8saudit``, version 0.18.0); the upstream
``k8s_audit_rules.yaml`` is written against its fields. This module is the
field table, in the order of the plugin's ``Fields()``, and the extractors,
ported from its ``extract.go``:

- every value is a string: a JSON string gives its raw text, any other JSON
  value is re-marshalled compactly (``true``, ``200``, ``{"a":1}``); a JSON
  ``null`` that is present gives ``null``, as fastjson's non-nil null value does;
- list fields give Python lists; an optional ``[N]`` picks the N-th element
  of the first array met on the path (``ka.req.pod.containers.image[0]``);
- a missing path, a value of the wrong shape, or an empty list make the field
  *missing* (libsinsp treats a plugin extraction that set no value, or that
  failed, as "not available");
- every field needs the event to have an ``auditID``.

Three fields follow the plugin's documented meaning rather than its code,
where the code can never find the data (see ``docs/k8s-audit.md``):
``ka.sourceips`` reads the event's ``sourceIPs`` (the plugin looks under
``requestObject.rules``), and ``ka.req.pod.*.eff_run_as_user``/``_group`` read
``securityContext.runAsUser``/``runAsGroup`` of the container, then of the
pod (the plugin reads ``runAsUser`` directly under the container and the pod
spec, so it always answers ``0``).

After the plugin's fields come the ones secengine adds for the container
escapes the audit log shows (``docs/cve.md``): pod sysctls, gitRepo volumes,
subPath mounts, Service external and load-balancer IPs. They read the pod
spec wherever the request carries one, and a patch's result
(:mod:`.k8s_audit_objects`).

Each field's extraction is a function of the parsed audit event (a dict),
made by the factory next to its descriptor; :func:`extractor` resolves a
field key as rules write it (``ka.uri.param[command]``) to one, once, in
the shape every lazy field value takes (``(values, arg) -> value |
MISSING``, reading ``values.doc``; see :class:`~.json_fields.JsonEvent`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import unquote_plus, urlsplit

from secengine.events import MISSING
from secengine.fields import k8s_audit_objects as objects
from secengine.fields.base import ArgMode, FieldClass, FieldDef, FieldType
from secengine.fields.json_fields import ABSENT as _ABSENT
from secengine.fields.json_fields import Extractor, JsonEvent, json_get, json_string

__all__ = ["FIELD_CLASS", "extractor"]


class _NotAvailable(Exception):
    """The plugin's ErrExtractNotAvailable / ErrExtractWrongType: the field is missing."""


def _strings_skip_absent(values: list[Any]) -> list[str]:
    """``arrayAsStringsSkipNil``: the string form of each value that is there."""
    return [json_string(v) for v in values if v is not _ABSENT]


def _strings(values: list[Any]) -> list[str]:
    """``arrayAsStrings``: as above, but an absent value makes the whole field missing."""
    out = []
    for v in values:
        if v is _ABSENT:
            raise _NotAvailable
        out.append(json_string(v))
    return out


def _values(value: Any, index: int | None, keys: tuple[str, ...]) -> list[Any]:
    """The plugin's ``getValuesRecursive``.

    Walks ``keys``; where an array stands before a key it fans out over every
    item (an item lacking the rest of the path contributes ``_ABSENT``), or,
    with ``index``, steps into that item. Raises :class:`_NotAvailable` when
    the path breaks outside a fan-out.
    """
    for i, k in enumerate(keys):
        if type(value) is list:
            if index is None:
                out: list[Any] = []
                rest = keys[i:]
                for item in value:
                    try:
                        out.extend(_values(item, None, rest))
                    except _NotAvailable:
                        out.append(_ABSENT)
                return out
            if index >= len(value):
                raise _NotAvailable
            value = value[index]
        if k:
            value = json_get(value, (k,))
        if value is _ABSENT:
            raise _NotAvailable
    return [value]


def _nonempty(values: list[str]) -> list[str] | Any:
    """libsinsp reads an extraction that produced no value as "not available"."""
    return values if values else MISSING


# ---------------------------------------------------------------------------
# extractor factories: (arg, index) -> function(doc) -> value
# ---------------------------------------------------------------------------

DocFn = Callable[[dict[str, Any]], Any]
Factory = Callable[[str | None, int | None], DocFn]

_REQ: Final = "requestObject"
_SPEC: Final = (_REQ, "spec")


def _keys(*path: str) -> Factory:
    """``extractFromKeys`` for a single-valued field."""

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            v = json_get(doc, path)
            if v is _ABSENT:
                return MISSING
            return v if type(v) is str else json_string(v)

        return ex

    return factory


def _list_keys(*path: str) -> Factory:
    """``extractFromKeys`` for a list field: the value must be an array of values.

    With an index (only ``ka.sourceips[N]`` takes one) the N-th value alone.
    """

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            v = json_get(doc, path)
            if type(v) is not list:
                return MISSING
            if index is not None:
                return [json_string(v[index])] if index < len(v) else MISSING
            return _nonempty([json_string(x) for x in v])

        return ex

    return factory


def _recursive(*path: str) -> Factory:
    """``getValuesRecursive`` then ``arrayAsStringsSkipNil`` (hostpath, flexvolume, ports...)."""

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            try:
                return _nonempty(_strings_skip_absent(_values(doc, index, path)))
            except _NotAvailable:
                return MISSING

        return ex

    return factory


def _rules_field(*path: str) -> Factory:
    """``extractRulesField``: the concatenated string items of ``path`` arrays."""

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            try:
                arr = _values(doc, index, path)
            except _NotAvailable:
                return MISSING
            out: list[str] = []
            for v in arr:
                if type(v) is list:
                    out.extend(_strings_skip_absent(v))
            return _nonempty(out)

        return ex

    return factory


def _uri_param(arg: str | None, index: int | None) -> DocFn:
    key = arg or ""

    def ex(doc: dict[str, Any]) -> Any:
        uri = doc.get("requestURI", _ABSENT)
        if uri is _ABSENT:
            return MISSING
        values = _query_values(json_string(uri), key)
        return MISSING if not values else values[0]

    return ex


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _query_values(uri: str, key: str) -> list[str] | None:
    """Go's ``url.Parse`` + ``url.ParseQuery``: the values of ``key``; None on a parse error."""
    try:
        query = urlsplit(uri).query
    except ValueError:
        return None
    out: list[str] = []
    for part in query.split("&"):
        if not part:
            continue
        if ";" in part or _BAD_ESCAPE.search(part):
            return None  # Go rejects the whole query
        name, _, value = part.partition("=")
        if unquote_plus(name) == key:
            out.append(unquote_plus(value))
    return out


def _target_pod_name(arg: str | None, index: int | None) -> DocFn:
    def ex(doc: dict[str, Any]) -> Any:
        ref = doc.get("objectRef")
        if type(ref) is not dict or ref.get("resource") != "pods":
            return MISSING
        sub = ref.get("subresource")
        if type(sub) is str and sub:
            return MISSING
        v = json_get(doc, ("responseObject", "metadata", "name"))
        return MISSING if v is _ABSENT else json_string(v)

    return ex


def _subject_names(kind: str) -> Factory:
    """``readSubjectNamesByKind``; ``NamespacedServiceAccount`` gives ``namespace:name``."""
    namespaced = kind == "NamespacedServiceAccount"
    want = "ServiceAccount" if namespaced else kind

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            subjects = json_get(doc, (_REQ, "subjects"))
            if subjects is _ABSENT:
                return MISSING  # the plugin answers [] here: no value, so missing
            if type(subjects) is not list:
                return MISSING
            out: list[str] = []
            for s in subjects:
                k = json_get(s, ("kind",))
                name = json_get(s, ("name",))
                if k is _ABSENT or name is _ABSENT or json_string(k) != want:
                    continue
                text = json_string(name)
                if namespaced:
                    ns = json_get(s, ("namespace",))
                    if ns is _ABSENT:
                        continue
                    text = json_string(ns) + ":" + text
                out.append(text)
            return _nonempty(out)

        return ex

    return factory


def _constant(value: str) -> Factory:
    def factory(arg: str | None, index: int | None) -> DocFn:
        return lambda doc: value

    return factory


def _volume_hostpath(arg: str | None, index: int | None) -> DocFn:
    """``ka.req.volume.hostpath[P]``: "true" if a hostPath volume is P (a prefix if P ends in *)."""
    pattern = arg or ""
    prefix = pattern[:-1] if pattern.endswith("*") else None
    path = (*_SPEC, "volumes", "hostPath", "path")

    def ex(doc: dict[str, Any]) -> Any:
        try:
            paths = _strings_skip_absent(_values(doc, None, path))
        except _NotAvailable:
            return MISSING
        for p in paths:
            if (prefix is not None and p.startswith(prefix)) or p == pattern:
                return "true"
        return "false"

    return ex


def _volume_types(arg: str | None, index: int | None) -> DocFn:
    """Every key other than ``name`` of each volume (the volume's type)."""
    path = (*_SPEC, "volumes", "")

    def ex(doc: dict[str, Any]) -> Any:
        try:
            vols = _values(doc, index, path)
        except _NotAvailable:
            return MISSING
        out = [k for v in vols if type(v) is dict for k in v if k != "name"]
        return _nonempty(out)

    return ex


def _objects(values: Callable[[dict[str, Any]], list[str]]) -> Factory:
    """A field secengine adds (:mod:`.k8s_audit_objects`): a list, ``[N]`` its N-th value."""

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            out = values(doc)
            if index is not None:
                return [out[index]] if index < len(out) else MISSING
            return _nonempty(out)

        return ex

    return factory


# -- the per-container fields, shared by containers / initContainers / ephemeralContainers --


def _containers(list_name: str, *sub: str) -> tuple[str, ...]:
    return (*_SPEC, list_name, *sub)


def _container_strings(list_name: str, *sub: str) -> Factory:
    """``arrayAsStrings`` over one key of every container (name, image): all must have it."""
    path = _containers(list_name, *sub)

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            try:
                return _nonempty(_strings(_values(doc, index, path)))
            except _NotAvailable:
                return MISSING

        return ex

    return factory


def _repository(image: str) -> str:
    return image.split(":", 1)[0].split("@", 1)[0]


def _container_repositories(list_name: str) -> Factory:
    path = _containers(list_name, "image")

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            try:
                images = _strings(_values(doc, index, path))
            except _NotAvailable:
                return MISSING
            return _nonempty([_repository(i) for i in images])

        return ex

    return factory


def _container_joined(list_name: str, key: str) -> Factory:
    """``command``/``args``: each container's string array joined by spaces."""
    path = _containers(list_name, key)

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            try:
                arrays = _values(doc, index, path)
            except _NotAvailable:
                return MISSING
            out: list[str] = []
            for a in arrays:
                if a is _ABSENT:
                    continue
                if type(a) is not list or any(type(x) is not str for x in a):
                    return MISSING  # ErrExtractWrongType
                out.append(" ".join(a))
            return _nonempty(out)

        return ex

    return factory


def _container_host_ports(list_name: str) -> Factory:
    path = _containers(list_name, "ports")

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            try:
                port_lists = _values(doc, index, path)
            except _NotAvailable:
                return MISSING
            out: list[str] = []
            for ports in port_lists:
                if ports is _ABSENT:
                    continue
                if type(ports) is not list:
                    return MISSING
                for p in ports:
                    hp = json_get(p, ("hostPort",))
                    if hp is _ABSENT:
                        hp = json_get(p, ("containerPort",))  # what hostNetwork exposes
                    if hp is not _ABSENT:
                        out.append(json_string(hp))
            return _nonempty(out)

        return ex

    return factory


def _container_effective(list_name: str, key: str) -> Factory:
    """The container's securityContext value, else the pod's, else ``0`` (see module doc)."""

    def factory(arg: str | None, index: int | None) -> DocFn:
        def ex(doc: dict[str, Any]) -> Any:
            spec = json_get(doc, _SPEC)
            if spec is _ABSENT:
                return MISSING
            pod = json_get(spec, ("securityContext", key))
            default = "0" if pod is _ABSENT else json_string(pod)
            containers = json_get(spec, (list_name,))
            if containers is _ABSENT:
                return MISSING
            if type(containers) is not list:
                containers = [containers]
            elif index is not None:
                if index >= len(containers):
                    return MISSING
                containers = [containers[index]]
            out = []
            for c in containers:
                v = json_get(c, ("securityContext", key))
                out.append(default if v is _ABSENT else json_string(v))
            return _nonempty(out)

        return ex

    return factory


def _first_container(list_factory: Factory) -> Factory:
    """The deprecated ``ka.req.container.image*``: the value for container 0."""

    def factory(arg: str | None, index: int | None) -> DocFn:
        inner = list_factory(None, 0)

        def ex(doc: dict[str, Any]) -> Any:
            v = inner(doc)
            return v if v is MISSING else v[0]

        return ex

    return factory


def _any_privileged(arg: str | None, index: int | None) -> DocFn:
    path = _containers("containers", "securityContext", "privileged")

    def ex(doc: dict[str, Any]) -> Any:
        try:
            values = _values(doc, None, path)
        except _NotAvailable:
            return MISSING
        return "true" if any(v is True for v in values) else "false"

    return ex


# ---------------------------------------------------------------------------
# the field table
# ---------------------------------------------------------------------------

_FieldSpec = tuple[FieldDef, Factory]


def _f(
    name: str,
    desc: str,
    factory: Factory,
    *,
    is_list: bool = False,
    index: bool = False,
    key: bool = False,
) -> _FieldSpec:
    if key:
        fdef = FieldDef(
            name, FieldType.CHARBUF, desc, arg=ArgMode.REQUIRED, arg_key=True, is_list=is_list
        )
    elif index:
        fdef = FieldDef(
            name, FieldType.CHARBUF, desc, arg=ArgMode.OPTIONAL, arg_index=True, is_list=is_list
        )
    else:
        fdef = FieldDef(name, FieldType.CHARBUF, desc, is_list=is_list)
    return fdef, factory


def _container_list_fields(
    list_name: str, label: str, prefix: str | None = None, with_host_port: bool = True
) -> list[_FieldSpec]:
    """The per-container fields of one pod container list."""
    p = prefix or f"ka.req.pod.{list_name}."

    def entry(name: str, desc: str, factory: Factory) -> _FieldSpec:
        return _f(p + name, desc, factory, is_list=True, index=True)

    sc = "securityContext"
    specs = [
        entry(
            "name",
            f"When the request object refers to a pod, the {label} names.",
            _container_strings(list_name, "name"),
        ),
        entry(
            "image",
            f"When the request object refers to a pod, the {label} images.",
            _container_strings(list_name, "image"),
        ),
        entry(
            "image.repository",
            f"The same as {p}image, but only the repository part (e.g. falcosecurity/falco).",
            _container_repositories(list_name),
        ),
        entry(
            "command",
            f"When the request object refers to a pod, the {label} commands.",
            _container_joined(list_name, "command"),
        ),
        entry(
            "args",
            f"When the request object refers to a pod, the {label} args.",
            _container_joined(list_name, "args"),
        ),
        entry(
            "privileged",
            f"When the request object refers to a pod, the value of the "
            f"privileged flag for all {label}.",
            _recursive(*_containers(list_name, sc, "privileged")),
        ),
        entry(
            "allow_privilege_escalation",
            f"When the request object refers to a pod, the value "
            f"of the allowPrivilegeEscalation flag for all {label}.",
            _recursive(*_containers(list_name, sc, "allowPrivilegeEscalation")),
        ),
        entry(
            "read_only_fs",
            f"When the request object refers to a pod, the value of the "
            f"readOnlyRootFilesystem flag for all {label}.",
            _recursive(*_containers(list_name, sc, "readOnlyRootFilesystem")),
        ),
        entry(
            "run_as_user",
            f"When the request object refers to a pod, the runAsUser uid for all {label}.",
            _recursive(*_containers(list_name, sc, "runAsUser")),
        ),
        entry(
            "eff_run_as_user",
            f"When the request object refers to a pod, the initial uid that "
            f"will be used for all {label}. This combines information from both the pod and "
            "container security contexts and uses 0 if no uid is specified.",
            _container_effective(list_name, "runAsUser"),
        ),
        entry(
            "run_as_group",
            f"When the request object refers to a pod, the runAsGroup gid for all {label}.",
            _recursive(*_containers(list_name, sc, "runAsGroup")),
        ),
        entry(
            "eff_run_as_group",
            f"When the request object refers to a pod, the initial gid "
            f"that will be used for all {label}. This combines information from both the pod "
            "and container security contexts and uses 0 if no gid is specified.",
            _container_effective(list_name, "runAsGroup"),
        ),
        entry(
            "proc_mount",
            f"When the request object refers to a pod, the procMount type for all {label}.",
            _recursive(*_containers(list_name, sc, "procMount")),
        ),
        entry(
            "add_capabilities",
            f"When the request object refers to a pod, the capabilities added for all {label}.",
            _recursive(*_containers(list_name, sc, "capabilities", "add")),
        ),
    ]
    if with_host_port:
        specs.append(
            entry(
                "host_port",
                f"When the request object refers to a pod, all {label} hostPort values.",
                _container_host_ports(list_name),
            )
        )
    return specs


def _build() -> list[_FieldSpec]:
    prefix = "ka.req.pod.containers."
    containers = {
        fdef.name[len(prefix) :]: (fdef, factory)
        for fdef, factory in _container_list_fields("containers", "containers")
    }

    def cont(name: str, desc: str) -> _FieldSpec:
        """A ka.req.pod.containers.* field with the plugin's own description."""
        return _f(
            f"ka.req.pod.containers.{name}", desc, containers[name][1], is_list=True, index=True
        )

    ann = "annotations"
    return [
        _f("ka.auditid", "The unique id of the audit event", _keys("auditID")),
        _f(
            "ka.stage",
            "Stage of the request (e.g. RequestReceived, ResponseComplete, etc.)",
            _keys("stage"),
        ),
        _f(
            "ka.auth.decision",
            "The authorization decision",
            _keys(ann, "authorization.k8s.io/decision"),
        ),
        _f("ka.auth.reason", "The authorization reason", _keys(ann, "authorization.k8s.io/reason")),
        _f(
            "ka.auth.openshift.decision",
            "The authentication decision of the openshfit "
            "apiserver extention. Only available on openshift clusters",
            _keys(ann, "authentication.openshift.io/decision"),
        ),
        _f(
            "ka.validations.admission.policy.failure",
            "The validation failure reason from a Validation Admission Policy",
            _keys(ann, "validation.policy.admission.k8s.io/validation_failure"),
        ),
        _f(
            "ka.security.pod.violations",
            "The violation reason for pod security policy ",
            _keys(ann, "pod-security.kubernetes.io/audit-violations"),
        ),
        _f(
            "ka.auth.openshift.username",
            "The user name performing the openshift "
            "authentication operation. Only available on openshift clusters",
            _keys(ann, "authentication.openshift.io/username"),
        ),
        _f("ka.user.name", "The user name performing the request", _keys("user", "username")),
        _f(
            "ka.user.groups",
            "The groups to which the user belongs",
            _list_keys("user", "groups"),
            is_list=True,
        ),
        _f("ka.impuser.name", "The impersonated user name", _keys("impersonatedUser", "username")),
        _f("ka.verb", "The action being performed", _keys("verb")),
        _f("ka.uri", "The request URI as sent from client to server", _keys("requestURI")),
        _f(
            "ka.uri.param",
            "The value of a given query parameter in the uri (e.g. when "
            "uri=/foo?key=val, ka.uri.param[key] is val).",
            _uri_param,
            key=True,
        ),
        _f("ka.target.name", "The target object name", _keys("objectRef", "name")),
        _f("ka.target.namespace", "The target object namespace", _keys("objectRef", "namespace")),
        _f("ka.target.resource", "The target object resource", _keys("objectRef", "resource")),
        _f(
            "ka.target.subresource",
            "The target object subresource",
            _keys("objectRef", "subresource"),
        ),
        _f("ka.target.pod.name", "The target pod name", _target_pod_name),
        _f(
            "ka.req.binding.subjects",
            "When the request object refers to a cluster role "
            "binding, the subject (e.g. account/users) being linked by the binding",
            _list_keys(_REQ, "subjects"),
            is_list=True,
        ),
        _f(
            "ka.req.binding.subjects.user_names",
            "When the request object refers to a cluster "
            "role binding, the subject user names being linked by the binding",
            _subject_names("User"),
            is_list=True,
        ),
        _f(
            "ka.req.binding.subjects.serviceaccount_names",
            "When the request object refers to "
            "a cluster role binding, the subject service account names being linked by the "
            "binding",
            _subject_names("ServiceAccount"),
            is_list=True,
        ),
        _f(
            "ka.req.binding.subjects.serviceaccount_ns_names",
            "When the request object refers "
            "to a cluster role binding, the subject serviceaccount namespaced names being linked "
            "by the binding, e.g. a list containing: mynamespace:myserviceaccount",
            _subject_names("NamespacedServiceAccount"),
            is_list=True,
        ),
        _f(
            "ka.req.binding.subjects.group_names",
            "When the request object refers to a cluster "
            "role binding, the subject group names being linked by the binding",
            _subject_names("Group"),
            is_list=True,
        ),
        _f(
            "ka.req.binding.role",
            "When the request object refers to a cluster role binding, "
            "the role being linked by the binding",
            _keys(_REQ, "roleRef", "name"),
        ),
        _f(
            "ka.req.binding.subject.has_name",
            'Deprecated, always returns "N/A". Only provided for backwards compatibility',
            _constant("true"),
            key=True,
        ),
        _f(
            "ka.req.configmap.name",
            "If the request object refers to a configmap, the configmap name",
            _keys("objectRef", "name"),
        ),
        _f(
            "ka.req.configmap.obj",
            "If the request object refers to a configmap, the entire configmap object",
            _keys(_REQ, "data"),
        ),
        cont("args", "When the request object refers to a pod, the container's args."),
        cont("command", "When the request object refers to a pod, the container's command."),
        cont("name", "When the request object refers to a pod, the container's names."),
        cont("image", "When the request object refers to a pod, the container's images."),
        _f(
            "ka.req.container.image",
            "Deprecated by ka.req.pod.containers.image. Returns the "
            "image of the first container only",
            _first_container(containers["image"][1]),
        ),
        cont(
            "image.repository",
            "The same as req.container.image, but only the repository "
            "part (e.g. falcosecurity/falco).",
        ),
        _f(
            "ka.req.container.image.repository",
            "Deprecated by "
            "ka.req.pod.containers.image.repository. Returns the repository of the first "
            "container only",
            _first_container(containers["image.repository"][1]),
        ),
        _f(
            "ka.req.pod.host_ipc",
            "When the request object refers to a pod, the value of the hostIPC flag.",
            _keys(*_SPEC, "hostIPC"),
        ),
        _f(
            "ka.req.pod.host_network",
            "When the request object refers to a pod, the value of the hostNetwork flag.",
            _keys(*_SPEC, "hostNetwork"),
        ),
        _f(
            "ka.req.container.host_network",
            "Deprecated alias for ka.req.pod.host_network",
            _keys(*_SPEC, "hostNetwork"),
        ),
        _f(
            "ka.req.pod.host_pid",
            "When the request object refers to a pod, the value of the hostPID flag.",
            _keys(*_SPEC, "hostPID"),
        ),
        cont(
            "host_port", "When the request object refers to a pod, all container's hostPort values."
        ),
        cont(
            "privileged",
            "When the request object refers to a pod, the value of the "
            "privileged flag for all containers.",
        ),
        _f(
            "ka.req.container.privileged",
            "Deprecated by ka.req.pod.containers.privileged. "
            "Returns true if any container has privileged=true",
            _any_privileged,
        ),
        cont(
            "allow_privilege_escalation",
            "When the request object refers to a pod, the value "
            "of the allowPrivilegeEscalation flag for all containers",
        ),
        cont(
            "read_only_fs",
            "When the request object refers to a pod, the value of the "
            "readOnlyRootFilesystem flag for all containers",
        ),
        _f(
            "ka.req.pod.run_as_user",
            "When the request object refers to a pod, the runAsUser "
            "uid specified in the security context for the pod. See ....containers.run_as_user "
            "for the runAsUser for individual containers",
            _keys(*_SPEC, "securityContext", "runAsUser"),
        ),
        cont(
            "run_as_user",
            "When the request object refers to a pod, the runAsUser uid for all containers",
        ),
        cont(
            "eff_run_as_user",
            "When the request object refers to a pod, the initial uid that "
            "will be used for all containers. This combines information from both the pod and "
            "container security contexts and uses 0 if no uid is specified",
        ),
        _f(
            "ka.req.pod.run_as_group",
            "When the request object refers to a pod, the runAsGroup "
            "gid specified in the security context for the pod. See ....containers.run_as_group "
            "for the runAsGroup for individual containers",
            _keys(*_SPEC, "securityContext", "runAsGroup"),
        ),
        cont(
            "run_as_group",
            "When the request object refers to a pod, the runAsGroup gid for all containers",
        ),
        cont(
            "eff_run_as_group",
            "When the request object refers to a pod, the initial gid that "
            "will be used for all containers. This combines information from both the pod and "
            "container security contexts and uses 0 if no gid is specified",
        ),
        cont(
            "proc_mount",
            "When the request object refers to a pod, the procMount types for all containers",
        ),
        _f(
            "ka.req.role.rules",
            "When the request object refers to a role/cluster role, the "
            "rules associated with the role",
            _list_keys(_REQ, "rules"),
            is_list=True,
        ),
        _f(
            "ka.req.role.rules.apiGroups",
            "When the request object refers to a role/cluster "
            "role, the api groups associated with the role's rules",
            _rules_field(_REQ, "rules", "apiGroups"),
            is_list=True,
            index=True,
        ),
        _f(
            "ka.req.role.rules.nonResourceURLs",
            "When the request object refers to a "
            "role/cluster role, the non resource urls associated with the role's rules",
            _rules_field(_REQ, "rules", "nonResourceURLs"),
            is_list=True,
            index=True,
        ),
        _f(
            "ka.req.role.rules.verbs",
            "When the request object refers to a role/cluster role, "
            "the verbs associated with the role's rules",
            _rules_field(_REQ, "rules", "verbs"),
            is_list=True,
            index=True,
        ),
        _f(
            "ka.req.role.rules.resources",
            "When the request object refers to a role/cluster "
            "role, the resources associated with the role's rules",
            _rules_field(_REQ, "rules", "resources"),
            is_list=True,
            index=True,
        ),
        _f(
            "ka.req.pod.fs_group",
            "When the request object refers to a pod, the fsGroup gid "
            "specified by the security context.",
            _keys(*_SPEC, "securityContext", "fsGroup"),
        ),
        _f(
            "ka.req.pod.supplemental_groups",
            "When the request object refers to a pod, the "
            "supplementalGroup gids specified by the security context.",
            _list_keys(*_SPEC, "securityContext", "supplementalGroups"),
            is_list=True,
        ),
        cont(
            "add_capabilities",
            "When the request object refers to a pod, all capabilities to "
            "add when running the container.",
        ),
        _f(
            "ka.req.service.type",
            "When the request object refers to a service, the service type",
            _keys(*_SPEC, "type"),
        ),
        _f(
            "ka.req.service.ports",
            "When the request object refers to a service, the service's ports",
            _recursive(*_SPEC, "ports"),
            is_list=True,
            index=True,
        ),
        _f(
            "ka.req.pod.volumes.hostpath",
            "When the request object refers to a pod, all hostPath paths specified for all volumes",
            _recursive(*_SPEC, "volumes", "hostPath", "path"),
            is_list=True,
            index=True,
        ),
        _f(
            "ka.req.volume.hostpath",
            "Deprecated by ka.req.pod.volumes.hostpath. Return true if "
            "the provided (host) path prefix is used by any volume",
            _volume_hostpath,
            key=True,
        ),
        _f(
            "ka.req.pod.volumes.flexvolume_driver",
            "When the request object refers to a pod, "
            "all flexvolume drivers specified for all volumes",
            _recursive(*_SPEC, "volumes", "flexVolume", "driver"),
            is_list=True,
            index=True,
        ),
        _f(
            "ka.req.pod.volumes.volume_type",
            "When the request object refers to a pod, all volume types for all volumes",
            _volume_types,
            is_list=True,
            index=True,
        ),
        _f("ka.resp.name", "The response object name", _keys("responseObject", "metadata", "name")),
        _f("ka.response.code", "The response code", _keys("responseStatus", "code")),
        _f(
            "ka.response.reason",
            "The response reason (usually present only for failures)",
            _keys("responseStatus", "reason"),
        ),
        _f(
            "ka.useragent",
            "The useragent of the client who made the request to the apiserver",
            _keys("userAgent"),
        ),
        _f(
            "ka.sourceips",
            "The IP addresses of the client who made the request to the apiserver",
            _list_keys("sourceIPs"),
            is_list=True,
            index=True,
        ),
        _f("ka.cluster.name", "The name of the k8s cluster", _keys(ann, "cluster_name")),
        *_container_list_fields("initContainers", "init containers"),
        *_container_list_fields(
            "ephemeralContainers", "ephemeral containers", with_host_port=False
        ),
        *_added_fields(),
    ]


#: Where the fields secengine adds read the pod spec (see :mod:`.k8s_audit_objects`).
_POD_SPEC = (
    "in the pod spec the request writes (a Pod, a workload's pod template, a CronJob's job "
    "template; for a patch, the object as patched)"
)


def _added_fields() -> list[_FieldSpec]:
    """Fields the plugin lacks, for the escapes docs/cve.md lists (docs/k8s-audit.md)."""

    def listed(name: str, desc: str, values: Callable[[dict[str, Any]], list[str]]) -> _FieldSpec:
        return _f(name, desc, _objects(values), is_list=True, index=True)

    return [
        listed(
            "ka.req.pod.sysctls.name",
            f"The names of the sysctls set {_POD_SPEC} (securityContext.sysctls).",
            objects.sysctl_names,
        ),
        listed(
            "ka.req.pod.sysctls.value",
            f"The values of the sysctls set {_POD_SPEC}, in the order of ka.req.pod.sysctls.name.",
            objects.sysctl_values,
        ),
        listed(
            "ka.req.pod.volumes.gitrepo_repository",
            f"The repository of every gitRepo volume {_POD_SPEC} (empty if not given).",
            objects.gitrepo("repository"),
        ),
        listed(
            "ka.req.pod.volumes.gitrepo_directory",
            f"The directory of every gitRepo volume {_POD_SPEC} (empty if not given).",
            objects.gitrepo("directory"),
        ),
        listed(
            "ka.req.pod.volumes.gitrepo_revision",
            f"The revision of every gitRepo volume {_POD_SPEC} (empty if not given).",
            objects.gitrepo("revision"),
        ),
        listed(
            "ka.req.pod.volume_mounts.subpath",
            f"The subPath or subPathExpr of every volume mount of every container {_POD_SPEC}.",
            objects.subpaths,
        ),
        listed(
            "ka.req.pod.volumes.subpath_writable",
            f"The volumes mounted with a subPath {_POD_SPEC} whose subPath another writable "
            "mount of the same volume can replace by a symlink (CVE-2021-25741).",
            objects.subpath_volumes,
        ),
        listed(
            "ka.req.service.external_ips",
            "When the request object refers to a service, its spec.externalIPs (for a patch, "
            "of the service as patched).",
            objects.external_ips,
        ),
        listed(
            "ka.req.service.lb_ingress_ips",
            "When the request object refers to a service, the ip of each "
            "status.loadBalancer.ingress entry (for a patch, of the service as patched).",
            objects.lb_ingress_ips,
        ),
    ]


_SPECS: Final = _build()
_FACTORIES: Final[dict[str, Factory]] = {fdef.name: factory for fdef, factory in _SPECS}

FIELD_CLASS = FieldClass(
    name="k8saudit (plugin)",
    desc="Kubernetes audit events, as Falco's k8saudit plugin extracts them (source k8s_audit).",
    sources=("k8s_audit",),
    fields=tuple(fdef for fdef, _ in _SPECS),
)


def extractor(key: str) -> Extractor | None:
    """The extractor of a ``ka.*`` field key as rules write it, or None if it is not one.

    ``key`` is the full key (``ka.uri.param[command]``,
    ``ka.req.pod.containers.image[0]``); the argument was validated when the
    rule compiled, so a malformed index here simply gives None.
    """
    name, bracket, rest = key.partition("[")
    factory = _FACTORIES.get(name)
    if factory is None:
        return None
    arg: str | None = None
    index: int | None = None
    if bracket:
        if not rest.endswith("]"):
            return None
        arg = rest[:-1]
        fdef = FIELD_CLASS.by_name[name]
        if fdef.arg_index:
            if not arg.isdigit():
                return None
            index = int(arg)
    doc_fn = factory(arg, index)

    def extract(values: JsonEvent, arg: Any) -> Any:
        doc = values.doc
        if "auditID" not in doc:
            return MISSING
        return doc_fn(doc)

    return extract
