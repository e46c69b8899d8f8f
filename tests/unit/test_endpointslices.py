"""The EndpointSlice controller replay (tracer/engine/endpointslices.py), rule by rule.

Each test builds a tiny namespace `shop` with a service `cart` selecting `app=cart`:

    svc/cart:80 (selector app=cart) ──► [pod cart-*] on node-1 (zone-a) / node-2 (zone-b)
"""
from __future__ import annotations

import pytest

from tracer.engine.endpointslices import MAX_ENDPOINTS_PER_SLICE, derive_endpoint_slices, resolve_target_port
from tracer.engine.model import (
    ClusterObjects,
    Container,
    ContainerPort,
    Endpoint,
    EndpointPort,
    EndpointSlice,
    Node,
    Pod,
    Service,
    ServicePort,
)

NODES = [
    Node(name="node-1", labels={"topology.kubernetes.io/zone": "zone-a"}, addresses=(("InternalIP", "172.18.0.2"),)),
    Node(name="node-2", labels={"topology.kubernetes.io/zone": "zone-b"}, addresses=(("InternalIP", "172.18.0.3"),)),
]


def pod(name="cart-0", ip="10.244.0.5", *, ns="shop", labels=None, ports=(), node="node-1", **kw) -> Pod:
    cps = tuple(ContainerPort(container_port=n, name=pn, protocol=proto) for pn, n, proto in ports)
    return Pod(namespace=ns, name=name, labels={"app": "cart"} if labels is None else labels,
               ips=(ip,) if ip else (), node_name=node, containers=(Container(name="main", ports=cps),), **kw)


DEFAULT_PORTS = (ServicePort(port=80, target_port=7070),)


def svc(*, ports=DEFAULT_PORTS, selector=None, **kw) -> Service:
    kw.setdefault("cluster_ips", ("10.96.0.20",))
    return Service(namespace="shop", name="cart", ports=ports,
                   selector={"app": "cart"} if selector is None else selector, **kw)


def derive(service, pods, nodes=NODES, slices=()):
    return derive_endpoint_slices(ClusterObjects(nodes=list(nodes), pods=list(pods), services=[service],
                                                 endpoint_slices=list(slices)))


def only_endpoint(slices) -> Endpoint:
    assert len(slices) == 1 and len(slices[0].endpoints) == 1, slices
    return slices[0].endpoints[0]


# ---- A5 membership --------------------------------------------------------------------------

@pytest.mark.parametrize("case, the_pod, member", [
    ("running, selected", pod(), True),
    ("labels do not match", pod(labels={"app": "checkout"}), False),
    ("extra labels still match", pod(labels={"app": "cart", "tier": "web"}), True),
    ("other namespace", pod(ns="payments"), False),
    ("no IP yet (pending)", pod(ip="", phase="Pending"), False),
    ("pending but has IP", pod(phase="Pending"), True),
    ("phase Succeeded", pod(phase="Succeeded"), False),
    ("phase Failed", pod(phase="Failed"), False),
    ("terminating stays (marked)", pod(deleting=True), True),
    ("not ready stays (marked)", pod(ready=False), True),
])
def test_membership(case, the_pod, member):
    """svc/cart (app=cart) ──► [pod cart-0]? member or not, per A5."""
    slices = derive(svc(), [the_pod])
    addresses = [ep.addresses[0] for s in slices for ep in s.endpoints]
    assert addresses == (["10.244.0.5"] if member else []), case


# ---- A5 / A19 conditions --------------------------------------------------------------------

@pytest.mark.parametrize("pod_ready, deleting, publish, ready, serving, terminating", [
    (True, False, False, True, True, False),
    (False, False, False, False, False, False),
    (True, True, False, False, True, True),
    (False, True, False, False, False, True),
    (False, False, True, True, False, False),   # A19: publishNotReadyAddresses ⇒ ready
    (True, True, True, True, True, True),       # A19 even while terminating
])
def test_conditions(pod_ready, deleting, publish, ready, serving, terminating):
    """[pod cart-0 ready=? deleting=?] under svc/cart publishNotReadyAddresses=? ⇒ endpoint conditions."""
    ep = only_endpoint(derive(svc(publish_not_ready_addresses=publish), [pod(ready=pod_ready, deleting=deleting)]))
    assert (ep.ready, ep.serving, ep.terminating) == (ready, serving, terminating)


# ---- A4 named target ports --------------------------------------------------------------------

@pytest.mark.parametrize("target, protocol, container_ports, expected", [
    (7070, "TCP", [], 7070),                                   # numeric: no declaration needed
    ("http", "TCP", [("http", 8080, "TCP")], 8080),
    ("http", "TCP", [("grpc", 9090, "TCP"), ("http", 8081, "TCP")], 8081),
    ("http", "TCP", [("http", 8080, "UDP")], None),            # name matches, protocol does not
    ("dns", "UDP", [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")], 53),
    ("http", "TCP", [("web", 8080, "TCP")], None),             # no such name
])
def test_resolve_target_port(target, protocol, container_ports, expected):
    assert resolve_target_port(pod(ports=container_ports), target, protocol) == expected


def test_init_container_ports_do_not_resolve_names():
    """[pod cart-0] declares `http` only on an init container ⇒ svc targetPort http finds nothing."""
    p = pod()
    p.containers = (Container(name="init", init=True, ports=(ContainerPort(container_port=8080, name="http"),)),)
    assert resolve_target_port(p, "http", "TCP") is None


def test_named_port_resolves_per_pod_and_groups_slices():
    """svc/cart:80 → targetPort `http`:
        [pod cart-a] http=8080 ┐ slice 1 (port 8080)
        [pod cart-b] http=8080 ┘
        [pod cart-c] http=9090 ─ slice 2 (port 9090)
        [pod cart-d] (no http) ─ slice 3 (no ports): in the slice, reachable by no service port.
    """
    service = svc(ports=(ServicePort(port=80, name="web", target_port="http"),))
    pods = [pod("cart-a", "10.244.0.2", ports=[("http", 8080, "TCP")]),
            pod("cart-b", "10.244.0.3", ports=[("http", 8080, "TCP")]),
            pod("cart-c", "10.244.0.4", ports=[("http", 9090, "TCP")]),
            pod("cart-d", "10.244.0.6", ports=[("metrics", 9100, "TCP")])]
    by_ports = {tuple((p.name, p.port) for p in s.ports): sorted(e.target_name for e in s.endpoints)
                for s in derive(service, pods)}
    assert by_ports == {(("web", 8080),): ["cart-a", "cart-b"], (("web", 9090),): ["cart-c"], (): ["cart-d"]}


def test_multi_port_service_pod_missing_one_name_keeps_the_other():
    """svc/cart ports web→`http`, metrics→9100; [pod cart-0] has no `http` ⇒ only the metrics port."""
    service = svc(ports=(ServicePort(port=80, name="web", target_port="http"),
                         ServicePort(port=9100, name="metrics", target_port=9100)))
    (s,) = derive(service, [pod(ports=[("admin", 8080, "TCP")])])
    assert [(p.name, p.port, p.protocol) for p in s.ports] == [("metrics", 9100, "TCP")]


def test_port_defaults_and_app_protocol_carried():
    """svc/cart:80 without targetPort ⇒ endpoint port 80; appProtocol copied to the slice port."""
    (s,) = derive(svc(ports=(ServicePort(port=80, name="h2", app_protocol="kubernetes.io/h2c"),)), [pod()])
    assert s.ports == (EndpointPort(port=80, protocol="TCP", name="h2", app_protocol="kubernetes.io/h2c"),)


# ---- hostname, zone, node, targetRef --------------------------------------------------------

@pytest.mark.parametrize("hostname, subdomain, expected", [
    ("cart-0", "cart", "cart-0"),
    ("cart-0", "other", ""),
    ("", "cart", ""),
    ("cart-0", "", ""),
])
def test_hostname_only_when_subdomain_is_the_service(hostname, subdomain, expected):
    """[pod cart-0 hostname=? subdomain=?] under headless svc/cart ⇒ endpoint hostname."""
    ep = only_endpoint(derive(svc(cluster_ips=("None",)), [pod(hostname=hostname, subdomain=subdomain)]))
    assert ep.hostname == expected


def test_zone_node_and_target_ref():
    """[pod cart-0] on node-2 (zone-b) ⇒ endpoint nodeName node-2, zone zone-b, targetRef Pod shop/cart-0."""
    ep = only_endpoint(derive(svc(), [pod(node="node-2")]))
    assert (ep.node_name, ep.zone, ep.target_kind, ep.target_namespace, ep.target_name) == (
        "node-2", "zone-b", "Pod", "shop", "cart-0")
    assert ep.hint_zones == ()


@pytest.mark.parametrize("nodes, publish, kept", [
    (NODES, False, False),   # the controller skips a pod whose Node is not found
    (NODES, True, True),     # ...unless the service publishes not-ready addresses
    ([], False, True),       # a dump without any Node object: keep the endpoint (no zone)
])
def test_pod_on_a_node_missing_from_the_snapshot(nodes, publish, kept):
    """[pod cart-0] on node-9, which the snapshot does not have."""
    slices = derive(svc(publish_not_ready_addresses=publish), [pod(node="node-9")], nodes=nodes)
    eps = [e for s in slices for e in s.endpoints]
    assert [(e.node_name, e.zone) for e in eps] == ([("node-9", "")] if kept else [])


@pytest.mark.parametrize("distribution", ["PreferClose", "PreferSameZone"])
def test_prefer_close_hints_ready_endpoints_for_their_own_zone(distribution):
    """svc/cart trafficDistribution PreferClose ⇒ each ready endpoint hinted for its own zone (A18);
    a not-ready one and one on a node without zone get no hint."""
    slices = derive(svc(traffic_distribution=distribution),
                    [pod("cart-0", "10.244.0.2"), pod("cart-1", "10.244.1.2", node="node-2"),
                     pod("cart-2", "10.244.1.3", node="node-2", ready=False),
                     pod("cart-3", "10.244.9.2", node="node-3")],
                    nodes=NODES + [Node(name="node-3", addresses=(("InternalIP", "172.18.0.4"),))])
    assert {e.target_name: e.hint_zones for s in slices for e in s.endpoints} == {
        "cart-0": ("zone-a",), "cart-1": ("zone-b",), "cart-2": (), "cart-3": ()}


def test_no_hints_without_traffic_distribution():
    (s,) = derive(svc(), [pod()])
    assert s.endpoints[0].hint_zones == ()


# ---- which services get slices ----------------------------------------------------------------

@pytest.mark.parametrize("case, service, existing, expected_count", [
    ("selector service", svc(), (), 1),
    ("selector-less service", svc(selector={}), (), 0),
    ("ExternalName", svc(type="ExternalName", cluster_ips=(), external_name="db.example.com"), (), 0),
    ("slice already given (authoritative)", svc(),
     (EndpointSlice(namespace="shop", name="cart-x", service_name="cart"),), 0),
    ("a slice of another service does not count", svc(),
     (EndpointSlice(namespace="shop", name="web-x", service_name="web"),), 1),
])
def test_which_services_are_derived(case, service, existing, expected_count):
    assert len(derive(service, [pod()], slices=existing)) == expected_count, case


def test_slice_metadata_and_headless_family():
    """Headless svc/cart (clusterIP None) still gets an IPv4 slice, labelled for the service, derived."""
    (s,) = derive(svc(cluster_ips=("None",)), [pod()])
    assert (s.namespace, s.service_name, s.address_type, s.derived, s.managed_by) == (
        "shop", "cart", "IPv4", True, "endpointslice-controller.k8s.io")
    assert s.name.startswith("cart-")


def test_dual_stack_service_gets_one_slice_per_family():
    service = svc(cluster_ips=("10.96.0.20", "fd00:10:96::20"))
    p = pod(ip="10.244.0.5")
    p.ips = ("10.244.0.5", "fd00:10:244::5")
    assert {(s.address_type, s.endpoints[0].addresses) for s in derive(service, [p])} == {
        ("IPv4", ("10.244.0.5",)), ("IPv6", ("fd00:10:244::5",))}


def test_at_most_100_endpoints_per_slice():
    """250 pods behind svc/cart ⇒ 3 slices (100, 100, 50), every pod exactly once, distinct names."""
    pods = [pod(f"cart-{i:03d}", f"10.244.{i // 200}.{i % 200 + 2}") for i in range(250)]
    slices = derive(svc(), pods)
    assert sorted(len(s.endpoints) for s in slices) == [50, MAX_ENDPOINTS_PER_SLICE, MAX_ENDPOINTS_PER_SLICE]
    assert sorted(e.target_name for s in slices for e in s.endpoints) == sorted(p.name for p in pods)
    assert len({s.name for s in slices}) == 3


def test_deterministic_regardless_of_pod_order():
    pods = [pod(f"cart-{i}", f"10.244.0.{i + 2}") for i in range(5)]
    assert derive(svc(), pods) == derive(svc(), list(reversed(pods)))
