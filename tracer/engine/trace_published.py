"""The `ip:ADDR` entry for an address an Ingress publishes (status.loadBalancer.ingress, D9).

Why: a cloud controller's load balancer (or an external DNS record) answers at an address that no Service,
node or pod of the snapshot has; the Ingress's status says whose it is. A client outside the cluster sending to
it enters that Ingress's controller, with the address as the Host — no `--via` needed. Addresses the walk
already knows (a controller Service's load balancer, a node) keep their own path. Registered in trace.py with
`add_entry(published_address_entry)`.
"""
from __future__ import annotations

from .ingress import ingress_status_index

__all__ = ["published_address_entry"]


def published_address_entry(t, src, hops, prob, dest):
    if dest.kind != "ip" or src.kind != "external" or t.via:
        return None
    addr = dest.parts[0]
    m = t.m
    if addr not in ingress_status_index(m) or addr in m.node_by_ip or addr in m.services_by_lb_ip \
            or addr in m.services_by_external_ip or addr in m.pod_by_ip or addr in m.service_by_cluster_ip:
        return None
    port = t.port if isinstance(t.port, int) else 80
    scheme = "https" if port in (443, 8443) else "http"
    return t.via_ingress(src, hops, prob, scheme, addr, port, "/")
