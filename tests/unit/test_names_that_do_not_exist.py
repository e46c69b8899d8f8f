"""H3: names that are neither cluster records nor under a public TLD are NXDOMAIN, not "the internet".

Topology:
    ns web:  [pod client 10.244.1.5 @n1]  StatefulSet pods web-0/web-1 (subdomain nginx) but NO Service nginx
             svc api 10.96.0.20:80
    ns shop: exists (a namespace named like the public TLD .shop)
"""
from __future__ import annotations

import pytest

from tests.unit.conftest import build, node, pod, svc
from tracer.engine import dns


def cluster():
    return build(
        node("n1", "172.20.0.1", "z1", "10.244.1.0/24"),
        pod("web", "client", "10.244.1.5", "n1", {"app": "client"}),
        pod("web", "web-0", "10.244.1.6", "n1", {"app": "nginx"}, ports=[(80, "TCP", "http")], hostname="web-0",
            subdomain="nginx"),
        svc("web", "api", "10.96.0.20", [(80, 80, "TCP", "http")], selector={"app": "api"}),
        pod("shop", "x", "10.244.1.9", "n1", {"app": "x"}),
    )


@pytest.mark.parametrize("name", [
    "web-0.nginx",                         # StatefulSet pod whose governing headless Service does not exist
    "web-0.nginx.web.svc.cluster.local",   # its absolute form
    "api.no-such-namespace",               # svc.<namespace that does not exist>
    "api.no-such-namespace.svc",
    "db.internal",                         # private suffix: no public resolver has it
    "nothing.shop",                        # .shop is a TLD, but shop is a namespace here: a cluster name was meant
])
def test_names_that_do_not_exist_are_nxdomain(name):
    m = cluster()
    ans = dns.resolve(m, m.pods["web/client"], name)
    assert ans.kind == "NXDOMAIN", ans.detail


def test_the_nxdomain_says_why():
    m = cluster()
    ans = dns.resolve(m, m.pods["web/client"], "web-0.nginx")
    assert "governing headless Service" in ans.detail and "not a public top-level domain" in ans.detail
    ans = dns.resolve(m, m.pods["web/client"], "api.no-such-namespace")
    assert "neither a namespace 'no-such-namespace'" in ans.detail
    ans = dns.resolve(m, m.pods["web/client"], "api.no-such-namespace.svc")
    assert "no cluster record" in ans.detail


@pytest.mark.parametrize("name", ["www.example.com", "api.github.io", "pkg.go.dev", "bbc.co.uk", "example.de."])
def test_public_names_go_upstream_as_an_assumption(name):
    m = cluster()
    ans = dns.resolve(m, m.pods["web/client"], name)
    assert ans.kind == "EXTERNAL" and ans.target == name.rstrip(".")
    assert "assumed to exist" in ans.detail


def test_a_cluster_name_still_resolves():
    m = cluster()
    assert dns.resolve(m, m.pods["web/client"], "api").ips == ["10.96.0.20"]


def test_trace_to_a_missing_statefulset_name_is_dns_nxdomain_not_the_internet(trace_dict):
    r = trace_dict(cluster(), "pod:web/client", "dns:web-0.nginx", port=80)
    assert [p["reason"] for p in r["paths"]] == ["dns-nxdomain"]
    assert not any(h["kind"] == "external" for p in r["paths"] for h in p["hops"])
    r = trace_dict(cluster(), "pod:web/client", "dns:api.no-such-namespace", port=80)
    assert [p["reason"] for p in r["paths"]] == ["dns-nxdomain"]


def test_trace_to_a_public_name_leaves_the_cluster(trace_dict):
    r = trace_dict(cluster(), "pod:web/client", "dns:www.example.com", port=443)
    assert [p["verdict"] for p in r["paths"]] == ["delivered"]
    assert r["paths"][0]["endpoint"].startswith("external:")
