"""The benchmark's synthetic cluster (bench/generate.py), its nca comparison and its verdicts — small sizes only.

    [ns-000NN pods svc-XXXXX-RRRR] → svc/svc-XXXXX:80 → EndpointSlice → pod :8080
    [external] → LB 198.51.100.10 → ingress-nginx controller → Ingress host app-G.example.com → svc → pod

The generator must be deterministic (a benchmark compares runs), describe a cluster our importer
takes as it is (a live dump: IPs, nodes, EndpointSlices), and write nca's inputs for the same cluster.
"""
from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.generate import Size, generate, nca_inputs, write
from bench.nca_compare import _endpoint, our_relation, parse_nca_pods_output
from bench.run import Metric
from topology.importers.load import load_documents
from topology.importers.parse import parse_objects
from tracer.engine.cluster import ClusterModel
from tracer.engine.flow import parse_flow_request
from tracer.engine.netpol import Peer
from tracer.engine.trace import trace

SMALL = Size(nodes=4, pods=120, services=12, policies=8, ingresses=2, seed=3)


def _model(cluster: dict) -> ClusterModel:
    docs = load_documents(json.dumps(cluster).encode(), "cluster.json")
    return ClusterModel.build(parse_objects(docs).objects)


@pytest.fixture(scope="module")
def cluster() -> dict:
    return generate(SMALL)


@pytest.fixture(scope="module")
def model(cluster) -> ClusterModel:
    return _model(cluster)


def test_same_seed_same_cluster_other_seed_other_policies():
    """Byte-identical output for one seed (runs are comparable); the seed changes the policy choices."""
    a, b = generate(SMALL), generate(SMALL)
    assert json.dumps(a) == json.dumps(b)
    other = generate(Size(**{**SMALL.__dict__, "seed": 4}))
    pols = lambda c: [i["spec"] for i in c["items"] if i["kind"] == "NetworkPolicy"]  # noqa: E731
    assert pols(a) != pols(other)


@pytest.mark.parametrize("kind,expected", [
    ("Node", 4),
    ("Pod", 120 + 2 + 2),          # + CoreDNS ×2 + ingress-nginx controller ×2
    ("Service", 12 + 2),           # + kube-dns + ingress-nginx-controller
    ("NetworkPolicy", 8),
    ("Ingress", 2),
    ("Namespace", 1 + 2),          # services // 10 namespaces + kube-system + ingress-nginx
    ("IngressClass", 1),
])
def test_counts_follow_the_size(cluster, kind, expected):
    assert Counter(i["kind"] for i in cluster["items"])[kind] == expected


def test_imports_as_a_live_dump_with_unique_ips_and_consistent_slices(model):
    """Every pod has its own IP inside its node's podCIDR; every slice endpoint is a pod of the service."""
    pods = model.objects.pods
    assert len({p.ip for p in pods}) == len(pods)
    by_ip = {p.ip: p for p in pods}
    for sl in model.objects.endpoint_slices:
        svc = next(s for s in model.objects.services if s.namespace == sl.namespace and s.name == sl.service_name)
        for ep in sl.endpoints:
            pod = by_ip[ep.addresses[0]]
            assert all(pod.labels.get(k) == v for k, v in svc.selector.items())
            assert pod.node_name == ep.node_name


def test_pods_per_node_stay_within_the_threshold():
    """At most 110 pods per node (Kubernetes' default max-pods, a scalability threshold)."""
    c = generate(Size(nodes=2, pods=200, services=4, policies=0))
    per_node = Counter(i["spec"]["nodeName"] for i in c["items"] if i["kind"] == "Pod")
    assert max(per_node.values()) <= 110
    with pytest.raises(ValueError, match="too many pods"):
        generate(Size(nodes=2, pods=300, services=4, policies=0))


def test_external_client_reaches_a_backend_through_ingress_nginx(cluster, model):
    """[external] → url:http://app-0.example.com/ → LB → ingress-nginx → the Ingress's first backend."""
    ing = next(i for i in cluster["items"] if i["kind"] == "Ingress")
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    flow, a = parse_flow_request({"from": "external:198.51.100.7", "to": f"url:http://{ing['spec']['rules'][0]['host']}/"})
    result = trace(model, flow, a).to_dict()
    assert result["verdict"] == "delivered"
    for path in result["paths"]:
        kinds = [h["kind"] for h in path["hops"]]
        assert kinds.index("load-balancer") < kinds.index("ingress-controller") < kinds.index("ingress-rule")
        assert path["endpoint"].startswith(f"pod:{ing['metadata']['namespace']}/{backend}-")


def test_nca_inputs_hold_the_same_pods_namespaces_and_policies(cluster, tmp_path):
    inputs = nca_inputs(cluster)
    kinds = Counter(i["kind"] for i in cluster["items"])
    assert len(inputs["pods.json"]["items"]) == kinds["Pod"]
    assert len(inputs["namespaces.json"]["items"]) == kinds["Namespace"]
    assert len(inputs["policies.json"]["items"]) == kinds["NetworkPolicy"]
    path = write(SMALL, tmp_path)
    assert json.loads(path.read_text()) == cluster
    assert sorted(p.name for p in (tmp_path / "nca").iterdir()) == ["namespaces.json", "pods.json", "policies.json"]


def test_class_shortcut_equals_per_pod_evaluation(tmp_path):
    """The comparison's relation (one evaluation per policy class pair, expanded to pods) equals
    evaluating every pod pair with the engine: pods of one class are indistinguishable to policy."""
    from tests.conformance.nca_oracle import nca_engine, nca_items

    size = Size(nodes=3, pods=40, services=6, policies=8, seed=5)
    write(size, tmp_path)
    ours = our_relation(tmp_path / "nca", set())
    docs = []
    for name in ("namespaces.json", "pods.json", "policies.json"):
        docs += load_documents(tmp_path / "nca" / name)
    model = ClusterModel.build(parse_objects(docs).objects)
    eng = nca_engine(model)
    expected = {}
    for p in model.objects.pods:
        for q in model.objects.pods:
            if p is not q:
                conns = eng.connections(Peer.of_pod(p), Peer.of_pod(q))
                if conns:
                    expected[(f"{p.namespace}/{p.name}", f"{q.namespace}/{q.name}")] = nca_items(conns)
    pod_pairs = {k: v for k, v in ours.relation.items() if isinstance(k[0], str) and isinstance(k[1], str)}
    assert pod_pairs == expected
    assert 0 < len(expected) < len(model.objects.pods) ** 2  # policy denies some pairs, allows others


def test_reads_nca_pod_endpoint_output(tmp_path):
    """nca's `--output_endpoints pods` lines: "ns/pod" endpoints and IP ranges, one line per pair."""
    out = tmp_path / "out.txt"
    out.write_text("global: cluster has 3 unique endpoints, 2 namespaces\n"
                   "ns-a/web-0 => ns-b/db-0 : {protocols:TCP,dst_ports:5432}\n"
                   "0.0.0.0-9.255.255.255 => ns-a/web-0 : All connections\n")
    rel = parse_nca_pods_output(out)
    assert set(rel.pairs) == {("ns-a/web-0", "ns-b/db-0"), (("ip", 0, 167772159), "ns-a/web-0")}
    (conns,) = rel.pairs[("ns-a/web-0", "ns-b/db-0")]
    assert conns.allows(5432, "TCP") and not conns.allows(5433, "TCP")
    assert _endpoint("10.0.0.0/8") == ("ip", 167772160, 184549375)


@pytest.mark.parametrize("value,target,unit,verdict", [
    (9.0, 10.0, "ms", "met"),
    (10.0, 10.0, "ms", "met"),
    (65.6, 50.0, "ms", "MISSED by 15.6 ms (1.3× the target)"),
    (180.0, 120.0, "s", "MISSED by 60.0 s (1.5× the target)"),
    (3.0, None, "s", ""),
    (None, 120.0, "s", "not measured"),
])
def test_benchmark_table_says_by_how_much_a_target_is_missed(value, target, unit, verdict):
    assert Metric("x", value, unit, target).verdict() == verdict


def test_first_map_view_is_memoised_per_model_and_filters(model, cluster):
    """The topology view (GET …/topology/) is computed once per model and filter set — at 150,000 pods
    recomputing it cost seconds per request — and callers may still add keys to what they get."""
    from topology.elements import Filters, topology_elements

    first = topology_elements(model, Filters())
    first["snapshot"] = 1  # what the API view does
    again = topology_elements(model, Filters())
    assert "snapshot" not in again and again["elements"] == first["elements"]
    opened = topology_elements(model, Filters(expand=frozenset({"ns:ns-00000"})))
    assert len(opened["elements"]["nodes"]) > len(again["elements"]["nodes"])
    other = _model(generate(Size(**{**SMALL.__dict__, "services": 6, "pods": 60})))
    assert topology_elements(other, Filters())["total"]["pods"] == 64 != again["total"]["pods"]
