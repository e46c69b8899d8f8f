"""Builders of small hand-made cluster models for engine tests (no database).

`build(*objects)` sorts objects into a ClusterModel; `pod()`, `svc()`, `eps()` etc. take the few fields a
test cares about and default the rest, so that each test reads like its topology sketch.
"""
from __future__ import annotations

import pytest

from tracer.engine.cluster import ClusterModel
from tracer.engine.model import (
    ClusterObjects,
    Container,
    ContainerPort,
    Endpoint,
    EndpointPort,
    EndpointSlice,
    Ingress,
    IngressBackend,
    IngressClass,
    IngressPath,
    IngressRule,
    LabelSelector,
    LoadBalancerIngress,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    Secret,
    Service,
    ServicePort,
    Workload,
)

_KINDS = {
    Namespace: "namespaces", Node: "nodes", Workload: "workloads", Pod: "pods", Service: "services",
    EndpointSlice: "endpoint_slices", Ingress: "ingresses", IngressClass: "ingress_classes",
    NetworkPolicy: "network_policies", Secret: "secrets",
}


def build(*objs, with_dns: bool = True) -> ClusterModel:
    """A ClusterModel of `objs` (+ a ready kube-dns with one CoreDNS pod unless with_dns=False)."""
    o = ClusterObjects()
    for obj in objs:
        getattr(o, _KINDS[type(obj)]).append(obj)
    if with_dns and not any(s.key == "kube-system/kube-dns" for s in o.services):
        o.pods.append(pod("kube-system", "coredns-0", "10.244.0.2", "n1", {"k8s-app": "kube-dns"},
                          ports=[(53, "UDP", "dns"), (53, "TCP", "dns-tcp")]))
        o.services.append(svc("kube-system", "kube-dns", "10.96.0.10", [(53, 53, "UDP", "dns"),
                                                                          (53, 53, "TCP", "dns-tcp")],
                              selector={"k8s-app": "kube-dns"}))
        o.endpoint_slices.append(eps("kube-system", "kube-dns", [("10.244.0.2", "n1", "coredns-0")],
                                     [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]))
    names = {n.name for n in o.namespaces}
    for ns in sorted({x.namespace for x in o.pods + o.services} - names):
        o.namespaces.append(Namespace(ns, {"kubernetes.io/metadata.name": ns}))
    return ClusterModel.build(o)


def node(name: str, ip: str, zone: str = "", cidr: str = "", ready: bool = True) -> Node:
    return Node(name=name, addresses=(("InternalIP", ip),), zone=zone, ready=ready,
                pod_cidrs=(cidr,) if cidr else (), labels={"topology.kubernetes.io/zone": zone} if zone else {})


def pod(ns: str, name: str, ip: str, node_name: str, labels: dict | None = None, *, ports=(), ready=True,
        deleting=False, host_network=False, host_ip="", hostname="", subdomain="", dns_policy="ClusterFirst",
        host_ports=(), workload=None, phase="Running") -> Pod:
    cports = [ContainerPort(container_port=p[0], protocol=p[1] if len(p) > 1 else "TCP",
                            name=p[2] if len(p) > 2 else "") for p in ports]
    cports += [ContainerPort(container_port=c, host_port=h, protocol="TCP") for c, h in host_ports]
    wk, wn = workload if workload else ("", "")
    return Pod(namespace=ns, name=name, labels=labels or {}, ips=(ip,) if ip else (), node_name=node_name,
               host_ip=host_ip, ready=ready, deleting=deleting, host_network=host_network, hostname=hostname,
               subdomain=subdomain, dns_policy=dns_policy, phase=phase,
               containers=(Container(name="main", ports=tuple(cports)),), workload_kind=wk, workload_name=wn,
               owner_kind=wk, owner_name=wn)


def svc(ns: str, name: str, cluster_ip: str | None, ports, *, type="ClusterIP", selector=None, **kw) -> Service:
    """ports: (port, targetPort, protocol, name[, nodePort])."""
    sps = tuple(ServicePort(port=p[0], target_port=p[1], protocol=p[2] if len(p) > 2 else "TCP",
                            name=p[3] if len(p) > 3 else "", node_port=p[4] if len(p) > 4 else None)
                for p in ports)
    ips = (cluster_ip,) if cluster_ip else ()
    if "lb_ips" in kw:
        kw["lb_ingress"] = tuple(LoadBalancerIngress(ip=i) for i in kw.pop("lb_ips"))
    return Service(namespace=ns, name=name, type=type, cluster_ips=ips, ports=sps, selector=selector, **kw)


def eps(ns: str, service: str, endpoints, ports, name: str | None = None) -> EndpointSlice:
    """endpoints: (ip, node, pod_name[, dict of Endpoint fields]); ports: (name, port, protocol)."""
    items = []
    for e in endpoints:
        extra = e[3] if len(e) > 3 else {}
        items.append(Endpoint(addresses=(e[0],), node_name=e[1], target_kind="Pod" if e[2] else "",
                              target_namespace=ns if e[2] else "", target_name=e[2] or "", **extra))
    return EndpointSlice(namespace=ns, name=name or f"{service}-x", service_name=service,
                         endpoints=tuple(items),
                         ports=tuple(EndpointPort(port=p[1], protocol=p[2], name=p[0]) for p in ports))


def policy(ns: str, name: str, selector: dict | None, *, types=("Ingress",), ingress=(), egress=()) -> NetworkPolicy:
    return NetworkPolicy(namespace=ns, name=name, pod_selector=LabelSelector(match_labels=selector or {}),
                         policy_types=tuple(types), ingress=tuple(ingress), egress=tuple(egress))


def rule(*, pods: dict | None = None, namespaces: dict | None = None, ports=()) -> PolicyRule:
    peers = ()
    if pods is not None or namespaces is not None:
        peers = (PolicyPeer(pod_selector=LabelSelector(match_labels=pods) if pods is not None else None,
                            namespace_selector=LabelSelector(match_labels=namespaces)
                            if namespaces is not None else None),)
    return PolicyRule(peers=peers, ports=tuple(PolicyPort(protocol=p[1] if isinstance(p, tuple) else "TCP",
                                                          port=p[0] if isinstance(p, tuple) else p)
                                               for p in ports))


def ingress(ns, name, rules, *, class_name="", default_backend=None, tls=()):
    """rules: (host, [(path, pathType, service, port)])."""
    def backend(s, p):
        return IngressBackend(service_name=s, port_number=p if isinstance(p, int) else None,
                              port_name=p if isinstance(p, str) else "")
    return Ingress(namespace=ns, name=name, class_name=class_name,
                   rules=tuple(IngressRule(host=h, paths=tuple(IngressPath(path=p, path_type=t, backend=backend(s, pt))
                                                               for p, t, s, pt in paths)) for h, paths in rules),
                   default_backend=backend(*default_backend) if default_backend else None, tls=tuple(tls))


@pytest.fixture
def trace_dict():
    """trace(model, from, to, port=..., ...) → the result's contract dict."""
    from tracer.engine.assumptions import Assumptions
    from tracer.engine.flow import make_flow
    from tracer.engine.trace import trace

    def run(model, source, dest, port=None, protocol=None, via=None, **assume):
        return trace(model, make_flow(source, dest, port, protocol, via), Assumptions(**assume)).to_dict()
    return run


def endpoints_of(result: dict) -> dict[str, tuple[int | None, float]]:
    """{endpoint: (port, summed probability)} over the delivered paths."""
    got: dict[str, list] = {}
    for p in result["paths"]:
        if p["verdict"] == "delivered":
            old = got.setdefault(p["endpoint"], [p["endpoint_port"], 0.0])
            old[1] += p["probability"]
    return {k: (v[0], round(v[1], 9)) for k, v in got.items()}
