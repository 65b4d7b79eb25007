"""The ``ka.*`` fields secengine adds (pod sysctls, gitRepo, subPath, Service IPs), on
audit events shaped as kube-apiserver writes them: Pods, pod templates, patches."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from k8s_audit_cases import audit_event, container, create_pod, pod, service

from secengine.events import MISSING
from secengine.fields import default_registry
from secengine.fields.k8s_audit import FIELD_CLASS
from secengine.sources.k8s_audit import make_event


def value(doc: dict[str, Any], field: str) -> Any:
    name, _, arg = field.partition("[")
    key = default_registry().resolve("k8s_audit", name, arg[:-1] if arg else None).key
    return make_event(doc).fields.get(key, MISSING)


ADDED = [
    "ka.req.pod.sysctls.name",
    "ka.req.pod.sysctls.value",
    "ka.req.pod.volumes.gitrepo_repository",
    "ka.req.pod.volumes.gitrepo_directory",
    "ka.req.pod.volumes.gitrepo_revision",
    "ka.req.pod.volume_mounts.subpath",
    "ka.req.pod.volumes.subpath_writable",
    "ka.req.service.external_ips",
    "ka.req.service.lb_ingress_ips",
]


def test_added_fields_follow_the_plugin_fields() -> None:
    names = [f.name for f in FIELD_CLASS.fields]
    assert names[-len(ADDED) :] == ADDED
    for name in ADDED:
        f = FIELD_CLASS.by_name[name]
        assert f.is_list and f.arg_index, name


def _mount(name: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "mountPath": path, **extra}


SYSCTLS = [
    {"name": "net.ipv4.ip_local_port_range", "value": "32768 60999"},
    {"name": "kernel.shm_rmid_forced", "value": "1+kernel.core_pattern=|/tmp/x #"},
]


def deployment(spec: dict[str, Any], name: str = "api") -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


def cronjob(spec: dict[str, Any], name: str = "report") -> dict[str, Any]:
    return {
        "kind": "CronJob",
        "apiVersion": "batch/v1",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": spec}}},
        },
    }


def _spec(**kw: Any) -> dict[str, Any]:
    return pod(**kw)["spec"]


def test_sysctls_of_a_pod_in_order() -> None:
    doc = create_pod(pod(securityContext={"sysctls": SYSCTLS}))
    assert value(doc, "ka.req.pod.sysctls.name") == [
        "net.ipv4.ip_local_port_range",
        "kernel.shm_rmid_forced",
    ]
    assert value(doc, "ka.req.pod.sysctls.value") == [
        "32768 60999",
        "1+kernel.core_pattern=|/tmp/x #",
    ]
    assert value(doc, "ka.req.pod.sysctls.value[1]") == ["1+kernel.core_pattern=|/tmp/x #"]
    assert value(doc, "ka.req.pod.sysctls.value[2]") is MISSING
    assert value(create_pod(pod()), "ka.req.pod.sysctls.name") is MISSING


@pytest.mark.parametrize(
    ("resource", "obj"),
    [
        ("deployments", deployment(_spec(securityContext={"sysctls": SYSCTLS}))),
        ("cronjobs", cronjob(_spec(securityContext={"sysctls": SYSCTLS}))),
        (
            "podtemplates",
            {
                "kind": "PodTemplate",
                "apiVersion": "v1",
                "metadata": {"name": "t"},
                "template": {"spec": _spec(securityContext={"sysctls": SYSCTLS})},
            },
        ),
    ],
)
def test_pod_templates_are_read(resource: str, obj: dict[str, Any]) -> None:
    doc = audit_event(
        verb="create", resource=resource, name="x", namespace="shop", request_object=obj
    )
    assert value(doc, "ka.req.pod.sysctls.value")[1].startswith("1+kernel.core_pattern")


def test_a_missing_value_is_an_empty_string_so_the_lists_stay_aligned() -> None:
    doc = create_pod(pod(securityContext={"sysctls": [{"name": "a"}, {"name": "b", "value": 1}]}))
    assert value(doc, "ka.req.pod.sysctls.value") == ["", "1"]


def test_gitrepo_volumes() -> None:
    vols = [
        {"name": "cfg", "configMap": {"name": "c"}},
        {
            "name": "src",
            "gitRepo": {"repository": "https://git.example.com/x.git", "directory": "."},
        },
        {"name": "gitrepo", "emptyDir": {}},
    ]
    doc = create_pod(pod(volumes=vols))
    assert value(doc, "ka.req.pod.volumes.gitrepo_repository") == ["https://git.example.com/x.git"]
    assert value(doc, "ka.req.pod.volumes.gitrepo_directory") == ["."]
    assert value(doc, "ka.req.pod.volumes.gitrepo_revision") == [""]
    benign = create_pod(pod(volumes=[{"name": "gitrepo", "emptyDir": {}}]))
    assert value(benign, "ka.req.pod.volumes.gitrepo_repository") is MISSING


def test_subpaths_of_every_container_kind() -> None:
    spec = _spec(
        containers=[container(volumeMounts=[_mount("data", "/a", subPath="a/b")])],
        init_containers=[
            container("init", volumeMounts=[_mount("data", "/x", subPathExpr="$(POD_NAME)")])
        ],
        volumes=[{"name": "data", "emptyDir": {}}],
    )
    doc = create_pod({"kind": "Pod", "metadata": {"name": "p", "namespace": "d"}, "spec": spec})
    assert value(doc, "ka.req.pod.volume_mounts.subpath") == ["$(POD_NAME)", "a/b"]


def _subpath_pod(volume: dict[str, Any], *mounts: list[dict[str, Any]]) -> dict[str, Any]:
    containers = [container(f"c{i}", volumeMounts=m) for i, m in enumerate(mounts)]
    return create_pod(pod(containers=containers, volumes=[{"name": "data", **volume}]))


EMPTY = {"emptyDir": {}}


@pytest.mark.parametrize(
    ("volume", "mounts", "expected"),
    [
        # the CVE's shape: one container writes the volume, the other mounts a subPath of it
        (
            EMPTY,
            [[_mount("data", "/w")], [_mount("data", "/r", subPath="link")]],
            ["data"],
        ),
        # one container, two mounts: planted before a restart
        (EMPTY, [[_mount("data", "/w"), _mount("data", "/r", subPath="x")]], ["data"]),
        # a writer with a subPath above the target's directory
        (
            EMPTY,
            [[_mount("data", "/w", subPath="a")], [_mount("data", "/r", subPath="a/b")]],
            ["data"],
        ),
        # subPathExpr cannot be expanded here: taken as reaching
        (
            EMPTY,
            [[_mount("data", "/w", subPathExpr="$(POD)")], [_mount("data", "/r", subPath="b")]],
            ["data"],
        ),
        # benign: the only other mount is read-only
        (
            EMPTY,
            [[_mount("data", "/w", readOnly=True)], [_mount("data", "/r", subPath="x")]],
            MISSING,
        ),
        # benign: sibling subPaths cannot reach each other
        (
            EMPTY,
            [[_mount("data", "/w", subPath="a")], [_mount("data", "/r", subPath="b")]],
            MISSING,
        ),
        # benign: the same subPath twice (its root cannot be replaced from inside)
        (
            EMPTY,
            [[_mount("data", "/w", subPath="a")], [_mount("data", "/r", subPath="a")]],
            MISSING,
        ),
        # benign: a configMap is always mounted read-only
        (
            {"configMap": {"name": "c"}},
            [[_mount("data", "/w")], [_mount("data", "/r", subPath="app.conf")]],
            MISSING,
        ),
        # benign: a read-only claim
        (
            {"persistentVolumeClaim": {"claimName": "c", "readOnly": True}},
            [[_mount("data", "/w")], [_mount("data", "/r", subPath="x")]],
            MISSING,
        ),
        # benign: a single subPath mount
        (EMPTY, [[_mount("data", "/r", subPath="x")]], MISSING),
    ],
)
def test_subpath_writable(volume: dict[str, Any], mounts: list[Any], expected: Any) -> None:
    got = value(_subpath_pod(volume, *mounts), "ka.req.pod.volumes.subpath_writable")
    assert got is MISSING if expected is MISSING else got == expected


def test_a_patch_is_read_from_the_patched_object() -> None:
    """A JSON patch has no spec; the response object is the service as patched."""
    patched = service("shop")
    patched["spec"]["externalIPs"] = ["203.0.113.7"]
    doc = audit_event(
        verb="patch",
        resource="services",
        name="shop",
        namespace="default",
        request_object=[{"op": "add", "path": "/spec/externalIPs", "value": ["203.0.113.7"]}],  # type: ignore[arg-type]
        response_object=patched,
    )
    assert value(doc, "ka.req.service.external_ips") == ["203.0.113.7"]
    # a refused patch: the response is a Status, the request a merge patch
    refused = audit_event(
        verb="patch",
        resource="services",
        name="shop",
        namespace="default",
        code=403,
        request_object={"spec": {"externalIPs": ["203.0.113.8"]}},
        response_object={"kind": "Status", "status": "Failure", "code": 403},
    )
    assert value(refused, "ka.req.service.external_ips") == ["203.0.113.8"]


def test_load_balancer_ingress_ips_of_a_status_update() -> None:
    svc = service("shop", "LoadBalancer")
    svc["status"] = {
        "loadBalancer": {"ingress": [{"ip": "198.51.100.4"}, {"hostname": "lb.example.com"}]}
    }
    doc = audit_event(
        verb="update",
        resource="services",
        subresource="status",
        name="shop",
        namespace="default",
        request_object=svc,
    )
    assert value(doc, "ka.req.service.lb_ingress_ips") == ["198.51.100.4"]
    assert value(doc, "ka.req.service.external_ips") is MISSING


@pytest.mark.parametrize(
    "request_object",
    [None, "text", [1, 2], {"spec": "x"}, {"spec": {"securityContext": {"sysctls": "x"}}}],
)
def test_odd_shapes_give_missing_not_errors(request_object: Any) -> None:
    doc = audit_event(
        verb="create",
        resource="pods",
        name="p",
        namespace="d",
        request_object=request_object,
        response_object={},
    )
    for name in ADDED:
        assert value(doc, name) is MISSING, name


def _shared_mounts_deployment() -> dict[str, Any]:
    return deployment(
        _spec(
            containers=[
                container("writer", volumeMounts=[_mount("data", "/w")]),
                container("reader", volumeMounts=[_mount("data", "/r", subPath="link")]),
            ],
            volumes=[{"name": "data", "emptyDir": {}}],
        )
    )


def test_a_strategic_merge_patch_is_judged_on_the_whole_patched_pod_spec() -> None:
    """The patch adds only the subPath mount; the writable mount is already in the template."""
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "reader", "volumeMounts": [_mount("data", "/r", subPath="link")]}
                    ]
                }
            }
        }
    }
    doc = audit_event(
        verb="patch",
        resource="deployments",
        name="api",
        namespace="shop",
        request_object=patch,
        response_object=_shared_mounts_deployment(),
    )
    assert value(doc, "ka.req.pod.volumes.subpath_writable") == ["data"]


def test_a_patch_of_another_part_is_not_a_new_pod_spec() -> None:
    """kubectl label, the garbage collector's ownerReferences: no pod-spec field fires again."""
    doc = audit_event(
        verb="patch",
        resource="deployments",
        name="api",
        namespace="shop",
        request_object={"metadata": {"labels": {"tier": "web"}}},
        response_object=_shared_mounts_deployment(),
    )
    assert value(doc, "ka.req.pod.volumes.subpath_writable") is MISSING
    json_patch = [{"op": "add", "path": "/metadata/labels/tier", "value": "web"}]
    doc["requestObject"] = json_patch
    assert value(doc, "ka.req.pod.volumes.subpath_writable") is MISSING
    json_patch.append({"op": "test", "path": "/spec/template/spec/containers/1/image"})
    json_patch.append({"op": "copy", "from": "/spec/template/spec", "path": "/metadata/x"})
    assert value(doc, "ka.req.pod.volumes.subpath_writable") is MISSING
    json_patch.append({"op": "replace", "path": "/spec/template/spec/containers/1/image"})
    assert value(doc, "ka.req.pod.volumes.subpath_writable") == ["data"]


def test_a_patch_reads_only_the_parts_it_writes() -> None:
    """A replicas patch of a Deployment, a port patch of a Service: not a new pod spec or IP."""
    doc = audit_event(
        verb="patch",
        resource="deployments",
        name="api",
        namespace="shop",
        request_object={"spec": {"replicas": 3}},
        response_object=_shared_mounts_deployment(),
    )
    assert value(doc, "ka.req.pod.volumes.subpath_writable") is MISSING
    for ops in (
        [{"op": "replace", "path": "/spec", "value": {}}],  # above the pod spec
        [{"op": "move", "from": "/spec/template/spec/volumes/0", "path": "/metadata/x"}],
    ):
        doc["requestObject"] = ops
        assert value(doc, "ka.req.pod.volumes.subpath_writable") == ["data"], ops
    after = service("shop")
    after["spec"]["externalIPs"] = ["203.0.113.7"]
    svc = audit_event(
        verb="patch",
        resource="services",
        name="shop",
        namespace="default",
        request_object={"spec": {"ports": [{"port": 8080}]}},
        response_object=after,
    )
    assert value(svc, "ka.req.service.external_ips") is MISSING
    svc["requestObject"] = {"spec": {"externalIPs": None}}  # a deletion writes the path
    after["spec"]["externalIPs"] = ["203.0.113.7"]
    assert value(svc, "ka.req.service.external_ips") == ["203.0.113.7"]


def test_json_pointer_escapes_in_patch_paths() -> None:
    patched = service("shop")
    patched["spec"]["externalIPs"] = ["203.0.113.9"]
    doc = audit_event(
        verb="patch",
        resource="services",
        name="shop",
        namespace="default",
        request_object=[{"op": "add", "path": "/metadata/annotations/a~1b", "value": "x"}],  # type: ignore[arg-type]
        response_object=patched,
    )
    assert value(doc, "ka.req.service.external_ips") is MISSING
    doc["requestObject"] = [{"op": "add", "path": "/spec/externalIPs/0", "value": "203.0.113.9"}]
    assert value(doc, "ka.req.service.external_ips") == ["203.0.113.9"]


def test_a_hostile_pod_spec_costs_linear_time() -> None:
    """A 256 KiB event (the webhook's per-event limit) of mounts on one volume, or of one
    very deep subPath, is judged in well under a second of this thread's CPU (waiting for a
    CPU on a loaded machine is not the judge's cost): no mount is compared with every other."""
    many = [_mount("data", f"/m{i}", subPath=f"s{i}/x", readOnly=i % 2 == 0) for i in range(6000)]
    deep = "/".join(["d"] * 60000)
    for mounts in (
        [many],
        [[_mount("data", "/w", subPath=deep)], [_mount("data", "/r", subPath=deep + "/e")]],
    ):
        doc = _subpath_pod(EMPTY, *mounts)
        start = time.thread_time()
        value(doc, "ka.req.pod.volumes.subpath_writable")
        assert time.thread_time() - start < 0.5


_KEYS = st.sampled_from(
    [
        "spec",
        "template",
        "jobTemplate",
        "status",
        "volumes",
        "volumeMounts",
        "containers",
        "initContainers",
        "securityContext",
        "sysctls",
        "name",
        "value",
        "subPath",
        "subPathExpr",
        "readOnly",
        "gitRepo",
        "externalIPs",
        "loadBalancer",
        "ingress",
        "ip",
        "op",
        "path",
        "from",
        "kind",
        "emptyDir",
        "configMap",
    ]
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8), _containers, max_leaves=40
)


@given(
    verb=st.sampled_from(["create", "update", "patch"]),
    request_object=_JSON,
    response_object=_JSON,
)
@settings(max_examples=300, deadline=None)
def test_any_object_shape_gives_values_or_missing_never_an_error(
    verb: str, request_object: Any, response_object: Any
) -> None:
    doc = audit_event(verb=verb, resource="pods", name="p", namespace="d", response_object={})
    doc["requestObject"] = request_object
    doc["responseObject"] = response_object
    for name in ADDED:
        got = value(doc, name)
        assert got is MISSING or (type(got) is list and all(type(v) is str for v in got))
