"""H1–H5 through import and `manage.py trace`: a live dump (kubeadm-like control plane) and --materialize.

Live: nodes cp1 (control-plane, 192.168.50.10) and w1 (192.168.50.11, kubelet on 10251); static pods
kube-apiserver-cp1 and etcd-cp1 (hostNetwork, ports only in their arguments and probes); default/kubernetes
with the API server's advertise address; pod shop/app (main 8080, sidecar with a readinessProbe on 15021,
spec.hostAliases) under a NetworkPolicy that denies all its egress except 10.20.0.0/16.
"""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

LIVE = """
apiVersion: v1
kind: Node
metadata: {name: cp1, labels: {node-role.kubernetes.io/control-plane: ""}}
spec: {podCIDR: 10.244.0.0/24}
status:
  addresses: [{type: InternalIP, address: 192.168.50.10}]
  daemonEndpoints: {kubeletEndpoint: {Port: 10250}}
---
apiVersion: v1
kind: Node
metadata: {name: w1}
spec: {podCIDR: 10.244.1.0/24}
status:
  addresses: [{type: InternalIP, address: 192.168.50.11}]
  daemonEndpoints: {kubeletEndpoint: {Port: 10251}}
---
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver-cp1
  namespace: kube-system
  labels: {component: kube-apiserver, tier: control-plane}
  ownerReferences: [{apiVersion: v1, kind: Node, name: cp1, uid: u1, controller: true}]
spec:
  nodeName: cp1
  hostNetwork: true
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.31.0
    command: [kube-apiserver, --advertise-address=192.168.50.10, --secure-port=6443,
              --etcd-servers=https://127.0.0.1:2379]
    livenessProbe: {httpGet: {host: 192.168.50.10, path: /livez, port: 6443, scheme: HTTPS}}
status: {phase: Running, podIP: 192.168.50.10, hostIP: 192.168.50.10,
         conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: etcd-cp1
  namespace: kube-system
  labels: {component: etcd, tier: control-plane}
spec:
  nodeName: cp1
  hostNetwork: true
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.15-0
    command: [etcd, --listen-client-urls=https://127.0.0.1:2379,https://192.168.50.10:2379,
              --listen-metrics-urls=http://127.0.0.1:2381]
    livenessProbe: {httpGet: {host: 127.0.0.1, path: /health, port: 2381}}
status: {phase: Running, podIP: 192.168.50.10, hostIP: 192.168.50.10,
         conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec:
  clusterIP: 10.96.0.1
  ports: [{name: https, port: 443, targetPort: 6443, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}
addressType: IPv4
endpoints: [{addresses: [192.168.50.10], conditions: {ready: true}}]
ports: [{name: https, port: 6443, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop, labels: {app: shop}}
spec:
  nodeName: w1
  hostAliases: [{ip: 10.20.3.4, hostnames: [billing.corp, billing]}]
  containers:
  - name: main
    image: shop:1
    ports: [{containerPort: 8080}]
  - name: mesh
    image: proxy:1
    readinessProbe: {httpGet: {path: /ready, port: 15021}}
status: {phase: Running, podIP: 10.244.1.5, hostIP: 192.168.50.11, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-corp, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.20.0.0/16}}]}]
"""

DESIRED = """
apiVersion: v1
kind: Node
metadata: {name: cp-a, labels: {node-role.kubernetes.io/control-plane: ""}}
---
apiVersion: v1
kind: Node
metadata: {name: cp-b, labels: {node-role.kubernetes.io/master: ""}}
---
apiVersion: v1
kind: Node
metadata: {name: worker}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      hostAliases: [{ip: 127.0.0.1, hostnames: [cache.local]}]
      containers:
      - {name: main, image: shop:1, ports: [{containerPort: 8080}]}
      - {name: cache, image: redis:7, ports: [{containerPort: 6379}]}
"""


def _import(tmp_path, name, text, **kw):
    from topology.importers import import_files
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return import_files(name, [str(path)], **kw)


def trace_json(*args) -> dict:
    out = io.StringIO()
    call_command("trace", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def endpoints(r):
    got = {}
    for p in r["paths"]:
        if p["verdict"] == "delivered":
            got[p["endpoint"]] = round(got.get(p["endpoint"], 0) + p["probability"], 6)
    return got


@pytest.fixture
def live(tmp_path):
    return _import(tmp_path, "live", LIVE)


def test_h1_loopback_names_the_sidecar_and_ignores_egress_policy(live):
    r = trace_json("--cluster", "live", "--from", "pod:shop/app", "--to", "ip:127.0.0.1", "--port", "15021")
    assert endpoints(r) == {"pod:shop/app": 1.0}
    assert "container mesh" in r["paths"][0]["hops"][-1]["detail"]
    assert not any(h["kind"] == "network-policy" for h in r["paths"][0]["hops"])
    r = trace_json("--cluster", "live", "--from", "pod:shop/app", "--to", "dns:localhost", "--port", "9090")
    assert r["paths"][0]["reason"] == "no-listener"


def test_h2_host_alias_resolves_without_dns(live):
    r = trace_json("--cluster", "live", "--from", "pod:shop/app", "--to", "dns:billing.corp", "--port", "443")
    assert endpoints(r) == {"external:10.20.3.4": 1.0}
    assert [h["action"] for h in r["paths"][0]["hops"] if h["kind"] == "dns"] == ["hosts"]


@pytest.mark.parametrize("ip,port,endpoint", [
    ("192.168.50.10", 6443, "pod:kube-system/kube-apiserver-cp1"),
    ("192.168.50.10", 2379, "pod:kube-system/etcd-cp1"),
    ("192.168.50.11", 10251, "node:w1"),
    ("192.168.50.10", 10250, "node:cp1"),
])
def test_h4_node_listeners_from_a_node(live, ip, port, endpoint):
    r = trace_json("--cluster", "live", "--from", "node:cp1", "--to", f"ip:{ip}", "--port", str(port))
    assert endpoints(r) == {endpoint: 1.0}


def test_h4_nothing_listening_is_no_listener(live):
    r = trace_json("--cluster", "live", "--from", "node:cp1", "--to", "ip:192.168.50.11", "--port", "10250")
    assert r["paths"][0]["reason"] == "no-listener"


def test_h5_h6_api_server_flows(live):
    # kubelet / kube-proxy (node processes) and a pod → default/kubernetes end at the kube-apiserver static pod
    for src in ("node:w1", "pod:shop/app"):
        r = trace_json("--cluster", "live", "--from", src, "--to", "svc:default/kubernetes", "--port", "443")
        if src == "pod:shop/app":  # its egress policy allows only 10.20.0.0/16
            assert {p["reason"] for p in r["paths"]} == {"policy-egress-denied"}
            continue
        assert endpoints(r) == {"pod:kube-system/kube-apiserver-cp1": 1.0}
    # apiserver → etcd on loopback, apiserver → a kubelet (logs, exec)
    r = trace_json("--cluster", "live", "--from", "pod:kube-system/kube-apiserver-cp1", "--to", "ip:127.0.0.1",
                   "--port", "2379")
    assert endpoints(r) == {"pod:kube-system/etcd-cp1": 1.0}
    r = trace_json("--cluster", "live", "--from", "pod:kube-system/kube-apiserver-cp1", "--to",
                   "ip:192.168.50.11", "--port", "10251")
    assert endpoints(r) == {"node:w1": 1.0}


def test_materialize_gives_default_kubernetes_one_endpoint_per_control_plane_node(tmp_path):
    from topology.compile import load_model
    result = _import(tmp_path, "desired", DESIRED, materialize=True)
    m = load_model(result.snapshot.id)
    (sl,) = [s for s in m.objects.endpoint_slices if s.service_name == "kubernetes"]
    assert sorted(m.node_by_ip[e.addresses[0]].name for e in sl.endpoints) == ["cp-a", "cp-b"]
    pod = next(p for p in m.pods.values() if p.namespace == "shop")
    r = trace_json("--cluster", "desired", "--from", f"pod:shop/{pod.name}", "--to", "svc:default/kubernetes",
                   "--port", "443")
    assert endpoints(r) == {"node:cp-a": 0.5, "node:cp-b": 0.5}
    # a hostAlias to 127.0.0.1 is the pod's own loopback: the cache sidecar
    r = trace_json("--cluster", "desired", "--from", f"pod:shop/{pod.name}", "--to", "dns:cache.local",
                   "--port", "6379")
    assert endpoints(r) == {f"pod:shop/{pod.name}": 1.0} and "container cache" in r["paths"][0]["hops"][-1]["detail"]


def test_materialize_without_control_plane_labels_states_the_assumption(tmp_path):
    text = DESIRED.replace('labels: {node-role.kubernetes.io/control-plane: ""}', "labels: {}").replace(
        'labels: {node-role.kubernetes.io/master: ""}', "labels: {}")
    result = _import(tmp_path, "plain", text, materialize=True)
    assert any("default/kubernetes" in w and "assumed on the first node" in w for w in result.warnings)


def test_h6_the_map_api_carries_the_control_plane(live):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from topology.models import Cluster
    user = get_user_model().objects.create_superuser("cp-admin", "a@example.com", "pw-cp-admin-1")
    client = APIClient()
    client.force_authenticate(user)
    cluster = Cluster.objects.get(name="live")
    resp = client.get(f"/api/clusters/{cluster.id}/map/")
    assert resp.status_code == 200
    cp = resp.json()["control_plane"]
    assert cp["nodes"] == [{"name": "cp1", "ip": "192.168.50.10"}]
    assert {c["component"] for c in cp["components"]} == {"kube-apiserver", "etcd"}
    assert cp["api_server"]["addresses"][0]["pod"] == "kube-system/kube-apiserver-cp1"
    for f in cp["flows"]:
        t = f["trace"]
        r = trace_json("--cluster", "live", "--from", t["from"], "--to", t["to"], "--port", str(t["port"]))
        assert r["verdict"] == "delivered", f


@pytest.mark.parametrize("name,reason", [("web-0.nginx", "dns-nxdomain"), ("cart.no-such-namespace", "dns-nxdomain"),
                                         ("www.example.com", None)])
def test_h3_names_that_do_not_exist_with_materialize(tmp_path, name, reason):
    from topology.compile import load_model
    result = _import(tmp_path, "desired-h3", DESIRED, materialize=True)
    pod = next(p for p in load_model(result.snapshot.id).pods.values() if p.namespace == "shop")
    r = trace_json("--cluster", "desired-h3", "--from", f"pod:shop/{pod.name}", "--to", f"dns:{name}", "--port", "80")
    assert r["reason"] == reason
    if reason is None:
        assert endpoints(r) == {f"external:{name}": 1.0}


def test_h3_on_a_live_dump_from_a_node(live):
    r = trace_json("--cluster", "live", "--from", "node:w1", "--to", "dns:web-0.nginx", "--port", "80")
    assert r["reason"] == "dns-nxdomain" and "not a public top-level domain" in r["paths"][0]["hops"][-1]["detail"]


def test_the_demos_not_ready_canary_is_listed_as_left_out():
    """README's example: frontend → svc:shop/cart; cart-canary is not ready: the result says so (issue 13 item 8)."""
    from pathlib import Path

    from topology.importers import import_files
    demo = Path(__file__).resolve().parents[2] / "demo"
    import_files("demo-excluded", [str(demo)], materialize=True, nodes=3)
    r = trace_json("--cluster", "demo-excluded", "--from", "workload:shop/frontend", "--to", "svc:shop/cart")
    left = {e["endpoint"]: e["reason"] for e in r["excluded_endpoints"]}
    assert left == {"pod:shop/cart-canary": "not-ready"}
    assert "pod:shop/cart-canary" not in endpoints(r)
    out = io.StringIO()
    call_command("trace", "--cluster", "demo-excluded", "--from", "workload:shop/frontend", "--to", "svc:shop/cart",
                 stdout=out)
    assert "endpoints left out:" in out.getvalue() and "cart-canary" in out.getvalue()
