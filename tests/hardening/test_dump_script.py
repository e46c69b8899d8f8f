"""Dumps that never carry Secret values (issue 17 item 8).

`scripts/dump-cluster.sh` runs `kubectl get <every kind the model reads> -A -o json` and removes every Secret's
values (data, stringData and the last-applied annotation that repeats them) before the dump leaves the machine.
These tests run the real script with a stand-in `kubectl` (a shell script on PATH that answers
`api-resources` and `get` from a fixture), so they need no cluster and no kubectl. An upload that still carries
values is stripped by the importer as before, and now answered with a warning that says so.
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from topology.models import Cluster, Secret, Snapshot

from .conftest import REPO

SCRIPT = REPO / "scripts" / "dump-cluster.sh"
VALUE = "c3VwZXItc2VjcmV0LXZhbHVl"  # base64 of a distinctive value
PLAIN = "plain-text-password-42"
LAST_APPLIED = json.dumps({"apiVersion": "v1", "kind": "Secret", "data": {"password": VALUE}})

DUMP = {"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
     "metadata": {"name": "db", "namespace": "shop",
                  "annotations": {"kubectl.kubernetes.io/last-applied-configuration": LAST_APPLIED, "team": "x"},
                  "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:password": {}}}}]},
     "data": {"password": VALUE}, "stringData": {"token": PLAIN}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"clusterIP": "10.96.0.20", "ports": [{"port": 80}], "selector": {"app": "web"}}},
]}

SERVED = ["nodes", "namespaces", "pods", "services", "secrets", "persistentvolumes", "persistentvolumeclaims",
          "deployments.apps", "endpointslices.discovery.k8s.io", "networkpolicies.networking.k8s.io",
          "ingresses.networking.k8s.io", "storageclasses.storage.k8s.io", "gateways.gateway.networking.k8s.io",
          "httproutes.gateway.networking.k8s.io", "configmaps", "leases.coordination.k8s.io"]


def strip(dump: dict) -> tuple[dict, str]:
    out = subprocess.run(["sh", str(SCRIPT), "--strip"], input=json.dumps(dump), capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout), out.stderr


def test_strip_removes_every_secret_value_and_keeps_key_names():
    out, log = strip(DUMP)
    text = json.dumps(out)
    for secret in (VALUE, PLAIN, "super-secret-value", "last-applied-configuration", "f:password"):
        assert secret not in text
    secret = next(i for i in out["items"] if i["kind"] == "Secret")
    assert secret["data"] == {"password": "", "token": ""}  # which keys exist: what a trace may need
    assert secret["metadata"]["annotations"] == {"team": "x"} and secret["type"] == "Opaque"
    assert [i for i in out["items"] if i["kind"] != "Secret"] == [i for i in DUMP["items"] if i["kind"] != "Secret"]
    assert "values removed from 1 Secret(s)" in log


@pytest.fixture
def fake_kubectl(tmp_path):
    """A `kubectl` that lists SERVED for api-resources and prints DUMP for get, logging its arguments."""
    (tmp_path / "dump.json").write_text(json.dumps(DUMP))
    (tmp_path / "served.txt").write_text("\n".join(SERVED) + "\n")
    kubectl = tmp_path / "bin" / "kubectl"
    kubectl.parent.mkdir()
    kubectl.write_text(f"""#!/bin/sh
echo "$@" >> {tmp_path}/calls.log
case "$*" in
  *api-resources*) cat {tmp_path}/served.txt ;;
  *" get "*|get*) cat {tmp_path}/dump.json ;;
  *) exit 9 ;;
esac
""")
    kubectl.chmod(0o755)
    return tmp_path


def test_the_script_asks_kubectl_for_every_served_kind_and_strips_values(fake_kubectl):
    env = {"PATH": f"{fake_kubectl / 'bin'}:/usr/bin:/bin"}
    out = subprocess.run(["sh", str(SCRIPT), "--context", "prod"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert VALUE not in out.stdout and PLAIN not in out.stdout
    calls = (fake_kubectl / "calls.log").read_text().splitlines()
    get = next(c for c in calls if " get " in f" {c} ")
    assert get.startswith("--context prod get ") and get.endswith("--all-namespaces -o json")
    asked = set(get.split(" get ")[1].split()[0].split(","))
    wanted = {"nodes", "namespaces", "pods", "services", "secrets", "persistentvolumes", "persistentvolumeclaims",
              "deployments.apps", "endpointslices.discovery.k8s.io", "networkpolicies.networking.k8s.io",
              "ingresses.networking.k8s.io", "storageclasses.storage.k8s.io", "gateways.gateway.networking.k8s.io",
              "httproutes.gateway.networking.k8s.io"}
    assert asked == wanted  # every served kind the model reads; nothing it does not read; no unserved kind


# kind the importer models → the resource `kubectl get` names it by (a new modelled kind fails here until added)
RESOURCE_OF = {
    "Namespace": "namespaces", "Node": "nodes", "Pod": "pods", "Service": "services", "Secret": "secrets",
    "EndpointSlice": "endpointslices.discovery.k8s.io", "Ingress": "ingresses.networking.k8s.io",
    "IngressClass": "ingressclasses.networking.k8s.io", "NetworkPolicy": "networkpolicies.networking.k8s.io",
    "Deployment": "deployments.apps", "StatefulSet": "statefulsets.apps", "DaemonSet": "daemonsets.apps",
    "ReplicaSet": "replicasets.apps", "Job": "jobs.batch", "ReplicationController": "replicationcontrollers",
    "GatewayClass": "gatewayclasses.gateway.networking.k8s.io", "Gateway": "gateways.gateway.networking.k8s.io",
    "ListenerSet": "listenersets.gateway.networking.k8s.io", "HTTPRoute": "httproutes.gateway.networking.k8s.io",
    "GRPCRoute": "grpcroutes.gateway.networking.k8s.io", "TLSRoute": "tlsroutes.gateway.networking.k8s.io",
    "TCPRoute": "tcproutes.gateway.networking.k8s.io", "UDPRoute": "udproutes.gateway.networking.k8s.io",
    "ReferenceGrant": "referencegrants.gateway.networking.k8s.io", "IngressRoute": "ingressroutes.traefik.io",
    "Middleware": "middlewares.traefik.io", "HTTPProxy": "httpproxies.projectcontour.io",
    "Mapping": "mappings.getambassador.io", "IstioGateway": "gateways.networking.istio.io",
    "VirtualService": "virtualservices.networking.istio.io", "PersistentVolume": "persistentvolumes",
    "PersistentVolumeClaim": "persistentvolumeclaims", "StorageClass": "storageclasses.storage.k8s.io",
}
STORAGE = ("persistentvolumes", "persistentvolumeclaims", "storageclasses.storage.k8s.io")


def test_every_kind_the_model_reads_is_in_the_script_and_the_readme():
    """The script asks for every kind the importer models (and storage); the README's command too."""
    from topology.importers.gateway import ROUTE_KINDS
    from topology.importers.parse import MODELLED_KINDS

    resources = set(re.search(r'RESOURCES="([^"]+)"', SCRIPT.read_text()).group(1).split())
    modelled = {k for k in (*MODELLED_KINDS, *ROUTE_KINDS) if k != "Endpoints"}  # EndpointSlices replace them
    missing = {k for k in modelled if RESOURCE_OF[k] not in resources}
    assert not missing, f"scripts/dump-cluster.sh does not dump {sorted(missing)}"
    assert set(STORAGE) <= resources
    readme = (REPO / "README.md").read_text()
    command = re.search(r"kubectl get ([a-z.,]+) -A -o json", readme)
    assert command, "the README shows no `kubectl get … -A -o json` command"
    in_readme = {r.split(".")[0] for r in command.group(1).split(",")}
    core = {"secrets", "persistentvolumes", "persistentvolumeclaims", "storageclasses", "gateways", "httproutes",
            "grpcroutes", "tlsroutes", "referencegrants", "gatewayclasses", "pods", "services", "endpointslices",
            "networkpolicies", "ingresses", "ingressclasses", "nodes", "namespaces", "deployments"}
    assert core <= in_readme, sorted(core - in_readme)
    assert "dump-cluster.sh --strip" in readme and "scripts/dump-cluster.sh >" in readme


@pytest.fixture
def api(db):
    alice = get_user_model().objects.create_user("alice")
    client = APIClient()
    client.force_authenticate(alice)
    return client, Cluster.objects.create(name="shop", owner=alice)


def test_an_upload_with_values_is_stripped_and_answered_with_a_warning(api):
    client, cluster = api
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/?filename=dump.json", data=json.dumps(DUMP).encode(),
                       content_type="application/json")
    assert resp.status_code == 201, resp.content[:300]
    warnings = [w for w in resp.json()["warnings"] if "arrived with their values" in w]
    assert len(warnings) == 1 and "shop/db" in warnings[0] and "dump-cluster.sh" in warnings[0]
    assert VALUE not in warnings[0] and PLAIN not in warnings[0]
    secret = Secret.objects.get(snapshot=Snapshot.objects.get(pk=resp.json()["snapshot"]["id"]))
    assert list(secret.keys) == ["password", "token"]


def test_the_scripts_output_uploads_without_that_warning(api):
    client, cluster = api
    stripped, _log = strip(DUMP)
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/?filename=dump.json",
                       data=json.dumps(stripped).encode(), content_type="application/json")
    assert resp.status_code == 201
    assert not [w for w in resp.json()["warnings"] if "arrived with their values" in w]
    secret = Secret.objects.get(snapshot=Snapshot.objects.get(pk=resp.json()["snapshot"]["id"]))
    assert list(secret.keys) == ["password", "token"]
