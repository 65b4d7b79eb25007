"""Hand-written Kubernetes audit events (``audit.k8s.io/v1``) for the k8s_audit tests.

:func:`audit_event` writes the envelope kube-apiserver produces for one
request at stage ``ResponseComplete`` (``level: RequestResponse``): the
request URI, user, source IPs, user agent, ``objectRef``, response status,
both timestamps and the authorization annotations. The objects sent and
returned (``requestObject``/``responseObject``) are written out below as a
user would apply them. :data:`RULE_CASES` pairs each upstream k8s rule we
test with an event that must trigger it and a near-miss that must not.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from upstream_rules import UPSTREAM

#: Falco's k8s audit rules (never copied into this repository; see upstream_rules.py).
K8S_RULES = UPSTREAM / "k8s_audit_rules.yaml"

_ids = itertools.count(1)

#: API group / version of each resource, as kube-apiserver routes them.
_GROUPS: dict[str, tuple[str, str]] = {
    "pods": ("", "v1"),
    "services": ("", "v1"),
    "configmaps": ("", "v1"),
    "secrets": ("", "v1"),
    "namespaces": ("", "v1"),
    "serviceaccounts": ("", "v1"),
    "nodes": ("", "v1"),
    "deployments": ("apps", "v1"),
    "statefulsets": ("apps", "v1"),
    "daemonsets": ("apps", "v1"),
    "replicasets": ("apps", "v1"),
    "cronjobs": ("batch", "v1"),
    "jobs": ("batch", "v1"),
    "roles": ("rbac.authorization.k8s.io", "v1"),
    "clusterroles": ("rbac.authorization.k8s.io", "v1"),
    "rolebindings": ("rbac.authorization.k8s.io", "v1"),
    "clusterrolebindings": ("rbac.authorization.k8s.io", "v1"),
    "ingresses": ("networking.k8s.io", "v1"),
}
_CLUSTER_SCOPED = {"namespaces", "nodes", "clusterroles", "clusterrolebindings"}
_CODES = {
    "create": 201,
    "delete": 200,
    "get": 200,
    "list": 200,
    "update": 200,
    "patch": 200,
    "watch": 200,
}


def audit_id(n: int) -> str:
    return f"5f0c7a2e-9b1d-4c3a-8e6f-{n:012x}"


def request_uri(
    resource: str,
    verb: str,
    namespace: str | None,
    name: str | None,
    subresource: str | None = None,
    query: str = "",
) -> str:
    group, version = _GROUPS.get(resource, ("", "v1"))
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    if namespace and resource not in _CLUSTER_SCOPED:
        base += f"/namespaces/{namespace}"
    base += f"/{resource}"
    if name and (verb != "create" or subresource):
        base += f"/{name}"
    if subresource:
        base += f"/{subresource}"
    return base + (f"?{query}" if query else "")


def audit_event(
    *,
    verb: str,
    resource: str | None,
    name: str | None = None,
    namespace: str | None = None,
    subresource: str | None = None,
    user: str = "alice@example.com",
    groups: tuple[str, ...] = ("developers", "system:authenticated"),
    code: int | None = None,
    reason: str | None = None,
    stage: str = "ResponseComplete",
    request_object: dict[str, Any] | None = None,
    response_object: dict[str, Any] | None = None,
    query: str = "",
    uri: str | None = None,
    decision: str = "allow",
    authz_reason: str = 'RBAC: allowed by ClusterRoleBinding "developers" of '
    'ClusterRole "edit" to Group "developers"',
    stage_timestamp: str = "2024-05-02T10:15:30.123456789Z",
    user_agent: str = "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625",
    source_ip: str = "10.20.4.17",
) -> dict[str, Any]:
    """One audit event as kube-apiserver's log or webhook backend writes it.

    ``resource=None`` is a non-resource request (``/healthz``, ``/version``):
    it has a ``uri`` and no ``objectRef``.
    """
    n = next(_ids)
    object_ref: dict[str, Any] | None = None
    if resource is not None:
        group, version = _GROUPS.get(resource, ("", "v1"))
        object_ref = {"resource": resource}
        if namespace and resource not in _CLUSTER_SCOPED:
            object_ref["namespace"] = namespace
        if name:
            object_ref["name"] = name
        object_ref["apiGroup"] = group
        object_ref["apiVersion"] = version
        if subresource:
            object_ref["subresource"] = subresource
    elif uri is None:
        raise ValueError("a non-resource request needs a uri")
    status_code = code if code is not None else _CODES.get(verb, 200)
    status: dict[str, Any] = {"metadata": {}, "code": status_code}
    if status_code >= 400:
        status["status"] = "Failure"
        status["reason"] = reason or ("Forbidden" if status_code == 403 else "BadRequest")
    event: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": audit_id(n),
        "stage": stage,
        "requestURI": uri
        if uri is not None
        else request_uri(resource or "", verb, namespace, name, subresource, query),
        "verb": verb,
        "user": {"username": user, "uid": f"u-{n}", "groups": list(groups)},
        "sourceIPs": [source_ip],
        "userAgent": user_agent,
    }
    if object_ref is not None:
        event["objectRef"] = object_ref
    event["responseStatus"] = status
    if request_object is not None:
        event["requestObject"] = copy.deepcopy(request_object)
    if response_object is not None:
        event["responseObject"] = copy.deepcopy(response_object)
    elif request_object is not None and status_code < 300 and stage == "ResponseComplete":
        echoed = copy.deepcopy(request_object)
        echoed.setdefault("metadata", {}).setdefault("uid", f"7d3e0f9a-0000-4000-8000-{n:012x}")
        event["responseObject"] = echoed
    event["requestReceivedTimestamp"] = "2024-05-02T10:15:30.101000Z"
    event["stageTimestamp"] = stage_timestamp
    event["annotations"] = {
        "authorization.k8s.io/decision": decision,
        "authorization.k8s.io/reason": authz_reason,
    }
    return event


# ---------------------------------------------------------------------------
# objects users apply
# ---------------------------------------------------------------------------


def pod(
    name: str = "web-7f9c",
    namespace: str = "default",
    *,
    containers: list[dict[str, Any]] | None = None,
    init_containers: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Pod manifest; ``spec`` adds pod-level keys (hostNetwork, securityContext...)."""
    body: dict[str, Any] = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name.split("-")[0]}},
        "spec": {
            "containers": containers if containers is not None else [container()],
            "restartPolicy": "Always",
            "serviceAccountName": "default",
            **spec,
        },
    }
    if init_containers is not None:
        body["spec"]["initContainers"] = init_containers
    if volumes is not None:
        body["spec"]["volumes"] = volumes
    return body


def container(name: str = "web", image: str = "nginx:1.25.4", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
        "imagePullPolicy": "IfNotPresent",
        **extra,
    }


def host_path(name: str, path: str, kind: str = "Directory") -> dict[str, Any]:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def create_pod(body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    meta = body["metadata"]
    return audit_event(
        verb="create",
        resource="pods",
        name=meta["name"],
        namespace=meta["namespace"],
        request_object=body,
        **kw,
    )


def service(name: str, svc_type: str = "ClusterIP", namespace: str = "default") -> dict[str, Any]:
    port: dict[str, Any] = {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}
    if svc_type == "NodePort":
        port["nodePort"] = 30080
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": svc_type, "selector": {"app": name}, "ports": [port]},
    }


def configmap(name: str, data: dict[str, str], namespace: str = "default") -> dict[str, Any]:
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def cluster_role(
    name: str, rules: list[dict[str, Any]], kind: str = "ClusterRole", namespace: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "kind": kind,
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": meta,
        "rules": rules,
    }


def binding(
    name: str,
    role: str,
    subjects: list[dict[str, Any]],
    kind: str = "ClusterRoleBinding",
    namespace: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    role_kind = "ClusterRole" if kind == "ClusterRoleBinding" else "Role"
    return {
        "kind": kind,
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": subjects,
    }


def ingress(name: str, tls: bool, namespace: str = "default") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": "shop.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "shop", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls:
        spec["tls"] = [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    return {
        "kind": "Ingress",
        "apiVersion": "networking.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def simple(
    verb: str, resource: str, name: str, namespace: str | None = None, **kw: Any
) -> dict[str, Any]:
    """A request on an object whose body does not matter to the rule (deletes, gets...)."""
    return audit_event(verb=verb, resource=resource, name=name, namespace=namespace, **kw)


def exec_into(
    pod_name: str,
    subresource: str = "exec",
    *,
    command: tuple[str, ...] = ("sh", "-c", "id"),
    stage: str = "ResponseStarted",
    **kw: Any,
) -> dict[str, Any]:
    """kubectl exec/attach: a connect request (101 Switching Protocols), logged when started."""
    query = "&".join(f"command={c}" for c in command) + "&container=web&stdin=true&stdout=true"
    if subresource != "exec":
        query = "container=web&stdin=true&stdout=true&tty=true"
    return audit_event(
        verb="create",
        resource="pods",
        name=pod_name,
        namespace="default",
        subresource=subresource,
        stage=stage,
        code=101,
        query=query,
        **kw,
    )


# ---------------------------------------------------------------------------
# rule cases
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleCase:
    """An event that must trigger ``rule`` and a near-miss that must not."""

    rule: str
    positive: dict[str, Any]
    negative: dict[str, Any]
    why: str


_PRIV: dict[str, Any] = {"securityContext": {"privileged": True}}


def _ns(name: str) -> dict[str, Any]:
    return {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name}}


def _sa(name: str, namespace: str) -> dict[str, Any]:
    return {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace},
    }


def _deployment(name: str) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container(image="shop/api:2.3.1")]},
            },
        },
    }


def _secret(name: str, namespace: str) -> dict[str, Any]:
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"password": "czNjcjN0"},
    }


def _cases() -> list[RuleCase]:
    C = RuleCase
    return [
        C(
            "Disallowed K8s User",
            simple("get", "pods", "web-7f9c", "default", user="mallory"),
            simple("get", "pods", "web-7f9c", "default", user="kubernetes-admin"),
            "an allowed user",
        ),
        C(
            "Create Privileged Pod",
            create_pod(pod(containers=[container(securityContext=_PRIV["securityContext"])])),
            create_pod(
                pod(
                    containers=[
                        container(
                            image="docker.io/calico/node:v3.27.0",
                            securityContext=_PRIV["securityContext"],
                        )
                    ]
                )
            ),
            "a privileged image on the allowed list",
        ),
        C(
            "Create Privileged Pod",
            create_pod(pod(init_containers=[container("init-net", "busybox:1.36", **_PRIV)])),
            create_pod(pod(init_containers=[container("init-net", "busybox:1.36")])),
            "a privileged init container / none",
        ),
        C(
            "Create Sensitive Mount Pod",
            create_pod(pod(volumes=[host_path("docker", "/var/run/docker.sock", "Socket")])),
            create_pod(pod(volumes=[host_path("logs", "/var/log/app")])),
            "a hostPath that is not sensitive",
        ),
        C(
            "Create HostNetwork Pod",
            create_pod(pod(hostNetwork=True)),
            create_pod(
                pod(hostNetwork=True, containers=[container(image="gke.gcr.io/kube-proxy:v1.29.1")])
            ),
            "a host-network image on the allowed list",
        ),
        C(
            "Create HostPid Pod",
            create_pod(pod(hostPID=True)),
            create_pod(pod(hostPID=False)),
            "hostPID false",
        ),
        C("Create HostIPC Pod", create_pod(pod(hostIPC=True)), create_pod(pod()), "no hostIPC key"),
        C(
            "Create NodePort Service",
            audit_event(
                verb="create",
                resource="services",
                name="shop",
                namespace="default",
                request_object=service("shop", "NodePort"),
            ),
            audit_event(
                verb="create",
                resource="services",
                name="shop",
                namespace="default",
                request_object=service("shop", "ClusterIP"),
            ),
            "a ClusterIP service",
        ),
        C(
            "Create/Modify Configmap With Private Credentials",
            audit_event(
                verb="update",
                resource="configmaps",
                name="aws",
                namespace="default",
                request_object=configmap(
                    "aws", {"credentials": "[default]\naws_access_key_id = AKIA..."}
                ),
            ),
            audit_event(
                verb="update",
                resource="configmaps",
                name="nginx",
                namespace="default",
                request_object=configmap("nginx", {"nginx.conf": "worker_processes 2;"}),
            ),
            "configmap data without credentials",
        ),
        C(
            "Anonymous Request Allowed",
            audit_event(
                verb="list",
                resource="namespaces",
                user="system:anonymous",
                groups=("system:unauthenticated",),
                authz_reason='RBAC: allowed by ClusterRoleBinding "oops"',
            ),
            audit_event(
                verb="get",
                resource=None,
                uri="/healthz?verbose=1",
                user="system:anonymous",
                groups=("system:unauthenticated",),
                authz_reason='RBAC: allowed by ClusterRoleBinding "system:public-info-viewer"',
            ),
            "the anonymous health check",
        ),
        C(
            "Attach/Exec Pod",
            exec_into("web-7f9c", "exec"),
            audit_event(
                verb="get",
                resource="pods",
                name="web-7f9c",
                namespace="default",
                subresource="log",
                stage="ResponseStarted",
            ),
            "kubectl logs",
        ),
        C(
            "Attach/Exec Pod",
            exec_into("web-7f9c", "attach"),
            exec_into("web-7f9c", "exec", stage="ResponseComplete"),
            "attach / the exec's completion (the rule reads ResponseStarted)",
        ),
        C(
            "port-forward",
            audit_event(
                verb="create",
                resource="pods",
                name="db-0",
                namespace="default",
                subresource="portforward",
                stage="ResponseStarted",
                code=101,
            ),
            audit_event(
                verb="create",
                resource="pods",
                name="db-0",
                namespace="default",
                subresource="binding",
            ),
            "a binding subresource",
        ),
        C(
            "EphemeralContainers Created",
            audit_event(
                verb="patch",
                resource="pods",
                name="web-7f9c",
                namespace="default",
                subresource="ephemeralcontainers",
                request_object={
                    "ephemeralContainers": [
                        {
                            "name": "debugger-x7k2",
                            "image": "busybox:1.36",
                            "stdin": True,
                            "tty": True,
                            "targetContainerName": "web",
                        }
                    ]
                },
            ),
            audit_event(
                verb="get",
                resource="pods",
                name="web-7f9c",
                namespace="default",
                subresource="ephemeralcontainers",
            ),
            "only reading the ephemeral containers",
        ),
        C(
            "Create Disallowed Namespace",
            audit_event(
                verb="create", resource="namespaces", name="miner", request_object=_ns("miner")
            ),
            audit_event(
                verb="create",
                resource="namespaces",
                name="kube-public",
                request_object=_ns("kube-public"),
            ),
            "a namespace on the allowed list",
        ),
        C(
            "Pod Created in Kube Namespace",
            create_pod(pod("backdoor", "kube-system")),
            create_pod(
                pod(
                    "apiserver-hc",
                    "kube-system",
                    containers=[container(image="kope/kube-apiserver-healthcheck:1.28.0")],
                )
            ),
            "an image allowed in kube namespaces",
        ),
        C(
            "Service Account Created in Kube Namespace",
            audit_event(
                verb="create",
                resource="serviceaccounts",
                name="helper",
                namespace="kube-system",
                request_object=_sa("helper", "kube-system"),
            ),
            audit_event(
                verb="create",
                resource="serviceaccounts",
                name="coredns",
                namespace="kube-system",
                request_object=_sa("coredns", "kube-system"),
            ),
            "a known service account",
        ),
        C(
            "System ClusterRole Modified/Deleted",
            audit_event(
                verb="update",
                resource="clusterroles",
                name="system:node",
                request_object=cluster_role(
                    "system:node", [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]
                ),
            ),
            audit_event(
                verb="update",
                resource="clusterroles",
                name="system:coredns",
                request_object=cluster_role(
                    "system:coredns",
                    [{"apiGroups": [""], "resources": ["endpoints"], "verbs": ["list", "watch"]}],
                ),
            ),
            "system:coredns is excepted",
        ),
        C(
            "Attach to cluster-admin Role",
            audit_event(
                verb="create",
                resource="clusterrolebindings",
                name="ci-admin",
                request_object=binding(
                    "ci-admin",
                    "cluster-admin",
                    [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
                ),
            ),
            audit_event(
                verb="create",
                resource="clusterrolebindings",
                name="ci-view",
                request_object=binding(
                    "ci-view", "view", [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}]
                ),
            ),
            "a binding to view",
        ),
        C(
            "ClusterRole With Wildcard Created",
            audit_event(
                verb="create",
                resource="clusterroles",
                name="everything",
                request_object=cluster_role(
                    "everything", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}]
                ),
            ),
            audit_event(
                verb="create",
                resource="clusterroles",
                name="pod-reader",
                request_object=cluster_role(
                    "pod-reader",
                    [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
                ),
            ),
            "no wildcard",
        ),
        C(
            "ClusterRole With Write Privileges Created",
            audit_event(
                verb="create",
                resource="roles",
                name="cm-writer",
                namespace="shop",
                request_object=cluster_role(
                    "cm-writer",
                    [
                        {
                            "apiGroups": [""],
                            "resources": ["configmaps"],
                            "verbs": ["get", "update", "patch"],
                        }
                    ],
                    kind="Role",
                    namespace="shop",
                ),
            ),
            audit_event(
                verb="create",
                resource="roles",
                name="cm-reader",
                namespace="shop",
                request_object=cluster_role(
                    "cm-reader",
                    [
                        {
                            "apiGroups": [""],
                            "resources": ["configmaps"],
                            "verbs": ["get", "list", "watch"],
                        }
                    ],
                    kind="Role",
                    namespace="shop",
                ),
            ),
            "read-only verbs",
        ),
        C(
            "ClusterRole With Pod Exec Created",
            audit_event(
                verb="create",
                resource="clusterroles",
                name="debugger",
                request_object=cluster_role(
                    "debugger",
                    [
                        {
                            "apiGroups": [""],
                            "resources": ["pods", "pods/exec"],
                            "verbs": ["get", "create"],
                        }
                    ],
                ),
            ),
            audit_event(
                verb="create",
                resource="clusterroles",
                name="log-reader",
                request_object=cluster_role(
                    "log-reader",
                    [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]}],
                ),
            ),
            "pods/log instead of pods/exec",
        ),
        C(
            "K8s Deployment Created",
            audit_event(
                verb="create",
                resource="deployments",
                name="api",
                namespace="shop",
                request_object=_deployment("api"),
            ),
            audit_event(
                verb="create",
                resource="deployments",
                name="api",
                namespace="shop",
                code=409,
                reason="AlreadyExists",
                request_object=_deployment("api"),
            ),
            "a failed create (409)",
        ),
        C(
            "K8s Deployment Deleted",
            simple("delete", "deployments", "api", "shop"),
            simple("delete", "deployments", "api", "shop", code=404, reason="NotFound"),
            "a delete of nothing (404)",
        ),
        C(
            "K8s Service Created",
            audit_event(
                verb="create",
                resource="services",
                name="api",
                namespace="shop",
                request_object=service("api", namespace="shop"),
            ),
            simple("update", "services", "api", "shop"),
            "an update",
        ),
        C(
            "K8s ConfigMap Created",
            audit_event(
                verb="create",
                resource="configmaps",
                name="flags",
                namespace="shop",
                request_object=configmap("flags", {"beta": "on"}, "shop"),
            ),
            simple("delete", "configmaps", "flags", "shop"),
            "a delete",
        ),
        C(
            "K8s ConfigMap Deleted",
            simple("delete", "configmaps", "flags", "shop"),
            simple(
                "delete",
                "configmaps",
                "flags",
                "shop",
                code=403,
                decision="forbid",
                authz_reason="",
            ),
            "a forbidden delete",
        ),
        C(
            "K8s Namespace Created",
            audit_event(
                verb="create", resource="namespaces", name="team-a", request_object=_ns("team-a")
            ),
            simple("get", "namespaces", "team-a"),
            "a get",
        ),
        C(
            "K8s Namespace Deleted",
            simple("delete", "namespaces", "team-a"),
            simple(
                "delete",
                "namespaces",
                "team-a",
                user="system:serviceaccount:kube-system:namespace-controller",
            ),
            "deleted by a system user",
        ),
        C(
            "K8s Serviceaccount Created",
            audit_event(
                verb="create",
                resource="serviceaccounts",
                name="builder",
                namespace="ci",
                request_object=_sa("builder", "ci"),
            ),
            audit_event(
                verb="create",
                resource="serviceaccounts",
                name="builder",
                namespace="ci",
                code=403,
                decision="forbid",
                authz_reason="",
                request_object=_sa("builder", "ci"),
            ),
            "a forbidden create",
        ),
        C(
            "K8s Role Created",
            audit_event(
                verb="create",
                resource="roles",
                name="reader",
                namespace="shop",
                request_object=cluster_role(
                    "reader",
                    [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
                    kind="Role",
                    namespace="shop",
                ),
            ),
            simple("delete", "roles", "reader", "shop"),
            "a delete",
        ),
        C(
            "K8s ClusterRole Deleted",
            simple("delete", "clusterroles", "pod-reader"),
            simple("delete", "roles", "pod-reader", "shop"),
            "a namespaced role",
        ),
        C(
            "K8s ClusterRoleBinding Created",
            audit_event(
                verb="create",
                resource="clusterrolebindings",
                name="ops-view",
                request_object=binding(
                    "ops-view",
                    "view",
                    [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"}],
                ),
            ),
            audit_event(
                verb="create",
                resource="rolebindings",
                name="ops-view",
                namespace="shop",
                request_object=binding(
                    "ops-view",
                    "view",
                    [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"}],
                    kind="RoleBinding",
                    namespace="shop",
                ),
            ),
            "a namespaced binding",
        ),
        C(
            "K8s Secret Created",
            audit_event(
                verb="create",
                resource="secrets",
                name="db-pass",
                namespace="shop",
                request_object=_secret("db-pass", "shop"),
            ),
            audit_event(
                verb="create",
                resource="secrets",
                name="bootstrap-token-abcdef",
                namespace="kube-system",
                request_object=_secret("bootstrap-token-abcdef", "kube-system"),
            ),
            "a secret in kube-system",
        ),
        C(
            "K8s Secret Get Successfully",
            simple("get", "secrets", "db-pass", "shop"),
            simple(
                "get", "secrets", "db-pass", "shop", code=403, decision="forbid", authz_reason=""
            ),
            "a forbidden get",
        ),
        C(
            "K8s Secret Get Unsuccessfully Tried",
            simple(
                "get", "secrets", "db-pass", "shop", code=403, decision="forbid", authz_reason=""
            ),
            simple("get", "secrets", "db-pass", "shop"),
            "a successful get",
        ),
        C(
            "Ingress Object without TLS Certificate Created",
            audit_event(
                verb="create",
                resource="ingresses",
                name="shop",
                namespace="shop",
                request_object=ingress("shop", tls=False),
            ),
            audit_event(
                verb="create",
                resource="ingresses",
                name="shop",
                namespace="shop",
                request_object=ingress("shop", tls=True),
            ),
            "an ingress with TLS",
        ),
    ]


RULE_CASES: list[RuleCase] = _cases()
