"""The k8saudit field class: the table, and each extractor against the plugin's semantics."""

from __future__ import annotations

from typing import Any

import pytest
from k8s_audit_cases import audit_event, binding, cluster_role, container, create_pod, pod

from secengine.events import MISSING
from secengine.fields import default_registry
from secengine.fields.base import ArgMode
from secengine.fields.k8s_audit import FIELD_CLASS, extractor
from secengine.sources.k8s_audit import make_event


def value(doc: dict[str, Any], field: str, arg: str | None = None) -> Any:
    """The value of a field as a compiled rule reads it (key resolved by the registry)."""
    key = default_registry().resolve("k8s_audit", field, arg).key
    return make_event(doc).fields.get(key, MISSING)


POD = create_pod(
    pod(
        "web-7f9c",
        "shop",
        containers=[
            container(
                "web",
                "registry.example.com:5000/shop/web:2.1",
                command=["nginx", "-g", "daemon off;"],
                args=["--port", "80"],
                ports=[{"containerPort": 80, "hostPort": 8080}, {"containerPort": 9090}],
                securityContext={
                    "privileged": True,
                    "runAsUser": 101,
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "procMount": "Default",
                    "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]},
                },
            ),
            container("sidecar", "docker.io/envoyproxy/envoy@sha256:0123abcd"),
        ],
        init_containers=[container("init", "busybox:1.36", securityContext={"runAsGroup": 3})],
        volumes=[
            {"name": "sock", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}},
            {"name": "cfg", "configMap": {"name": "web"}},
            {"name": "flex", "flexVolume": {"driver": "example.com/lvm", "fsType": "ext4"}},
        ],
        hostNetwork=True,
        hostPID=False,
        securityContext={"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [4, 5]},
    ),
    user="alice@example.com",
    query="fieldManager=kubectl-client-side-apply&dryRun=All",
)


def test_table_follows_the_plugin() -> None:
    names = [f.name for f in FIELD_CLASS.fields]
    assert names[:3] == ["ka.auditid", "ka.stage", "ka.auth.decision"]
    # the plugin's 71 fields, then 15 for init containers and 14 for ephemeral ones (no host_port),
    # then the fields secengine adds (test_k8s_audit_objects.py)
    assert len(names) == len(set(names)) == 71 + 15 + 14 + 9  # + the 9 secengine adds
    assert names[70] == "ka.cluster.name" and names[71] == "ka.req.pod.initContainers.name"
    assert FIELD_CLASS.sources == ("k8s_audit",)
    assert FIELD_CLASS.name == "k8saudit (plugin)"
    by = FIELD_CLASS.by_name
    assert by["ka.uri.param"].arg is ArgMode.REQUIRED and by["ka.uri.param"].arg_key
    assert by["ka.req.pod.containers.image"].arg is ArgMode.OPTIONAL
    assert by["ka.req.pod.containers.image"].arg_index and by["ka.req.pod.containers.image"].is_list
    assert by["ka.user.groups"].is_list and by["ka.user.groups"].arg is ArgMode.NONE
    assert "ka.req.pod.ephemeralContainers.host_port" not in by
    assert "ka.req.pod.initContainers.host_port" in by
    assert all(f.type.falco_name == "CHARBUF" for f in FIELD_CLASS.fields)


def test_every_field_extracts_without_error() -> None:
    for f in FIELD_CLASS.fields:
        arg = "x" if f.arg is ArgMode.REQUIRED else None
        value(POD, f.name, arg)  # no exception, whatever the value


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("ka.auditid", POD["auditID"]),
        ("ka.stage", "ResponseComplete"),
        ("ka.auth.decision", "allow"),
        ("ka.user.name", "alice@example.com"),
        ("ka.user.groups", ["developers", "system:authenticated"]),
        ("ka.verb", "create"),
        (
            "ka.uri",
            "/api/v1/namespaces/shop/pods?fieldManager=kubectl-client-side-apply&dryRun=All",
        ),
        ("ka.target.name", "web-7f9c"),
        ("ka.target.namespace", "shop"),
        ("ka.target.resource", "pods"),
        ("ka.target.subresource", MISSING),
        ("ka.target.pod.name", "web-7f9c"),
        ("ka.resp.name", "web-7f9c"),
        ("ka.response.code", "201"),
        ("ka.response.reason", MISSING),
        ("ka.useragent", "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625"),
        ("ka.sourceips", ["10.20.4.17"]),
        ("ka.impuser.name", MISSING),
        ("ka.cluster.name", MISSING),
        ("ka.req.pod.containers.name", ["web", "sidecar"]),
        (
            "ka.req.pod.containers.image",
            [
                "registry.example.com:5000/shop/web:2.1",
                "docker.io/envoyproxy/envoy@sha256:0123abcd",
            ],
        ),
        # cut at the first ':' (so a registry port goes too), then at '@', as the plugin does
        (
            "ka.req.pod.containers.image.repository",
            ["registry.example.com", "docker.io/envoyproxy/envoy"],
        ),
        ("ka.req.container.image", "registry.example.com:5000/shop/web:2.1"),
        ("ka.req.container.image.repository", "registry.example.com"),
        ("ka.req.pod.containers.command", ["nginx -g daemon off;"]),
        ("ka.req.pod.containers.args", ["--port 80"]),
        ("ka.req.pod.containers.host_port", ["8080", "9090", "80"]),
        ("ka.req.pod.containers.privileged", ["true"]),
        ("ka.req.container.privileged", "true"),
        ("ka.req.pod.containers.allow_privilege_escalation", ["false"]),
        ("ka.req.pod.containers.read_only_fs", ["true"]),
        ("ka.req.pod.containers.run_as_user", ["101"]),
        ("ka.req.pod.containers.eff_run_as_user", ["101", "1000"]),
        ("ka.req.pod.containers.eff_run_as_group", ["0", "0"]),
        ("ka.req.pod.containers.proc_mount", ["Default"]),
        # each container's list, marshalled (the plugin does not flatten it)
        ("ka.req.pod.containers.add_capabilities", ['["NET_ADMIN","SYS_TIME"]']),
        ("ka.req.pod.initContainers.image", ["busybox:1.36"]),
        ("ka.req.pod.initContainers.run_as_group", ["3"]),
        ("ka.req.pod.initContainers.eff_run_as_user", ["1000"]),
        ("ka.req.pod.initContainers.privileged", MISSING),
        ("ka.req.pod.ephemeralContainers.image", MISSING),
        ("ka.req.pod.host_network", "true"),
        ("ka.req.container.host_network", "true"),
        ("ka.req.pod.host_pid", "false"),
        ("ka.req.pod.host_ipc", MISSING),
        ("ka.req.pod.run_as_user", "1000"),
        ("ka.req.pod.run_as_group", MISSING),
        ("ka.req.pod.fs_group", "2000"),
        ("ka.req.pod.supplemental_groups", ["4", "5"]),
        ("ka.req.pod.volumes.hostpath", ["/var/run/docker.sock"]),
        ("ka.req.pod.volumes.flexvolume_driver", ["example.com/lvm"]),
        ("ka.req.pod.volumes.volume_type", ["hostPath", "configMap", "flexVolume"]),
        ("ka.req.role.rules", MISSING),
        ("ka.req.binding.subjects", MISSING),
        ("ka.req.configmap.name", "web-7f9c"),
        ("ka.req.configmap.obj", MISSING),
    ],
)
def test_pod_fields(field: str, expected: Any) -> None:
    assert (
        value(POD, field) == expected if expected is not MISSING else value(POD, field) is MISSING
    )


@pytest.mark.parametrize(
    ("field", "arg", "expected"),
    [
        ("ka.req.pod.containers.image", "1", ["docker.io/envoyproxy/envoy@sha256:0123abcd"]),
        ("ka.req.pod.containers.image", "2", MISSING),
        ("ka.req.pod.containers.privileged", "0", ["true"]),
        ("ka.req.pod.containers.privileged", "1", MISSING),  # no securityContext: not available
        ("ka.req.pod.containers.eff_run_as_user", "1", ["1000"]),
        ("ka.req.pod.volumes.hostpath", "0", ["/var/run/docker.sock"]),
        ("ka.req.pod.volumes.hostpath", "1", MISSING),
        ("ka.req.volume.hostpath", "/var/run/docker.sock", "true"),
        ("ka.req.volume.hostpath", "/var/run/*", "true"),
        ("ka.req.volume.hostpath", "/var/run", "false"),
        ("ka.uri.param", "fieldManager", "kubectl-client-side-apply"),
        ("ka.uri.param", "dryRun", "All"),
        ("ka.uri.param", "watch", MISSING),
        ("ka.sourceips", "0", ["10.20.4.17"]),
        ("ka.sourceips", "1", MISSING),
        ("ka.req.binding.subject.has_name", "anyone", "true"),
    ],
)
def test_arguments(field: str, arg: str, expected: Any) -> None:
    got = value(POD, field, arg)
    assert got == expected if expected is not MISSING else got is MISSING


RBAC = audit_event(
    verb="create",
    resource="clusterrolebindings",
    name="ci",
    request_object=binding(
        "ci",
        "cluster-admin",
        [
            {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"},
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"},
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"},
            {"kind": "ServiceAccount", "name": "no-namespace"},
        ],
    ),
)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("ka.req.binding.role", "cluster-admin"),
        (
            "ka.req.binding.subjects",
            [
                '{"kind":"ServiceAccount","name":"builder","namespace":"ci"}',
                '{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"bob"}',
                '{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"ops"}',
                '{"kind":"ServiceAccount","name":"no-namespace"}',
            ],
        ),
        ("ka.req.binding.subjects.user_names", ["bob"]),
        ("ka.req.binding.subjects.group_names", ["ops"]),
        ("ka.req.binding.subjects.serviceaccount_names", ["builder", "no-namespace"]),
        ("ka.req.binding.subjects.serviceaccount_ns_names", ["ci:builder"]),
        ("ka.target.pod.name", MISSING),
        ("ka.req.pod.containers.image", MISSING),
    ],
)
def test_binding_fields(field: str, expected: Any) -> None:
    got = value(RBAC, field)
    assert got == expected if expected is not MISSING else got is MISSING


def test_role_rules_fields() -> None:
    doc = audit_event(
        verb="create",
        resource="clusterroles",
        name="r",
        request_object=(
            cluster_role(
                "r",
                [
                    {
                        "apiGroups": [""],
                        "resources": ["pods", "pods/exec"],
                        "verbs": ["get", "create"],
                    },
                    {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
                ],
            )
        ),
    )
    assert value(doc, "ka.req.role.rules") == [
        '{"apiGroups":[""],"resources":["pods","pods/exec"],"verbs":["get","create"]}',
        '{"nonResourceURLs":["/metrics"],"verbs":["get"]}',
    ]
    assert value(doc, "ka.req.role.rules.verbs") == ["get", "create", "get"]
    assert value(doc, "ka.req.role.rules.resources") == ["pods", "pods/exec"]
    assert value(doc, "ka.req.role.rules.apiGroups") == [""]
    assert value(doc, "ka.req.role.rules.nonResourceURLs") == ["/metrics"]
    assert value(doc, "ka.req.role.rules.verbs", "1") == ["get"]
    assert value(doc, "ka.req.role.rules.resources", "1") is MISSING  # an empty list


def test_service_and_configmap_fields() -> None:
    svc = audit_event(
        verb="create",
        resource="services",
        name="s",
        namespace="d",
        request_object={
            "kind": "Service",
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]},
        },
    )
    assert value(svc, "ka.req.service.type") == "NodePort"
    # the whole ports array is one value, as in the plugin
    assert value(svc, "ka.req.service.ports") == ['[{"port":80,"nodePort":30080}]']
    cm = audit_event(
        verb="update",
        resource="configmaps",
        name="c",
        namespace="d",
        request_object={"kind": "ConfigMap", "data": {"k": "v", "n": "1"}},
    )
    assert value(cm, "ka.req.configmap.name") == "c"
    assert value(cm, "ka.req.configmap.obj") == '{"k":"v","n":"1"}'


def test_values_are_strings_and_json_is_remarshalled() -> None:
    doc = dict(
        POD,
        annotations={
            "authorization.k8s.io/decision": True,
            "authorization.k8s.io/reason": {"a": [1, None]},
            "cluster_name": "prod-eu",
        },
    )
    assert value(doc, "ka.auth.decision") == "true"
    assert value(doc, "ka.auth.reason") == '{"a":[1,null]}'
    assert value(doc, "ka.cluster.name") == "prod-eu"
    doc["objectRef"] = dict(doc["objectRef"], subresource=None)
    assert value(doc, "ka.target.subresource") == "null"  # present, like fastjson's null value


def test_every_field_needs_an_audit_id() -> None:
    doc = {k: v for k, v in POD.items() if k != "auditID"}
    for f in FIELD_CLASS.fields:
        arg = "x" if f.arg is ArgMode.REQUIRED else None
        assert value(doc, f.name, arg) is MISSING, f.name


def test_wrong_shapes_are_missing_not_errors() -> None:
    doc = dict(
        POD,
        user={"username": "u", "groups": "not-a-list"},
        requestObject={"spec": {"containers": [{"name": "a"}, {"image": "b"}], "volumes": "nope"}},
    )
    assert value(doc, "ka.user.groups") is MISSING
    # an image is missing for one container: the whole list is not available
    assert value(doc, "ka.req.pod.containers.image") is MISSING
    assert value(doc, "ka.req.pod.containers.name") is MISSING
    assert value(doc, "ka.req.pod.volumes.hostpath") is MISSING
    assert value(doc, "ka.req.container.privileged") == "false"


def test_uri_params_follow_go_query_parsing() -> None:
    doc = dict(POD, requestURI="/api/v1/x?command=sh&command=-c&a=%41+b&bad")
    assert value(doc, "ka.uri.param", "command") == "sh"
    assert value(doc, "ka.uri.param", "a") == "A b"
    assert value(doc, "ka.uri.param", "bad") == ""
    assert value(dict(POD, requestURI="/x?a=1;b=2"), "ka.uri.param", "a") is MISSING
    assert value(dict(POD, requestURI="/x?a=%zz"), "ka.uri.param", "a") is MISSING


def test_extractor_rejects_unknown_or_malformed_keys() -> None:
    assert extractor("ka.nope") is None
    assert extractor("proc.name") is None
    assert extractor("ka.req.pod.containers.image[x]") is None
    assert extractor("ka.uri.param[a") is None
    assert extractor("ka.verb") is not None
