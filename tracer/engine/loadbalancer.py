"""Load balancers in front of a Service (docs/semantics.md A10, A15; spreading is impl): who may use the
address, and how new connections spread over the backend nodes.

- `source_allowed`  A10 loadBalancerSourceRanges
- `spread`          how the trace shows a load balancer's connections over its backend nodes (the lb → node
                    edges of the forwarding graph, traffic_policy.lb_backend_nodes): equal shares; past
                    `SPREAD_LIMIT` node × endpoint combinations one node stands for all (or one per zone under
                    topology hints), because endpoint choice does not depend on the node, only the SNAT address.
Pure functions: they return the notes (assumptions) they rely on instead of recording them.
"""
from __future__ import annotations

import ipaddress

from .kubeproxy import hint_zones
from .model import Node, Service

# nodes × endpoints up to which every backend node is shown (each has its own SNAT address, seen by NetworkPolicy)
SPREAD_LIMIT = 64


def source_allowed(ip: str, ranges) -> bool:
    """A10: the client address lies in one of spec.loadBalancerSourceRanges (unparsable ranges are ignored)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for r in ranges:
        try:
            net = ipaddress.ip_network(r.strip(), strict=False)
        except ValueError:
            continue
        if addr.version == net.version and addr in net:
            return True
    return False


def equal_note() -> str:
    return ("a cloud load balancer spreads new connections equally over the nodes whose health check passes "
            "(impl)")


def spread(svc: Service, nodes: list[Node], ready_eps: list) -> tuple[list[tuple[str | None, float, str]], str]:
    """externalTrafficPolicy Cluster: ([(node, share, why)], note) over the backend `nodes` (sorted by name).

    Endpoint choice is the same on every node, except under topology-aware routing (A18), where each zone's
    nodes prefer their zone's endpoints: then one node per zone stands for the zone, weighted by its share.
    """
    if not nodes:
        return [(None, 1.0, "")], ""
    if len(nodes) * max(1, len(ready_eps)) <= SPREAD_LIMIT:
        return ([(n.name, 1.0 / len(nodes), f" (1/{len(nodes)} of the LB's connections)") for n in nodes],
                "the load balancer spreads new connections equally over the ready nodes (impl: equal weights; "
                "externalTrafficPolicy: Cluster makes every node healthy)")
    zoned = bool(ready_eps) and all(hint_zones(svc, ep) for ep in ready_eps)
    zones: dict[str, list[Node]] = {}
    for n in nodes:
        zones.setdefault(n.zone, []).append(n)
    if not zoned or len(zones) < 2:
        return ([(nodes[0].name, 1.0, "")],
                f"with externalTrafficPolicy: Cluster the load balancer may use any node; node {nodes[0].name} "
                f"(first ready by name) stands for them all: endpoint choice does not depend on it, only the SNAT "
                f"address does (impl)")
    return ([(members[0].name, len(members) / len(nodes),
              f" (stands for the {len(members)} ready node(s) of zone {zone or '(none)'}: "
              f"{len(members)}/{len(nodes)} of the LB's connections)")
             for zone, members in sorted(zones.items())],
            "the load balancer spreads connections equally over the ready nodes (impl); with topology hints each "
            "zone's nodes prefer that zone's endpoints, so one node per zone stands for it")
