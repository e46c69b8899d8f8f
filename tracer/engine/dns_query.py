"""The DNS query a pod sends before it can use a name (docs/semantics.md B1, with A16 and §E): the query is
traffic too — source pod → the kube-dns Service on 53/UDP → one CoreDNS pod — so kube-proxy's endpoint choice
and NetworkPolicy (the source's egress, the CoreDNS pods' ingress) decide whether any name resolves.

`cluster_dns_query` is a pure function: the trace walk turns its answer into a `dns` hop (or a drop).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import kubeproxy as kp
from .cluster import ClusterModel
from .dns import DNS_SERVICE
from .model import Service
from .netpol import Peer


@dataclass(slots=True)
class DnsQuery:
    service: Service | None  # the kube-dns Service; None ⇒ not in the snapshot: assumed to answer, no hop
    action: str = ""  # query | no-answer | denied ("" ⇒ no hop)
    reason: str | None = None  # the drop reason when nothing answers
    detail: str = ""
    notes: list[str] = field(default_factory=list)


def cluster_dns_query(model: ClusterModel, pe, src: Peer) -> DnsQuery:
    """Which CoreDNS endpoint answers `src`'s query, or why none does. `pe`: the trace's PolicyEngine."""
    svc = model.services.get(DNS_SERVICE)
    if svc is None or not svc.cluster_ip:
        return DnsQuery(None, notes=["the snapshot has no kube-system/kube-dns Service: the cluster DNS is assumed "
                                     "to answer and NetworkPolicy on the query is not checked"])
    sp = kp.find_service_port(svc, 53, "UDP") or kp.find_service_port(svc, 53, "TCP")
    if sp is None:
        return DnsQuery(svc)
    eps = kp.service_endpoints(model, svc, sp)
    sel = kp.categorize(svc, eps, local_node=src.node_name if svc.internal_traffic_policy == "Local" else None,
                        zone=None, policy_field="internalTrafficPolicy")
    where = f"{svc.cluster_ip}:53/{sp.protocol}"
    if sel.reason:
        return DnsQuery(svc, "no-answer", sel.reason, f"the DNS query to {where} gets no answer: " + sel.detail)
    notes: list[str] = []
    denied = None
    for ep in sel.endpoints:
        if ep.pod is None:
            return DnsQuery(svc, "query", None, f"query to cluster DNS {where} → {ep.addr}", notes)
        dst = Peer(ep.pod, ep.ip, ep.pod.node_name or None)
        e = pe.egress(src, dst, ep.port, sp.protocol)
        i = pe.ingress(src, dst, ep.port, sp.protocol) if e.allowed else None
        notes.extend(e.assumptions)
        if e.allowed and i.allowed:
            why = e.detail if e.isolated else ""
            return DnsQuery(svc, "query", None,
                            f"DNS query {src.ip} → kube-dns {where} → CoreDNS {ep.label} {ep.addr}, allowed by "
                            f"NetworkPolicy{': ' + why if why else ''}", notes)
        if denied is None:
            denied = ("policy-egress-denied", e) if not e.allowed else ("policy-ingress-denied", i)
    reason, d = denied
    side = "the source's egress" if reason == "policy-egress-denied" else "the CoreDNS pods' ingress"
    return DnsQuery(svc, "denied", reason,
                    f"the DNS query to kube-dns {where} is blocked by {side} NetworkPolicy, so no name resolves: "
                    f"{d.detail}", notes)
