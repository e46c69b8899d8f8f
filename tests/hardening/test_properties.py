"""Property-based tests: whatever the manifests and flows, the importer and engine only ever fail on purpose,
and every trace result is internally consistent.

    random bytes / random manifests ──► importer ──► objects | ManifestError        (never anything else)
    random cluster + random flow    ──► trace()  ──► TraceResult | TracerError
        Σ path.probability = 1 · delivered path ends at its endpoint · verdict agrees with the paths
        · same input ⇒ same JSON (fresh model or warm caches) · to_dict ↔ from_dict round-trips

Bounded: a few hundred examples in total, no deadline, derandomised (CI-stable); the whole file < 90 s.
"""
from __future__ import annotations

import dataclasses
import json
import math

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from topology.importers import ManifestError, build_objects
from topology.importers.load import parse_bytes
from tracer.engine.assumptions import Assumptions
from tracer.engine.cluster import ClusterModel
from tracer.engine.errors import TracerError
from tracer.engine.flow import Flow
from tracer.engine.result import DELIVERED, DROPPED, PARTIAL, REASONS, TraceResult
from tracer.engine.trace import trace

FAST = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# -- the importer: arbitrary bytes and arbitrary JSON-ish trees ---------------------------------------

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                      st.text(max_size=12))
json_tree = st.recursive(json_leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                           st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                         max_leaves=25)
KINDS = ["Pod", "Service", "Namespace", "Node", "Deployment", "StatefulSet", "DaemonSet", "EndpointSlice",
         "Endpoints", "Ingress", "IngressClass", "NetworkPolicy", "Secret", "List", "PodList", "ConfigMap"]
FIELDS = ["metadata", "spec", "status", "items", "data", "subsets", "endpoints", "ports", "addressType"]


@st.composite
def manifest(draw):
    """A Kubernetes-shaped mapping whose fields hold anything: right kinds, wrong types, missing parts."""
    doc = {"apiVersion": draw(st.sampled_from(["v1", "apps/v1", "networking.k8s.io/v1", "discovery.k8s.io/v1", 7])),
           "kind": draw(st.sampled_from(KINDS + [None, 3]))}
    meta = draw(st.one_of(st.fixed_dictionaries({"name": st.one_of(st.sampled_from(["a", "b", "web-1"]), json_leaf)},
                                                optional={"namespace": st.one_of(st.sampled_from(["shop", "x"]), json_leaf),
                                                          "labels": json_tree}), json_tree))
    doc["metadata"] = meta
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        doc[key] = draw(json_tree)
    return doc


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_manifest_error(data):
    """Any bytes → documents or ManifestError (never UnicodeError, yaml errors, RecursionError…)."""
    try:
        docs = parse_bytes(data, "fuzz.yaml")
        build_objects(docs) if docs else None
    except ManifestError:
        pass


@FAST
@given(st.lists(manifest(), min_size=1, max_size=4), st.sampled_from(["yaml", "json"]), st.booleans())
def test_generated_manifests_only_raise_manifest_error(docs, fmt, materialize):
    """Shaped-but-wrong manifests, as YAML or JSON, live or --materialize → objects or ManifestError."""
    if fmt == "json":
        data, name = json.dumps(docs).encode(), "gen.json"
    else:
        data, name = yaml.safe_dump_all(docs).encode(), "gen.yaml"
    try:
        res = build_objects(parse_bytes(data, name), materialize=materialize, nodes=2)
    except ManifestError as exc:
        assert exc.file == name or exc.field == "--nodes" or not exc.file
        assert str(exc)
    else:
        assert_well_formed(res, docs, materialize)


def assert_well_formed(res, docs: list[dict], materialize: bool) -> None:
    """What an accepted import guarantees: every object has a usable identity (non-empty string name and
    namespace) and string labels, and in a live dump every document not refused is an object or counted as
    skipped — none vanishes silently (List wrappers aside: an empty List holds nothing)."""
    for f in dataclasses.fields(res.objects):
        objects = getattr(res.objects, f.name)
        for obj in objects if isinstance(objects, list) else ():
            assert isinstance(obj.name, str) and obj.name, (f.name, obj.name)
            namespace = getattr(obj, "namespace", None)
            assert namespace is None or (isinstance(namespace, str) and namespace), (f.name, namespace)
            labels = getattr(obj, "labels", None) or {}
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()), (f.name, labels)
    if not materialize and not any(doc.get("kind") in ("List", "PodList") for doc in docs):
        assert sum(res.counts.values()) + sum(res.skipped.values()) >= len(docs), (res.counts, res.skipped)


# -- the engine: generated clusters and flows --------------------------------------------------------

LABELS = {"app": ["web", "api", "db"], "tier": ["front", "back"]}
NAMESPACES = ["shop", "web", "db"]


@st.composite
def cluster(draw):
    """A small consistent live dump: nodes, namespaces, pods (unique IPs), services, endpoints derived,
    network policies. Returns (manifests, names) where names lists what flows can point at."""
    n_nodes = draw(st.integers(1, 3))
    docs = []
    for i in range(n_nodes):
        docs.append({"apiVersion": "v1", "kind": "Node",
                     "metadata": {"name": f"node-{i}", "labels": {"topology.kubernetes.io/zone": f"zone-{i % 2}"}},
                     "spec": {"podCIDR": f"10.42.{i}.0/24"},
                     "status": {"addresses": [{"type": "InternalIP", "address": f"172.20.0.{10 + i}"}],
                                "conditions": [{"type": "Ready", "status": "True"}]}})
    for ns in NAMESPACES:
        docs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns, "team": ns[:1]}}})
    pods, pod_ips = [], []
    for i in range(draw(st.integers(0, 9))):
        ns = draw(st.sampled_from(NAMESPACES))
        node = draw(st.integers(0, n_nodes - 1))
        labels = {k: draw(st.sampled_from(v)) for k, v in LABELS.items() if draw(st.booleans())}
        phase = draw(st.sampled_from(["Running", "Running", "Running", "Pending", "Succeeded"]))
        host_network = draw(st.booleans()) and i % 3 == 0
        ip = f"172.20.0.{10 + node}" if host_network else f"10.42.{node}.{10 + i}"
        status = {"phase": phase, "hostIP": f"172.20.0.{10 + node}",
                  "conditions": [{"type": "Ready", "status": "True" if draw(st.booleans()) or phase != "Running" else "False"}]}
        if phase != "Pending":
            status["podIP"] = ip
        ports = [{"name": "http", "containerPort": draw(st.sampled_from([80, 8080]))}] if draw(st.booleans()) else []
        docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": ns, "labels": labels},
                     "spec": {"nodeName": f"node-{node}", "hostNetwork": host_network,
                              "containers": [{"name": "c", "image": "img", "ports": ports}]},
                     "status": status})
        pods.append(f"{ns}/p{i}")
        pod_ips.append(ip)
    services, svc_ips = [], []
    for i in range(draw(st.integers(0, 4))):
        ns = draw(st.sampled_from(NAMESPACES))
        kind = draw(st.sampled_from(["ClusterIP", "ClusterIP", "NodePort", "LoadBalancer", "headless", "ExternalName"]))
        spec = {}
        if kind == "ExternalName":
            spec = {"type": "ExternalName", "externalName": "example.org"}
        else:
            nports = draw(st.integers(1, 2))
            ports = []
            for j in range(nports):
                port = {"port": 80 + j, "name": f"p{j}", "protocol": draw(st.sampled_from(["TCP", "TCP", "UDP"])),
                        "targetPort": draw(st.sampled_from([80, 8080, "http"]))}
                if kind in ("NodePort", "LoadBalancer"):
                    port["nodePort"] = 30000 + 10 * i + j
                ports.append(port)
            spec = {"type": "ClusterIP" if kind == "headless" else kind, "ports": ports,
                    "clusterIP": "None" if kind == "headless" else f"10.43.0.{10 + i}"}
            if draw(st.booleans()):
                spec["selector"] = {k: draw(st.sampled_from(v)) for k, v in LABELS.items() if draw(st.booleans())} \
                    or {"app": "web"}
            if kind in ("NodePort", "LoadBalancer"):
                spec["externalTrafficPolicy"] = draw(st.sampled_from(["Cluster", "Local"]))
            if draw(st.booleans()):
                spec["internalTrafficPolicy"] = draw(st.sampled_from(["Cluster", "Local"]))
            if kind == "LoadBalancer" and draw(st.booleans()):
                spec["loadBalancerSourceRanges"] = ["203.0.113.0/24"]
            if kind != "headless":
                svc_ips.append(spec["clusterIP"])
        doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}", "namespace": ns}, "spec": spec}
        if kind == "LoadBalancer":
            doc["status"] = {"loadBalancer": {"ingress": [{"ip": f"198.51.100.{10 + i}"}]}}
        docs.append(doc)
        services.append(f"{ns}/s{i}")
    for i in range(draw(st.integers(0, 3))):
        ns = draw(st.sampled_from(NAMESPACES))
        types = draw(st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        spec = {"podSelector": {"matchLabels": {"app": draw(st.sampled_from(LABELS["app"]))}} if draw(st.booleans()) else {},
                "policyTypes": types}

        def peer():
            choice = draw(st.integers(0, 3))
            if choice == 0:
                return {"podSelector": {"matchLabels": {"tier": draw(st.sampled_from(LABELS["tier"]))}}}
            if choice == 1:
                return {"namespaceSelector": {"matchLabels": {"team": draw(st.sampled_from(["s", "w", "d"]))}}}
            if choice == 2:
                return {"ipBlock": {"cidr": draw(st.sampled_from(["0.0.0.0/0", "10.42.0.0/16", "203.0.113.0/24"]))}}
            return {"namespaceSelector": {}, "podSelector": {"matchExpressions": [
                {"key": "app", "operator": draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"])),
                 **({"values": ["web"]} if True else {})}]}}

        def rule(peers_key):
            r = {}
            if draw(st.booleans()):
                r[peers_key] = [peer() for _ in range(draw(st.integers(1, 2)))]
            if draw(st.booleans()):
                r["ports"] = [{"protocol": "TCP", "port": draw(st.sampled_from([80, 8080, "http"]))}]
            return r

        for t in types:
            key, peers_key = ("ingress", "from") if t == "Ingress" else ("egress", "to")
            spec[key] = [rule(peers_key) for _ in range(draw(st.integers(0, 2)))]
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": f"np{i}", "namespace": ns}, "spec": spec})
    # `values` must be absent for Exists/DoesNotExist
    for d in docs:
        if d["kind"] == "NetworkPolicy":
            for key in ("ingress", "egress"):
                for r in d["spec"].get(key, []):
                    for p in r.get("from", []) + r.get("to", []):
                        for e in p.get("podSelector", {}).get("matchExpressions", []):
                            if e["operator"] in ("Exists", "DoesNotExist"):
                                e.pop("values", None)
    return docs, {"pods": pods, "services": services, "ips": pod_ips + svc_ips,
                  "nodes": [f"node-{i}" for i in range(n_nodes)]}


@st.composite
def flows(draw, names):
    sources = [f"pod:{p}" for p in names["pods"]] * 4 + ["external:203.0.113.7", "external:192.0.2.1",
                                                     f"node:{draw(st.sampled_from(names['nodes']))}", "pod:shop/ghost"]
    dests = ([f"svc:{s}" for s in names["services"]] * 4 + [f"ip:{ip}" for ip in names["ips"]]
             + [f"dns:{s.split('/')[1]}.{s.split('/')[0]}.svc.cluster.local" for s in names["services"]]
             + ["ip:172.20.0.10", "ip:198.51.100.10", "ip:8.8.8.8", "dns:nowhere.example", "svc:shop/ghost",
                "url:http://shop.example/cart", "dns:s0", "dns:s1.shop"])
    return Flow(source=draw(st.sampled_from(sources)), destination=draw(st.sampled_from(dests)),
                port=draw(st.sampled_from([None, 80, 80, 81, 8080, 30000, "p0", "http", "nope"])),
                protocol=draw(st.sampled_from(["TCP", "TCP", "TCP", "UDP", "SCTP"])))


def check_invariants(result: TraceResult) -> None:
    d = result.to_dict()
    assert d["paths"], "a trace always has at least one path"
    total = sum(p["probability"] for p in d["paths"])
    assert math.isclose(total, 1.0, abs_tol=1e-6), f"path probabilities sum to {total}"
    assert all(0 < p["probability"] <= 1 + 1e-9 for p in d["paths"])
    verdicts = {p["verdict"] for p in d["paths"]}
    assert verdicts <= {DELIVERED, DROPPED}
    expected = PARTIAL if verdicts == {DELIVERED, DROPPED} else verdicts.pop()
    assert d["verdict"] == expected
    for p in d["paths"]:
        assert p["hops"], "every path tells its story"
        if p["verdict"] == DELIVERED:
            assert p["reason"] is None
            assert p["endpoint"], p
            last = p["hops"][-1]
            assert last["id"] == p["endpoint"], (last, p["endpoint"])
        else:
            assert p["reason"] in REASONS, p["reason"]
    assert d["reason"] == next((p["reason"] for p in d["paths"] if p["verdict"] == DROPPED), None)
    assert TraceResult.from_dict(json.loads(json.dumps(d))).to_dict() == d


ENGINE = settings(max_examples=120, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@ENGINE
@given(st.data())
def test_traces_on_generated_clusters_are_consistent_and_deterministic(data):
    docs, names = data.draw(cluster())
    res = build_objects(parse_bytes(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}).encode(),
                                    "gen.json"))
    model = ClusterModel(res.objects)
    for _ in range(6):
        flow = data.draw(flows(names))
        mode = data.draw(st.sampled_from(["iptables", "ipvs", "nftables"]))
        assumptions = Assumptions(proxy_mode=mode, cni_enforces_policy=data.draw(st.booleans()))
        try:
            result = trace(model, flow, assumptions)
        except TracerError as exc:
            assert str(exc), "an error says what is wrong"
            event("refused: " + type(exc).__name__)
            continue
        event(f"verdict: {result.verdict}")
        check_invariants(result)
        again = trace(model, flow, assumptions).to_dict()  # warm caches
        fresh = trace(ClusterModel(build_objects(parse_bytes(json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": docs}).encode(), "gen.json")).objects), flow, assumptions)
        first = json.dumps(result.to_dict(), sort_keys=True)
        assert json.dumps(again, sort_keys=True) == first
        assert json.dumps(fresh.to_dict(), sort_keys=True) == first
