"""The audit webhook's Deployment, run with podman as its pod spec says: it serves
kube-apiserver's posts over mutual TLS only, and alerts on them.

The pod's Secret holds a test PKI (``tests/tls_pki.py``), its rules
ConfigMap the sample audit rules (``samples/k8s_audit_rules.yaml``); the
client side (kube-apiserver) posts from inside the pod's network namespace
with its client certificate, then without one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import manifests as m
import pod_to_podman as pod
import pytest
from tls_pki import make_pki

pytestmark = [pytest.mark.slow]

#: kube-apiserver's side: POST the body in argv[3] to argv[1], with the client certificate
#: in argv[2] (a directory) unless it is empty; prints the status, or the TLS error
POST = """
import http.client, ssl, sys
url, certs, body = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile="/client/ca.pem")
if certs:
    ctx.load_cert_chain(certs + "/client.pem", certs + "/client-key.pem")
host, port = url.split("/")[2].rsplit(":", 1)
try:
    c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    c.request("POST", "/" + url.split("/", 3)[3], body, {"Content-Type": "application/json"})
    print(c.getresponse().status)
except (ssl.SSLError, ConnectionError) as e:
    print("refused", type(e).__name__)
"""


def test_the_audit_webhook_takes_posts_with_a_client_certificate_only(
    agent_image: str, tmp_path: Path
) -> None:
    dep = m.find("Deployment", "secengine-audit")
    c = m.container(dep)
    (tmp_path / "pki").mkdir()
    pki = make_pki(tmp_path / "pki")
    tls = {
        "tls.crt": pki.server_cert.read_bytes(),
        "tls.key": pki.server_key.read_bytes(),
        "ca.crt": pki.ca.read_bytes(),
    }
    rules = {"k8s_audit_rules.yaml": (m.REPO / "samples" / "k8s_audit_rules.yaml").read_text()}
    files = tmp_path / "volumes"
    files.mkdir()
    options = pod.run_args(
        dep,
        files,
        env="unused",
        data={"secengine-audit-tls": tls, "secengine-audit-rules": rules},
    )
    (tmp_path / "pki").chmod(0o755)
    for f in (tmp_path / "pki").iterdir():
        f.chmod(0o644)
    options += ["--volume", f"{tmp_path / 'pki'}:/client:ro"]
    name = f"i14-ship-audit-{os.getpid()}"
    pod.start(name, agent_image, options, c["args"])
    try:
        pod.wait_for(name, "listening", 60)
        audit_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "audit")
        url = f"https://127.0.0.1:{audit_port}/k8s-audit"
        event = (m.REPO / "samples" / "k8s_audit.jsonl").read_text().splitlines()[0]
        # no client certificate: the TLS handshake is refused
        refused = pod.python_in(name, POST, url, "", event)
        assert refused.stdout.startswith("refused"), refused
        accepted = pod.python_in(name, POST, url, "/client", event)
        assert accepted.stdout.strip() == "200", accepted
        logs = pod.wait_for(name, "Create Privileged Pod", 20)
        alert = next(
            json.loads(line)
            for line in logs.splitlines()
            if line.startswith("{") and "Create Privileged Pod" in line
        )
        assert alert["source"] == "k8s_audit"
        assert pod.stop(name, 30) == 0, pod.logs(name)[-3000:]
    finally:
        pod.remove(name)
