"""trace(): every SOURCE and DESTINATION form, every REASON code, probabilities, the graph.

Topology (`shop_model`):
    n1 172.20.0.1 (z1, pods 10.244.1.0/24)        n2 172.20.0.2 (z2, pods 10.244.2.0/24)
    ns shop:  [front-0 @n1] [front-1 @n2]  (Deployment front)
              [cart-0 @n1]:7070 [cart-1 @n2]:7070 ← svc cart 10.96.0.20:80 (http, NodePort 30080)
              [web-0 @n2]:8080 ← svc web LoadBalancer 198.51.100.10:80 (NodePort 30081)
              svc empty 10.96.0.40:80 (selector matches nothing)
    ns edge:  [nginx-0 @n1] ingress-nginx controller :80/:443 ← svc nginx LoadBalancer 198.51.100.80
    Ingress shop/site (class nginx): shop.example.com / → web:80 ; /cart (Exact) → cart:80 ; /old → web:9999
    Ingress shop/orphan (class missing): orphan.example.com / → web:80
"""
from __future__ import annotations

import pytest

from tests.unit.conftest import build, endpoints_of, eps, ingress, node, pod, policy, rule, svc
from tracer.engine.errors import BadRequest
from tracer.engine.flow import make_flow, parse_flow_request
from tracer.engine.graph import forwarding_graph, is_path, path_of
from tracer.engine.model import Container, ContainerPort, IngressClass, IngressTLS, Secret
from tracer.engine.result import REASONS, TraceResult
from tracer.engine.trace import trace


def nginx_pod():
    p = pod("edge", "nginx-0", "10.244.1.50", "n1", {"app.kubernetes.io/name": "ingress-nginx",
                                                      "app.kubernetes.io/component": "controller"})
    p.containers = (Container(name="controller", image="registry.k8s.io/ingress-nginx/controller:v1.11.0",
                              args=("/nginx-ingress-controller", "--controller-class=k8s.io/ingress-nginx"),
                              ports=(ContainerPort(80, "TCP", "http"), ContainerPort(443, "TCP", "https"))),)
    return p


def shop_model(*extra):
    wl = ("Deployment", "front")
    return build(
        node("n1", "172.20.0.1", "z1", "10.244.1.0/24"), node("n2", "172.20.0.2", "z2", "10.244.2.0/24"),
        pod("shop", "front-0", "10.244.1.5", "n1", {"app": "front"}, workload=wl),
        pod("shop", "front-1", "10.244.2.5", "n2", {"app": "front"}, workload=wl),
        pod("shop", "cart-0", "10.244.1.6", "n1", {"app": "cart"}, ports=[(7070, "TCP", "grpc")]),
        pod("shop", "cart-1", "10.244.2.6", "n2", {"app": "cart"}, ports=[(7070, "TCP", "grpc")]),
        svc("shop", "cart", "10.96.0.20", [(80, "grpc", "TCP", "http", 30080)], type="NodePort",
            selector={"app": "cart"}),
        eps("shop", "cart", [("10.244.1.6", "n1", "cart-0"), ("10.244.2.6", "n2", "cart-1")],
            [("http", 7070, "TCP")]),
        pod("shop", "web-0", "10.244.2.7", "n2", {"app": "web"}, ports=[(8080, "TCP", "http")]),
        svc("shop", "web", "10.96.0.30", [(80, 8080, "TCP", "http", 30081)], type="LoadBalancer",
            selector={"app": "web"}, lb_ips=["198.51.100.10"]),
        eps("shop", "web", [("10.244.2.7", "n2", "web-0")], [("http", 8080, "TCP")]),
        svc("shop", "empty", "10.96.0.40", [(80, 80, "TCP", "http")], selector={"app": "nothing"}),
        nginx_pod(),
        svc("edge", "nginx", "10.96.0.80", [(80, "http", "TCP", "http", 30900), (443, "https", "TCP", "https", 30943)],
            type="LoadBalancer", selector={"app.kubernetes.io/name": "ingress-nginx"}, lb_ips=["198.51.100.80"]),
        eps("edge", "nginx", [("10.244.1.50", "n1", "nginx-0")], [("http", 80, "TCP"), ("https", 443, "TCP")]),
        IngressClass(name="nginx", controller="k8s.io/ingress-nginx"),
        ingress("shop", "site", [("shop.example.com", [("/", "Prefix", "web", 80), ("/cart", "Exact", "cart", "http"),
                                                       ("/old", "Prefix", "web", 9999)])], class_name="nginx"),
        ingress("shop", "orphan", [("orphan.example.com", [("/", "Prefix", "web", 80)])], class_name="missing"),
        *extra,
    )


def run(model, source, dest, port=None, via=None, **assume):
    from tracer.engine.assumptions import Assumptions
    return trace(model, make_flow(source, dest, port, None, via), Assumptions(**assume))


# -- every REASON code ----------------------------------------------------------------------------------------

DENY_CART = policy("shop", "cart-from-nobody", {"app": "cart"})
DENY_FRONT_EGRESS = policy("shop", "front-no-egress", {"app": "front"}, types=("Egress",),
                           egress=[rule(namespaces={"kubernetes.io/metadata.name": "kube-system"},
                                        ports=[(53, "UDP")])])
REASON_CASES = {
    # reason: (extra objects, from, to, port, via)
    "dns-nxdomain": ((), "pod:shop/front-0", "dns:nowhere", 80, None),
    "unknown-destination": ((), "pod:shop/front-0", "ip:10.244.2.99", 80, None),
    "no-service-port": ((), "pod:shop/front-0", "svc:shop/cart", 7070, None),
    "no-endpoints": ((), "pod:shop/front-0", "svc:shop/empty", 80, None),
    "no-local-endpoints": ((), "external:203.0.113.5", "svc:shop/web", 80, "172.20.0.1:30081"),
    "source-range-denied": ((), "external:203.0.113.5", "ip:198.51.100.10", 80, None),
    "policy-egress-denied": ((DENY_FRONT_EGRESS,), "pod:shop/front-0", "svc:shop/cart", 80, None),
    "policy-ingress-denied": ((DENY_CART,), "pod:shop/front-0", "svc:shop/cart", 80, None),
    "ingress-no-match": ((), "external:203.0.113.5", "url:http://unknown.example.com/", None, None),
    "no-ingress-controller": ((), "external:203.0.113.5", "url:http://orphan.example.com/", None, None),
    "no-listener": ((), "pod:shop/front-0", "ip:127.0.0.1", 9999, None),  # H1: its own loopback, nothing there
}


def test_reason_table_covers_every_reason_code():
    assert set(REASON_CASES) == set(REASONS)


@pytest.mark.parametrize("reason", sorted(REASON_CASES))
def test_each_reason_code(reason):
    extra, source, dest, port, via = REASON_CASES[reason]
    m = shop_model(*extra)
    if reason == "no-local-endpoints":
        m.services["shop/web"].external_traffic_policy = "Local"
    if reason == "source-range-denied":
        m.services["shop/web"].lb_source_ranges = ("192.0.2.0/24",)
    r = run(m, source, dest, port, via)
    assert (r.verdict, r.reason) == ("dropped", reason)
    last = r.paths[0].hops[-1]
    assert last.detail and len(last.detail) > 30  # a sentence naming what to change


# -- sources -------------------------------------------------------------------------------------------------

def test_workload_source_divides_probability_by_pod_count():
    """workload:shop/front (front-0, front-1) → svc/cart (2 endpoints): 4 paths of 1/4, two sources."""
    r = run(shop_model(), "workload:shop/front", "svc:shop/cart", 80)
    assert len(r.paths) == 4
    assert {p.source.id for p in r.paths} == {"pod:shop/front-0", "pod:shop/front-1"}
    assert all(p.probability == pytest.approx(0.25) for p in r.paths)
    assert run(shop_model(), "workload:shop/Deployment/front", "svc:shop/cart", 80).to_dict()["paths"] == \
        r.to_dict()["paths"]


def test_node_source_uses_the_cluster_ip():
    """[node n2 host network] → svc/cart:80 → both endpoints; no egress policy applies to a node."""
    r = run(shop_model(DENY_FRONT_EGRESS), "node:n2", "svc:shop/cart", 80)
    assert set(endpoints_of(r.to_dict())) == {"pod:shop/cart-0", "pod:shop/cart-1"}


def test_external_to_service_enters_through_the_lb_address():
    r = run(shop_model(), "external:203.0.113.5", "svc:shop/web", 80)
    assert endpoints_of(r.to_dict()) == {"pod:shop/web-0": (8080, 1.0)}
    assert r.paths[0].hops[1].id == "lb:198.51.100.10"


def test_external_to_nodeport_service_uses_the_first_ready_node():
    r = run(shop_model(), "external:203.0.113.5", "svc:shop/cart", 80)
    assert r.paths[0].hops[1].id == "node:n1"
    assert sum(p.probability for p in r.paths) == pytest.approx(1.0)


def test_external_cannot_reach_a_cluster_ip_service():
    r = run(shop_model(), "external:203.0.113.5", "svc:shop/empty", 80)
    assert r.reason == "no-service-port" and "spec.type" in r.paths[0].hops[-1].detail


# -- destinations ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dest,port,expected", [
    ("ip:10.244.2.6", 7070, {"pod:shop/cart-1": (7070, 1.0)}),                      # pod IP
    ("ip:10.244.2.6", "grpc", {"pod:shop/cart-1": (7070, 1.0)}),                    # named container port
    ("ip:10.96.0.20", 80, {"pod:shop/cart-0": (7070, 0.5), "pod:shop/cart-1": (7070, 0.5)}),  # ClusterIP
    ("ip:172.20.0.2", 30080, {"pod:shop/cart-0": (7070, 0.5), "pod:shop/cart-1": (7070, 0.5)}),  # NodePort
    ("ip:198.51.100.10", 80, {"pod:shop/web-0": (8080, 1.0)}),                      # LB IP from inside
    ("ip:93.184.216.34", 443, {"external:93.184.216.34": (443, 1.0)}),              # the internet
    ("url:http://web.shop/", None, {"pod:shop/web-0": (8080, 1.0)}),                # url from a pod: DNS
    ("url:http://shop.example.com/cart", None,                                      # an Ingress host: back in
     {"pod:shop/cart-0": (7070, 0.5), "pod:shop/cart-1": (7070, 0.5)}),             # through the controller
    ("svc:shop/cart", "http", {"pod:shop/cart-0": (7070, 0.5), "pod:shop/cart-1": (7070, 0.5)}),  # port name
])
def test_destinations_from_a_pod(dest, port, expected):
    r = run(shop_model(), "pod:shop/front-0", dest, port)
    assert endpoints_of(r.to_dict()) == expected


def test_ip_in_service_range_without_service_is_unknown():
    r = run(shop_model(), "pod:shop/front-0", "ip:10.96.0.99", 80)
    assert r.reason == "unknown-destination"


def test_egress_policy_applies_to_the_internet():
    r = run(shop_model(DENY_FRONT_EGRESS), "pod:shop/front-0", "ip:93.184.216.34", 443)
    assert r.reason == "policy-egress-denied"


def test_policy_sees_the_target_port_after_dnat():
    """Policy on cart allows TCP 7070 (targetPort) from front: svc port 80 is DNATed to 7070 ⇒ allowed (E10)."""
    pol = policy("shop", "cart-7070", {"app": "cart"}, ingress=[rule(pods={"app": "front"}, ports=[7070])])
    assert run(shop_model(pol), "pod:shop/front-0", "svc:shop/cart", 80).verdict == "delivered"
    pol80 = policy("shop", "cart-80", {"app": "cart"}, ingress=[rule(pods={"app": "front"}, ports=[80])])
    r = run(shop_model(pol80), "pod:shop/front-0", "svc:shop/cart", 80)
    assert r.reason == "policy-ingress-denied"
    assert "7070" in r.paths[0].hops[-1].detail


def test_policy_partial_when_only_one_endpoint_node_is_allowed():
    """Policy allows cart only from the node n1 ipBlock; external via n1 NodePort → SNAT to n1: cart-0 (on
    n1) is always allowed (E11), cart-1 is allowed by the ipBlock; from n2, cart-0 is denied ⇒ partial."""
    from tracer.engine.model import IPBlock, PolicyPeer, PolicyRule
    pol = policy("shop", "cart-from-n1", {"app": "cart"},
                 ingress=[PolicyRule(peers=(PolicyPeer(ip_block=IPBlock(cidr="172.20.0.1/32")),))])
    r = run(shop_model(pol), "external:203.0.113.5", "svc:shop/cart", 80, via="172.20.0.2:30080")
    assert r.verdict == "partial"
    assert r.reason == "policy-ingress-denied"
    assert sum(p.probability for p in r.paths) == pytest.approx(1.0)


# -- Ingress -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url,expected", [
    ("http://shop.example.com/anything", {"pod:shop/web-0": (8080, 1.0)}),
    ("http://shop.example.com/cart", {"pod:shop/cart-0": (7070, 0.5), "pod:shop/cart-1": (7070, 0.5)}),
    ("http://shop.example.com/cart/x", {"pod:shop/web-0": (8080, 1.0)}),        # Exact is not a prefix
])
def test_ingress_routes_from_outside(url, expected):
    """[external] → LB 198.51.100.80:80 → [nginx-0] → Ingress shop/site rule → backend endpoints."""
    r = run(shop_model(), "external:203.0.113.5", f"url:{url}")
    assert endpoints_of(r.to_dict()) == expected
    kinds = [h.kind for h in r.paths[0].hops]
    assert kinds.index("load-balancer") < kinds.index("ingress-controller") < kinds.index("ingress-rule")


def test_owner_less_controller_replicas_all_route_the_ingress():
    """Two bare ingress-nginx pods (a dump without their ReplicaSet) behind one LB:
    [external] → LB 198.51.100.80 → [nginx-0 @n1 | nginx-1 @n2] → Ingress shop/site → [web-0]:8080.
    Whichever replica kube-proxy picks applies the Ingress rules; no path may end at a controller pod."""
    second = nginx_pod()
    second.name, second.ips, second.node_name, second.host_ip = "nginx-1", ("10.244.2.50",), "n2", "172.20.0.2"
    model = shop_model(second)
    model.objects.endpoint_slices[:] = [s for s in model.objects.endpoint_slices if s.service_name != "nginx"]
    model = build(*model.objects.namespaces, *model.objects.nodes, *model.objects.pods, *model.objects.services,
                  *model.objects.endpoint_slices, *model.objects.ingress_classes, *model.objects.ingresses,
                  eps("edge", "nginx", [("10.244.1.50", "n1", "nginx-0"), ("10.244.2.50", "n2", "nginx-1")],
                      [("http", 80, "TCP"), ("https", 443, "TCP")]))
    r = run(model, "external:203.0.113.5", "url:http://shop.example.com/anything")
    assert r.verdict == "delivered"
    assert endpoints_of(r.to_dict()) == {"pod:shop/web-0": (8080, 1.0)}
    accepted_by = {h.detail.split("pod ", 1)[1].split(" ", 1)[0] for p in r.paths for h in p.hops
                   if h.kind == "ingress-controller"}
    assert accepted_by == {"edge/nginx-0", "edge/nginx-1"}


def test_ingress_backend_port_missing():
    r = run(shop_model(), "external:203.0.113.5", "url:http://shop.example.com/old")
    assert r.reason == "no-service-port"
    assert "9999" in r.paths[0].hops[-1].detail


def test_ingress_via_node_port():
    r = run(shop_model(), "external:203.0.113.5", "url:http://shop.example.com/", via="172.20.0.2:30900")
    assert endpoints_of(r.to_dict()) == {"pod:shop/web-0": (8080, 1.0)}
    assert r.paths[0].hops[1].id == "node:n2"


def test_controller_pod_is_the_source_for_backend_policy():
    """web allows only the ingress controller's namespace: reached through the Ingress, denied directly."""
    pol = policy("shop", "web-from-edge", {"app": "web"},
                 ingress=[rule(namespaces={"kubernetes.io/metadata.name": "edge"})])
    assert run(shop_model(pol), "external:203.0.113.5", "url:http://shop.example.com/").verdict == "delivered"
    assert run(shop_model(pol), "pod:shop/front-0", "svc:shop/web", 80).reason == "policy-ingress-denied"


# -- bad requests -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source,dest", [
    ("pod:shop/nope", "svc:shop/cart"),
    ("workload:shop/nope", "svc:shop/cart"),
    ("node:n9", "svc:shop/cart"),
    ("pod:shop/front-0", "svc:shop/nope"),
])
def test_unknown_objects_are_bad_requests(source, dest):
    with pytest.raises(BadRequest):
        run(shop_model(), source, dest, 80)


@pytest.mark.parametrize("data", [
    {"from": "pod:shop", "to": "svc:shop/cart"}, {"from": "martian:x", "to": "svc:a/b"},
    {"from": "external:not-an-ip", "to": "svc:a/b"}, {"from": "pod:a/b", "to": "ip:999.1.1.1"},
    {"from": "pod:a/b", "to": "url:ftp://x/"}, {"from": "pod:a/b", "to": "svc:a/b", "port": 70000},
    {"from": "pod:a/b", "to": "svc:a/b", "protocol": "ICMP"}, {"to": "svc:a/b"},
    {"from": "pod:a/b", "to": "svc:a/b", "proxy_mode": "ebpf"}, {"from": "pod:a/b", "to": "svc:a/b", "via": "x:1"},
])
def test_unparsable_requests(data):
    with pytest.raises(BadRequest):
        parse_flow_request(data)


# -- whole-result properties ---------------------------------------------------------------------------------------------

ALL_FLOWS = [
    ("pod:shop/front-0", "svc:shop/cart", 80, None), ("workload:shop/front", "dns:cart", 80, None),
    ("external:203.0.113.5", "svc:shop/web", 80, None), ("external:203.0.113.5", "url:http://shop.example.com/", None,
                                                          None),
    ("node:n1", "ip:10.96.0.20", 80, None), ("pod:shop/front-1", "ip:198.51.100.10", 80, None),
    ("external:203.0.113.5", "ip:172.20.0.2", 30080, None), ("pod:shop/front-0", "dns:example.org", 443, None),
    ("external:203.0.113.5", "url:https://shop.example.com/cart", None, "172.20.0.1:30943"),
]


@pytest.mark.parametrize("source,dest,port,via", ALL_FLOWS)
def test_probabilities_sum_to_one_and_hops_follow_graph_edges(source, dest, port, via):
    m = shop_model()
    r = run(m, source, dest, port, via)
    assert sum(p.probability for p in r.paths) == pytest.approx(1.0)
    g = forwarding_graph(m)
    for p in r.paths:
        ok, why = is_path(g, path_of(p.hops))
        assert ok, f"{[h.id for h in p.hops]}: {why}"
        assert all(h.kind and h.id and h.action and h.detail for h in p.hops)
    again = TraceResult.from_dict(r.to_dict())
    assert again.to_dict() == r.to_dict()


def test_graph_is_cached_per_model():
    m = shop_model()
    assert forwarding_graph(m) is forwarding_graph(m)
    g = forwarding_graph(m)
    assert g.has_edge("kube-proxy", "svc:shop/cart") and g.has_edge("svc:shop/cart", "pod:shop/cart-1")
    assert g.has_edge("lb:198.51.100.10", "node:n2")
    assert g.has_edge("ingress:shop/site", "svc:shop/web")


def test_workload_pods_that_are_not_running_send_nothing():
    """workload:shop/front with front-1 Pending (no IP): only front-0 sends, with probability 1."""
    m = shop_model()
    pend = m.pods["shop/front-1"]
    pend.phase, pend.ips = "Pending", ()
    r = run(m, "workload:shop/front", "svc:shop/cart", 80)
    assert {p.source.id for p in r.paths} == {"pod:shop/front-0"}
    assert sum(p.probability for p in r.paths) == pytest.approx(1.0)
    assert any("not running" in a for a in r.assumptions)
    with pytest.raises(BadRequest):
        run(m, "pod:shop/front-1", "svc:shop/cart", 80)


def test_cloud_managed_ingress_goes_to_node_ports():
    """Ingress class gce (no controller pod): [external] → Google LB (applies the rules) → NodePort 30081 on a
    node → kube-proxy → [web-0]:8080; the hops still follow the forwarding graph."""
    gce = ingress("shop", "gce", [("gce.example.com", [("/", "Prefix", "web", 80)])])
    gce.annotations = {"kubernetes.io/ingress.class": "gce"}
    m = shop_model(gce)
    r = run(m, "external:203.0.113.5", "url:http://gce.example.com/")
    assert endpoints_of(r.to_dict()) == {"pod:shop/web-0": (8080, 1.0)}
    assert "NodePort 30081" in next(h.detail for h in r.paths[0].hops if h.kind == "ingress-rule")
    ok, why = is_path(forwarding_graph(m), path_of(r.paths[0].hops))
    assert ok, why


@pytest.mark.parametrize("secret,expected", [
    (Secret("shop", "site-tls", type="kubernetes.io/tls", keys=("tls.crt", "tls.key")), "with secret shop/site-tls"),
    (Secret("shop", "site-tls", type="Opaque", keys=("password",)), "must be type kubernetes.io/tls"),
    (None, "does not exist"),
])
def test_https_through_the_ingress_reports_the_tls_secret(secret, expected):
    """[external] → https://shop.example.com/ → nginx :443 terminates TLS with tls[].secretName site-tls →
    [web-0]:8080 plain. A missing or wrong-type secret is named in the ingress-rule hop."""
    m = shop_model(*([secret] if secret else []))
    ing = m.ingresses[0]
    ing.tls = (IngressTLS(hosts=("shop.example.com",), secret_name="site-tls"),)
    r = run(m, "external:203.0.113.5", "url:https://shop.example.com/")
    assert endpoints_of(r.to_dict()) == {"pod:shop/web-0": (8080, 1.0)}
    rule_hop = next(h for h in r.paths[0].hops if h.kind == "ingress-rule")
    assert expected in rule_hop.detail


@pytest.mark.parametrize("dest,expected", [
    ("dns:cart.shop.svc.cluster.local", "dns-nxdomain"),   # the node's resolver does not serve cluster names
    ("dns:example.org", "delivered"),                      # public names resolve upstream
])
def test_node_source_uses_the_node_resolver(dest, expected):
    r = run(shop_model(), "node:n1", dest, 443)
    assert (r.reason or r.verdict) == expected
