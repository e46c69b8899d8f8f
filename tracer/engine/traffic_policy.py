"""Traffic policies (docs/semantics.md A15, A16): whose endpoints a node may use, and which nodes a load
balancer sends to.

The one place that encodes `externalTrafficPolicy: Local` / `internalTrafficPolicy: Local`:
- `endpoint_scope` — on the node where kube-proxy handles the packet, is the choice limited to that node's
  endpoints? (A16 for ClusterIP traffic; A15 for traffic from outside entering through a NodePort, load-balancer
  address or externalIP — pods and nodes on the receiving node get Cluster behaviour).
- `lb_backend_nodes` — the nodes a load balancer sends to: every ready node with `Cluster`; with `Local` only
  nodes whose health check (healthCheckNodePort) passes, i.e. that hold a usable endpoint.
The forwarding graph (graph.py) draws lb → node edges with `lb_backend_nodes`, and the trace walks those edges;
kube-proxy's endpoint choice (kubeproxy.categorize) applies `endpoint_scope`'s answer. Pure functions.
"""
from __future__ import annotations

from dataclasses import dataclass

from .cluster import ClusterModel
from .kubeproxy import service_endpoints
from .model import Service


@dataclass(frozen=True, slots=True)
class Scope:
    local_node: str | None  # set ⇒ only endpoints on this node may be used
    field: str  # "internalTrafficPolicy" | "externalTrafficPolicy" | "" (no Local policy applies)
    external_client: bool  # traffic from outside this node, entering through an external address
    note: str = ""


def endpoint_scope(svc: Service, entry: str, *, src_external: bool, src_node: str | None,
                   node: str | None) -> Scope:
    """`entry`: cluster-ip | node-port | lb | external-ip. `node`: where kube-proxy handles the packet."""
    external_entry = entry != "cluster-ip"
    external_client = external_entry and (src_external or src_node != node)
    if entry == "cluster-ip" and svc.internal_traffic_policy == "Local":
        return Scope(node, "internalTrafficPolicy", external_client)
    if external_client and svc.external_traffic_policy == "Local":
        return Scope(node, "externalTrafficPolicy", external_client)
    note = ""
    if external_entry and svc.external_traffic_policy == "Local" and not src_external:
        note = ("externalTrafficPolicy: Local does not apply to traffic from {source}: pods and nodes get "
                "Cluster behaviour (A15)")
    return Scope(None, "", external_client, note)


def health_check_passes(ep) -> bool:
    """A15: a node's healthCheckNodePort answers 200 while it holds a ready (or serving-terminating) endpoint."""
    return bool(ep.node_name) and (ep.ready or (ep.serving and ep.terminating))


def lb_backend_nodes(model: ClusterModel, svc: Service) -> list[str]:
    """The nodes a load balancer of `svc` sends to, sorted by name."""
    if svc.external_traffic_policy != "Local":
        return [n.name for n in model.ready_nodes()]
    return sorted({ep.node_name for ep in service_endpoints(model, svc, None) if health_check_passes(ep)})
