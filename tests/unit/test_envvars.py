"""Service environment variables (docs/semantics.md §C), checked against the kubelet's own expectations.

The first table is kubelet's pkg/kubelet/envvars TestFromServices: the same services give the same
variables, in the same order.
"""
from __future__ import annotations

import pytest

from tracer.engine.cluster import ClusterModel
from tracer.engine.envvars import env_name, service_env, vars_for_service
from tracer.engine.model import ClusterObjects, Pod, Service, ServicePort


def svc(name, ip, *ports, ns="default", created="", type="ClusterIP", external_name=""):
    return Service(namespace=ns, name=name, type=type, cluster_ips=(ip,) if ip else (),
                   ports=tuple(ServicePort(port=p, protocol=proto, name=n) for n, p, proto in ports),
                   created=created, external_name=external_name)


def test_kubelet_from_services_table():
    """kubelet TestFromServices: foo-bar (one unnamed TCP port), abc-123 (UDP + TCP named), q-u-u-x
    (unnamed + named '8083'); headless and empty-ClusterIP services give nothing."""
    services = [
        svc("foo-bar", "1.2.3.4", ("", 8080, "TCP")),
        svc("abc-123", "5.6.7.8", ("u-d-p", 8081, "UDP"), ("t-c-p", 8081, "TCP")),
        svc("q-u-u-x", "9.8.7.6", ("", 8082, "TCP"), ("8083", 8083, "TCP")),
        svc("svrc-clusterip-none", "None", ("", 8082, "TCP")),
        svc("svrc-clusterip-empty", "", ("", 8082, "TCP")),
    ]
    got = [(v.name, v.value) for s in services for v in vars_for_service(s)]
    assert got == [
        ("FOO_BAR_SERVICE_HOST", "1.2.3.4"), ("FOO_BAR_SERVICE_PORT", "8080"),
        ("FOO_BAR_PORT", "tcp://1.2.3.4:8080"), ("FOO_BAR_PORT_8080_TCP", "tcp://1.2.3.4:8080"),
        ("FOO_BAR_PORT_8080_TCP_PROTO", "tcp"), ("FOO_BAR_PORT_8080_TCP_PORT", "8080"),
        ("FOO_BAR_PORT_8080_TCP_ADDR", "1.2.3.4"),
        ("ABC_123_SERVICE_HOST", "5.6.7.8"), ("ABC_123_SERVICE_PORT", "8081"),
        ("ABC_123_SERVICE_PORT_U_D_P", "8081"), ("ABC_123_SERVICE_PORT_T_C_P", "8081"),
        ("ABC_123_PORT", "udp://5.6.7.8:8081"), ("ABC_123_PORT_8081_UDP", "udp://5.6.7.8:8081"),
        ("ABC_123_PORT_8081_UDP_PROTO", "udp"), ("ABC_123_PORT_8081_UDP_PORT", "8081"),
        ("ABC_123_PORT_8081_UDP_ADDR", "5.6.7.8"),
        ("ABC_123_PORT_8081_TCP", "tcp://5.6.7.8:8081"), ("ABC_123_PORT_8081_TCP_PROTO", "tcp"),
        ("ABC_123_PORT_8081_TCP_PORT", "8081"), ("ABC_123_PORT_8081_TCP_ADDR", "5.6.7.8"),
        ("Q_U_U_X_SERVICE_HOST", "9.8.7.6"), ("Q_U_U_X_SERVICE_PORT", "8082"),
        ("Q_U_U_X_SERVICE_PORT_8083", "8083"),
        ("Q_U_U_X_PORT", "tcp://9.8.7.6:8082"), ("Q_U_U_X_PORT_8082_TCP", "tcp://9.8.7.6:8082"),
        ("Q_U_U_X_PORT_8082_TCP_PROTO", "tcp"), ("Q_U_U_X_PORT_8082_TCP_PORT", "8082"),
        ("Q_U_U_X_PORT_8082_TCP_ADDR", "9.8.7.6"),
        ("Q_U_U_X_PORT_8083_TCP", "tcp://9.8.7.6:8083"), ("Q_U_U_X_PORT_8083_TCP_PROTO", "tcp"),
        ("Q_U_U_X_PORT_8083_TCP_PORT", "8083"), ("Q_U_U_X_PORT_8083_TCP_ADDR", "9.8.7.6"),
    ]


@pytest.mark.parametrize("name,expected", [
    ("cart", "CART"), ("redis-cart", "REDIS_CART"), ("a-b-c-1", "A_B_C_1"), ("kubernetes", "KUBERNETES"),
])
def test_env_name(name, expected):
    """C: Service name → variable prefix: upper-case, '-' → '_'."""
    assert env_name(name) == expected


def test_ipv6_cluster_ip_is_bracketed_in_urls():
    """svc/web [fd00::10]:80 → WEB_PORT=tcp://[fd00::10]:80 (net.JoinHostPort), _ADDR stays bare."""
    env = {v.name: v.value for v in vars_for_service(svc("web", "fd00::10", ("http", 80, "TCP")))}
    assert env["WEB_PORT"] == "tcp://[fd00::10]:80"
    assert env["WEB_PORT_80_TCP_ADDR"] == "fd00::10"


def _model(*services, pods=()):
    return ClusterModel(ClusterObjects(services=list(services), pods=list(pods)))


KUBERNETES = svc("kubernetes", "10.96.0.1", ("https", 443, "TCP"), created="2026-01-01T00:00:00Z")


def pod(ns="shop", links=True, created="2026-03-01T00:00:00Z"):
    return Pod(namespace=ns, name="web-0", enable_service_links=links, created=created)


def test_own_namespace_and_default_kubernetes_only():
    """[pod shop/web-0] sees svc shop/cart and default/kubernetes; not svc other/db, not headless shop/db,
    not ExternalName shop/ext."""
    m = _model(KUBERNETES,
               svc("cart", "10.96.0.7", ("http", 80, "TCP"), ns="shop", created="2026-02-01T00:00:00Z"),
               svc("db", "10.96.0.8", ("", 5432, "TCP"), ns="other", created="2026-02-01T00:00:00Z"),
               svc("db", "None", ("", 5432, "TCP"), ns="shop", created="2026-02-01T00:00:00Z"),
               svc("ext", "", ("", 443, "TCP"), ns="shop", type="ExternalName", external_name="example.com"))
    res = service_env(m, pod())
    env = res.as_dict()
    assert env["CART_SERVICE_HOST"] == "10.96.0.7" and env["CART_SERVICE_PORT_HTTP"] == "80"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert not any(k.startswith(("DB_", "EXT_")) for k in env)
    assert {v.service for v in res.vars} == {"shop/cart", "default/kubernetes"}
    assert res.caveats == [] and res.absent == []


def test_enable_service_links_false_keeps_only_kubernetes():
    """enableServiceLinks: false ⇒ only default/kubernetes (the kubelet always adds the master service)."""
    m = _model(KUBERNETES, svc("cart", "10.96.0.7", ("http", 80, "TCP"), ns="shop"))
    res = service_env(m, pod(links=False))
    assert {v.service for v in res.vars} == {"default/kubernetes"}
    assert any("enableServiceLinks" in c for c in res.caveats)


def test_service_named_kubernetes_in_own_namespace_wins():
    """[pod shop/web-0] with svc shop/kubernetes (10.96.5.5) ⇒ KUBERNETES_SERVICE_HOST is the local one."""
    m = _model(KUBERNETES, svc("kubernetes", "10.96.5.5", ("", 8080, "TCP"), ns="shop",
                               created="2026-02-01T00:00:00Z"))
    env = service_env(m, pod()).as_dict()
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.5.5"
    assert env["KUBERNETES_SERVICE_PORT"] == "8080"


@pytest.mark.parametrize("svc_created,present", [
    ("2026-02-28T23:59:59Z", True),   # before the pod started
    ("2026-03-01T00:00:00Z", True),   # same second: not after
    ("2026-03-01T00:00:01Z", False),  # after: absent until restart
])
def test_service_created_after_pod_is_absent_until_restart(svc_created, present):
    """svc shop/cart created after [pod shop/web-0] ⇒ no CART_* variables, a caveat naming it instead."""
    m = _model(KUBERNETES, svc("cart", "10.96.0.7", ("http", 80, "TCP"), ns="shop", created=svc_created))
    res = service_env(m, pod())
    assert ("CART_SERVICE_HOST" in res.as_dict()) is present
    assert (res.absent == ["shop/cart"]) is (not present)
    assert any("shop/cart" in c and "restart" in c for c in res.caveats) is (not present)


def test_unknown_creation_time_is_an_assumption():
    """No timestamps (desired-state manifests): variables are listed, with a caveat saying so."""
    m = _model(svc("cart", "10.96.0.7", ("http", 80, "TCP"), ns="shop"))
    res = service_env(m, pod(created=""))
    assert "CART_SERVICE_HOST" in res.as_dict()
    assert any("creation time unknown" in c for c in res.caveats)
