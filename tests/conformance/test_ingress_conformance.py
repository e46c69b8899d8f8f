"""kubernetes-sigs/ingress-controller-conformance, run through the engine's Ingress routing.

Every scenario of tests/fixtures/ingress-conformance/derived-expectations.json (host rules, path rules,
default backend) is one request from outside:

    [client] → LB 203.0.113.10:80|443 → [ingress-nginx controller] → Ingress rule → svc/<backend>:8080 → [pod]

The model of each feature is built from manifests with the real importer (`parse_objects`): the feature's
Ingress (class-less, so the default IngressClass applies), one Service + pod per backend, the TLS secret,
and an ingress-nginx controller behind a LoadBalancer Service. Status 200 ⇒ the named Service must answer;
404 ⇒ no rule matches and there is no default backend (`ingress-no-match`).
ingress_class.feature and load_balancing.feature are checked below as well.
"""
from __future__ import annotations

import json
import re

import yaml

from tests.fixtures import FIXTURES
from topology.importers.load import Document
from topology.importers.parse import parse_objects
from tracer.engine.cluster import ClusterModel
from tracer.engine.ingress import backend_endpoints, controllers_for_ingress, find_entry, resolve_class

CORPUS = FIXTURES / "ingress-conformance"
LB_IP = "203.0.113.10"


def _controller_docs() -> list[dict]:
    """ingress-nginx as its Helm chart deploys it: default IngressClass, controller pod, LoadBalancer."""
    labels = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "k8s.io/ingress-nginx"}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "ingress-nginx-controller-0", "namespace": "ingress-nginx", "labels": labels},
         "spec": {"nodeName": "node-1", "containers": [{
             "name": "controller", "image": "registry.k8s.io/ingress-nginx/controller:v1.10.0",
             "args": ["/nginx-ingress-controller", "--controller-class=k8s.io/ingress-nginx"],
             "ports": [{"name": "http", "containerPort": 80}, {"name": "https", "containerPort": 443}]}]},
         "status": {"phase": "Running", "podIP": "10.244.1.2", "hostIP": "192.168.0.11",
                    "conditions": [{"type": "Ready", "status": "True"}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
         "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.50", "selector": labels,
                  "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
                            {"name": "https", "port": 443, "targetPort": "https", "nodePort": 30443}]},
         "status": {"loadBalancer": {"ingress": [{"ip": LB_IP}]}}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
         "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.11"}],
                    "conditions": [{"type": "Ready", "status": "True"}]}},
    ]


def _backends(spec: dict) -> list[str]:
    names = []
    if spec.get("defaultBackend"):
        names.append(spec["defaultBackend"]["service"]["name"])
    for rule in spec.get("rules", []):
        for p in rule.get("http", {}).get("paths", []):
            names.append(p["backend"]["service"]["name"])
    return sorted(set(names))


def _backend_docs(names: list[str], replicas: int = 1) -> list[dict]:
    """One Service per backend (port 8080 named http, as the conformance echo services), `replicas` pods."""
    docs = []
    for i, name in enumerate(names):
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "conformance"},
                     "spec": {"clusterIP": f"10.96.1.{i + 1}", "selector": {"app": name},
                              "ports": [{"name": "http", "port": 8080, "targetPort": 3000}]}})
        for r in range(replicas):
            docs.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": f"{name}-{r}", "namespace": "conformance", "labels": {"app": name}},
                         "spec": {"nodeName": "node-1", "containers": [{
                             "name": "echo", "image": "echoserver", "ports": [{"containerPort": 3000}]}]},
                         "status": {"phase": "Running", "podIP": f"10.244.{i + 2}.{r + 10}",
                                    "conditions": [{"type": "Ready", "status": "True"}]}})
    return docs


def _model(ingress_spec: dict, name: str, *, replicas: int = 1, extra: list[dict] = ()) -> ClusterModel:
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": name, "namespace": "conformance"}, "spec": ingress_spec}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "conformance-tls", "namespace": "conformance"},
              "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}}
    raw = [ingress, secret, *_controller_docs(), *_backend_docs(_backends(ingress_spec), replicas), *extra]
    docs = [Document(f"{name}.yaml", i, d) for i, d in enumerate(raw)]
    return ClusterModel(parse_objects(docs).objects)


def _features() -> list[dict]:
    data = json.loads((CORPUS / "derived-expectations.json").read_text())
    return data["features"]


def _check(model: ClusterModel, scenario: dict) -> str | None:
    """None when the engine agrees with the scenario, else what differed."""
    req, exp = scenario["request"], scenario["expect"]
    scheme = req.get("scheme", "http")
    entry = find_entry(model, req["host"], req["path"], scheme)
    d = entry.decision
    if entry.exposure is None or entry.exposure.address != LB_IP:
        return f"entered through {entry.exposure} instead of the controller's load balancer {LB_IP}"
    if entry.exposure.port != (443 if scheme == "https" else 80):
        return f"entered on port {entry.exposure.port} for {scheme}"
    if exp["status"] == 404:
        if d.matched or d.reason != "ingress-no-match":
            return f"expected 404 (ingress-no-match), got {d.backend_text} ({d.why})"
        return None
    if not d.matched or d.service is None or d.service.name != exp["service"] or d.backend_problem:
        return f"expected {exp['service']}, got matched={d.matched} reason={d.reason} {d.backend_text}: {d.why}"
    if not backend_endpoints(model, d):
        return f"no endpoint for {d.service.key}"
    if exp.get("tls_sni_verified"):
        if d.tls is None or not d.tls.secret_ok or not d.tls.host_listed:
            return f"TLS for {exp['tls_sni_verified']} not served with the Ingress's secret: {d.tls}"
    return None


def test_every_derived_scenario_agrees():
    """All 28 scenarios (host_rules 6, path_rules 16, default_backend 6) route as the conformance suite expects."""
    total, agree, failures = 0, 0, []
    for feature in _features():
        spec = feature["ingress"].get("spec", feature["ingress"])  # default_backend.feature gives the bare spec
        model = _model(spec, feature["file"].split(".")[0].replace("_", "-"))
        for sc in feature["scenarios"]:
            total += 1
            problem = _check(model, sc)
            if problem is None:
                agree += 1
            else:
                failures.append(f"{feature['file']}: {sc['scenario']} {sc['request']}: {problem}")
    print(f"ingress-conformance: {agree}/{total} agree")
    assert total == 28
    assert not failures, "\n".join(failures)


def _feature_yaml(name: str) -> dict:
    """The Ingress manifest embedded as a docstring in a .feature file."""
    text = (CORPUS / name).read_text()
    block = re.search(r'"""\n(.*?)\n\s*"""', text, re.S).group(1)
    return yaml.safe_load(block)


def test_ingress_class_feature_invalid_class_is_not_admitted():
    """ingress_class.feature: `ingressClassName: some-invalid-class-name` (no such IngressClass) ⇒ no
    controller admits it, so a request for its host reaches no backend: `no-ingress-controller`.

        [client] Host: ingress-class → (no controller for class some-invalid-class-name) ✗
    """
    manifest = _feature_yaml("ingress_class.feature")
    model = _model(manifest["spec"], manifest["metadata"]["name"])
    ing = model.ingresses[0]
    res = resolve_class(model, ing)
    assert not res.admitted and "some-invalid-class-name" in res.detail
    assert controllers_for_ingress(model, ing) == []
    entry = find_entry(model, "ingress-class", "/")
    assert entry.decision.reason == "no-ingress-controller"
    assert not entry.decision.matched
    assert "IngressClass" in entry.decision.why


def test_ingress_class_feature_same_ingress_with_valid_class_routes():
    """Control for the above: the same Ingress with the existing class `nginx` is served.

        [client] Host: ingress-class → [ingress-nginx] → svc/ingress-class-prefix:8080
    """
    manifest = _feature_yaml("ingress_class.feature")
    spec = dict(manifest["spec"], ingressClassName="nginx")
    model = _model(spec, "valid-class")
    d = find_entry(model, "ingress-class", "/").decision
    assert d.matched and d.service.name == "ingress-class-prefix"


def test_load_balancing_feature_every_replica_is_a_next_hop():
    """load_balancing.feature: defaultBackend echo-service scaled to 10 ⇒ all 10 pods are next hops of the
    controller (no session affinity), reached directly on their endpoint port.

        [client] → [ingress-nginx] → defaultBackend svc/echo-service:8080 → [echo-service-0..9]:3000
    """
    text = (CORPUS / "load_balancing.feature").read_text()
    spec = yaml.safe_load(re.search(r'"""\n(.*?)\n\s*"""', text, re.S).group(1))
    model = _model(spec, "load-balancing", replicas=10)
    d = find_entry(model, "load-balancing", "/").decision
    assert d.matched and d.via_default_backend and d.service.name == "echo-service"
    assert d.backend_mode == "endpoints"
    eps = backend_endpoints(model, d)
    assert len({e.pod.name for e in eps}) == 10
    assert {e.port for e in eps} == {3000}
