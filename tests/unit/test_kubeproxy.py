"""kube-proxy rules (docs/semantics.md §A) on small hand-built models.

Common topology (`web_model`), three nodes in two zones:

    n1 (z1, 172.20.0.1): [pod client 10.244.1.5]  [pod web-a 10.244.1.10]
    n2 (z2, 172.20.0.2):                          [pod web-b 10.244.2.10]
    n3 (z1, 172.20.0.3):                          [pod web-c 10.244.3.10]
    svc shop/web  ClusterIP 10.96.0.50:80 (name http) → targetPort 8080, NodePort 30080
"""
from __future__ import annotations

import pytest

from tests.unit.conftest import build, endpoints_of, eps, node, pod, policy, rule, svc
from tracer.engine import kubeproxy as kp
from tracer.engine.model import Endpoint, EndpointPort, EndpointSlice, LoadBalancerIngress

NODES = [node("n1", "172.20.0.1", "z1", "10.244.1.0/24"), node("n2", "172.20.0.2", "z2", "10.244.2.0/24"),
         node("n3", "172.20.0.3", "z1", "10.244.3.0/24")]
WEB = {"web-a": ("10.244.1.10", "n1"), "web-b": ("10.244.2.10", "n2"), "web-c": ("10.244.3.10", "n3")}


def web_model(conditions: dict | None = None, *, hints: dict | None = None, pods=("web-a", "web-b", "web-c"),
              extra=(), **svc_kw):
    """`conditions` = {pod: {ready/serving/terminating}}; `hints` = {pod: (zones)}; svc_kw → the Service."""
    conditions = conditions or {}
    hints = hints or {}
    objs = [*NODES, pod("shop", "client", "10.244.1.5", "n1", {"app": "client"})]
    endpoints = []
    for name in pods:
        ip, n = WEB[name]
        objs.append(pod("shop", name, ip, n, {"app": "web"}, ports=[(8080, "TCP", "http")]))
        fields = dict(conditions.get(name, {}))
        if name in hints:
            fields["hint_zones"] = tuple(hints[name])
        fields["zone"] = {"n1": "z1", "n2": "z2", "n3": "z1"}[n]
        endpoints.append((ip, n, name, fields))
    svc_kw.setdefault("type", "NodePort")
    objs.append(svc("shop", "web", "10.96.0.50", [(80, 8080, "TCP", "http", 30080)], selector={"app": "web"},
                    **svc_kw))
    objs.append(eps("shop", "web", endpoints, [("http", 8080, "TCP")]))
    return build(*objs, *extra)


# -- A3 port resolution ------------------------------------------------------------------------------------

MULTI = svc("shop", "api", "10.96.0.60", [(80, 8080, "TCP", "http"), (53, 5353, "UDP", "dns"),
                                          (443, "https", "TCP", "https")])


@pytest.mark.parametrize("port,protocol,expected", [
    (80, "TCP", 80),            # by number
    ("https", "TCP", 443),      # by name
    (53, "UDP", 53),            # protocol must agree
    (53, "TCP", None),          # ... a UDP port does not answer TCP
    (8080, "TCP", None),        # a targetPort is not a service port
    (None, "TCP", None),        # several TCP ports: ambiguous
    (None, "UDP", 53),          # the only UDP port
])
def test_find_service_port(port, protocol, expected):
    sp = kp.find_service_port(MULTI, port, protocol)
    assert (sp.port if sp else None) == expected


def test_missing_port_detail_names_the_service_and_the_fix():
    detail = kp.missing_port_detail(MULTI, 8080, "TCP")
    assert "Service shop/api has no port 8080/TCP" in detail
    assert "targetPort" in detail and "--port http" in detail


# -- A7 slice ports join by name AND protocol; slice port = DNAT port; first address only -----------------

def test_slice_join_by_name_and_protocol_first_address_only():
    """svc shop/db (selector-less) ports: sql 5432/TCP → slices: 'sql' TCP 6432 (joins), 'sql' UDP (no)."""
    s = svc("shop", "db", "10.96.0.70", [(5432, 5432, "TCP", "sql")])
    good = EndpointSlice("shop", "db-1", "db", endpoints=(Endpoint(addresses=("192.0.2.10", "192.0.2.11")),),
                         ports=(EndpointPort(port=6432, protocol="TCP", name="sql"),))
    wrong_proto = EndpointSlice("shop", "db-2", "db", endpoints=(Endpoint(addresses=("192.0.2.20",)),),
                                ports=(EndpointPort(port=5432, protocol="UDP", name="sql"),))
    wrong_name = EndpointSlice("shop", "db-3", "db", endpoints=(Endpoint(addresses=("192.0.2.30",)),),
                               ports=(EndpointPort(port=5432, protocol="TCP", name="other"),))
    m = build(*NODES, s, good, wrong_proto, wrong_name)
    got = kp.service_endpoints(m, s, s.ports[0])
    assert [(e.ip, e.port) for e in got] == [("192.0.2.10", 6432)]


@pytest.mark.parametrize("given,expected", [
    ({}, (True, True, False)),                                        # A6: nil ⇒ ready, serving, not terminating
    ({"ready": False}, (False, False, False)),                        # old slices: serving mirrors ready
    ({"ready": False, "serving": True, "terminating": True}, (False, True, True)),
    ({"ready": True, "serving": None, "terminating": None}, (True, True, False)),
])
def test_nil_conditions(given, expected):
    m = web_model({"web-a": given}, pods=("web-a",))
    ep = kp.service_endpoints(m, m.services["shop/web"], m.services["shop/web"].ports[0])[0]
    assert (ep.ready, ep.serving, ep.terminating) == expected


# -- A17 CategorizeEndpoints -----------------------------------------------------------------------------------

NOT_READY = {"ready": False, "serving": False, "terminating": False}
TERMINATING = {"ready": False, "serving": True, "terminating": True}
GONE = {"ready": False, "serving": False, "terminating": True}


@pytest.mark.parametrize("conditions,expected", [
    ({}, {"web-a", "web-b", "web-c"}),                                        # all ready
    ({"web-a": NOT_READY}, {"web-b", "web-c"}),                               # not ready ⇒ unused
    ({"web-a": TERMINATING}, {"web-b", "web-c"}),                             # ready ones preferred
    ({"web-a": TERMINATING, "web-b": TERMINATING, "web-c": NOT_READY}, {"web-a", "web-b"}),  # fallback
    ({"web-a": GONE, "web-b": TERMINATING, "web-c": NOT_READY}, {"web-b"}),   # not serving: never
], ids=["all-ready", "not-ready-skipped", "ready-preferred", "terminating-fallback", "not-serving-never"])
def test_cluster_policy_endpoint_choice(trace_dict, conditions, expected):
    """[pod client] → svc/web:80 → ready endpoints (else serving+terminating ones), 1/n each."""
    r = trace_dict(web_model(conditions), "pod:shop/client", "svc:shop/web", 80)
    got = endpoints_of(r)
    assert {k.split("/")[-1] for k in got} == expected
    for port, prob in got.values():
        assert port == 8080 and prob == pytest.approx(1 / len(expected))


def test_no_usable_endpoint_rejects(trace_dict):
    """[pod client] → svc/web:80 → (only not-ready endpoints) ⇒ REJECT no-endpoints (A14)."""
    r = trace_dict(web_model({"web-a": NOT_READY, "web-b": GONE}, pods=("web-a", "web-b")),
                   "pod:shop/client", "svc:shop/web", 80)
    assert (r["verdict"], r["reason"]) == ("dropped", "no-endpoints")
    assert "REJECT" in r["paths"][0]["hops"][-1]["detail"]


def test_selector_matching_nothing_is_no_endpoints(trace_dict):
    """[pod client] → svc/web:80 (no slice at all) ⇒ no-endpoints naming the selector."""
    r = trace_dict(web_model(pods=()), "pod:shop/client", "svc:shop/web", 80)
    assert r["reason"] == "no-endpoints"
    assert "app=web" in r["paths"][0]["hops"][-1]["detail"]


# -- A18 topology ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hints,expected", [
    ({"web-a": ["z1"], "web-b": ["z2"], "web-c": ["z1"]}, {"web-a", "web-c"}),   # every endpoint hinted
    ({"web-a": ["z1"], "web-b": ["z2"]}, {"web-a", "web-b", "web-c"}),          # web-c unhinted ⇒ ignored
    ({"web-a": ["z2"], "web-b": ["z2"], "web-c": ["z2"]}, {"web-a", "web-b", "web-c"}),  # none for z1
    ({}, {"web-a", "web-b", "web-c"}),                                         # no hints
])
def test_topology_hints(trace_dict, hints, expected):
    """[pod client @n1 z1] → svc/web: hinted endpoints for z1 only when every ready endpoint has hints."""
    r = trace_dict(web_model(hints=hints), "pod:shop/client", "svc:shop/web", 80)
    assert {k.split("/")[-1] for k in endpoints_of(r)} == expected


def test_prefer_close_hints_each_endpoint_for_its_zone(trace_dict):
    """trafficDistribution: PreferClose, client in z1 ⇒ web-a (z1) and web-c (z1) only."""
    r = trace_dict(web_model(traffic_distribution="PreferClose"), "pod:shop/client", "svc:shop/web", 80)
    assert set(endpoints_of(r)) == {"pod:shop/web-a", "pod:shop/web-c"}


# -- A16 internalTrafficPolicy ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pods,expected", [
    (("web-a", "web-b"), {"pod:shop/web-a"}),      # only the client's node
    (("web-b", "web-c"), "no-local-endpoints"),   # remote endpoints exist but are not used
])
def test_internal_traffic_policy_local(trace_dict, pods, expected):
    """[pod client @n1] → svc/web (internalTrafficPolicy: Local) → endpoints on n1 only, else DROP."""
    r = trace_dict(web_model(pods=pods, internal_traffic_policy="Local"), "pod:shop/client", "svc:shop/web", 80)
    if isinstance(expected, str):
        assert (r["verdict"], r["reason"]) == ("dropped", expected)
        assert "internalTrafficPolicy" in r["paths"][0]["hops"][-1]["detail"]
    else:
        assert set(endpoints_of(r)) == expected


# -- A15 externalTrafficPolicy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("via,expected", [
    ("172.20.0.2:30080", {"pod:shop/web-b"}),      # n2 has web-b: only it
    ("172.20.0.1:30080", "no-local-endpoints"),   # n1 has none: dropped
])
def test_external_traffic_policy_local_nodeport(trace_dict, via, expected):
    """[external] → node:30080 (externalTrafficPolicy: Local) → only that node's endpoints, client IP kept."""
    r = trace_dict(web_model(pods=("web-b", "web-c"), external_traffic_policy="Local"),
                   "external:203.0.113.7", "svc:shop/web", 80, via=via)
    if isinstance(expected, str):
        assert r["reason"] == expected
    else:
        assert set(endpoints_of(r)) == expected
        assert any("keeps the client IP" in h["detail"] for h in r["paths"][0]["hops"])


@pytest.mark.parametrize("source,dest,expected", [
    ("pod:shop/client", "ip:172.20.0.1", {"pod:shop/web-b", "pod:shop/web-c"}),  # pod on the receiving node
    ("node:n1", "ip:172.20.0.1", {"pod:shop/web-b", "pod:shop/web-c"}),          # node itself
    ("pod:shop/client", "ip:172.20.0.2", {"pod:shop/web-b"}),                    # another node: Local there
    ("node:n1", "ip:172.20.0.3", {"pod:shop/web-c"}),
])
def test_external_traffic_policy_local_and_cluster_sources(trace_dict, source, dest, expected):
    """[pod client @n1 | node n1] → nodeIP:30080 (Local; endpoints on n2, n3): sources ON the receiving node get
    Cluster behaviour (A15); from another node the NodePort is external traffic there, Local applies."""
    r = trace_dict(web_model(pods=("web-b", "web-c"), external_traffic_policy="Local"), source, dest, 30080)
    assert set(endpoints_of(r)) == expected


def test_in_cluster_lb_address_gets_cluster_behaviour(trace_dict):
    """[pod client @n1] → LB 198.51.100.5:80 (Local; no endpoint on n1): captured on n1, Cluster behaviour."""
    m = web_model(pods=("web-b", "web-c"), type="LoadBalancer", external_traffic_policy="Local",
                  lb_ips=["198.51.100.5"])
    assert set(endpoints_of(trace_dict(m, "pod:shop/client", "ip:198.51.100.5", 80))) == {"pod:shop/web-b",
                                                                                         "pod:shop/web-c"}


def test_load_balancer_local_spreads_over_healthy_nodes(trace_dict):
    """[external] → LB 198.51.100.5:80 (Local; web-a@n1, web-b@n2, web-c@n3, plus web-a2@n1)
    → the LB sends 1/3 to each node with a local endpoint, then 1/k among that node's endpoints."""
    extra_pod = pod("shop", "web-a2", "10.244.1.11", "n1", {"app": "web"}, ports=[(8080, "TCP", "http")])
    m = web_model(type="LoadBalancer", external_traffic_policy="Local", lb_ips=["198.51.100.5"],
                  health_check_node_port=32000, extra=(extra_pod,))
    m.slices_by_service["shop/web"].append(eps("shop", "web", [("10.244.1.11", "n1", "web-a2")],
                                               [("http", 8080, "TCP")], name="web-y"))
    r = trace_dict(m, "external:203.0.113.7", "svc:shop/web", 80)
    got = endpoints_of(r)
    assert got["pod:shop/web-b"][1] == pytest.approx(1 / 3)
    assert got["pod:shop/web-c"][1] == pytest.approx(1 / 3)
    assert got["pod:shop/web-a"][1] == pytest.approx(1 / 6)
    assert got["pod:shop/web-a2"][1] == pytest.approx(1 / 6)
    assert "healthCheckNodePort 32000" in r["paths"][0]["hops"][1]["detail"]


# -- A13 SNAT as NetworkPolicy sees it --------------------------------------------------------------------------

def test_external_cluster_traffic_is_masqueraded_to_the_node_ip(trace_dict):
    """[external 203.0.113.7] → n1:30080 (Cluster) → web-b@n2. Policy on web allows only 203.0.113.0/24:
    after SNAT the source is node n1's IP, so it is denied; with Local the client IP is kept."""
    from tracer.engine.model import IPBlock, PolicyPeer, PolicyRule
    pol = policy("shop", "from-clients", {"app": "web"},
                 ingress=[PolicyRule(peers=(PolicyPeer(ip_block=IPBlock(cidr="203.0.113.0/24")),))])
    m = web_model(pods=("web-b",), extra=(pol,))
    r = trace_dict(m, "external:203.0.113.7", "svc:shop/web", 80, via="172.20.0.1:30080")
    assert r["reason"] == "policy-ingress-denied"
    assert "172.20.0.1" in r["paths"][0]["hops"][-1]["detail"]
    m = web_model(pods=("web-b",), extra=(pol,), external_traffic_policy="Local")
    r = trace_dict(m, "external:203.0.113.7", "svc:shop/web", 80, via="172.20.0.2:30080")
    assert r["verdict"] == "delivered"


def test_cluster_ip_keeps_the_client_ip_for_policy(trace_dict):
    """[pod client] → svc/web → web-b; policy on web allows only app=client pods ⇒ delivered (no SNAT)."""
    pol = policy("shop", "from-client", {"app": "web"}, ingress=[rule(pods={"app": "client"})])
    r = trace_dict(web_model(pods=("web-b",), extra=(pol,)), "pod:shop/client", "svc:shop/web", 80)
    assert r["verdict"] == "delivered"
    assert any(h["id"] == "networkpolicy:shop/from-client" and h["action"] == "ingress-allow"
               for h in r["paths"][0]["hops"])


# -- A12 / A20 / A11 ------------------------------------------------------------------------------------------------

def test_iptables_probability_chain(trace_dict):
    """[pod client] → svc/web with 3 endpoints: rules match with 1/3, 1/2, then the rest; 1/3 each overall."""
    r = trace_dict(web_model(), "pod:shop/client", "svc:shop/web", 80)
    details = [next(h["detail"] for h in p["hops"] if h["kind"] == "kube-proxy") for p in r["paths"]]
    assert "--probability 1/3" in details[0]
    assert "--probability 1/2" in details[1]
    assert "rule 3/3" in details[2]
    assert all(d.startswith("10.96.0.50:80/TCP") and "KUBE-SVC-" in d for d in details)
    assert sum(p["probability"] for p in r["paths"]) == pytest.approx(1.0)


@pytest.mark.parametrize("mode,word", [("ipvs", "IPVS virtual server"), ("nftables", "numgen random")])
def test_other_proxy_modes_same_outcome_different_story(trace_dict, mode, word):
    base = trace_dict(web_model(), "pod:shop/client", "svc:shop/web", 80)
    r = trace_dict(web_model(), "pod:shop/client", "svc:shop/web", 80, proxy_mode=mode)
    assert endpoints_of(r) == endpoints_of(base)
    assert all(word in next(h["detail"] for h in p["hops"] if h["kind"] == "kube-proxy") for p in r["paths"])
    assert any(mode in a.lower() or "ipvs" in a.lower() for a in r["assumptions"])


def test_session_affinity_lists_every_endpoint_and_says_it_sticks(trace_dict):
    r = trace_dict(web_model(session_affinity="ClientIP", session_affinity_timeout=600),
                   "pod:shop/client", "svc:shop/web", 80)
    assert len(endpoints_of(r)) == 3
    assert all("sticks to the endpoint" in next(h["detail"] for h in p["hops"] if h["kind"] == "kube-proxy")
               and "600s" in next(h["detail"] for h in p["hops"] if h["kind"] == "kube-proxy")
               for p in r["paths"])


# -- A8 / A9 / A10 / A22 ----------------------------------------------------------------------------------------------

def test_external_ip_is_external_traffic(trace_dict):
    """[external] → 192.0.2.50:80 (spec.externalIPs of svc/web) → endpoints, masqueraded."""
    r = trace_dict(web_model(external_ips=("192.0.2.50",)), "external:203.0.113.7", "ip:192.0.2.50", 80)
    assert len(endpoints_of(r)) == 3
    r = trace_dict(web_model(external_ips=("192.0.2.50",)), "external:203.0.113.7", "ip:192.0.2.50", 81)
    assert r["reason"] == "no-service-port"


@pytest.mark.parametrize("client,expected", [("203.0.113.7", "delivered"), ("192.0.2.99", "source-range-denied")])
def test_load_balancer_source_ranges(trace_dict, client, expected):
    """[external] → LB 198.51.100.5:80 with loadBalancerSourceRanges 203.0.113.0/24."""
    m = web_model(type="LoadBalancer", lb_ips=["198.51.100.5"], lb_source_ranges=("203.0.113.0/24",))
    r = trace_dict(m, f"external:{client}", "ip:198.51.100.5", 80)
    assert (r["reason"] or r["verdict"]) == expected


def test_source_ranges_do_not_filter_node_ports(trace_dict):
    m = web_model(type="LoadBalancer", lb_ips=["198.51.100.5"], lb_source_ranges=("203.0.113.0/24",))
    r = trace_dict(m, "external:192.0.2.99", "ip:172.20.0.2", 30080)
    assert r["verdict"] == "delivered"


def test_lb_ip_mode_proxy_is_not_captured_in_cluster(trace_dict):
    """[pod client] → LB address with ipMode Proxy: the LB (outside) proxies; the story says so."""
    m = web_model(type="LoadBalancer")
    m.services["shop/web"].lb_ingress = (LoadBalancerIngress(ip="198.51.100.6", ip_mode="Proxy"),)
    m.services_by_lb_ip["198.51.100.6"].append(m.services["shop/web"])
    r = trace_dict(m, "pod:shop/client", "ip:198.51.100.6", 80)
    assert r["verdict"] == "delivered"
    assert any("ipMode Proxy" in h["detail"] for h in r["paths"][0]["hops"])


def test_service_proxy_name_label_is_skipped(trace_dict):
    m = web_model(labels={"service.kubernetes.io/service-proxy-name": "other-proxy"})
    r = trace_dict(m, "pod:shop/client", "svc:shop/web", 80)
    assert r["reason"] == "no-endpoints"
    assert "service-proxy-name" in r["paths"][0]["hops"][-1]["detail"]


def test_no_service_port_on_node_port(trace_dict):
    r = trace_dict(web_model(), "external:203.0.113.7", "ip:172.20.0.1", 30999)
    assert r["reason"] == "no-listener"  # a node address where nothing listens (H4), not a Service's missing port
    assert "node n1" in r["paths"][0]["hops"][-1]["detail"]


# -- A21 node networking ------------------------------------------------------------------------------------------------

def test_host_port_maps_only_on_that_node(trace_dict):
    """[external] → n2:8443 (hostPort of pod edge@n2, containerPort 443) → edge:443; n1:8443 → nothing."""
    edge = pod("shop", "edge", "10.244.2.20", "n2", {"app": "edge"}, host_ports=[(443, 8443)])
    m = build(*NODES, edge)
    r = trace_dict(m, "external:203.0.113.7", "ip:172.20.0.2", 8443)
    assert endpoints_of(r) == {"pod:shop/edge": (443, 1.0)}
    r = trace_dict(m, "external:203.0.113.7", "ip:172.20.0.1", 8443)
    assert r["reason"] == "no-listener"


def test_host_network_pod_is_reached_on_its_node_ip(trace_dict):
    """[pod client] → svc/agent → hostNetwork pod agent@n2 whose endpoint IP is node n2's IP."""
    agent = pod("shop", "agent", "172.20.0.2", "n2", {"app": "agent"}, ports=[(9100, "TCP", "metrics")],
                host_network=True, host_ip="172.20.0.2")
    s = svc("shop", "agent", "10.96.0.80", [(9100, 9100, "TCP", "metrics")], selector={"app": "agent"})
    sl = eps("shop", "agent", [("172.20.0.2", "n2", "agent")], [("metrics", 9100, "TCP")])
    m = build(*NODES, pod("shop", "client", "10.244.1.5", "n1"), agent, s, sl)
    assert endpoints_of(trace_dict(m, "pod:shop/client", "svc:shop/agent", 9100)) == {"pod:shop/agent": (9100, 1.0)}
    assert endpoints_of(trace_dict(m, "pod:shop/client", "ip:172.20.0.2", 9100)) == {"pod:shop/agent": (9100, 1.0)}


def test_hairpin_is_masqueraded(trace_dict):
    """[pod web-a] → svc/web → web-a itself: hairpin SNAT to the node IP, still allowed (self)."""
    r = trace_dict(web_model(pods=("web-a",)), "pod:shop/web-a", "svc:shop/web", 80)
    assert r["verdict"] == "delivered"
    assert "hairpin" in next(h["detail"] for h in r["paths"][0]["hops"] if h["kind"] == "kube-proxy")


@pytest.mark.parametrize("spread_limit,nodes", [(64, {"node:n1", "node:n2", "node:n3"}),  # every node shown
                                                 (0, {"node:n1", "node:n2"})])               # one per zone
def test_load_balancer_cluster_with_topology_hints_weighs_zones_by_node_count(trace_dict, monkeypatch,
                                                                              spread_limit, nodes):
    """[external] → LB (Cluster; hints web-a→z1, web-b→z2, web-c→z2): zone z1 holds n1+n3 (2/3 of the nodes)
    and sends to web-a only; z2 holds n2 (1/3) and splits over web-b and web-c. Large clusters show one node
    per zone, weighted by the zone's share of nodes; the outcome is the same."""
    from tracer.engine import loadbalancer
    monkeypatch.setattr(loadbalancer, "SPREAD_LIMIT", spread_limit)
    m = web_model(type="LoadBalancer", lb_ips=["198.51.100.5"], hints={"web-a": ["z1"], "web-b": ["z2"],
                                                                       "web-c": ["z2"]})
    r = trace_dict(m, "external:203.0.113.7", "svc:shop/web", 80)
    assert endpoints_of(r) == {"pod:shop/web-a": (8080, pytest.approx(2 / 3)),
                               "pod:shop/web-b": (8080, pytest.approx(1 / 6)),
                               "pod:shop/web-c": (8080, pytest.approx(1 / 6))}
    assert {p["hops"][2]["id"] for p in r["paths"]} == nodes


def test_load_balancer_snat_address_depends_on_the_node(trace_dict):
    """[external] → LB (Cluster) → web-b@n2 whose policy admits only app=client pods: via n2 the SNAT source is
    n2 itself (own node: always allowed, E11); via n1 and n3 it is another node's IP: denied ⇒ partial 1/3."""
    pol = policy("shop", "web-from-client", {"app": "web"}, ingress=[rule(pods={"app": "client"})])
    m = web_model(pods=("web-b",), type="LoadBalancer", lb_ips=["198.51.100.5"], extra=(pol,))
    r = trace_dict(m, "external:203.0.113.7", "svc:shop/web", 80)
    assert (r["verdict"], r["reason"]) == ("partial", "policy-ingress-denied")
    assert endpoints_of(r) == {"pod:shop/web-b": (8080, pytest.approx(1 / 3))}


@pytest.mark.parametrize("port,first_service_hop", [
    (80, "externalIP"),      # the service port on its externalIP (A8)
    (30080, "NodePort"),     # the same address is also node n2's: its NodePorts still answer (A21)
])
def test_external_ip_that_is_a_node_address(trace_dict, port, first_service_hop):
    """svc/web externalIPs: [172.20.0.2] (= node n2). [external] → 172.20.0.2:80 | :30080 → web endpoints."""
    r = trace_dict(web_model(external_ips=("172.20.0.2",)), "external:203.0.113.7", "ip:172.20.0.2", port)
    assert len(endpoints_of(r)) == 3
    svc_hop = next(h for h in r["paths"][0]["hops"] if h["kind"] == "service")
    assert first_service_hop in svc_hop["detail"]
