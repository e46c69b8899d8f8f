"""Cluster DNS (docs/semantics.md §B) and the DNS query as traffic.

Topology:
    ns shop:  [pod front 10.244.1.5 @n1]  svc cart 10.96.0.20:80 → cart-0 (7070)
              headless svc db (clusterIP None) → db-0 (hostname db-0, subdomain db, ready), db-1 (not ready)
              ExternalName svc pay → payments.example.com
    ns other: svc cart 10.96.0.30:80 (a namesake in another namespace)
    kube-system: svc kube-dns 10.96.0.10:53 → coredns-0
"""
from __future__ import annotations

import pytest

from tests.unit.conftest import build, endpoints_of, eps, node, pod, policy, rule, svc
from tracer.engine import dns


def shop(*extra, front_kw=None):
    return build(
        node("n1", "172.20.0.1", "z1", "10.244.1.0/24"),
        pod("shop", "front", "10.244.1.5", "n1", {"app": "front"}, **(front_kw or {})),
        pod("shop", "cart-0", "10.244.1.6", "n1", {"app": "cart"}, ports=[(7070, "TCP", "grpc")]),
        svc("shop", "cart", "10.96.0.20", [(80, 7070, "TCP", "http")], selector={"app": "cart"}),
        eps("shop", "cart", [("10.244.1.6", "n1", "cart-0")], [("http", 7070, "TCP")]),
        pod("shop", "db-0", "10.244.1.7", "n1", {"app": "db"}, ports=[(5432, "TCP", "pg")], hostname="db-0",
            subdomain="db"),
        pod("shop", "db-1", "10.244.1.8", "n1", {"app": "db"}, ports=[(5432, "TCP", "pg")], hostname="db-1",
            subdomain="db", ready=False),
        svc("shop", "db", "None", [(5432, 5432, "TCP", "pg")], selector={"app": "db"}),
        eps("shop", "db", [("10.244.1.7", "n1", "db-0"), ("10.244.1.8", "n1", "db-1", {"ready": False})],
            [("pg", 5432, "TCP")]),
        svc("shop", "pay", None, [(443, 443, "TCP", "https")], type="ExternalName",
            external_name="payments.example.com"),
        pod("other", "x", "10.244.1.9", "n1", {"app": "x"}),
        svc("other", "cart", "10.96.0.30", [(80, 80, "TCP", "http")], selector={"app": "none"}),
        *extra,
    )


@pytest.mark.parametrize("name,ndots,expected", [
    ("cart", 5, ["cart.shop.svc.cluster.local", "cart.svc.cluster.local", "cart.cluster.local", "cart"]),
    ("cart.other", 5, ["cart.other.shop.svc.cluster.local", "cart.other.svc.cluster.local",
                       "cart.other.cluster.local", "cart.other"]),
    ("a.b.c.d.e.f", 5, ["a.b.c.d.e.f", "a.b.c.d.e.f.shop.svc.cluster.local", "a.b.c.d.e.f.svc.cluster.local",
                        "a.b.c.d.e.f.cluster.local"]),   # ≥ ndots dots: as-is first
    ("cart.", 5, ["cart"]),                               # absolute: no search
    ("cart.other", 1, ["cart.other", "cart.other.shop.svc.cluster.local", "cart.other.svc.cluster.local",
                       "cart.other.cluster.local"]),
])
def test_search_path_and_ndots(name, ndots, expected):
    """B7: search <ns>.svc.<zone> svc.<zone> <zone>; fewer than ndots dots ⇒ search list first."""
    r = dns.Resolver("cluster", ("shop.svc.cluster.local", "svc.cluster.local", "cluster.local"), ndots)
    assert dns.candidates(name, r) == expected


@pytest.mark.parametrize("name,kind,answer", [
    ("cart", "A", ["10.96.0.20"]),                                 # B1 via the search path (B9: own namespace)
    ("cart.other", "A", ["10.96.0.30"]),                           # another namespace needs svc.ns
    ("cart.shop.svc.cluster.local", "A", ["10.96.0.20"]),          # FQDN
    ("db", "A", ["10.244.1.7"]),                                   # B2 headless: ready endpoints only
    ("db-0.db", "A", ["10.244.1.7"]),                              # B5 hostname.subdomain
    ("db-1.db", "NXDOMAIN", []),                                   # not ready ⇒ no record
    ("_http._tcp.cart.shop.svc.cluster.local", "A", ["10.96.0.20"]),  # B3 SRV for a named port
    ("pay", "CNAME", []),                                          # B4 ExternalName
    ("www.example.com", "EXTERNAL", []),                           # outside the zone: upstream
    ("nothing", "NXDOMAIN", []),
    ("nothing.shop", "NXDOMAIN", []),                              # ends in a namespace: cluster intent
    ("10-244-1-6.shop.pod.cluster.local", "A", ["10.244.1.6"]),    # pod A record
])
def test_resolve_from_a_cluster_first_pod(name, kind, answer):
    m = shop()
    ans = dns.resolve(m, m.pods["shop/front"], name)
    assert ans.kind == kind
    assert ans.ips == answer


def test_srv_gives_the_port():
    m = shop()
    assert dns.resolve(m, m.pods["shop/front"], "_http._tcp.cart.shop.svc.cluster.local").srv_port == 80


@pytest.mark.parametrize("front_kw,kind", [
    ({"dns_policy": "Default"}, "NXDOMAIN"),                            # node resolver: no cluster names
    ({"dns_policy": "ClusterFirst", "host_network": True}, "NXDOMAIN"),  # hostNetwork falls back to Default
    ({"dns_policy": "ClusterFirstWithHostNet", "host_network": True}, "A"),
    ({"dns_policy": "None"}, "NXDOMAIN"),                               # no nameservers in dnsConfig
])
def test_dns_policy(front_kw, kind):
    """B8: which resolver answers `cart` for pod front."""
    m = shop(front_kw=front_kw)
    assert dns.resolve(m, m.pods["shop/front"], "cart").kind == kind


def test_dns_policy_none_with_cluster_nameserver():
    m = shop()
    p = m.pods["shop/front"]
    p.dns_policy = "None"
    p.dns_config = {"nameservers": ["10.96.0.10"], "searches": ["shop.svc.cluster.local"]}
    assert dns.resolve(m, p, "cart").ips == ["10.96.0.20"]


def test_headless_with_no_ready_endpoint_is_nxdomain(trace_dict):
    """[pod front] → dns:db with db-0 not ready either ⇒ dns-nxdomain."""
    m = shop()
    m.slices_by_service["shop/db"] = [eps("shop", "db", [("10.244.1.7", "n1", "db-0", {"ready": False})],
                                          [("pg", 5432, "TCP")])]
    r = trace_dict(m, "pod:shop/front", "dns:db", 5432)
    assert r["reason"] == "dns-nxdomain"


# -- traces through names --------------------------------------------------------------------------------------

def test_trace_by_short_name(trace_dict):
    """[pod front] → dns:cart (→ 10.96.0.20) → svc/cart:80 → [pod cart-0]:7070, after a DNS query hop."""
    r = trace_dict(shop(), "pod:shop/front", "dns:cart", 80)
    assert endpoints_of(r) == {"pod:shop/cart-0": (7070, 1.0)}
    kinds = [h["kind"] for h in r["paths"][0]["hops"]]
    assert kinds[:3] == ["pod", "dns", "dns"] and "coredns-0" in r["paths"][0]["hops"][1]["detail"]


def test_trace_external_name_leaves_the_cluster(trace_dict):
    r = trace_dict(shop(), "pod:shop/front", "dns:pay", 443)
    assert endpoints_of(r) == {"external:payments.example.com": (443, 1.0)}


def test_trace_external_host(trace_dict):
    r = trace_dict(shop(), "pod:shop/front", "dns:api.github.com", 443)
    assert endpoints_of(r) == {"external:api.github.com": (443, 1.0)}


def test_nxdomain_says_names_are_namespace_relative(trace_dict):
    """[pod x in ns other] → dns:db ⇒ NXDOMAIN: `db` is shop's, use db.shop."""
    r = trace_dict(shop(), "pod:other/x", "dns:db", 5432)
    assert r["reason"] == "dns-nxdomain"
    assert "namespace-relative" in r["paths"][0]["hops"][-1]["detail"]


def test_default_deny_egress_blocks_the_dns_query(trace_dict):
    """[pod front] (egress: deny all) → dns:cart ⇒ dropped at the DNS hop: policy-egress-denied."""
    deny = policy("shop", "deny-egress", {}, types=("Egress",))
    r = trace_dict(shop(deny), "pod:shop/front", "dns:cart", 80)
    assert r["reason"] == "policy-egress-denied"
    last = r["paths"][0]["hops"][-1]
    assert last["kind"] == "dns" and "UDP 53" in last["detail"]


def test_egress_allowance_for_dns_lets_the_query_through(trace_dict):
    """deny-all egress + a rule allowing UDP 53 to kube-system ⇒ the query passes; the connection to cart is
    then decided by egress policy on its own (denied: only DNS is allowed)."""
    pol = policy("shop", "dns-only", {}, types=("Egress",),
                 egress=[rule(namespaces={"kubernetes.io/metadata.name": "kube-system"}, ports=[(53, "UDP")])])
    r = trace_dict(shop(pol), "pod:shop/front", "dns:cart", 80)
    assert r["reason"] == "policy-egress-denied"
    assert r["paths"][0]["hops"][1]["action"] == "query"
    assert r["paths"][0]["hops"][-1]["kind"] == "network-policy"


def test_coredns_ingress_policy_blocks_the_query(trace_dict):
    """A policy in kube-system isolating CoreDNS for ingress with no rule ⇒ policy-ingress-denied at DNS."""
    pol = policy("kube-system", "lockdown", {"k8s-app": "kube-dns"})
    r = trace_dict(shop(pol), "pod:shop/front", "dns:cart", 80)
    assert r["reason"] == "policy-ingress-denied"
    assert r["paths"][0]["hops"][-1]["kind"] == "dns"


def test_headless_name_goes_straight_to_pods(trace_dict):
    """[pod front] → dns:db-0.db:5432 → [pod db-0]:5432, no kube-proxy hop."""
    r = trace_dict(shop(), "pod:shop/front", "dns:db-0.db", 5432)
    assert endpoints_of(r) == {"pod:shop/db-0": (5432, 1.0)}
    assert not any(h["kind"] == "kube-proxy" for h in r["paths"][0]["hops"])


def test_external_name_pointing_at_a_cluster_name_is_followed(trace_dict):
    """svc shop/alias ExternalName → cart.shop.svc.cluster.local: [pod front] → dns:alias → cart → [cart-0]:7070."""
    alias = svc("shop", "alias", None, [(80, 80, "TCP", "http")], type="ExternalName",
                external_name="cart.shop.svc.cluster.local")
    r = trace_dict(shop(alias), "pod:shop/front", "dns:alias", 80)
    assert endpoints_of(r) == {"pod:shop/cart-0": (7070, 1.0)}
    assert [h["action"] for h in r["paths"][0]["hops"] if h["kind"] == "dns"][1:3] == ["cname", "answer"]


@pytest.mark.parametrize("service,expected", [
    ("pay", {"external:payments.example.com": (443, 1.0)}),
])
def test_svc_destination_of_type_external_name(trace_dict, service, expected):
    """[pod front] → svc:shop/pay (ExternalName payments.example.com) → DNS query + CNAME → leaves the cluster."""
    r = trace_dict(shop(), "pod:shop/front", f"svc:shop/{service}", 443)
    assert endpoints_of(r) == expected
    assert any(h["kind"] == "dns" and "CNAME" in h["detail"] for h in r["paths"][0]["hops"])
