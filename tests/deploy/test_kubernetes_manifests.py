"""deploy/kubernetes/: valid against the Kubernetes schemas, and in step with the agent.

Schema validation is offline (``kubernetes-validate`` ships the schemas),
strict (an unknown key is an error), at the oldest Kubernetes version the
docs support and the newest the package knows. The rest checks that what
the manifests say matches what the agent does: the configuration loads,
the probes ask the port and path the metrics server serves, the host
mounts are exactly the runtime paths the agent reads, and the docs explain
every capability.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import manifests as m
import pytest

from secengine.config import load_config

#: the oldest Kubernetes the manifests support (securityContext.appArmorProfile is GA in 1.30)
OLDEST = "1.30.0"
DOCS = m.REPO / "docs" / "kubernetes.md"


def version() -> str:
    return tomllib.loads((m.REPO / "pyproject.toml").read_text())["project"]["version"]


def newest() -> str:
    import kubernetes_validate.utils as kv

    return kv.latest_version()


@pytest.mark.parametrize("path", m.manifest_files(), ids=lambda p: p.name)
def test_manifests_are_valid_kubernetes_objects(path: Path) -> None:
    import kubernetes_validate

    docs = m.documents(path)
    assert docs
    for k8s in (OLDEST, newest()):
        for doc in docs:
            kubernetes_validate.validate(doc, k8s, strict=True)


def test_schema_validation_rejects_a_wrong_key() -> None:
    """The validation above is strict: a misspelt key fails it."""
    import kubernetes_validate

    ds = m.daemonset()
    ds["spec"]["template"]["spec"]["hostPid"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(ds, OLDEST, strict=True)


def test_the_kustomization_lists_every_manifest() -> None:
    (kust,) = m.documents(m.DEPLOY / "kustomization.yaml")
    assert sorted(kust["resources"]) == [p.name for p in m.manifest_files()]
    (image,) = kust["images"]
    assert image == {"name": "localhost/secengine", "newTag": version()}


def _image(workload: dict[str, Any]) -> str:
    return m.container(workload)["image"]


def test_workloads_run_this_versions_image() -> None:
    for workload in (m.daemonset(), m.find("Deployment", "secengine-audit")):
        assert _image(workload) == f"localhost/secengine:{version()}"


def _config_path(workload: dict[str, Any]) -> str:
    args = m.container(workload)["args"]
    assert args[0] == "-c", args
    return args[1]


def _load_mounted_config(
    workload: dict[str, Any], configmap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The configuration the container's ``-c`` names, loaded from the ConfigMap it mounts."""
    path = _config_path(workload)
    mounts = {mt["mountPath"]: mt for mt in m.container(workload)["volumeMounts"]}
    mount_path, key = path.rsplit("/", 1)
    mount = mounts[mount_path]
    assert m.volumes(workload)[mount["name"]]["configMap"]["name"] == configmap
    data = m.config_map_data(configmap)
    for env in m.container(workload).get("env", []):
        monkeypatch.setenv(env["name"], "node-1")
    (tmp_path / key).write_text(data[key])
    return load_config(tmp_path / key)


def test_the_agents_configuration_loads_and_serves_the_probes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = m.daemonset()
    config = _load_mounted_config(ds, "secengine", tmp_path, monkeypatch)
    assert config.hostname == "node-1"  # ${NODE_NAME} from the pod's env
    assert list(config.sources) == ["syscall"]
    # the local rules file the configuration names is the ConfigMap's
    data = m.config_map_data("secengine")
    assert "/etc/secengine/config/local_rules.yaml" in config.rules_files
    assert "local_rules.yaml" in data
    # the kubelet probes what the metrics server serves
    _probes_hit_the_webserver(ds, config)


def test_the_agent_loads_the_shipped_rules_then_the_local_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap names the image's shipped rules (``/etc/secengine/rules``, the package's
    ``rules`` directory: Containerfile) so that they load exactly as without a configuration,
    every shipped pack included, then the local rules."""
    from secengine.resources import resource_path
    from secengine.ruleset.paths import default_rules_files, expand_rules_paths

    config = _load_mounted_config(m.daemonset(), "secengine", tmp_path, monkeypatch)
    shipped = [p for p in config.rules_files if p.startswith("/etc/secengine/rules")]
    assert config.rules_files == [*shipped, "/etc/secengine/config/local_rules.yaml"]
    package = str(resource_path("rules"))
    in_package = [package + p.removeprefix("/etc/secengine/rules") for p in shipped]
    assert expand_rules_paths(in_package) == default_rules_files()


def _probes_hit_the_webserver(workload: dict[str, Any], config: Any) -> None:
    web = config.webserver
    assert web.enabled and not web.ssl_enabled
    c = m.container(workload)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["metrics"] == web.listen_port
    assert web.listen_address == "0.0.0.0"  # the kubelet probes the pod's IP
    probes = [c[k] for k in ("startupProbe", "livenessProbe", "readinessProbe") if k in c]
    assert {"livenessProbe", "readinessProbe"} <= set(c)
    for probe in probes:
        assert probe["httpGet"] == {"path": web.k8s_healthz_endpoint, "port": "metrics"}
    assert web.prometheus_metrics_enabled and web.metrics_endpoint == "/metrics"


def test_the_daemonset_mounts_exactly_the_runtime_paths_the_agent_reads() -> None:
    mounts = m.host_mounts(m.daemonset())
    assert m.agent_host_paths(), "found no DEFAULT_* runtime path in secengine.state.containers"
    read = m.agent_host_paths() | m.agent_host_files()
    for host, inside, read_only in mounts:
        assert host == inside, f"{host} is mounted at {inside}: the agent reads it at {host}"
        assert read_only, f"{host} is mounted read-write"
    uncovered = sorted(p for p in read if not any(m.related(h, p) for h, _, _ in mounts))
    assert not uncovered, f"the agent reads these, the DaemonSet does not mount them: {uncovered}"
    unused = sorted(h for h, _, _ in mounts if not any(m.related(h, p) for p in read))
    assert not unused, f"the DaemonSet mounts these, the agent reads none of them: {unused}"


def test_the_daemonset_runs_unprivileged_with_named_capabilities() -> None:
    ds = m.daemonset()
    spec = ds["spec"]["template"]["spec"]
    assert spec["hostPID"] is True
    assert not spec.get("hostNetwork") and not spec.get("hostIPC")
    ctx = m.container(ds)["securityContext"]
    assert ctx["privileged"] is False and ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True
    caps = m.capabilities(ds)
    assert "SYS_ADMIN" not in caps
    docs = DOCS.read_text()
    for cap in caps:
        assert f"`CAP_{cap}`" in docs, f"docs/kubernetes.md does not say why CAP_{cap} is there"


def test_the_daemonset_has_requests_and_limits() -> None:
    for workload in (m.daemonset(), m.find("Deployment", "secengine-audit")):
        res = m.container(workload)["resources"]
        assert set(res["requests"]) == {"cpu", "memory"} == set(res["limits"])


def test_the_audit_webhook_needs_tls_and_a_client_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = m.find("Deployment", "secengine-audit")
    config = _load_mounted_config(dep, "secengine-audit", tmp_path, monkeypatch)
    audit = config.sources["k8s_audit"].model_extra
    assert audit["open_params"].startswith("https://")
    port = int(audit["open_params"].split("/")[2].rsplit(":", 1)[1])
    tls_mount = next(
        mt for mt in m.container(dep)["volumeMounts"] if m.volumes(dep)[mt["name"]].get("secret")
    )
    for key in ("tls_cert", "tls_key", "client_ca"):
        assert Path(audit[key]).parent == Path(tls_mount["mountPath"]), key
    ports = {p["name"]: p["containerPort"] for p in m.container(dep)["ports"]}
    assert ports["audit"] == port
    svc = m.find("Service", "secengine-audit")
    (svc_port,) = svc["spec"]["ports"]
    assert svc_port["targetPort"] == "audit"
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    _probes_hit_the_webserver(dep, config)
    ctx = m.container(dep)["securityContext"]
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
