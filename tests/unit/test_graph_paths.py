"""Every hop sequence a trace returns is a path of the forwarding graph (tracer/engine/graph.py).

    trace(model, flow) ──► paths ──► hops ──► vertices (graph.path_of) ──► consecutive vertices joined by an edge
                                                                           of forwarding_graph(model) (or one relay)

Property-based (hypothesis) over random flows on the demo cluster (materialised), the example cluster
(tests/fixtures/examples/cluster-b.yaml) and generated clusters (bench/generate.py, two seeds). Also: the map's
graph is built from the same successor functions the trace walks (graph.adjacency), and a load balancer's
backend nodes in a trace are exactly the graph's lb → node edges (externalTrafficPolicy lives in one function).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.fixtures import FIXTURES
from tracer.engine import graph as graphmod
from tracer.engine import traffic_policy
from tracer.engine.cluster import ClusterModel
from tracer.engine.errors import TracerError
from tracer.engine.flow import make_flow
from tracer.engine.graph import adjacency, forwarding_graph, is_path, path_of, vertex_id
from tracer.engine.trace import trace

from .conftest import build, eps, node, pod, svc

REPO = Path(__file__).resolve().parents[2]
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _materialized(docs, materialize=True) -> ClusterModel:
    from topology.importers import build_objects

    return ClusterModel(build_objects(docs, materialize=materialize).objects)


@functools.cache
def cluster(name: str) -> ClusterModel:
    from topology.importers.load import load_documents

    if name == "demo":
        return _materialized(load_documents(REPO / "demo"))
    if name == "example":
        return _materialized(load_documents(FIXTURES / "examples" / "cluster-b.yaml"), materialize=False)
    from bench.generate import Size, generate

    seed = int(name.split("-")[1])
    c = generate(Size(nodes=4, pods=120, services=14, policies=10, ingresses=3, seed=seed))
    docs = load_documents(json.dumps(c).encode(), "cluster.json")
    return _materialized(docs, materialize=False)


CLUSTERS = ["demo", "example", "generated-3", "generated-8"]


def flows(m: ClusterModel):
    """(sources, destinations) that exist in `m`: pods, nodes and a client outside; services, names, pod and
    node and load-balancer addresses (with their ports), Ingress URLs."""
    pods = [p for p in m.objects.pods if p.ip and p.phase not in ("Pending", "Succeeded", "Failed")]
    sources = [f"pod:{p.key}" for p in pods[:40]] + [f"node:{n}" for n in sorted(m.nodes)[:3]]
    sources += ["external:203.0.113.9", "external:192.0.2.10"]
    dests: list[tuple[str, int | None, str | None]] = []
    for s in m.objects.services:
        for sp in s.ports[:2]:
            dests.append((f"svc:{s.key}", sp.port, None))
            dests.append((f"dns:{s.name}.{s.namespace}", sp.port, None))
            if s.cluster_ip and s.cluster_ip != "None":
                dests.append((f"ip:{s.cluster_ip}", sp.port, None))
            for ing in s.lb_ingress:
                if ing.ip:
                    dests.append((f"ip:{ing.ip}", sp.port, None))
            if sp.node_port:
                for n in sorted(m.nodes)[:2]:
                    ip = m.nodes[n].internal_ip
                    if ip:
                        dests.append((f"ip:{ip}", sp.node_port, None))
                        dests.append((f"svc:{s.key}", sp.port, f"{ip}:{sp.node_port}"))
    for p in pods[:20]:
        dests.append((f"ip:{p.ip}", 8080, None))
    for ing in m.ingresses:
        for r in ing.rules:
            for path in r.paths[:2]:
                host = r.host or "example.org"
                dests.append((f"url:http://{host}{path.path or '/'}", None, None))
                dests.append((f"url:https://{host}{path.path or '/'}", None, None))
    dests.append(("dns:example.org", 443, None))
    return sources, dests


@SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("name", CLUSTERS)
def test_every_trace_path_is_a_path_of_the_forwarding_graph(name, data):
    m = cluster(name)
    sources, dests = flows(m)
    source = data.draw(st.sampled_from(sources), label="from")
    dest, port, via = data.draw(st.sampled_from(dests), label="to")
    if via and not source.startswith("external:"):
        via = None
    try:
        result = trace(m, make_flow(source, dest, port, None, via))
    except TracerError as exc:  # an unusable request (e.g. a pod that cannot send): not a path to check
        event(f"refused: {type(exc).__name__}")
        return
    g = forwarding_graph(m)
    assert result.paths
    for p in result.paths:
        # a dropped path's last hop is the refusal (which object, which field), not a place the packet reached
        walk = path_of(p.hops[:-1] if p.verdict == "dropped" else p.hops)
        ok, why = is_path(g, walk)
        assert ok, f"{source} → {dest}: {[h.id for h in p.hops]}: {why}"
        first = graphmod.ref_vertex(p.source)
        assert walk[0] == first, (walk, first)
        for u, v in zip(walk, walk[1:], strict=False):  # an LB hands its traffic only to its backend nodes
            if u.startswith("lb:") and v.startswith("node:"):
                assert g.edges[u, v]["kind"] == "backend"
    event(f"verdict {result.verdict}")


@pytest.mark.parametrize("name", CLUSTERS)
def test_the_map_graph_and_the_walk_share_their_edges(name):
    """forwarding_graph (the map) is the union of the successor functions the trace walks, vertex by vertex."""
    m = cluster(name)
    g = forwarding_graph(m)
    adj = adjacency(m)
    for v, attrs in list(g.nodes(data=True))[:400]:
        kind = attrs["kind"]
        key = "" if kind in graphmod.SINGLETONS else v.split(":", 1)[1]
        walked = {u: e for u, (_k, _key, e) in adj.successors(kind, key).items()}
        assert walked == {u: d["kind"] for u, d in g.adj[v].items()}, v


def _local_lb_model():
    """[external] → LB 198.51.100.5 (externalTrafficPolicy Local) → only n2 holds a web endpoint."""
    return build(node("n1", "172.20.0.1"), node("n2", "172.20.0.2"), node("n3", "172.20.0.3"),
                 pod("shop", "web-0", "10.244.2.7", "n2", {"app": "web"}),
                 svc("shop", "web", "10.96.0.30", [(80, 8080, "TCP", "http", 30081)], type="LoadBalancer",
                     selector={"app": "web"}, lb_ips=["198.51.100.5"], external_traffic_policy="Local"),
                 eps("shop", "web", [("10.244.2.7", "n2", "web-0")], [("http", 8080, "TCP")]))


def test_external_traffic_policy_local_is_one_function_the_map_and_the_trace_follow(monkeypatch):
    """traffic_policy.lb_backend_nodes decides the LB's nodes: the map's lb → node edges and the trace's nodes
    change together when it does."""
    m = _local_lb_model()
    lb = vertex_id("load-balancer", "198.51.100.5")
    assert sorted(forwarding_graph(m).successors(lb)) == ["node:n2", "svc:shop/web"]
    r = trace(m, make_flow("external:203.0.113.9", "ip:198.51.100.5", 80))
    assert {h.ref.name for p in r.paths for h in p.hops if h.kind == "node"} == {"n2"}

    monkeypatch.setattr(traffic_policy, "lb_backend_nodes", lambda model, s: ["n1", "n2"])
    monkeypatch.setattr(graphmod, "lb_backend_nodes", traffic_policy.lb_backend_nodes)
    m = _local_lb_model()  # a fresh model: graphs are cached per model
    assert sorted(forwarding_graph(m).successors(lb)) == ["node:n1", "node:n2", "svc:shop/web"]
    r = trace(m, make_flow("external:203.0.113.9", "ip:198.51.100.5", 80))
    assert {h.ref.name for p in r.paths for h in p.hops if h.kind == "node" and h.action == "receive"} == {"n1", "n2"}
    dropped = [p for p in r.paths if p.verdict == "dropped"]
    assert [p.reason for p in dropped] == ["no-local-endpoints"]  # n1 has no endpoint: kube-proxy drops it there


def test_a_registered_entry_kind_runs_before_the_built_in_destinations(monkeypatch):
    """trace.add_entry: an entry kind sees every flow first and takes the ones it returns paths for; the others
    go on to the built-in destinations."""
    from tracer.engine import trace as trace_mod
    from tracer.engine.result import Hop, Ref

    def entry(tracer, src, hops, prob, dest):
        if dest.kind != "url" or dest.parts[1] != "special.example":
            return None
        hop = Hop("endpoint", Ref("external", "", "special.example"), "deliver", "taken by the registered entry")
        return tracer.deliver(src, hops, prob, Ref("external", "", "special.example"), 443, hop)

    monkeypatch.setattr(trace_mod, "ENTRIES", [])
    assert trace_mod.add_entry(entry) is entry and trace_mod.add_entry(entry) is entry
    assert trace_mod.ENTRIES == [entry]
    m = _local_lb_model()
    r = trace(m, make_flow("external:203.0.113.9", "url:https://special.example/"))
    assert [(p.verdict, p.endpoint.id, p.hops[-1].detail) for p in r.paths] == [
        ("delivered", "external:special.example", "taken by the registered entry")]
    other = trace(m, make_flow("external:203.0.113.9", "ip:198.51.100.5", 80))
    assert other.paths and all(h.detail != "taken by the registered entry" for p in other.paths for h in p.hops)


def _two_backends_model():
    """client → Service shop/web (ClusterIP) → web-0 and web-1 on n1; web-2 serves hostPort 9090 on n1."""
    return build(node("n1", "172.20.0.1"),
                 pod("shop", "client", "10.244.1.9", "n1", {"app": "client"}),
                 pod("shop", "web-0", "10.244.1.7", "n1", {"app": "web"}),
                 pod("shop", "web-1", "10.244.1.8", "n1", {"app": "web"}),
                 pod("shop", "web-2", "10.244.1.6", "n1", {"app": "edge"}, host_ports=((8080, 9090),)),
                 svc("shop", "web", "10.96.0.30", [(80, 8080, "TCP", "http")], selector={"app": "web"}),
                 eps("shop", "web", [("10.244.1.7", "n1", "web-0"), ("10.244.1.8", "n1", "web-1")],
                     [("http", 8080, "TCP")]))


def _without(monkeypatch, kind: str, dropped: str):
    """The successor function of `kind` without its edges to vertex `dropped` (as if the graph said so)."""
    original = graphmod.SUCCESSORS[kind]
    monkeypatch.setitem(graphmod.SUCCESSORS, kind, lambda m, key: [
        e for e in original(m, key) if vertex_id(e[0], e[1]) != dropped])


def test_the_walk_takes_its_next_vertices_from_the_graph(monkeypatch):
    """The graph's edges are the walk's candidates; the decisions only filter them. Remove the svc → web-1 edge
    and kube-proxy balances over web-0 alone; remove the node → web-2 edge and the hostPort has no pod behind it."""
    m = _two_backends_model()
    r = trace(m, make_flow("pod:shop/client", "svc:shop/web", 80))
    assert sorted((p.endpoint.id, p.probability) for p in r.paths) == [("pod:shop/web-0", 0.5),
                                                                       ("pod:shop/web-1", 0.5)]
    r = trace(m, make_flow("pod:shop/client", "ip:172.20.0.1", 9090))
    assert [(p.verdict, p.endpoint.id) for p in r.paths] == [("delivered", "pod:shop/web-2")]

    _without(monkeypatch, "service", "pod:shop/web-1")
    _without(monkeypatch, "node", "pod:shop/web-2")
    m = _two_backends_model()  # a fresh model: the walk's successors are cached per model
    assert "pod:shop/web-1" not in forwarding_graph(m).adj["svc:shop/web"]  # the map follows the same functions
    r = trace(m, make_flow("pod:shop/client", "svc:shop/web", 80))
    assert [(p.endpoint.id, p.probability) for p in r.paths] == [("pod:shop/web-0", 1.0)]
    dnat = next(h.detail for h in r.paths[0].hops if h.kind == "kube-proxy" and h.action == "dnat")
    assert "1/2" not in dnat and "10.244.1.8" not in dnat
    r = trace(m, make_flow("pod:shop/client", "ip:172.20.0.1", 9090))
    assert [(p.verdict, p.reason) for p in r.paths] == [("dropped", "no-listener")]


def _demo_url(m, url: str):
    r = trace(m, make_flow("external:203.0.113.9", url, None))
    return sorted({(p.verdict, p.reason, p.http["status"] if p.http else None, p.http and p.http["backend"])
                   for p in r.paths})


def test_ingress_routing_chooses_among_the_graph_edges(monkeypatch):
    """The demo's ingress-nginx serves Ingress shop/storefront (/ → shop/frontend, /catalog → shop/catalog).
    Ingress routing picks its Ingress from the graph's ingress-controller → ingress edges and its backend among
    the ingress → svc edges: remove ingress → svc:shop/catalog and /catalog answers 503 while / still reaches
    frontend; remove the controller → ingress edge and no Ingress routes the request at all."""
    from topology.importers.load import load_documents

    def demo():  # a fresh model each time: the walk's successors are cached per model
        return _materialized(load_documents(REPO / "demo"))

    m = demo()
    assert _demo_url(m, "url:http://shop.example.com/catalog") == [("delivered", None, 200, "shop/catalog")]
    assert _demo_url(m, "url:http://shop.example.com/") == [("delivered", None, 200, "shop/frontend")]

    _without(monkeypatch, "ingress", "svc:shop/catalog")
    m = demo()
    assert _demo_url(m, "url:http://shop.example.com/catalog") == [("dropped", "no-endpoints", 503, "shop/catalog")]
    assert _demo_url(m, "url:http://shop.example.com/") == [("delivered", None, 200, "shop/frontend")]

    _without(monkeypatch, "ingress-controller", "ingress:shop/storefront")
    m = demo()
    ctrl = "ingress-controller:ingress-nginx/ingress-nginx-controller"
    assert "ingress:shop/storefront" not in forwarding_graph(m).adj[ctrl]  # the map follows the same functions
    assert _demo_url(m, "url:http://shop.example.com/") == [("dropped", "ingress-no-match", None, None)]


def test_gateway_routing_chooses_its_backends_among_the_graph_edges(monkeypatch):
    """tests/fixtures/gateway-shop: Gateway edge/web sends /api 90/10 to shop/api-v1 and shop/api-v2. Its backends
    are chosen among the graph's gateway → svc edges: remove the edge to shop/api-v2 and that tenth of the
    requests is answered 500 by the Gateway instead of reaching api-v2."""
    from topology.importers.load import load_documents

    def shares(m):
        r = trace(m, make_flow("external:203.0.113.9", "url:http://shop.example.com/api", None))
        out: dict = {}
        for p in r.paths:
            key = (p.verdict, p.reason, p.http and p.http["status"], p.http and p.http["backend"])
            out[key] = round(out.get(key, 0) + p.probability, 6)
        return out

    fixture = FIXTURES / "gateway-shop"
    assert shares(_materialized(load_documents(fixture))) == {("delivered", None, 200, "shop/api-v1"): 0.9,
                                                             ("delivered", None, 200, "shop/api-v2"): 0.1}
    _without(monkeypatch, "gateway", "svc:shop/api-v2")
    assert shares(_materialized(load_documents(fixture))) == {("delivered", None, 200, "shop/api-v1"): 0.9,
                                                             ("dropped", "backend-unavailable", 500, None): 0.1}


def test_the_default_node_port_entry_is_an_external_to_node_edge(monkeypatch):
    """An outside client of a NodePort Service enters on the first ready node by name that the graph's
    external → node (node-port) edges reach; without the edge to n1 it enters on n2."""
    def model():
        return build(node("n1", "172.20.0.1"), node("n2", "172.20.0.2"),
                     pod("shop", "web-0", "10.244.1.7", "n1", {"app": "web"}),
                     svc("shop", "web", "10.96.0.30", [(80, 8080, "TCP", "http", 30080)], type="NodePort",
                         selector={"app": "web"}),
                     eps("shop", "web", [("10.244.1.7", "n1", "web-0")], [("http", 8080, "TCP")]))

    def entry_node(m):
        r = trace(m, make_flow("external:203.0.113.9", "svc:shop/web", 80))
        assert [p.verdict for p in r.paths] == ["delivered"]
        return [n for n in ("n1", "n2") if f"on the first ready node by name, {n}" in " ".join(r.assumptions)]

    assert entry_node(model()) == ["n1"]
    _without(monkeypatch, "external", "node:n1")
    assert entry_node(model()) == ["n2"]


def test_the_node_forward_step_follows_the_pod_to_node_edges(monkeypatch):
    """client on n1 → Service → web-0 on n2: the CNI forwards to the node of web-0's pod → node edge; a source's
    node is its own pod → node edge. Point web-0's edge at n3 and the forward hop names n3."""
    def model():
        return build(node("n1", "172.20.0.1"), node("n2", "172.20.0.2"), node("n3", "172.20.0.3"),
                     pod("shop", "client", "10.244.1.9", "n1", {"app": "client"}),
                     pod("shop", "web-0", "10.244.2.7", "n2", {"app": "web"}),
                     svc("shop", "web", "10.96.0.30", [(80, 8080, "TCP", "http")], selector={"app": "web"}),
                     eps("shop", "web", [("10.244.2.7", "n2", "web-0")], [("http", 8080, "TCP")]))

    def forwards(m):
        r = trace(m, make_flow("pod:shop/client", "svc:shop/web", 80))
        assert [p.verdict for p in r.paths] == ["delivered"]
        return [h.ref.name for h in r.paths[0].hops if h.kind == "node" and h.action == "forward"]

    assert forwards(model()) == ["n2"]
    original = graphmod.SUCCESSORS["pod"]
    monkeypatch.setitem(graphmod.SUCCESSORS, "pod", lambda m, key: [
        ("node", "n3", "send") if (key, e[0], e[2]) == ("shop/web-0", "node", "send") else e
        for e in original(m, key)])
    assert forwards(model()) == ["n3"]
