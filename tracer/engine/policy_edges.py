"""What NetworkPolicies allow, as edges between pod classes: the traffic map's "who may reach whom".

Why a separate view of netpol: a trace asks one packet at a time and a matrix one port at a time,
but a map shows every allow rule at once — "peer → selected pods, on these ports" — plus which pods
are isolated. The rules themselves (selection E2/E3, peers E7, ports E8) stay in `netpol`; this module
only walks the compiled policies once per snapshot, resolving each rule's selectors against pod
classes (`podclasses.policy_classes`, never pods) with the memoised selector index (`podclasses.class_index`), so a
150,000-pod snapshot costs one pass over policies × rules × distinct selectors.

An edge with `peer_classes=None` means "every peer" (a rule with no `from`/`to`): the map draws it as
an "open to all" badge rather than an edge to everything. ipBlock peers are kept as their CIDR text
(they describe addresses outside the pod network).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

from .cluster import ClusterModel
from .netpol import _describe_ports, effective_policy_types
from .podclasses import PodClass, class_index, policy_classes

__all__ = ["RuleEdge", "PolicyEdges", "policy_edges"]


@dataclass(frozen=True, slots=True)
class RuleEdge:
    """One allow rule: `direction` Ingress ⇒ peers → selected; Egress ⇒ selected → peers."""

    policy: str  # ns/name
    direction: str  # "Ingress" | "Egress"
    rule: int  # 1-based, as decisions name it ("ns/name rule #i")
    ports: str  # "TCP 80, UDP 53" or "every port"
    selected: frozenset[int]  # class indexes the policy selects
    peer_classes: frozenset[int] | None  # None ⇒ every peer (no from/to)
    ip_blocks: tuple[str, ...] = ()  # "10.0.0.0/8 except 10.1.0.0/16"


@dataclass(slots=True)
class PolicyEdges:
    classes: list[PodClass]
    edges: list[RuleEdge]
    ingress_isolated: list[bool]  # per class (E2)
    egress_isolated: list[bool]
    ingress_open: list[bool]  # isolated but some rule allows every peer (on some port)
    egress_open: list[bool]


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def policy_edges(model: ClusterModel) -> PolicyEdges:
    """Every allow rule of the snapshot resolved to classes, and each class's isolation (cached per model)."""
    got = _CACHE.get(model)
    if got is not None:
        return got
    classes = policy_classes(model)
    n = len(classes)
    idx = class_index(model)
    iso = {"Ingress": [False] * n, "Egress": [False] * n}
    opened = {"Ingress": [False] * n, "Egress": [False] * n}
    edges: list[RuleEdge] = []
    for policies in model.policies_by_namespace.values():
        for pol in policies:
            selected = idx.pods_in(pol.namespace, pol.pod_selector)
            if not selected:
                continue
            for direction in effective_policy_types(pol):
                if direction not in iso:
                    continue
                for ci in selected:
                    iso[direction][ci] = True
                rules = pol.ingress if direction == "Ingress" else pol.egress
                for i, rule in enumerate(rules, 1):
                    ports = _describe_ports(rule)
                    if not rule.peers:
                        for ci in selected:
                            opened[direction][ci] = True
                        edges.append(RuleEdge(pol.key, direction, i, ports, selected, None))
                        continue
                    peers: set[int] = set()
                    blocks: list[str] = []
                    for peer in rule.peers:
                        if peer.ip_block is not None:
                            exc = f" except {', '.join(peer.ip_block.except_)}" if peer.ip_block.except_ else ""
                            blocks.append(f"{peer.ip_block.cidr}{exc}")
                        peers |= idx.peer_classes(peer, pol.namespace)
                    edges.append(RuleEdge(pol.key, direction, i, ports, selected, frozenset(peers), tuple(blocks)))
    got = _CACHE[model] = PolicyEdges(classes, edges, iso["Ingress"], iso["Egress"],
                                      opened["Ingress"], opened["Egress"])
    return got
